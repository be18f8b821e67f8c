"""Checks that span several fields of a scenario, run after the schema has validated it.

The schema (:mod:`cxsim.scenario`) checks each field on its own; here we check what only the
whole can tell: segment shares that sum to 1, known channels, a journey graph every journey can
leave, rules that exist with valid parameters, and strategies whose patched scenario is valid.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from cxsim.distributions import Constant
from cxsim.graph import graph_problems
from cxsim.network import (
    ConfigurationModel,
    EdgeList,
    ErdosRenyi,
    FullyMixed,
    draw_degrees,
    read_edge_list,
)
from cxsim.problems import Problem, alike, from_validation_error, places, unknown
from cxsim.queues import weekly_servers
from cxsim.rules import SLOTS, RuleError, make_rule
from cxsim.scenario import RuleSpec, Scenario, Strategy
from cxsim.strategies import BASELINE, canonical, patch

SHARE_TOLERANCE = 1e-6


def rule_specs(scenario: Scenario) -> dict[str, tuple[tuple[str, ...], RuleSpec]]:
    """Each rule kind with the path and spec the scenario gives for it."""
    return {kind: (path, functools.reduce(getattr, path, scenario))
            for kind, path in SLOTS.items()}


def world_problems(scenario: Scenario) -> list[Problem]:
    """Problems of one world (a scenario without looking at its strategies)."""
    problems: list[Problem] = []
    segments = scenario.population.segments
    total = sum(s.share for s in segments.values())
    if abs(total - 1) > SHARE_TOLERANCE:
        shares = ", ".join(f"{k} {s.share:g}" for k, s in segments.items())
        problems.append(Problem(("population", "segments"),
                                f"segment shares must sum to 1, got {total:g} ({shares}); "
                                f"within {SHARE_TOLERANCE:g}, so make them add up exactly "
                                "(0.34, 0.33, 0.33 rather than 0.333 three times)"))
    channels = scenario.channels()
    for name, segment in segments.items():
        for channel, weight in segment.channel_preferences.items():
            if isinstance(weight, Constant) and weight.value < 0:
                problems.append(Problem(
                    ("population", "segments", name, "channel_preferences", channel),
                    f"a preference is a weight: must be >= 0, got {weight.value:g}"))
            if channel not in channels:
                problems.append(Problem(
                    ("population", "segments", name, "channel_preferences", channel),
                    unknown("channel", channel, channels, "the touchpoints use")))
    problems += service_problems(scenario)
    problems += graph_problems(scenario)
    for kind, (path, spec) in rule_specs(scenario).items():
        try:
            make_rule(kind, spec.rule, spec.model_extra or {})
        except RuleError as error:
            problems += [Problem(path + p.path, p.message) for p in error.problems]
    return problems


def service_problems(scenario: Scenario) -> list[Problem]:
    """Care touchpoints that do not exist or cannot take contacts, and escalation loops."""
    problems: list[Problem] = []
    known, service = scenario.touchpoints, scenario.service

    def care_at(path: tuple[Any, ...], tp: str) -> bool:
        if tp not in known:
            problems.append(Problem(path, unknown("touchpoint", tp, known)))
        elif known[tp].care is None:
            problems.append(Problem(path, f"{tp!r} has no care section (servers, ...): "
                                    "customers cannot contact it"))
        else:
            return True
        return False

    for tp in service.contact:
        care_at(("service", "contact", tp), tp)
    if service.contact and sum(service.contact.values()) <= 0:
        problems.append(Problem(("service", "contact"), "contact weights must have a positive "
                                "sum"))
    if service.contact and sum(service.hours) <= 0:
        problems.append(Problem(("service", "hours"), "contacts are made at some hour: the "
                                "hours must have a positive sum"))
    visited = scenario.journey.touchpoints_on_the_way()
    for name, tp in known.items():
        if tp.care is not None and name in visited and sum(tp.care.visit_hours) <= 0:
            problems.append(Problem(("touchpoints", name, "care", "visit_hours"), "visitors "
                                    "arrive at some hour: the hours must have a positive sum"))
    for name, tp in known.items():
        if tp.care is not None and tp.care.escalate_to is not None:
            path = ("touchpoints", name, "care", "escalate_to")
            if care_at(path, tp.care.escalate_to):
                chain, nxt = [name], tp.care.escalate_to
                while nxt is not None and nxt not in chain:
                    chain.append(nxt)
                    care = getattr(known.get(nxt), "care", None)
                    nxt = care.escalate_to if care is not None else None
                if nxt is not None:
                    problems.append(Problem(path, "escalation loop: " + " → ".join(
                        [*chain, nxt])))
    if service.follow_up is not None and service.follow_up.touchpoint not in known:
        problems.append(Problem(("service", "follow_up", "touchpoint"),
                                unknown("touchpoint", service.follow_up.touchpoint, known)))
    return problems


def strategy_worlds(scenario: Scenario) -> tuple[dict[str, Scenario], list[Problem]]:
    """The patched scenario of every strategy, and the problems found on the way.

    A problem inside a patched scenario is reported at the strategy's patch entry that caused it
    (or at the strategy when no single entry did).
    """
    base = canonical(scenario)
    worlds: dict[str, Scenario] = {}
    problems: list[Problem] = []
    for name, strategy in scenario.strategies.items():
        where: tuple[Any, ...] = ("strategies", name)
        if name == BASELINE:
            problems.append(Problem(where, f"{BASELINE!r} is the scenario itself; pick another "
                                    "name"))
            continue
        data, found = patch(base, name, strategy)
        if found:
            problems += found
            continue
        try:
            world = Scenario.model_validate(data)
        except ValidationError as error:
            found = from_validation_error(error, Scenario, data)
        else:
            found = world_problems(world)
        if found:
            problems += _blame(where, strategy, found)
            continue
        worlds[name] = world
    return worlds, problems


def _blame(where: tuple[Any, ...], strategy: Strategy, found: list[Problem]) -> list[Problem]:
    """Problems ``found`` in the scenario patched by ``strategy`` (at ``where``), each at the
    patch entry that caused it (or at the strategy when no single entry did); those that an
    entry with a ``*`` made alike at its matches as one (:func:`~cxsim.problems.alike`)."""
    blamed = []
    for group in alike(found, lambda p: _patch_entry(strategy, p.path)[1]):
        entry, _ = _patch_entry(strategy, group[0].path)
        blamed.append(Problem((*where, *entry),
                              f"after the patch, {places(group)}: {group[0].message}"))
    return blamed


def _patch_entry(strategy: Strategy, path: tuple[Any, ...]) -> tuple[tuple[Any, ...], str | None]:
    """The entry of ``strategy``'s patch that reaches the field at ``path``, as a path below
    the strategy (``("set", KEY)`` or ``("remove", INDEX)``), and its field pattern; ``((),
    None)`` if none does. Of the entries that set it, the last: it was set last."""
    for key in reversed(strategy.set):
        if _matches(key.split("."), path):
            return ("set", key), key
    for i, key in enumerate(strategy.remove):
        if _matches(key.split("."), path):
            return ("remove", i), key
    return (), None


def _matches(pattern: list[str], path: tuple[Any, ...]) -> bool:
    """Whether a patch pattern and a problem path overlap (one is a prefix of the other)."""
    return all(a == "*" or a == str(b) for a, b in zip(pattern, path, strict=False))


def warnings(scenario: Scenario) -> list[str]:
    """What is valid but probably not meant: strategies that start after the horizon,
    qualities and expectations off the 0–10 scale, visitors arriving at a staffed touchpoint
    of the journey while nobody is on duty (they would wait until the next opening), a contact
    channel nobody ever answers, contacts made while no contact line is open, a word-of-mouth
    rate that does not apply to the population's network, a network that ties many people to
    nobody, and whole-number fields in a Morris sweep."""
    found = [f"warning: strategy {name} starts on day {s.from_day}, after the horizon "
             f"({scenario.horizon_days} days): it will equal the baseline"
             for name, s in scenario.strategies.items() if s.from_day >= scenario.horizon_days]
    found += _off_the_scale(scenario)
    visited = scenario.journey.touchpoints_on_the_way()
    for name, tp in scenario.touchpoints.items():
        if tp.care is None or name not in visited:
            continue
        hours = _closed_hours(tp.care.visit_hours, [tp.care.servers])
        if hours:
            found.append(f"warning: touchpoints.{name}.care.visit_hours: visitors arrive at "
                         f"{hours} when no server is on duty (on some day of the week); they "
                         "wait until the next opening")
    lines = {name: tp.care.servers for name in scenario.service.contact
             if (tp := scenario.touchpoints.get(name)) is not None and tp.care is not None}
    for name, servers in lines.items():
        if not weekly_servers(servers).any():
            found.append(f"warning: touchpoints.{name}.care.servers: nobody is ever on duty, so "
                         "every contact made there is abandoned")
    staffed = [servers for servers in lines.values() if weekly_servers(servers).any()]
    hours = _closed_hours(scenario.service.hours, staffed) if staffed else ""
    if hours:
        found.append(f"warning: service.hours: contacts are made at {hours} when no line of "
                     "service.contact is open (on some day of the week); they wait for the next "
                     "opening, and those less patient than that give up: staff a line then, or "
                     "move those hours' weight")
    talk, mixed = scenario.word_of_mouth, isinstance(scenario.word_of_mouth.network, FullyMixed)
    if not mixed and talk.imitation_per_day > 0:
        found.append("warning: word_of_mouth.imitation_per_day applies to a fully mixed "
                     "population only; on a network, prospects hear through contact_per_day")
    if mixed and talk.contact_per_day > 0:
        found.append("warning: word_of_mouth.contact_per_day applies to a network only; on a "
                     "fully mixed population, prospects hear through imitation_per_day")
    found += _untied(scenario)
    sweep = scenario.sweep
    if sweep is not None and sweep.design == "morris":
        found += [f"warning: sweep.parameters.{path}.integer: rounding moves a Morris design's "
                  "levels, so its elementary effects (mu*) assume a step the run did not take; "
                  "sweep the field as a continuous range, or use a grid"
                  for path, parameter in sweep.parameters.items() if parameter.integer]
    return found


def _off_the_scale(scenario: Scenario) -> list[str]:
    """A warning for each quality or expectation whose median lies off the 0–10 scale (73
    for 7.3, a percentage for a rating)."""
    where = [(f"touchpoints.{name}.quality", tp.quality)
             for name, tp in scenario.touchpoints.items()]
    where += [(f"population.segments.{name}.expectation", segment.expectation)
              for name, segment in scenario.population.segments.items()]
    found = []
    for path, distribution in where:
        median = float(distribution.ppf(np.array([0.5]))[0])
        if not 0 <= median <= 10:
            found.append(f"warning: {path}: a median of {median:g}, off the 0–10 scale of "
                         "quality and expectation")
    return found


def _closed_hours(arrivals: list[float], servers: list[Any]) -> str:
    """The hours of the day (shown, at most six) in which ``arrivals`` has weight but none of
    the lines staffed by ``servers`` (each a care section's servers) is open on some day of
    the week; empty if there are none."""
    open_ = np.zeros((7, 24), dtype=bool)
    for line in servers:
        open_ |= weekly_servers(line).reshape(7, 24) > 0
    closed = (~open_).any(axis=0)
    hours = [h for h in range(24) if arrivals[h] > 0 and closed[h]]
    return ", ".join(f"{h}:00" for h in hours[:6]) + (" ..." if len(hours) > 6 else "")


UNTIED_SHARE = 0.1  # warn when more than this share of people have no tie in the network


def _untied(scenario: Scenario) -> list[str]:
    """A warning when the network ties more than :data:`UNTIED_SHARE` of the people to
    nobody, so that word of mouth never reaches them: in an edge list, ids missing from the
    file (or a file of a smaller population); in a configuration model, a degree distribution
    that draws 0 contacts (or fewer: a negative mean) that often; in G(n, p), a mean degree
    below about 2.3, by the expected share (1 − p)^(n − 1) ≈ e^(−mean degree)."""
    network, n = scenario.word_of_mouth.network, scenario.population.size
    if isinstance(network, EdgeList):
        a, b, _ = read_edge_list(Path(network.path), n)
        untied = n - np.count_nonzero(np.bincount(np.concatenate([a, b]), minlength=n))
        field, why = "network.path", f"have no tie in {network.path}"
    elif isinstance(network, ConfigurationModel):
        untied = int(np.count_nonzero(draw_degrees(network, n, scenario.seed) == 0))
        field, why = "network.degree", "draw no contact from this distribution"
    elif isinstance(network, ErdosRenyi) and n > 1:
        untied = round(n * (1 - min(network.mean_degree / (n - 1), 1.0)) ** (n - 1))
        field, why = "network.mean_degree", "are expected to have no tie (e^-mean_degree)"
    else:
        return []
    if untied <= UNTIED_SHARE * n:
        return []
    return [f"warning: word_of_mouth.{field}: {untied:,} of the {n:,} people ({untied / n:.0%}) "
            f"{why}; word of mouth never reaches them"]
