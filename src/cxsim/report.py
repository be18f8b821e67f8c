"""`cxsim report`: one self-contained HTML file that tells the story of a run.

Sections, in reading order: the question (scenario, population, strategies and their costs); the
answer (one row per strategy against the baseline, and a forest plot of 95% intervals);
loyalty over time (levels, and each strategy's difference from the baseline); the journey
(traffic along the touchpoint graph, stage by stage); moments of truth (where disconfirmation
is, and which touchpoints give the peaks and the ends customers remember); service (waits,
abandonment, first-contact resolution and backlog per care touchpoint) and word of mouth and
reviews, when the run has them; the fine print (seed, version, scenario, how to reproduce).

Plots are matplotlib figures (``pip install 'cxsim[report]'``) embedded as SVG. Strategies keep
one look throughout: an Okabe–Ito colour-blind-safe colour, a dash pattern and a marker, so the
lines stay apart when printed in grey. A table or column the run lacks (a run without service,
or from an older cxsim) leaves its part out and the report says so.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

try:
    import pandas as pd
except ImportError as missing:  # pragma: no cover - the report extra brings pandas
    raise ImportError("cxsim report needs pandas and matplotlib: pip install 'cxsim[report]'"
                      ) from missing

from cxsim import __version__
from cxsim.execution import Run, RunError
from cxsim.scenario import STAGES, Scenario
from cxsim.strategies import BASELINE
from cxsim.summary import paired_differences

PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7",
           "#F0E442"]
"""Okabe & Ito (2008), colour-blind safe; black first for the baseline."""
LINE_COLOURS = PALETTE[:7]
"""The palette without its yellow, too pale for a line on white (it fills the journey's nodes)."""
DASHES: tuple[Any, ...] = ("-", (0, (6, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)), (0, (12, 3)),
                           (0, (3, 1.5, 1, 1.5, 1, 1.5)))
MARKERS = ("", "o", "s", "^", "D", "v", "X")
"""Each strategy's line has a dash pattern and a marker: 6 dashes and 7 markers (coprime
counts) give each of the first 42 strategies a pair of its own."""
FIGURE_WIDTH = 9.5
"""Inches: about the width of the page on screen, and shrunk by a quarter on A4."""
WEEK, MONTH = 7, 30
MONEY = "currency units"
MOMENT_ROWS = 400_000
"""At most this many moments of truth (whole journeys of sampled customers) feed the report."""


@dataclass(frozen=True)
class Measure:
    """How the report names a KPI and writes its values."""

    label: str
    unit: str
    scale: float = 1.0
    """100 for a share shown in % (or a difference of shares, in percentage points)."""
    decimals: int = 1
    relative: bool = False
    """Whether a change is also worth reading in % of the baseline."""

    def axis(self, prefix: str = "") -> str:
        return f"{prefix}{self.label} ({self.unit})"

    def format(self, value: float, sign: bool = False) -> str:
        return _number(value * self.scale, self.decimals, sign)


ANSWER_KPIS = {
    "nps": Measure("NPS", "points"),
    "retention": Measure("retention", "percentage points", 100, 2),
    "revenue": Measure("revenue", MONEY, decimals=0, relative=True),
    "profit": Measure("profit", MONEY, decimals=0, relative=True),
    "mean_clv": Measure("mean CLV", f"{MONEY} per customer", relative=True),
}
SERVICE_KPIS = {
    "complaint_rate": Measure("problems complained about", "%", 100),
    "silent_dissatisfied_rate": Measure("customers with a problem who never complained", "%",
                                        100),
    "silent_churn_share": Measure("churned customers with a problem who never complained", "%",
                                  100),
    "first_contact_resolution": Measure("answered first contacts that solved the problem",
                                        "%", 100),
    "mean_wait_minutes": Measure("mean wait of answered contacts", "minutes"),
    "p90_wait_minutes": Measure("90th percentile of waits", "minutes"),
    "service_level": Measure("contacts answered within their target wait", "%", 100),
    "abandonment_rate": Measure("contacts abandoned while waiting", "%", 100),
    "answer_inconsistency": Measure("spread between the answers a customer met", "points",
                                    decimals=2),
    "mean_visit_wait_minutes": Measure("mean wait at staffed touchpoints of the journey",
                                       "minutes"),
    "staff_cost": Measure("staff cost", MONEY, decimals=0),
    "proactive_cost": Measure("follow-ups and prevention", MONEY, decimals=0),
    "cost_to_serve": Measure("cost to serve (staff, contacts, follow-ups and prevention)",
                             MONEY, decimals=0),
}
WOM_KPIS = {
    "aware_share_end": Measure("aware at the end", "% of the market", 100),
    "customers_won": Measure("prospects won as customers", "people", decimals=0),
    "lost_prospects": Measure("prospects lost (first journey without a purchase)", "people",
                              decimals=0),
    "conversion": Measure("first journeys that bought", "%", 100),
    "wom_positive": Measure("positive messages", "messages", decimals=0),
    "wom_negative": Measure("negative messages", "messages", decimals=0),
    "wom_positive_ratio": Measure("positive messages per negative one", "ratio", decimals=2),
    "reviews": Measure("reviews posted", "reviews", decimals=0),
    "final_rating": Measure("rating at the end", "stars, 1–5", decimals=2),
}


class ReportError(RunError):
    """A report that cannot be made (no plotting library)."""


# --------------------------------------------------------------------------------------------
# numbers, tables and figures


def _number(x: float, decimals: int, sign: bool = False) -> str:
    """``x`` with thousands separators and a true minus sign ("n/a" when not a number)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:{'+' if sign else ''},.{decimals}f}".replace("-", "−")


def _tick(x: float, _position: int = 0) -> str:
    """A tick label: compact for large numbers (40k, 1.2M), so that ticks never collide."""
    if abs(x) >= 1e6:
        text = f"{x / 1e6:g}M"
    elif abs(x) >= 1e4:
        text = f"{x / 1e3:g}k"
    else:
        text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}"
    return text.replace("-", "−")


def _share(x: float) -> str:
    """A share in whole percent, "<1%" for a small one that is not 0."""
    return "<1%" if 0 < x < 0.005 else f"{x:.0%}"


def _breakable(name: str) -> str:
    """A name as HTML that may wrap after its underscores."""
    return html.escape(name).replace("_", "_<wbr>")


def _table(frame: pd.DataFrame, escape: bool = True) -> str:
    """A data frame as an HTML table that scrolls sideways on a narrow screen."""
    whole = {c: "{:,}".format for c in frame if pd.api.types.is_integer_dtype(frame[c])}
    table = frame.to_html(index=False, border=0, classes="data", na_rep="n/a", escape=escape,
                          formatters=whole,
                          float_format=lambda x: _number(x, 3 if abs(x) < 10 else 1))
    return f'<div class="scroll">{table}</div>'


def _kpi_table(run: Run, measures: dict[str, Measure]) -> str:
    """The run's ``measures``, one row each, one column per strategy: means over replicates.
    A measure the run lacks is left out, and so is one that is 0 or n/a for every strategy (a
    note under the table names those)."""
    kpis = _read(run, "kpis")
    present = [column for column in measures if kpis is not None and column in kpis]
    if not present:
        return ""
    strategies = [s for s in run.manifest["strategies"] if s in set(kpis.strategy)]
    means = kpis.groupby("strategy")[present].mean().loc[strategies]
    empty = [c for c in present if not means[c].fillna(0).any()]
    frame = pd.DataFrame(
        [[html.escape(measures[c].axis()), *(measures[c].format(means.at[s, c]) for s in
                                              strategies)] for c in present if c not in empty],
        columns=["mean over replicates", *map(_breakable, strategies)])
    note = (f'<p class="note">Zero or n/a for every strategy: '
            f"{html.escape(_listing([measures[c].label for c in empty]))}.</p>" if empty else "")
    return (_table(frame, escape=False) if len(frame) else "") + note


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ReportError("the report draws its plots with matplotlib: "
                          "pip install 'cxsim[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 9.5,
                         "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9,
                         "axes.spines.top": False, "axes.spines.right": False,
                         "svg.fonttype": "none", "figure.dpi": 100})
    return plt


def _figure(rows: int, columns: int, height: float, width: float = FIGURE_WIDTH,
            **options: Any) -> tuple[Any, np.ndarray]:
    """A figure with a rows × columns grid of axes (always a 2-d array), laid out to fit."""
    return _pyplot().subplots(rows, columns, figsize=(width, height), layout="constrained",
                              squeeze=False, **options)


def _ticks(ax: Any, *, x: bool = True, y: bool = True) -> None:
    """At most five ticks per axis, written with thousands separators."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    for axis, wanted in ((ax.xaxis, x), (ax.yaxis, y)):
        if wanted:
            axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10], min_n_ticks=3))
            axis.set_major_formatter(FuncFormatter(_tick))


