"""Small scenarios for tests: the validation tests use them, and so can a researcher's own.

:func:`tiny_scenario` gives a one-segment world where every person is an existing customer whose
first journey starts on day 0, with constant expectation 7 and a single touchpoint; pass fields
by dotted path to change it, e.g. ``tiny_scenario({"touchpoints.shop.quality": 9})``.

A researcher can run the validation tests with a rule of their own in every tiny scenario that
does not pin that rule, by listing overrides in the ``CXSIM_TEST_SET`` environment variable
(separated by ``;``), e.g. ``CXSIM_TEST_SET="perception.memory.rule=my_rules:EndWeightedMemory"
pytest tests/test_validation.py``. A tiny scenario whose changes touch a rule's field (its
``rule`` or one of its parameters, e.g. ``perception.attitude.attitude_rate``) pins that rule:
the overrides under that field are left out there.
"""

from __future__ import annotations

import os
from typing import Any

from cxsim.rules import SLOTS
from cxsim.scenario import Scenario
from cxsim.scenario_file import override


def tiny_world(touchpoints: dict[str, float | dict[str, Any]], entries: dict[str, float],
               edges: dict[str, dict[str, Any]], exits: list[str]) -> dict[str, Any]:
    """The ``touchpoints`` and ``journey`` sections of a scenario, from qualities and edges.

    A touchpoint given as a number is a ``use``-stage touchpoint with that constant quality.
    """
    return {
        "touchpoints": {
            name: {"stage": "use", "channel": "web", "p": "product", "quality": spec}
            if isinstance(spec, int | float) else spec
            for name, spec in touchpoints.items()
        },
        "journey": {"entries": entries, "edges": edges, "exits": exits},
    }


RULE_SLOTS = tuple(".".join(path) for path in SLOTS.values())
"""The scenario fields that choose a rule: a test that changes one (its rule or a parameter)
pins it, and ``CXSIM_TEST_SET`` leaves it alone."""


def _under(path: str, slot: str) -> bool:
    return path == slot or path.startswith(f"{slot}.")


def tiny_scenario(changes: dict[str, Any] | None = None, size: int = 1000,
                  horizon_days: int = 1) -> Scenario:
    """A minimal valid scenario, changed by dotted paths (see :func:`cxsim.override`)."""
    base = Scenario.model_validate({
        "name": "tiny",
        "seed": 1,
        "replicates": 1,
        "horizon_days": horizon_days,
        "population": {
            "size": size,
            "existing_customers": 1.0,
            "segments": {"everyone": {"share": 1.0, "expectation": 7.0,
                                      "inter_purchase_days": 1.0}},
        },
        **tiny_world({"shop": 7.0}, {"shop": 1}, {}, ["shop"]),
    })
    pinned = [slot for slot in RULE_SLOTS
              if any(key == slot or key.startswith(f"{slot}.") for key in changes or {})]
    researcher = [o for o in os.environ.get("CXSIM_TEST_SET", "").split(";") if o.strip()
                  and not any(_under(o.partition("=")[0].strip(), slot) for slot in pinned)]
    if researcher:
        base = override(base, researcher)
    return override(base, changes or {})


def call_centre(servers: int, arrivals_per_minute: float, handling_minutes: float,
                days: int = 30, patience_minutes: float | None = None, size: int = 100_000
                ) -> Scenario:
    """An M/M/c call centre as a cxsim service touchpoint: ``size`` customers use a product
    every day; a problem (chance set so that ``arrivals_per_minute`` calls arrive, spread
    evenly over the day) makes them call a phone line with ``servers`` agents and exponential
    handling times; calls always solve the problem. ``patience_minutes`` (mean of an
    exponential patience) makes it M/M/c+M (Erlang A); ``None``: nobody hangs up."""
    per_day = arrivals_per_minute * 1440
    if per_day >= size:
        raise ValueError(f"{per_day:g} calls a day need more than {size} customers")
    return tiny_scenario({
        "population.size": size,
        "population.segments.everyone.complain_propensity": 1.0,
        "population.segments.everyone.patience_minutes": patience_minutes or 1e12,
        "touchpoints": {
            "use": {"stage": "use", "channel": "app", "p": "product", "quality": 7.0,
                    "duration_days": 1, "problem_probability": per_day / size},
            "done": {"stage": "post_purchase", "channel": "app", "p": "product", "quality": 7.0},
            "phone": {"stage": "service", "channel": "phone", "p": "people", "quality": 7.0,
                      "service": True, "care": {
                          "servers": servers, "first_contact_resolution": 1.0,
                          "service_minutes": {"dist": "exponential", "mean": handling_minutes}}},
        },
        "journey": {"entries": {"use": 1}, "edges": {"use": {"use": 1, "done": 1e-12}},
                    "exits": ["done"]},
        "service.contact": {"phone": 1},
        "service.max_attempts": 1,
        "output.moments": "off",
    }, size=size, horizon_days=days)
