"""Strategy against baseline: paired differences with confidence intervals.

Replicate r of every strategy uses the same random numbers as replicate r of the baseline
(common random numbers), so the difference is taken within each replicate and its spread over
replicates gives the interval: mean ± t₀.₉₇₅,R−1 · s/√R (a paired t interval).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import stdtrit

from cxsim.problems import shown

HEADLINE = ("nps", "retention", "revenue", "profit")
SCORES = ("nps", "mean_attitude")
"""KPIs on a scale whose zero is a point of balance, not an absence (NPS, a share of promoters
less a share of detractors; attitude, 0 = neutral): a change in % of the baseline means
nothing there (NPS 1.6 → 6.6 would read +312 %), so they have no relative change."""


def paired_differences(
    kpis: pa.Table,
    metrics: tuple[str, ...] = HEADLINE,
    baseline: str = "baseline",
    order: list[str] | None = None,
) -> pa.Table:
    """Each strategy's mean paired difference from ``baseline`` per metric, with a 95% CI.

    ``kpis`` has ``strategy`` and ``replicate`` columns; replicate r of a strategy is paired with
    replicate r of the baseline. Each row also carries what the strategy costs — its own cost
    (mean ``strategy_cost``) plus the staff it adds or saves (mean paired difference of
    ``staff_cost``: care agents paid by the hour) — and its return on that cost (mean Δprofit /
    cost, when the cost is positive). Strategies come in the order of ``order`` (default: as
    they appear in ``kpis``).
    """
    strategy = kpis.column("strategy").to_pylist()
    replicate = kpis.column("replicate").to_pylist()
    columns = {m: kpis.column(m).to_numpy(zero_copy_only=False).astype(float)
               for m in {*metrics, "profit", "strategy_cost", "staff_cost"}
               if m in kpis.column_names}
    columns.setdefault("staff_cost", np.zeros(kpis.num_rows))  # runs from before care staff
    rows_of: dict[str, dict[int, int]] = {}
    for i, (name, r) in enumerate(zip(strategy, replicate, strict=True)):
        rows_of.setdefault(name, {})[r] = i
    if baseline not in rows_of:
        raise ValueError(f"no {baseline!r} rows to compare with; strategies: {', '.join(rows_of)}")
    base = rows_of[baseline]
    names = list(dict.fromkeys([*(s for s in order or [] if s in rows_of), *rows_of]))
    rows = []
    for name in (n for n in names if n != baseline):
        pairs = sorted(set(base) & set(rows_of[name]))
        a_rows = [base[r] for r in pairs]
        b_rows = [rows_of[name][r] for r in pairs]
        staff = columns["staff_cost"][b_rows] - columns["staff_cost"][a_rows]
        cost = float((columns["strategy_cost"][b_rows] + staff).mean()) if pairs else math.nan
        gain = float((columns["profit"][b_rows] - columns["profit"][a_rows]).mean()) \
            if pairs else math.nan
        for metric in metrics:
            a, b = columns[metric][a_rows], columns[metric][b_rows]
            mean, low, high = paired_interval(b - a)
            rows.append({
                "strategy": name, "kpi": metric, "replicates": len(pairs),
                "baseline": float(a.mean()) if pairs else math.nan,
                "value": float(b.mean()) if pairs else math.nan,
                "difference": mean, "ci_low": low, "ci_high": high,
                "relative": relative_change(mean, float(a.mean()), metric) if pairs
                else math.nan,
                "excludes_zero": bool(low > 0 or high < 0),
                "strategy_cost": cost,
                "return_on_cost": gain / cost if cost > 0 else math.nan,
            })
    return pa.Table.from_pylist(rows)


def relative_change(difference: float, baseline: float, metric: str) -> float:
    """``difference`` as a fraction of a positive ``baseline``; NaN for a score (:data:`SCORES`)
    and for a baseline of 0 or below (a change relative to a loss reads wrongly)."""
    return difference / baseline if baseline > 0 and metric not in SCORES else math.nan


def paired_interval(d: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of the paired differences ``d`` and its t interval (NaN bounds with < 2 pairs)."""
    n = len(d)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(d.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stdtrit(n - 1, (1 + level) / 2) * d.std(ddof=1) / math.sqrt(n))  # t quantile
    return mean, mean - half, mean + half