def _embed(figure: Any, alt: str, caption: str = "") -> str:
    """The figure as an SVG image inside the page, with its caption (plain text)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    _pyplot().close(figure)
    data = base64.b64encode(buffer.getvalue().encode()).decode()
    text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">' \
           f"{text}</figure>"


def _style(i: int, points: int) -> dict[str, Any]:
    """The line of strategy ``i`` through ``points`` points (0: the baseline, black, solid and
    without markers): about eight markers, staggered so that strategies' markers fall apart."""
    step = max(points // 8, 1)
    return {"color": LINE_COLOURS[i % len(LINE_COLOURS)], "linestyle": DASHES[i % len(DASHES)],
            "marker": MARKERS[i % len(MARKERS)], "markersize": 5,
            "markevery": (i * step // len(MARKERS) % step, step),
            "linewidth": 2 if i == 0 else 1.3}


def _legend_below(figure: Any, ax: Any) -> None:
    """The strategies' key under ``figure`` (or a subfigure), from the lines of ``ax``."""
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
                  frameon=False)


def _hide_unused(axes: np.ndarray, used: int) -> None:
    for ax in axes.flat[used:]:
        ax.set_visible(False)


def _read(run: Run, name: str) -> pd.DataFrame | None:
    """One of the run's tables (a sweep's first design point), or None if the run has none."""
    try:
        frame = run.table(name).to_pandas()
    except FileNotFoundError:
        return None
    if "point" in frame:
        frame = frame[frame.point == frame.point.min()]
    return frame


def _per_day(frame: pd.DataFrame, strategy: str, column: str, window: int = 1) -> pd.DataFrame:
    """Day × replicate values of ``column`` for ``strategy``, as a ``window``-day rolling mean."""
    wide = frame[frame.strategy == strategy].pivot(index="day", columns="replicate",
                                                  values=column)
    return wide.rolling(window, min_periods=1).mean()


def _draw(ax: Any, values: pd.DataFrame, i: int, label: str) -> None:
    """Strategy ``i``'s day × replicate ``values``: their mean as a line, their range as a
    band."""
    style = _style(i, len(values))
    ax.plot(values.index, values.mean(axis=1), label=label, **style)
    if values.shape[1] > 1:
        ax.fill_between(values.index, values.min(axis=1), values.max(axis=1),
                        color=style["color"], alpha=0.12, linewidth=0)


def _rolling_share(part: pd.Series, whole: pd.Series, window: int) -> pd.Series:
    """part ÷ whole over the last ``window`` days (missing where whole is 0)."""
    part, whole = (s.rolling(window, min_periods=1).sum() for s in (part, whole))
    return part / whole.where(whole > 0)


def _listing(names: Iterable[str]) -> str:
    """"a, b and c"."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# --------------------------------------------------------------------------------------------
# sections


def _question(run: Run) -> str:
    scenario = run.scenario
    p = scenario.population
    strategies = pd.DataFrame([{
        "strategy": name, "description": s.description.strip(),
        "changes": ", ".join([*s.set, *(f"removes {key}" for key in s.remove)]),
        "from day": s.from_day,
        f"cost per day ({MONEY})": _number(s.cost.per_day, 2),
        f"cost per journey ({MONEY})": _number(s.cost.per_journey, 2),
    } for name, s in scenario.strategies.items()])
    facts = (f"{p.size:,} people in {len(p.segments)} segment(s) "
             f"({', '.join(f'{k} {s.share:.0%}' for k, s in p.segments.items())}), "
             f"{p.existing_customers:.0%} of them customers at the start; "
             f"{len(scenario.touchpoints)} touchpoints; {scenario.horizon_days} days; "
             f"{scenario.replicates} replicates per strategy. Money is in the scenario's "
             f"{MONEY}.")
    body = f"<p>{html.escape(scenario.description.strip())}</p><p>{html.escape(facts)}</p>"
    if scenario.sweep is not None:
        first = min(run.tasks(), key=lambda t: t.point or 0)
        values = ", ".join(f"{k} = {v}" for k, v in (first.values or {}).items())
        body += (f"<p class='note'>A sweep of {scenario.sweep.design} design: the answer "
                 "below lists every design point; the sections after it (over time, the "
                 f"journey, moments of truth, service, word of mouth) show design point "
                 f"{first.point} alone ({html.escape(values)}).</p>")
    warned = run.manifest.get("warnings", [])
    if warned:
        body += ("<p class='note'>Read with care — when the run started, cxsim said:</p><ul>"
                 + "".join(f"<li>{html.escape(w)}</li>" for w in warned) + "</ul>")
    if len(strategies):
        body += ("<h3>The strategies</h3>" + _table(strategies) + "<p class='note'>The costs "
                 "above are the strategies' own; staff a strategy adds (servers paid by the "
                 "hour) are costed in the answer's strategy cost.</p>")
    return _section("question", f"The question: {html.escape(scenario.name)}", body)


def _answer(run: Run) -> str:
    if run.scenario.sweep is not None:
        return _section("answer", "The answer", f"<pre>{html.escape(run.summary())}</pre>")
    kpis = run.table("kpis")
    metrics = tuple(m for m in ANSWER_KPIS if m in kpis.column_names)
    table = paired_differences(kpis, metrics, order=run.manifest["strategies"]).to_pandas()
    if table.empty:
        return _section("answer", "The answer", "<p>The run has no strategies to compare with "
                        "the baseline.</p>")
    names = list(dict.fromkeys(table.strategy))
    replicates = int(table.replicates.iloc[0])
    body = (f"<p>Each strategy minus the baseline, paired within replicates (common random "
            f"numbers) over {replicates} replicates: the mean difference and its 95% interval. "
            "An interval that excludes 0 is a difference the replicates agree on: a filled dot "
            "in the plot, bold in the table. Return on cost is the difference in profit "
            "divided by the strategy's cost.</p>"
            + _embed(_forest(table, names), "forest plot of strategy effects",
                     "Mean paired difference from the baseline (dot) and its 95% interval "
                     "(bar); the dashed line is no difference.")
            + _table(_answer_rows(table, names), escape=False))
    return _section("answer", "The answer: each strategy against the baseline", body)


def _forest(table: pd.DataFrame, names: list[str]) -> Any:
    from matplotlib.lines import Line2D

    metrics = [m for m in ANSWER_KPIS if m in set(table.kpi)]
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    figure, axes = _figure(rows, columns, rows * (1.0 + 0.32 * len(names)) + 0.4, sharey=True)
    y = np.arange(len(names))[::-1]
    for ax, metric in zip(axes.flat, metrics, strict=False):
        measure = ANSWER_KPIS[metric]
        part = table[table.kpi == metric].set_index("strategy").loc[names]
        mid, low, high = (part[c].to_numpy(float) * measure.scale
                          for c in ("difference", "ci_low", "ci_high"))
        ax.errorbar(mid, y, xerr=np.nan_to_num([mid - low, high - mid]), fmt="none",
                    ecolor="black", elinewidth=1, capsize=3)
        agree = part.excludes_zero.to_numpy(bool)
        ax.plot(mid[agree], y[agree], "o", color="black")
        ax.plot(mid[~agree], y[~agree], "o", color="black", markerfacecolor="white")
        ax.axvline(0, color="#666666", linewidth=0.8, linestyle="--")
        ax.grid(axis="x", color="#e4e4e4")
        ax.set_xlabel(measure.axis("Δ "))
        _ticks(ax, y=False)
    for row in axes:
        row[0].set_yticks(y, names)
    _hide_unused(axes, len(metrics))
    figure.legend(handles=[
        Line2D([], [], marker="o", color="black", linestyle="", label="interval excludes 0"),
        Line2D([], [], marker="o", color="black", markerfacecolor="white", linestyle="",
               label="interval includes 0")], loc="outside lower center", ncols=2,
        frameon=False)
    return figure


def _answer_rows(table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """One row per strategy: its cost, each KPI's difference (interval and relative change
    below it) and the return on cost, as HTML cells."""
    rows = []
    for name in names:
        mine = table[table.strategy == name].set_index("kpi")
        first = mine.iloc[0]
        row = {"strategy": _breakable(name),
               f"strategy cost ({MONEY})": _number(first.strategy_cost, 0)}
        for metric, measure in ANSWER_KPIS.items():
            if metric in mine.index:
                row[html.escape(measure.axis("Δ "))] = _difference(mine.loc[metric], measure)
        row["return on cost"] = _number(first.return_on_cost, 2, sign=True)
        rows.append(row)
    return pd.DataFrame(rows)


def _difference(row: pd.Series, measure: Measure) -> str:
    value = measure.format(row.difference, sign=True)
    if row.excludes_zero:
        value = f"<strong>{value}</strong>"
    detail = f"{measure.format(row.ci_low)} to {measure.format(row.ci_high)}"
    if measure.relative and math.isfinite(row.relative):
        detail += f"; {_number(100 * row.relative, 1, sign=True)}%"
    return f"{value}<br><small>{detail}</small>"


LOYALTY = (("active_customers", "active customers", "people", 1),
           ("nps", f"NPS, {MONTH}-day mean", "points", MONTH),
           ("mean_attitude", "mean attitude", "felt-value points", 1))


def _over_time(run: Run) -> str:
    daily = _read(run, "daily")
    panels = [p for p in LOYALTY if daily is not None and p[0] in daily]
    if not panels:
        return _section("time", "Loyalty over time", "<p>The run's daily table has none of "
                        "active customers, NPS and attitude.</p>")
    strategies = run.manifest["strategies"]
    compared = len(strategies) > 1
    figure, axes = _figure(1 + compared, len(panels), 2.9 * (1 + compared) + 0.7, sharex=True)
    for column, (name, label, unit, window) in enumerate(panels):
        base = _per_day(daily, strategies[0], name, window)
        for i, strategy in enumerate(strategies):
            mine = _per_day(daily, strategy, name, window)
            _draw(axes[0, column], mine, i, strategy)
            if compared:
                _draw(axes[1, column], mine - base, i, strategy)
        axes[0, column].set_title(label)
        axes[0, column].set_ylabel(f"{label} ({unit})")
        if compared:
            axes[1, column].set_ylabel(f"Δ {label} ({unit})")
        axes[-1, column].set_xlabel("day")
    for ax in axes.flat:
        _ticks(ax)
    _legend_below(figure, axes[0, 0])
    rows = ("Top: each strategy's level. Bottom: each strategy minus the baseline, paired "
            "within replicates. " if compared else "")
    caption = (f"{rows}Lines: means over replicates; bands: the range of the replicates. NPS "
               f"is that of the day's finished journeys, smoothed by a {MONTH}-day rolling "
               "mean: the customers still coming back. The NPS of the answer above is another "
               "measure: the last score of every customer at the end, those who churned "
               "included, so it is usually lower.")
    return _section("time", "Loyalty over time",
                    _embed(figure, "active customers, NPS and attitude per day", caption))


# The journey graph -----------------------------------------------------------------------------


def _moments(run: Run) -> pd.DataFrame | None:
    """The baseline's moments of truth (whole journeys of a sample of customers)."""
    frame = _read(run, "moments")
    if frame is None:
        return None
    for column in ("touchpoint", "channel", "stage", "strategy"):
        if column in frame:
            frame[column] = frame[column].astype(str)
    frame = frame[frame.strategy == BASELINE]
    output = run.scenario.output
    kept = output.moments_sample if output.moments == "sample" else 1.0
    if len(frame) > MOMENT_ROWS:
        customers = frame.customer.unique()
        keep = np.random.default_rng(0).choice(customers, size=int(
            len(customers) * MOMENT_ROWS / len(frame)), replace=False)
        frame = frame[frame.customer.isin(keep)]
        kept *= len(keep) / len(customers)
    frame = frame.sort_values(["replicate", "customer", "day"], kind="stable")
    frame.attrs["kept"] = kept  # the share of customers whose moments are here
    return frame


