"""Strategy against baseline: paired differences with confidence intervals.

Replicate r of every strategy uses the same random numbers as replicate r of the baseline
(common random numbers), so the difference is taken within each replicate and its spread over
replicates gives the interval: mean ± t₀.₉₇₅,R−1 · s/√R (a paired t interval).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from scipy import stats

HEADLINE = ("nps", "retention", "revenue", "profit")


def paired_differences(
    kpis: pa.Table,
    metrics: tuple[str, ...] = HEADLINE,
    baseline: str = "baseline",
    order: list[str] | None = None,
) -> pa.Table:
    """Each strategy's mean paired difference from ``baseline`` per metric, with a 95% CI.

    Strategies come in the order of ``order`` (default: as they appear in ``kpis``).
    """
    strategy = np.asarray(kpis.column("strategy").to_pylist())
    replicate = np.asarray(kpis.column("replicate").to_pylist())
    rows = []
    base = {r: i for i, r in enumerate(replicate) if strategy[i] == baseline}
    present = dict.fromkeys(strategy.tolist())
    for name in [s for s in (order or []) if s in present] + list(present):
        if any(row["strategy"] == name for row in rows):
            continue
        if name == baseline:
            continue
        mine = {r: i for i, r in enumerate(replicate) if strategy[i] == name}
        pairs = sorted(set(base) & set(mine))
        for metric in metrics:
            values = kpis.column(metric).to_numpy(zero_copy_only=False)
            a = np.array([values[base[r]] for r in pairs], dtype=float)
            b = np.array([values[mine[r]] for r in pairs], dtype=float)
            d = b - a
            n = len(d)
            half = (stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            mean = float(d.mean()) if n else math.nan
            rows.append({
                "strategy": name, "kpi": metric, "replicates": n,
                "baseline": float(a.mean()) if n else math.nan,
                "value": float(b.mean()) if n else math.nan,
                "difference": mean, "ci_low": mean - half, "ci_high": mean + half,
                "relative": mean / abs(a.mean()) if n and a.mean() != 0 else math.nan,
            })
    return pa.Table.from_pylist(rows)


def _decimals(scale: float) -> int:
    """Decimals for numbers of a row whose typical size is ``scale``."""
    if math.isnan(scale) or scale < 1:
        return 3
    return 2 if scale < 100 else (1 if scale < 1000 else 0)


def _number(x: float, decimals: int) -> str:
    return "n/a" if math.isnan(x) else f"{x:,.{decimals}f}"


def format_differences(table: pa.Table) -> str:
    """The paired differences as a plain-text table, one block per strategy."""
    if table.num_rows == 0:
        return "No strategies to compare with the baseline."
    header = f"{'strategy':<24} {'kpi':<10} {'baseline':>12} {'strategy':>12} " \
             f"{'difference [95% CI]':>36}  {'':3}"
    lines = [header, "-" * len(header)]
    for row in table.to_pylist():
        k = _decimals(max(abs(row["baseline"]), abs(row["value"])))
        ci = f"[{_number(row['ci_low'], k)}, {_number(row['ci_high'], k)}]"
        diff = f"{_number(row['difference'], k)} {ci}"
        sure = ""
        if not math.isnan(row["ci_low"]) and (row["ci_low"] > 0 or row["ci_high"] < 0):
            sure = "*"
        lines.append(f"{row['strategy']:<24} {row['kpi']:<10} {_number(row['baseline'], k):>12} "
                     f"{_number(row['value'], k):>12} {diff:>36}  {sure:3}")
    n = int(table.column("replicates")[0].as_py())
    note = (f"Paired differences over {n} replicates (common random numbers); "
            "* the 95% interval excludes 0.")
    if n < 2:
        note = "One replicate: no confidence interval (run with --replicates 2 or more)."
    return "\n".join([*lines, note])