BUSY = 0.95
"""A line whose servers are busy this share of their time is at its limit."""


def overloaded_lines(queues: pa.Table) -> list[str]:
    """Warnings for the service lines that could not keep up: busy at least ``BUSY`` of the
    staffed time on more than one day in twenty, in some strategy (waits then grow through
    the day and carry into the next)."""
    if queues.num_rows == 0:
        return []
    touchpoint = np.asarray(queues.column("touchpoint").to_pylist())
    strategy = np.asarray(queues.column("strategy").to_pylist())
    full = pc.fill_null(pc.greater_equal(queues["utilisation"], BUSY), False).to_numpy(
        zero_copy_only=False)
    wait = pc.fill_null(queues["mean_wait_minutes"], 0.0).to_numpy(zero_copy_only=False)
    warnings = []
    for line in dict.fromkeys(touchpoint):
        here = touchpoint == line
        days = {name: full[here & (strategy == name)].mean() for name in dict.fromkeys(strategy)}
        worst = max(days, key=days.__getitem__)
        if days[worst] > 0.05:
            longest = wait[here & (strategy == worst)].max()
            warnings.append(
                f"warning: {line}: its servers were busy {BUSY:.0%} of the time or more "
                f"on {days[worst]:.0%} of the days ({worst}); the longest day's mean wait was "
                f"{longest:,.0f} minutes. More servers (care.servers) or shorter service "
                "(care.service_minutes) would keep up; the queues table shows it day by day.")
    return warnings


IGNORED_WHEN_PAIRING = ("strategies", "replicates", "seed", "description", "output")
"""What two runs may differ in and still be compared (``output`` says which event tables are
kept, which leaves every KPI as it is)."""