JOURNEY_KEY = ["replicate", "customer", "journey"]


def _journey(run: Run, moments: pd.DataFrame | None) -> str:
    if moments is None or moments.empty:
        return _section("journey", "The journey", "<p>This run kept no moments of truth "
                        "(output.moments: off), so the journey cannot be drawn.</p>")
    steps = moments[[*JOURNEY_KEY, "touchpoint"]].copy()
    steps["next"] = steps.groupby(JOURNEY_KEY)["touchpoint"].shift(-1)
    replicates, kept = moments.replicate.nunique(), moments.attrs.get("kept", 1.0)

    def per_replicate(counts: pd.Series) -> pd.Series:  # the whole population's, estimated
        return (counts / (replicates * kept)).round().astype(int)

    flows = per_replicate(steps.dropna(subset=["next"]).groupby(["touchpoint", "next"]).size())
    flows = flows[flows > 0]  # a rare step, below one a replicate
    visits = per_replicate(moments.touchpoint.value_counts())
    busiest = flows.reset_index(name="moves").rename(columns={"touchpoint": "from",
                                                              "next": "to"})
    busiest["share of moves"] = (busiest.moves / busiest.moves.sum()).map("{:.1%}".format)
    busiest = busiest.sort_values("moves", ascending=False).head(12).rename(
        columns={"moves": "moves per replicate"})
    steps_table = ("<h3>Busiest steps</h3>" + _table(busiest) if len(busiest) else
        "<p>No customer moved from one touchpoint to another: every journey is one moment."
        "</p>")
    counted = ("counted over every customer's moments of truth" if kept == 1 else
               f"estimated from the moments of truth of {kept:.1%} of customers (the counts "
               f"scaled by 1/{kept:.3g})")
    caption = (f"Baseline journeys, per replicate (the mean of {replicates}), {counted}. "
               "Columns are the journey's stages, left to right; a circle's area is "
               "the touchpoint's visits, an arrow's width the customers going from one moment "
               "of truth to the next along it, care contacts included (a complaint's call or "
               "an escalation is an arrow to the care touchpoint, though not a journey edge); "
               "'again' counts visits straight after a visit to the same touchpoint.")
    return _section("journey", "The journey",
                    _embed(_journey_graph(run.scenario, flows, visits),
                           "touchpoint graph with traffic", caption)
                    + steps_table)


