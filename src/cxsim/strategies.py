"""Strategies: named what-ifs, applied as patches over a scenario.

A strategy sets fields by dotted path (``touchpoints.reception.quality.mean: 8``), with ``*``
matching every key at one level (``touchpoints.*.personalisation: 0.3``); a path ending in a new
key adds it (a new touchpoint, a new edge ``journey.edges.checkout.follow_up: 1``). ``remove``
deletes paths. The patched scenario must be a valid scenario by itself. From ``from_day`` on the
model runs with the patched scenario (Mesa event scheduling, see :mod:`cxsim.model`).

The same path syntax serves ``--set`` on the command line (:func:`set_path`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from cxsim.problems import Problem, closest, hint, shown, unknown
from cxsim.scenario import Scenario, Strategy

BASELINE = "baseline"

#: Fields no strategy may change: they define the experiment, not the world.
FIXED = ("name", "seed", "replicates", "horizon_days", "strategies", "sweep", "output",
         "population.size", "word_of_mouth.network", "word_of_mouth.strong_tie_weight",
         "word_of_mouth.weak_tie_weight")
#: Fields that may change after day 0 inside ``population`` (traits are drawn on day 0).
LATE_POPULATION = ("population.awareness_per_day",)


NEAR_MISS = 0.8
"""How alike (difflib's ratio) a missing key and one that is there must be for a path through
the missing key to be taken for a typo of the other: ``rooom`` for ``room`` (0.89)."""


class PatchError(Exception):
    """A path that cannot be set or removed."""


def _step(container: Any, part: str) -> Any:
    if isinstance(container, list):
        return int(part)
    return part


def expand(data: Any, parts: list[str], create: bool, done: tuple[Any, ...] = (),
           defined: frozenset[str] = frozenset()) -> Iterator[tuple[Any, ...]]:
    """Concrete paths matching ``parts`` (``*`` matches every key or index at its level), below
    the concrete path ``done`` that led to ``data`` (for messages).

    With ``create``, missing mappings along the way are made, so that a new key can be set,
    unless the missing key is a near miss of one that is there (or the start of one) and not
    one of the names the scenario ``defined`` (its touchpoints and segments): a typo, refused
    with a "did you mean"
    (a new entry of that name can be set whole first). A ``*`` passes over entries whose next
    field is null while the path goes deeper into it (a touchpoint without a ``care`` section,
    for ``touchpoints.*.care.servers``).
    """
    if not parts:
        yield ()
        return
    head, rest = parts[0], parts[1:]
    here = ".".join(str(p) for p in done) or "the scenario"
    if data is None:  # an optional section the scenario does not have (a care section)
        if not create:
            raise PatchError(f"{here} is not set (the scenario has none): nothing to remove")
        raise PatchError(f"{here} is not set (the scenario has none): to add one, set the whole "
                         f"of {here} (e.g. {here}: {{{head}: ...}}), with the fields it needs")
    if not isinstance(data, dict | list):
        raise PatchError(f"{here} is {shown(data)}, not a mapping or list: cannot go into "
                         f"{head!r}")
    if head == "*":
        keys = list(data) if isinstance(data, dict) else list(range(len(data)))
        if not keys:
            raise PatchError(f"'*' matches nothing in {here}")
    else:
        key = _step(data, head) if head.lstrip("-").isdigit() else head
        if isinstance(data, list) and not isinstance(key, int):
            raise PatchError(f"{here} is a list: {head!r} must be an index (a number)")
        keys = [key]
    if head == "*" and len(rest) > 1:
        keys = [k for k in keys if not (isinstance(data[k], dict) and rest[0] in data[k]
                                        and data[k][rest[0]] is None)]
        if not keys:
            raise PatchError(f"'*' matches nothing with a {rest[0]!r} in {here}")
    for key in keys:
        if isinstance(data, dict) and key not in data:
            there = list(map(str, data))
            if not create:
                raise PatchError(f"no field {key!r} in {here}{hint(str(key), there)}")
            if rest:
                near = closest(str(key), there, cutoff=NEAR_MISS)  # or cut short: shop
                if str(key) not in defined and near is not None:
                    full = ".".join(map(str, (*done, key)))
                    raise PatchError(f"{full}: {unknown('key', str(key), there)} (to add a "
                                     f"new entry of that name, set the whole of {full} first)")
                data[key] = {}
        elif isinstance(data, list) and not -len(data) <= key < len(data):
            raise PatchError(f"index {key} is out of range ({here} has {len(data)} items)")
        if not rest:
            yield (key,)
        else:
            for tail in expand(data[key], rest, create, (*done, key), defined):
                yield (key, *tail)


def set_path(data: dict[str, Any], dotted: str, value: Any) -> list[tuple[Any, ...]]:
    """Set ``dotted`` (with wildcards) to ``value`` in ``data``; returns the concrete paths."""
    paths = list(expand(data, dotted.split("."), create=True, defined=_defined(data)))
    for path in paths:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = copy.deepcopy(value)
    return paths


def _defined(data: dict[str, Any]) -> frozenset[str]:
    """The names a scenario's data defines: its touchpoints' and segments' ids."""
    population = data.get("population")
    sections = [data.get("touchpoints"),
                population.get("segments") if isinstance(population, dict) else None]
    return frozenset(str(name) for section in sections if isinstance(section, dict)
                     for name in section)


def remove_path(data: dict[str, Any], dotted: str) -> list[tuple[Any, ...]]:
    """Delete ``dotted`` (with wildcards) from ``data``; returns the concrete paths."""
    paths = list(expand(data, dotted.split("."), create=False))
    for path in sorted(paths, reverse=True):
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
    return paths


def canonical(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data, every default filled in but a rule's parameters, which stay
    as given (so that a strategy may switch a rule by its name alone). What results record."""
    return scenario.model_dump(mode="json", by_alias=True)


def patch(
    base: dict[str, Any], name: str, strategy: Strategy
) -> tuple[dict[str, Any], list[Problem]]:
    """The scenario data with ``strategy`` applied, and the problems of its patch entries."""
    data = copy.deepcopy(base)
    problems: list[Problem] = []
    entries = [("set", key, value) for key, value in strategy.set.items()]
    entries += [("remove", i, key) for i, key in enumerate(strategy.remove)]
    for action, key, value in entries:
        where = ("strategies", name, action, key)
        dotted = key if action == "set" else value
        fixed = next((f for f in FIXED if dotted == f or dotted.startswith(f + ".")), None)
        if fixed:
            problems.append(Problem(where, f"a strategy cannot change {fixed!r}"))
            continue
        if (strategy.from_day > 0 and dotted.startswith("population")
                and dotted not in LATE_POPULATION):
            problems.append(Problem(where, "traits are drawn on day 0: a strategy with "
                                    "from_day > 0 "
                                    f"can change only {', '.join(LATE_POPULATION)} in population"))
            continue
        try:
            if action == "set":
                set_path(data, dotted, value)
            else:
                remove_path(data, dotted)
        except PatchError as error:
            problems.append(Problem(where, str(error)))
    return data, problems
