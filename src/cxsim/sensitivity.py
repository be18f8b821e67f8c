"""Sensitivity of a KPI to the swept fields of a sweep run.

Variance-based indices (Sobol 2001; Saltelli 2002; Saltelli et al. 2010 estimators) for a
``saltelli`` design: the first-order index S1 is the share of the KPI's variance due to one field
alone, the total index ST includes all its interactions. Elementary effects (Morris 1991;
Campolongo et al. 2007) for a ``morris`` design: μ* is the mean absolute effect of moving one
field across its range, σ the spread of that effect (nonlinearity or interactions). Confidence
intervals are bootstrap intervals from SALib. The KPI at each design point is its mean over the
replicates (which share their random numbers, so the noise between points is small).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cxsim.problems import unknown
from cxsim.results import KPI_SCHEMA
from cxsim.sweep import salib_problem

DESIGNS = ("saltelli", "morris")
"""The sweep designs whose runs give sensitivity indices (Sobol, Morris)."""


class SensitivityError(Exception):
    """A sensitivity analysis that cannot be done on this run."""


def sensitivity(run: Any, kpi: str, strategy: str = "baseline") -> pa.Table:
    """Sobol or Morris indices of ``kpi`` (of ``strategy``) for each swept field of ``run``."""
    sweep = run.scenario.sweep
    if sweep is None or sweep.design not in DESIGNS:
        raise SensitivityError(
            f"{run.path}: sensitivity needs a sweep with design saltelli (Sobol indices) or "
            f"morris (elementary effects); this run has "
            f"{'no sweep' if sweep is None else 'design ' + sweep.design}")
    kpis = run.table("kpis")
    if kpi not in kpis.column_names:
        raise SensitivityError(f"{run.path}: " + unknown(
            "KPI", kpi, [c for c in KPI_SCHEMA.names if c in kpis.column_names]))
    try:
        from SALib.analyze import morris, sobol
    except ImportError:
        raise SensitivityError("sensitivity needs SALib: pip install 'cxsim[sensitivity]'"
                               ) from None
    strategies = run.manifest["strategies"]
    if strategy not in strategies:
        raise SensitivityError(f"{run.path}: {unknown('strategy', strategy, strategies)}")
    mine = kpis.filter(pc.equal(kpis["strategy"], strategy))
    means = mine.group_by("point").aggregate([(kpi, "mean")]).sort_by("point")
    design = pq.read_table(run.path / "design.parquet").sort_by("point")
    if means.num_rows != design.num_rows:
        raise SensitivityError(f"{run.path}: {means.num_rows} of {design.num_rows} design points "
                               "have results; finish the run first (cxsim run --resume)")
    y = means.column(f"{kpi}_mean").to_numpy(zero_copy_only=False).astype(float)
    if np.isnan(y).any():
        raise SensitivityError(f"{kpi} is missing at some design points (nobody was served)")
    problem = salib_problem(sweep)
    seed = run.scenario.seed
    rows = []
    if sweep.design == "saltelli":
        found = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
        for i, name in enumerate(problem["names"]):
            rows.append({"parameter": name, "kpi": kpi, "method": "sobol",
                         "S1": float(found["S1"][i]), "S1_conf": float(found["S1_conf"][i]),
                         "ST": float(found["ST"][i]), "ST_conf": float(found["ST_conf"][i])})
    else:
        x = np.array([[row[n] for n in problem["names"]] for row in design.to_pylist()], float)
        found = morris.analyze(problem, x, y, seed=seed)
        for i, name in enumerate(problem["names"]):
            rows.append({"parameter": name, "kpi": kpi, "method": "morris",
                         "mu_star": float(found["mu_star"][i]),
                         "mu_star_conf": float(found["mu_star_conf"][i]),
                         "sigma": float(found["sigma"][i])})
    return pa.Table.from_pylist(rows)


def format_sensitivity(table: pa.Table) -> str:
    """The indices as a plain-text table, most influential first."""
    rows = table.to_pylist()
    if rows[0]["method"] == "sobol":
        rows.sort(key=lambda r: -r["ST"])
        lines = [f"{'parameter':<44} {'S1 [95% CI]':>22} {'ST [95% CI]':>22}"]
        lines += [f"{r['parameter']:<44} {r['S1']:>8.3f} ± {r['S1_conf']:<10.3f} "
                  f"{r['ST']:>8.3f} ± {r['ST_conf']:<10.3f}" for r in rows]
        note = ("S1: share of the variance due to the field alone; ST: including its "
                "interactions (Sobol indices, Saltelli estimators).")
        if any(not -0.05 <= r[k] <= 1.05 for r in rows for k in ("S1", "ST")):
            note += ("\nSome indices fall outside [0, 1]: too few design points for this "
                     "precision (raise sweep.points) or too few replicates for the KPI's noise.")
    else:
        rows.sort(key=lambda r: -r["mu_star"])
        lines = [f"{'parameter':<44} {'mu* [95% CI]':>24} {'sigma':>12}"]
        lines += [f"{r['parameter']:<44} {r['mu_star']:>10.4g} ± {r['mu_star_conf']:<11.4g} "
                  f"{r['sigma']:>12.4g}" for r in rows]
        note = ("mu*: mean absolute elementary effect of moving the field across its range; "
                "sigma: its spread (Morris screening).")
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:], note])