LABEL_SIZE = 8.5  # points: the touchpoints' labels in the journey graph


def _journey_graph(scenario: Scenario, flows: pd.Series, visits: pd.Series) -> Any:
    import networkx as nx

    columns = {stage: [tp for tp, spec in scenario.touchpoints.items() if spec.stage == stage]
               for stage in STAGES}
    columns = {stage: tps for stage, tps in columns.items() if tps}
    tallest = max(map(len, columns.values()))
    position = {tp: (x + _zigzag(row, len(tps)), (len(tps) - 1) / 2 - row)
                for x, tps in enumerate(columns.values()) for row, tp in enumerate(tps)}
    graph = nx.DiGraph()
    graph.add_nodes_from(position)
    graph.add_weighted_edges_from((a, b, n) for (a, b), n in flows.items()
                                  if a != b and a in position and b in position)
    largest = max(flows.max(), 1) if len(flows) else 1
    most = max(visits.max(), 1)

    def area(n: float) -> float:
        return 80 + 1800 * n / most

    def width(n: float) -> float:
        return 0.6 + 8 * n / largest

    figure, axes = _figure(2, 1, 1.15 * tallest + 2.2,
                           gridspec_kw={"height_ratios": [1.15 * tallest + 0.5, 1.1]})
    ax, key = axes[:, 0]
    nodes = list(graph.nodes)
    sizes = [area(visits.get(n, 0)) for n in nodes]
    nx.draw_networkx_nodes(graph, position, ax=ax, nodelist=nodes, node_size=sizes,
                           node_color=PALETTE[7], edgecolors="black", linewidths=0.8)
    ax.set_xlim(-0.55, len(columns) - 0.45)
    ax.set_ylim(-tallest / 2 - 0.15, tallest / 2 + 0.35)
    labels = {tp: f"{tp}\n{visits.get(tp, 0):,} visits" + (
        f", {int(flows.get((tp, tp), 0)):,} again" if flows.get((tp, tp), 0) else "")
        for tp in nodes}
    figure.get_layout_engine().execute(figure)  # the axes' final place: distances in pixels
    at = {n: ax.transData.transform(position[n]) for n in nodes}
    pixel = figure.dpi / 72  # pixels per point
    obstacles: dict[str, list[Obstacle]] = {}
    for n, size in zip(nodes, sizes, strict=True):
        radius, lines = math.sqrt(size) / 2 * pixel, labels[n].splitlines()
        # half the label's width and height, in points (a character about 0.6 of its size)
        across, down = 0.3 * LABEL_SIZE * max(map(len, lines)), 0.6 * LABEL_SIZE * len(lines)
        obstacles[n] = [(at[n], 0.0, 0.0, radius),  # the circle, then the label below it
                        (at[n] - (0, radius + (down + 2) * pixel), across * pixel,
                         down * pixel, 0.0)]
    bends = _bends(list(graph.edges), at, obstacles)
    for bend in sorted(set(bends.values())):
        edges = [e for e, b in bends.items() if b == bend]
        widths = [width(graph.edges[e]["weight"]) for e in edges]
        nx.draw_networkx_edges(graph, position, edgelist=edges, ax=ax, nodelist=nodes,
                               node_size=sizes, edge_color="#0072B2", alpha=0.6, width=widths,
                               arrowsize=[8 + 1.5 * w for w in widths],
                               connectionstyle=f"arc3,rad={bend}")
    for tp, (x, y) in position.items():
        ax.annotate(labels[tp], (x, y), xytext=(0, -math.sqrt(area(visits.get(tp, 0))) / 2 - 2),
                    textcoords="offset points", ha="center", va="top", fontsize=LABEL_SIZE,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.85})
    for x, stage in enumerate(columns):
        ax.text(x, tallest / 2 + 0.05, stage.replace("_", " "), ha="center", va="bottom",
                fontweight="bold")
    ax.axis("off")
    _journey_key(key, [(n, width(n)) for n in _key_values(largest) if len(flows)],
                 [(n, area(n)) for n in _key_values(most)])
    return figure