def differences_between(a: object, b: object, path: str = "") -> list[str]:
    """Dotted paths where two canonical scenarios differ, ignoring what may differ between two
    runs that are compared (strategies, replicates, seed, description)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in dict.fromkeys([*a, *b]):
            if not path and key in IGNORED_WHEN_PAIRING:
                continue
            found += differences_between(a.get(key), b.get(key), f"{path}{key}.")
        return found
    if a == b:
        return []
    return [f"{path.rstrip('.')} ({'none' if a is None else shown(a)} vs "
            f"{'none' if b is None else shown(b)})"]


def _decimals(scale: float) -> int:
    """Decimals for numbers of a row whose typical size is ``scale``."""
    if math.isnan(scale) or scale < 1:
        return 3
    return 2 if scale < 100 else (1 if scale < 1000 else 0)


def _number(x: float, decimals: int) -> str:
    return "n/a" if math.isnan(x) else f"{x:,.{decimals}f}"


def format_differences(table: pa.Table, costs: bool = False) -> str:
    """The paired differences as a plain-text table; with ``costs``, each strategy's cost and
    return on cost as well. A table of :func:`cxsim.compare` says in its metadata whether its
    pairs share random numbers (runs of different seeds do not)."""
    if table.num_rows == 0:
        return "No strategies to compare with the baseline."
    header = (f"{'strategy':<24} {'kpi':<22} {'baseline':>12} {'strategy':>12} "
              f"{'difference [95% CI]':>36} {'relative':>9}  ")
    if costs:
        header += f"{'cost':>12} {'return':>8}"
    lines = [header, "-" * len(header)]
    for row in table.to_pylist():
        k = _decimals(max(abs(row["baseline"]), abs(row["value"])))
        ci = f"[{_number(row['ci_low'], k)}, {_number(row['ci_high'], k)}]"
        diff = f"{_number(row['difference'], k)} {ci}"
        relative = "n/a" if math.isnan(row["relative"]) else f"{row['relative']:+.1%}"
        line = (f"{row['strategy']:<24} {row['kpi']:<22} {_number(row['baseline'], k):>12} "
                f"{_number(row['value'], k):>12} {diff:>36} {relative:>9} "
                f"{'*' if row['excludes_zero'] else ' '}")
        if costs:
            roi = "n/a" if math.isnan(row["return_on_cost"]) else f"{row['return_on_cost']:.2f}"
            line += f"{_number(row['strategy_cost'], 0):>12} {roi:>8}"
        lines.append(line)
    n = int(table.column("replicates")[0].as_py())
    common = (table.schema.metadata or {}).get(b"cxsim.common_random_numbers", b"true")
    pairs = ("common random numbers" if common == b"true" else
             "runs of different seeds: the pairs share no random numbers, so the intervals "
             "are wider than with one seed")
    notes = [f"Paired differences over {n} replicates ({pairs}); * the 95% interval excludes 0."]
    if n < 2:
        notes = ["One replicate: no confidence interval (run with --replicates 2 or more)."]
    if costs:
        notes.append("cost: the strategy's own cost plus the care staff it adds; return: "
                     "difference in profit / cost.")
    scores = [k for k in dict.fromkeys(table.column("kpi").to_pylist()) if k in SCORES]
    if scores:
        notes.append(f"relative: none for {' and '.join(scores)}, whose 0 is a balance, not an "
                     "absence (read the difference in points).")
    return "\n".join([*lines, *notes])


def format_baseline(kpis: pa.Table, metrics: tuple[str, ...] = HEADLINE,
                    baseline: str = "baseline") -> str:
    """The ``baseline``'s KPIs, each a mean over the replicates with its 95% t interval: what a
    run without strategies has to say."""
    mine = kpis.filter(pc.equal(kpis["strategy"], baseline))
    header = f"{'kpi':<22} {'mean [95% CI]':>40}"
    lines = [header, "-" * len(header)]
    for metric in metrics:
        values = mine.column(metric).to_numpy(zero_copy_only=False).astype(float)
        mean, low, high = paired_interval(values[~np.isnan(values)])
        k = _decimals(abs(mean))
        lines.append(f"{metric:<22} "
                     f"{_number(mean, k) + f' [{_number(low, k)}, {_number(high, k)}]':>40}")
    note = (f"Mean over {mine.num_rows} replicates with its 95% interval. No strategies to "
            "compare with (a scenario's strategies section holds them).")
    return "\n".join([*lines, note])


def format_points(kpis: pa.Table, design: pa.Table, baseline: str = "baseline",
                  limit: int = 20, indices: bool = False) -> str:
    """A sweep's headline KPIs of the baseline at each design point (mean over replicates);
    ``indices``: its design gives sensitivity indices (say how to get them)."""
    frame = kpis.filter(pc.equal(kpis["strategy"], baseline))
    means = frame.group_by("point").aggregate([(k, "mean") for k in HEADLINE])
    means = {row["point"]: row for row in means.to_pylist()}
    names = [c for c in design.column_names if c != "point"]
    header = " ".join([f"{'point':>5}", *(f"{_tail(n, 24):>24}" for n in names),
                       *(f"{k:>12}" for k in HEADLINE)])
    lines = [f"Sweep: {design.num_rows} design points, {baseline} strategy, mean over "
             "replicates", header, "-" * len(header)]
    for row in design.to_pylist()[:limit]:
        mean = means.get(row["point"], {})
        lines.append(" ".join([f"{row['point']:>5}", *(f"{row[n]!s:>24}"[:24] for n in names),
                               *(f"{mean.get(f'{k}_mean', math.nan):>12,.3f}"
                                 for k in HEADLINE)]))
    if design.num_rows > limit:
        lines.append(f"... {design.num_rows - limit} more points in design.parquet and kpis/")
    if indices:
        lines.append("Sensitivity of a KPI to the swept fields: cxsim sensitivity RUN --kpi nps")
    return "\n".join(lines)


def _tail(path: str, width: int) -> str:
    """The last parts of a dotted ``path`` that fit in ``width`` characters (all of it if it
    fits; else '…' and whole parts, or the last part cut from the left)."""
    if len(path) <= width:
        return path
    parts = path.split(".")
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + len(tail) + 2 > width:
            break
        tail = f"{part}.{tail}"
    return "…" + tail[-(width - 1):]
