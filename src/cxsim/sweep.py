"""Sweeps: the scenario at many design points, for response surfaces and sensitivity analysis.

A design point sets each swept field (by dotted path, as ``--set`` does) to one value. Designs:
a full ``grid``; a Latin hypercube (``lhs``) or a scrambled Sobol sequence (``sobol``), both from
``scipy.stats.qmc``; and the samples that variance-based (``saltelli``) and elementary-effects
(``morris``) sensitivity analysis need, from SALib (Saltelli 2002; Morris 1991; Campolongo et
al. 2007). Every point runs every strategy and replicate with the same random numbers, so
differences between points are paired too.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np
from pydantic import ValidationError

from cxsim.checks import world_problems
from cxsim.problems import Problem, from_validation_error
from cxsim.scenario import Scenario, Sweep, SweepParameter
from cxsim.strategies import FIXED, PatchError, canonical, set_path


def salib_problem(sweep: Sweep) -> dict[str, Any]:
    """The parameter space in SALib's form (ranges only)."""
    return {"num_vars": len(sweep.parameters), "names": list(sweep.parameters),
            "bounds": [[p.low, p.high] for p in sweep.parameters.values()]}


class SweepError(Exception):
    """A sweep that cannot be laid out (an optional library is missing)."""


def _salib() -> Any:
    try:
        import SALib.sample.morris
        import SALib.sample.sobol
    except ImportError:
        raise SweepError("the saltelli and morris designs need SALib: "
                         "pip install 'cxsim[sensitivity]'") from None
    return SALib.sample


def design(sweep: Sweep, seed: int) -> list[dict[str, Any]]:
    """The design points: one ``{path: value}`` per point, reproducible from ``seed``."""
    parameters = sweep.parameters
    if sweep.design == "grid":
        axes = [p.values if p.values is not None else
                list(np.linspace(p.low, p.high, p.steps)) for p in parameters.values()]
        rows = list(itertools.product(*axes))
    else:
        if sweep.design in ("lhs", "sobol"):
            from scipy.stats import qmc  # slow to import: only for these designs

            engine = (qmc.LatinHypercube(len(parameters), seed=seed) if sweep.design == "lhs"
                      else qmc.Sobol(len(parameters), scramble=True, seed=seed))
            unit = engine.random(sweep.points)
            lows = [p.low for p in parameters.values()]
            highs = [p.high for p in parameters.values()]
            matrix = qmc.scale(unit, lows, highs)
        elif sweep.design == "saltelli":
            matrix = _salib().sobol.sample(salib_problem(sweep), sweep.points,
                                           calc_second_order=False, seed=seed)
        else:
            matrix = _salib().morris.sample(salib_problem(sweep), sweep.points, seed=seed)
        rows = [tuple(row) for row in matrix]
    return [{path: _value(value, p) for (path, p), value in zip(parameters.items(), row,
                                                                 strict=True)}
            for row in rows]


def _value(value: Any, parameter: SweepParameter) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if parameter.integer and isinstance(value, float):
        return round(value)
    return value


def at_point(base: dict[str, Any], point: dict[str, Any]) -> Scenario:
    """The scenario (canonical data ``base``, without its sweep) at one design point."""
    data = copy.deepcopy(base)
    data["sweep"] = None
    for path, value in point.items():
        set_path(data, path, value)
    return Scenario.model_validate(data)


def sweep_problems(scenario: Scenario) -> list[Problem]:
    """Problems of a sweep: fixed fields, unknown paths, values that make an invalid world."""
    if scenario.sweep is None:
        return []
    problems: list[Problem] = []
    base = canonical(scenario)
    for path, parameter in scenario.sweep.parameters.items():
        where = ("sweep", "parameters", path)
        fixed = next((f for f in FIXED if path == f or path.startswith(f + ".")), None)
        if fixed:
            problems.append(Problem(where, f"a sweep cannot change {fixed!r}"))
            continue
        if scenario.sweep.design != "grid" and parameter.values is not None:
            problems.append(Problem(where, f"the {scenario.sweep.design} design needs a range "
                                    "(low, high); values lists are for the grid design"))
            continue
        extremes = parameter.values or [parameter.low, parameter.high]
        for value in extremes:
            value = _value(value, parameter)
            try:
                world = at_point(base, {path: value})
            except PatchError as error:
                problems.append(Problem(where, f"{path}: {error}"))
                break
            except ValidationError as error:
                found = from_validation_error(error, Scenario)
            else:
                found = world_problems(world)
            if found:
                problems += [Problem(where, f"at {value!r}, {p.dotted}: {p.message}")
                             for p in found]
                break
    return problems