BENDS = (0.1, -0.1, 0.2, -0.2, 0.3, -0.3, 0.45, -0.45, 0.6, -0.6)
"""The bends an arrow may take (matplotlib's arc3 ``rad``: the curve's control point sits
``rad`` × the arrow's length to the side of its middle), the gentlest first."""

Obstacle = tuple[np.ndarray, float, float, float]
"""What an arrow should pass clear of, in pixels: a box's centre, half width and half height,
and a radius around it (a circle is a box of no size)."""


def _bends(edges: list[tuple[str, str]], at: dict[str, np.ndarray],
           obstacles: dict[str, list[Obstacle]], margin: float = 4.0
           ) -> dict[tuple[str, str], float]:
    """Each arrow's bend: the first of :data:`BENDS` whose curve from centre ``at[a]`` to
    ``at[b]`` keeps ``margin`` pixels from the ``obstacles`` of every other node (its circle
    and its label), else the one that keeps farthest from them. An arrow and its reverse take
    the same bend, which puts them on opposite sides."""
    t = np.linspace(0, 1, 25)[:, None]

    def clearance(a: str, b: str, bend: float) -> float:
        start, end = at[a], at[b]
        dx, dy = end - start
        control = (start + end) / 2 + bend * np.array([dy, -dx])  # as arc3 places it
        curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end
        gaps = [np.hypot(*np.maximum(np.abs(curve - centre) - (width, height), 0).T).min()
                - radius for n, found in obstacles.items() if n not in (a, b)
                for centre, width, height, radius in found]
        return min(gaps, default=math.inf)

    bends: dict[tuple[str, str], float] = {}
    for a, b in edges:
        if (b, a) in bends:
            bends[a, b] = bends[b, a]
            continue
        pair = [(a, b), (b, a)] if (b, a) in edges else [(a, b)]
        worst = {bend: min(clearance(*e, bend) for e in pair) for bend in BENDS}
        bends[a, b] = next((bend for bend in BENDS if worst[bend] > margin),
                           max(BENDS, key=lambda bend: worst[bend]))
    return bends


def _journey_key(ax: Any, widths: list[tuple[int, float]], areas: list[tuple[int, float]]
                 ) -> None:
    """What an arrow's width and a circle's area stand for, drawn to the graph's scale."""
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 1)
    ax.axis("off")
    if widths:
        ax.text(0, 0.95, "customers moving along an arrow", va="top", fontweight="bold")
    for x, (n, width) in zip((0, 1.6, 3.2), widths, strict=False):
        ax.plot([x, x + 0.8], [0.4, 0.4], color="#0072B2", alpha=0.6, linewidth=width,
                solid_capstyle="butt")
        ax.text(x + 0.9, 0.4, f"{n:,}", va="center")
    ax.text(5.5, 0.95, "visits to a touchpoint", va="top", fontweight="bold")
    for x, (n, area) in zip((5.8, 7.2, 8.6), areas, strict=False):
        ax.scatter([x], [0.4], s=area, color=PALETTE[7], edgecolors="black", linewidths=0.8)
        ax.text(x + 0.45, 0.4, f"{n:,}", va="center")


def _zigzag(row: int, nodes: int) -> float:
    """A sideways step for the nodes of a tall stage column, so that an arrow between two of
    them does not run through those in between."""
    return 0.0 if nodes < 3 else 0.12 * (-1) ** row


def _key_values(largest: float) -> list[int]:
    """Round values for a size key: the largest rounded down to one significant digit, and
    about a third and a tenth of it."""
    def round_down(x: float) -> int:
        magnitude = 10 ** math.floor(math.log10(x))
        return int(x // magnitude * magnitude)

    return sorted({round_down(largest * f) for f in (0.1, 0.33, 1) if largest * f >= 1})


# Moments of truth ------------------------------------------------------------------------------


def _moments_of_truth(scenario: Scenario, moments: pd.DataFrame | None) -> str:
    if moments is None or moments.empty:
        return _section("moments", "Moments of truth", "<p>No moments of truth in this run "
                        "(output.moments: off).</p>")
    peaks = moments.loc[moments.felt_value.abs().groupby(
        [moments[k] for k in JOURNEY_KEY]).idxmax()]
    ends = moments.groupby(JOURNEY_KEY).tail(1)
    per = moments.groupby("touchpoint").agg(
        stage=("stage", "first"), channel=("channel", "first"), moments=("day", "size"),
        mean=("disconfirmation", "mean"), sd=("disconfirmation", "std"))
    per["peaks"] = peaks.touchpoint.value_counts(normalize=True)
    per["ends"] = ends.touchpoint.value_counts(normalize=True)
    per = per.fillna({"peaks": 0.0, "ends": 0.0}).sort_values("mean")
    shown = per.reset_index().rename(columns={
        "mean": "mean disconfirmation (points)", "sd": "sd (points)",
        "peaks": "peak here (% of journeys)", "ends": "end here (% of journeys)"})
    for column, scale in (("mean disconfirmation (points)", 1), ("sd (points)", 1),
                          ("peak here (% of journeys)", 100), ("end here (% of journeys)", 100)):
        shown[column] = shown[column].map(lambda x, scale=scale: _number(
            scale * x, 2 if scale == 1 else 1))
    body = ("<p>The baseline's journeys. Customers judge each moment against their "
            "expectation (disconfirmation: quality − expectation, in points of the 0–10 "
            "scale); a journey is remembered mostly by its most intense moment (the peak, the "
            "largest felt value either way) and its last one (the end).</p>"
            + _embed(_disconfirmation(per), "disconfirmation, peaks and ends per touchpoint",
                     "Left: mean disconfirmation per touchpoint, the bar ± one standard "
                     "deviation. Right: the share of journeys whose peak (black) or end "
                     "(hatched) is at the touchpoint.")
            + _embed(_peak_end_maps(scenario, peaks, ends), "peaks and ends by stage and "
                     "channel", "The same shares by stage × channel, on one scale; – marks a "
                     "stage and channel with no touchpoint.")
            + _table(shown))
    return _section("moments", "Moments of truth", body)


def _disconfirmation(per: pd.DataFrame) -> Any:
    figure, axes = _figure(1, 2, max(1.2 + 0.3 * len(per), 2.2), sharey=True,
                           gridspec_kw={"width_ratios": [1.2, 1]})
    y = np.arange(len(per))
    left, right = axes[0]
    left.barh(y, per["mean"], xerr=per["sd"].fillna(0), color=PALETTE[2], edgecolor="black",
              linewidth=0.6, ecolor="#444444", capsize=2)
    left.axvline(0, color="#666666", linewidth=0.8)
    left.set_yticks(y, per.index)
    left.invert_yaxis()
    left.set_xlabel("disconfirmation, quality − expectation (points)")
    height = 0.38
    right.barh(y - height / 2, 100 * per.peaks, height, color="black", label="peak")
    right.barh(y + height / 2, 100 * per.ends, height, color="white", edgecolor="black",
               hatch="////", linewidth=0.6, label="end")
    right.set_xlabel("journeys whose peak or end is here (%)")
    figure.legend(*right.get_legend_handles_labels(), loc="outside upper right", ncols=2,
                  frameon=False)
    for ax in (left, right):
        _ticks(ax, y=False)
    return figure


def _peak_end_maps(scenario: Scenario, peaks: pd.DataFrame, ends: pd.DataFrame) -> Any:
    """Peaks and ends as two heat maps by stage × channel, on the same rows, columns and
    scale."""
    specs = scenario.touchpoints.values()
    stages = [s for s in STAGES if any(spec.stage == s for spec in specs)]
    channels = list(dict.fromkeys(spec.channel for spec in specs))
    exists = {(spec.stage, spec.channel) for spec in specs}
    grids = [pd.crosstab(chosen.stage, chosen.channel, normalize="all").reindex(
        index=stages, columns=channels, fill_value=0.0).to_numpy() for chosen in (peaks, ends)]
    top = max(float(g.max()) for g in grids) or 1.0
    figure, axes = _figure(1, 2, max(1.1 + 0.42 * len(stages), 2.4)
                           + 0.08 * max(map(len, channels)))
    for ax, grid, title in zip(axes[0], grids, ("where journeys peak", "where journeys end"),
                               strict=True):
        image = ax.imshow(100 * grid, cmap="Greys", vmin=0, vmax=100 * top, aspect="auto")
        ax.set_xticks(range(len(channels)), channels, rotation=35, ha="right")
        ax.set_yticks(range(len(stages)), stages)
        ax.set_title(title)
        ax.set_xlabel("channel")
        for (r, c), share in np.ndenumerate(grid):
            text = _share(share) if (stages[r], channels[c]) in exists else "–"
            ax.text(c, r, text, ha="center", va="center", fontsize=8.5,
                    color="white" if share > 0.55 * top else "black")
    axes[0, 0].set_ylabel("stage")
    figure.colorbar(image, ax=axes[0].tolist(), label="share of journeys (%)", shrink=0.9)
    return figure


# Service -------------------------------------------------------------------------------------


SERVICE_LINES = {
    "wait": ("Mean wait of those served (contacts, and visitors of a desk on the journey)",
             "minutes", "nobody served waited"),
    "abandoned": ("Contacts abandoned while waiting", "% of contacts",
                  "no contact was abandoned"),
    "solved": ("Answered first contacts that solved the problem", "%",
               "no first contact was answered"),
    "backlog": ("Still waiting at midnight", "people",
                "nobody was left waiting at midnight"),
}
"""Per care touchpoint and day: the title, unit and what to say when there is nothing."""
WINDOWS = (7, 14, 30, 60, 90)
"""Days a care line's point may pool, so that sparse contacts do not make noise alone."""


def _service(run: Run) -> str:
    """Waits, abandonment, first-contact resolution and backlog per care touchpoint and day,
    when the run has service contacts (an empty string otherwise)."""
    queues = _read(run, "queues")
    needed = {"day", "touchpoint", "arrivals", "served", "abandoned", "backlog",
              "mean_wait_minutes", "utilisation"}
    if queues is None or not needed <= set(queues) or queues.arrivals.sum() == 0:
        return ""
    queues = queues.assign(touchpoint=queues.touchpoint.astype(str))
    days = _care_days(queues, _read(run, "contacts"))
    seen = set(days.index.get_level_values("touchpoint"))
    care = [tp for tp in run.scenario.touchpoints if tp in seen] + sorted(
        seen - set(run.scenario.touchpoints))
    totals = days.groupby(level="touchpoint").sum()
    has = {"wait": totals.waited > 0, "abandoned": totals.abandoned > 0,
           "solved": totals.first > 0, "backlog": totals.backlog > 0}
    drawn = [m for m in SERVICE_LINES if has[m].any()]
    absent = [SERVICE_LINES[m][2] for m in SERVICE_LINES if m not in drawn]
    body = ("<p>Customers who meet a problem complain or stay silent; complaints wait for a "
            "free server at a care touchpoint, may give up, and are solved at the first "
            "contact, escalated or tried again. Silent customers never show up here: see the "
            "silent rates in the table.</p>")
    if absent:
        body += f"<p>At every care touchpoint, {html.escape(_listing(absent))}.</p>"
    if drawn:
        window = _care_window(days)
        body += _embed(_care_figure(days, care, drawn, has, run.manifest["strategies"],
                                    window),
                       "waits, abandonment, first-contact resolution and backlog per care "
                       "touchpoint and day",
                       f"One column per care touchpoint, each on its own scale (care lines "
                       f"can differ by orders of magnitude). Each point pools the last {window} "
                       "days and all replicates; 'none' marks a touchpoint where it never "
                       "happened.")
    body += _kpi_table(run, SERVICE_KPIS) + "<h3>Care touchpoints in the baseline</h3>" \
        + _table(_desks(queues[queues.strategy == BASELINE], care))
    return _section("service", "Service: waits, abandonment and resolution", body)


def _care_days(queues: pd.DataFrame, contacts: pd.DataFrame | None) -> pd.DataFrame:
    """Per strategy, care touchpoint and day, summed over replicates: contacts served and
    abandoned, minutes waited, first contacts and those solved; and the backlog, averaged."""
    queues = queues.assign(waited=queues.mean_wait_minutes.fillna(0) * queues.served,
                           backlog=queues.backlog / queues.replicate.nunique())
    days = queues.groupby(["strategy", "touchpoint", "day"])[
        ["served", "abandoned", "waited", "backlog"]].sum()
    if contacts is None or not {"attempt", "abandoned", "resolved", "touchpoint",
                                "day"} <= set(contacts):
        return days.assign(first=0.0, solved=0.0)
    first = contacts[(contacts.attempt == 1) & ~contacts.abandoned.astype(bool)].assign(
        touchpoint=lambda c: c.touchpoint.astype(str),
        solved=lambda c: c.resolved.astype(float)).groupby(
        ["strategy", "touchpoint", "day"]).solved.agg(first="size", solved="sum")
    return days.join(first).fillna(0)


def _care_window(days: pd.DataFrame) -> int:
    """The shortest window in which the median care line of a strategy gets 30 contacts."""
    offered = days.served + days.abandoned
    typical = offered.groupby(level=["strategy", "touchpoint"]).mean().median()
    return next((w for w in WINDOWS if w * typical >= 30), WINDOWS[-1])


def _care_lines(day: pd.DataFrame, window: int) -> dict[str, pd.Series]:
    """One strategy's measures at one care touchpoint, per day, over ``window`` days."""
    return {"wait": _rolling_share(day.waited, day.served, window),
            "abandoned": 100 * _rolling_share(day.abandoned, day.served + day.abandoned,
                                              window),
            "solved": 100 * _rolling_share(day.solved, day.first, window),
            "backlog": day.backlog.rolling(window, min_periods=1).mean()}


def _care_figure(days: pd.DataFrame, care: list[str], drawn: list[str],
                 has: dict[str, pd.Series], strategies: list[str], window: int) -> Any:
    """A row per measure, a column per care touchpoint, a line per strategy."""
    horizon = int(days.index.get_level_values("day").max())
    figure = _pyplot().figure(figsize=(FIGURE_WIDTH, 2.0 * len(drawn) + 0.6),
                              layout="constrained")
    rows = np.atleast_1d(figure.subfigures(len(drawn), 1))
    grid = np.array([row.subplots(1, len(care), squeeze=False)[0] for row in rows])
    for row, measure in zip(rows, drawn, strict=True):
        title, unit, _ = SERVICE_LINES[measure]
        row.suptitle(f"{title}, over {window} days ({unit})", x=0.01, ha="left",
                     fontweight="bold", fontsize=10)
    for i, strategy in enumerate(strategies):
        for column, tp in enumerate(care):
            if (strategy, tp) not in days.index.droplevel("day"):
                continue
            for measure, line in _care_lines(days.loc[(strategy, tp)], window).items():
                if measure in drawn and has[measure].get(tp, False):
                    grid[drawn.index(measure), column].plot(
                        line.index, line, label=strategy, **_style(i, len(line)))
    for (r, column), ax in np.ndenumerate(grid):
        happened = bool(has[drawn[r]].get(care[column], False))
        _ticks(ax, y=happened)
        if happened:
            ax.set_ylim(bottom=0)
        else:
            ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", va="center",
                    color="#555555")
            ax.set_yticks([])
            ax.spines["left"].set_visible(False)
        ax.set_xlim(0, horizon)
        ax.set_title(care[column], fontsize=9.5)
        if r == len(drawn) - 1:
            ax.set_xlabel("day")
        else:
            ax.tick_params(labelbottom=False)
    _legend_below(rows[-1], next(ax for ax in grid.flat if ax.get_lines()))
    return figure


def _desks(queues: pd.DataFrame, care: list[str]) -> pd.DataFrame:
    """Each care touchpoint's day (in the order of ``care``), averaged over days and
    replicates."""
    desks = queues.assign(waited=queues.mean_wait_minutes.fillna(0) * queues.served).groupby(
        "touchpoint").agg(arrivals=("arrivals", "mean"), abandoned=("abandoned", "mean"),
                          waited=("waited", "sum"), served=("served", "sum"),
                          utilisation=("utilisation", "mean"), backlog=("backlog", "max"))
    desks = desks.reindex([tp for tp in care if tp in desks.index])
    return pd.DataFrame({
        "care touchpoint": desks.index,
        "arrivals per day (contacts and visitors)": desks.arrivals.map(lambda x: _number(x, 1)),
        "abandoned per day": desks.abandoned.map(lambda x: _number(x, 2)),
        "mean wait (minutes)": (desks.waited / desks.served.where(desks.served > 0)).map(
            lambda x: _number(x, 1)),
        "servers busy (% of staffed time)": (100 * desks.utilisation).map(
            lambda x: _number(x, 1)),
        "largest backlog (people)": desks.backlog.map(lambda x: _number(x, 0)),
    })


# Word of mouth -------------------------------------------------------------------------------


WOM_PANELS = (
    ("aware", "aware of the brand", "people", 1, "newly_aware"),
    ("adopted", "customers ever won", "people", 1, "newly_aware"),
    ("messages_positive", "positive messages, 7 days", "messages", WEEK, "messages_positive"),
    ("messages_negative", "negative messages, 7 days", "messages", WEEK, "messages_negative"),
    ("reviews", "reviews posted, 7 days", "reviews", WEEK, "reviews"),
    ("rating", "public rating", "stars, 1–5", 1, "reviews"),
)
"""Column, title, unit, days summed, and the daily column that must be non-zero for the panel
to say anything (awareness moves only when people hear; the rating only when people review)."""


def _word_of_mouth(run: Run) -> str:
    """Awareness and adoption, messages by valence, reviews and the public rating, when the run
    has word of mouth or reviews (an empty string otherwise)."""
    daily = _read(run, "daily")
    if daily is None:
        return ""
    drawn = [p for p in WOM_PANELS if p[0] in daily and p[4] in daily and daily[p[4]].sum() > 0]
    if not drawn:
        return ""
    absent = [p[1].removesuffix(", 7 days") for p in WOM_PANELS if p not in drawn]
    columns = min(3, len(drawn))
    rows = math.ceil(len(drawn) / columns)
    figure, axes = _figure(rows, columns, 2.5 * rows + 0.6)
    for ax, (column, title, unit, window, _) in zip(axes.flat, drawn, strict=False):
        for i, strategy in enumerate(run.manifest["strategies"]):
            days = _per_day(daily, strategy, column).rolling(window, min_periods=1).sum()
            ax.plot(days.index, days.mean(axis=1), label=strategy, **_style(i, len(days)))
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.set_xlabel("day")
        _ticks(ax)
    _hide_unused(axes, len(drawn))
    _legend_below(figure, axes[0, 0])
    body = ("<p>Prospects become aware through promotion and word of mouth; customers tell "
            "others after their journeys, the dissatisfied more often; some post reviews, and "
            "first-time customers read the rating.</p>")
    if absent:
        body += f"<p>Not in this run: {html.escape(_listing(absent))}.</p>"
    body += _embed(figure, "awareness, messages and rating over time",
                   "Means over replicates; messages and reviews summed over the last 7 days.") \
        + _kpi_table(run, WOM_KPIS)
    return _section("wom", "Word of mouth and reviews", body)


# --------------------------------------------------------------------------------------------


def _fine_print(run: Run) -> str:
    scenario = run.scenario
    text = yaml.safe_dump(run.scenario.model_dump(mode="json", by_alias=True), sort_keys=False,
                          default_flow_style=None, width=72)  # lists of numbers on one line
    command = (f"cxsim run scenario.yaml --seed {scenario.seed} --replicates "
               f"{scenario.replicates}")
    body = (f"<p>Seed {scenario.seed}; cxsim {html.escape(run.manifest['cxsim_version'])} "
            f"(report by cxsim {__version__}); started {run.manifest.get('started', '?')}, "
            f"finished {run.manifest.get('finished', '?')}.</p>"
            f"<p>To reproduce: save the scenario below as <code>scenario.yaml</code> and run "
            f"<code>{html.escape(command)}</code>: the results are identical, bit for bit.</p>"
            + "".join(f"<p>With the module <code>{html.escape(name)}</code> importable (it was "
                      f"<code>{html.escape(m['file'])}</code>, SHA-256 "
                      f"<code>{m['sha256']}</code>): a rule of the scenario comes from it.</p>"
                      for name, m in run.manifest.get("rule_modules", {}).items()) +
            f"<details><summary>The full scenario (printed in full)</summary>"
            f'<pre class="scenario">{html.escape(text)}</pre></details>')
    return _section("fine-print", "The fine print", body)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{title}</h2>{body}</section>'


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em;
       color: #111; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em;
                             margin-top: 2em; }
.scroll { overflow-x: auto; margin: .5em 0 1.5em; }
table.data { border-collapse: collapse; font-size: .85em; }
table.data th, table.data td { padding: .25em .6em; border-bottom: 1px solid #ddd;
                               text-align: left; vertical-align: top;
                               font-variant-numeric: tabular-nums; }
table.data th { border-bottom: 2px solid #999; }
table.data small { color: #444; white-space: nowrap; }
figure { margin: 1em 0; } figure img { display: block; max-width: 100%; height: auto; }
figcaption, .note { font-size: .9em; color: #333; margin-top: .3em; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: .8em; }
nav a { margin-right: 1em; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2, h3 { break-after: avoid-page; }
  img, table, figure, tr { break-inside: avoid-page; }
  figure img { max-height: 245mm; width: auto; }
  .scroll { overflow: visible; }
  table.data { font-size: 8pt; }
  details:not([open])::details-content { content-visibility: visible; display: block; }
  pre { white-space: pre-wrap; font-size: 7pt; background: none; padding: 0; }
  pre.scenario { column-count: 2; column-gap: 2em; }
}
"""
OPEN_FOR_PRINT = ("<script>addEventListener('beforeprint', () => document.querySelectorAll("
                  "'details').forEach(d => { d.open = true; }));</script>")
"""Browsers without ::details-content still print the closed scenario."""


def build_report(run: Run) -> str:
    """The whole report as one HTML document (styles and images inside)."""
    moments = _moments(run)
    sections = [_question(run), _answer(run), _over_time(run), _journey(run, moments),
                _moments_of_truth(run.scenario, moments), _service(run), _word_of_mouth(run),
                _fine_print(run)]
    links = " ".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("answer", "answer"), ("time", "over time"), ("journey", "journey"),
        ("moments", "moments of truth"), ("service", "service"), ("wom", "word of mouth"),
        ("fine-print", "fine print")) if f'id="{a}"' in "".join(sections))
    title = f"cxsim report: {html.escape(run.scenario.name)}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}"
            f"</title><style>{STYLE}</style>{OPEN_FOR_PRINT}</head><body><h1>{title}</h1>"
            f"<nav>{links}</nav>" + "".join(sections) + "</body></html>")


def write_report(run: Run, out: str | Path | None = None) -> Path:
    """Write the report of ``run`` to ``out`` (default: ``report.html`` in the run folder)."""
    path = Path(out) if out is not None else run.path / "report.html"
    document = build_report(run)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(document, encoding="utf-8")
    tmp.replace(path)
    return path


__all__ = ["ReportError", "build_report", "write_report"]
