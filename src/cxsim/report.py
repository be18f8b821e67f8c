"""`cxsim report`: one self-contained HTML file that tells the story of a run.

Sections, in reading order: the question (scenario, population, strategies and their costs); the
answer (each strategy against the baseline, as a table and a forest plot of 95% intervals);
loyalty over time; the journey (traffic along the touchpoint graph); moments of truth (where
disconfirmation is, and which touchpoints give the peaks and the ends customers remember); word
of mouth and reviews, and service (waits, abandonment, first-contact resolution, backlog), when
the run has them; the fine print (seed, version, scenario, how to reproduce). Plots are
matplotlib figures (``pip install 'cxsim[report]'``) embedded as SVG, in the Okabe–Ito
colour-blind-safe palette with a line style per strategy, so they read in grey.
"""

from __future__ import annotations

import base64
import html
import io
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
from cxsim.scenario import STAGES
from cxsim.summary import HEADLINE

PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7",
           "#F0E442"]
"""Okabe & Ito (2008), colour-blind safe; black first for the baseline."""
STYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
MOMENT_ROWS = 400_000
"""At most this many moments of truth (whole journeys of sampled customers) feed the report."""
KPI_LABELS = {"nps": "NPS (points)", "retention": "retention (share)",
              "revenue": "revenue (money)", "profit": "profit (money)",
              "mean_clv": "mean CLV (money)"}


class ReportError(RunError):
    """A report that cannot be made (no plotting library)."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ReportError("the report draws its plots with matplotlib: "
                          "pip install 'cxsim[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                         "svg.fonttype": "none", "figure.dpi": 100})
    return plt


def _embed(figure: Any, alt: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    _pyplot().close(figure)
    data = base64.b64encode(buffer.getvalue().encode()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def _style(i: int) -> dict[str, Any]:
    return {"color": PALETTE[i % len(PALETTE)], "linestyle": STYLES[i % len(STYLES)]}


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="data", na_rep="n/a",
                         float_format=lambda x: f"{x:,.3f}" if abs(x) < 10 else f"{x:,.1f}")


# --------------------------------------------------------------------------------------------
# sections


def _question(run: Run) -> str:
    scenario = run.scenario
    p = scenario.population
    strategies = pd.DataFrame([{
        "strategy": name, "description": s.description.strip(), "from day": s.from_day,
        "cost per day": s.cost.per_day, "cost per journey": s.cost.per_journey,
    } for name, s in scenario.strategies.items()])
    facts = (f"{p.size:,} people in {len(p.segments)} segment(s) "
             f"({', '.join(f'{k} {s.share:.0%}' for k, s in p.segments.items())}), "
             f"{p.existing_customers:.0%} of them customers at the start; "
             f"{len(scenario.touchpoints)} touchpoints; {scenario.horizon_days} days; "
             f"{scenario.replicates} replicates per strategy.")
    body = f"<p>{html.escape(scenario.description.strip())}</p><p>{html.escape(facts)}</p>"
    if len(strategies):
        body += "<h3>The strategies</h3>" + _table(strategies)
    return _section("question", f"The question: {html.escape(scenario.name)}", body)


def _answer(run: Run) -> str:
    if run.scenario.sweep is not None:
        return _section("answer", "The answer", f"<pre>{html.escape(run.summary())}</pre>")
    metrics = (*HEADLINE, "mean_clv")
    from cxsim.summary import paired_differences

    table = paired_differences(run.table("kpis"), metrics,
                               order=run.manifest["strategies"]).to_pandas()
    if table.empty:
        return _section("answer", "The answer", "<p>The run has no strategies to compare with "
                        "the baseline.</p>")
    shown = table[["strategy", "kpi", "baseline", "value", "difference", "ci_low", "ci_high",
                   "relative", "strategy_cost", "return_on_cost"]].rename(columns={
                       "value": "with strategy", "ci_low": "95% CI low", "ci_high": "95% CI high",
                       "strategy_cost": "cost", "return_on_cost": "return on cost"})
    plt = _pyplot()
    names = list(dict.fromkeys(table.strategy))
    figure, axes = plt.subplots(1, len(metrics), figsize=(2.6 * len(metrics), 0.9 + 0.45 *
                                                          len(names)), sharey=True)
    for ax, metric in zip(axes, metrics, strict=True):
        rows = table[table.kpi == metric].set_index("strategy").loc[names]
        y = np.arange(len(names))[::-1]
        ax.errorbar(rows.difference, y, xerr=[rows.difference - rows.ci_low,
                                              rows.ci_high - rows.difference],
                    fmt="o", color="black", ecolor="#555555", capsize=3)
        ax.axvline(0, color="#999999", linewidth=0.8)
        ax.set_title(f"Δ {KPI_LABELS.get(metric, metric)}", fontsize=8)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    axes[0].set_yticks(np.arange(len(names))[::-1], names)
    figure.suptitle("Each strategy minus the baseline: mean paired difference and 95% interval",
                    fontsize=9, y=1.02)
    figure.tight_layout()
    replicates = int(table.replicates.iloc[0])
    body = (f"<p>Differences are paired within replicates (common random numbers) over "
            f"{replicates} replicates; an interval that excludes 0 is a difference the "
            "replicates agree on. Return on cost is the difference in profit divided by the "
            "strategy's own cost.</p>" + _embed(figure, "forest plot of strategy effects")
            + _table(shown))
    return _section("answer", "The answer: each strategy against the baseline", body)


def _over_time(run: Run) -> str:
    plt = _pyplot()
    daily = run.table("daily").to_pandas()
    if "point" in daily:
        daily = daily[daily.point == daily.point.min()]
    panels = [("active_customers", "active customers (people)"),
              ("nps", "NPS of the day's journeys, 7-day mean (points)"),
              ("mean_attitude", "mean attitude (felt-value scale)")]
    figure, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for i, strategy in enumerate(run.manifest["strategies"]):
        mine = daily[daily.strategy == strategy]
        for ax, (column, label) in zip(axes, panels, strict=True):
            wide = mine.pivot_table(index="day", columns="replicate", values=column)
            if column == "nps":
                wide = wide.rolling(7, min_periods=1).mean()
            ax.plot(wide.index, wide.mean(axis=1), label=strategy, linewidth=1.2, **_style(i))
            ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1),
                            color=_style(i)["color"], alpha=0.12, linewidth=0)
            ax.set_title(label, fontsize=8)
            ax.set_xlabel("day")
    axes[0].legend(fontsize=7, frameon=False)
    body = ("<p>Lines: mean over replicates; bands: the range of the replicates.</p>"
            + _embed(figure, "active customers, NPS and attitude per day"))
    return _section("time", "Loyalty over time", body)


def _word_of_mouth(run: Run) -> str:
    """Awareness and adoption, messages by valence and the public rating, when the run has
    word of mouth or reviews (an empty string otherwise)."""
    daily = run.table("daily").to_pandas()
    if "point" in daily:
        daily = daily[daily.point == daily.point.min()]
    talked = daily[["messages_positive", "messages_negative", "reviews"]].to_numpy().sum()
    if not talked and daily.newly_aware.sum() == 0:
        return ""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for i, strategy in enumerate(run.manifest["strategies"]):
        mine = daily[daily.strategy == strategy].groupby("day").mean(numeric_only=True)
        style = _style(i)
        axes[0].plot(mine.index, mine.aware, label=f"{strategy}: aware", **style)
        axes[0].plot(mine.index, mine.adopted, alpha=0.6, linewidth=0.8, **style)
        week = mine[["messages_positive", "messages_negative"]].rolling(7, min_periods=1).sum()
        axes[1].plot(mine.index, week.messages_positive, label=f"{strategy}: positive", **style)
        axes[1].plot(mine.index, week.messages_negative, alpha=0.6, linewidth=0.8, **style)
        axes[2].plot(mine.index, mine.rating, label=strategy, **style)
    axes[0].set_title("aware (thick) and adopted (thin), people", fontsize=8)
    axes[1].set_title("messages in the last 7 days: positive (thick), negative (thin)", fontsize=8)
    axes[2].set_title("public rating (stars, 1–5)", fontsize=8)
    for ax in axes:
        ax.set_xlabel("day")
    axes[2].legend(fontsize=7, frameon=False)
    kpis = run.table("kpis").to_pandas().groupby("strategy")[
        ["aware_share_end", "wom_positive", "wom_negative", "wom_positive_ratio", "reviews",
         "final_rating"]].mean().reset_index()
    body = ("<p>Prospects become aware through promotion and word of mouth; customers tell "
            "others after their journeys, the dissatisfied more often; some post reviews, and "
            "first-time customers read the rating. Means over replicates.</p>"
            + _embed(figure, "awareness, messages and rating over time") + _table(kpis))
    return _section("wom", "Word of mouth and reviews", body)


def _service(run: Run) -> str:
    """Waits, abandonment, first-contact resolution and backlog per day, when the run has
    service contacts (an empty string otherwise)."""
    try:
        queues = run.table("queues").to_pandas()
    except FileNotFoundError:  # a run from before service episodes
        return ""
    if "point" in queues:
        queues = queues[queues.point == queues.point.min()]
    if queues.empty or queues.arrivals.sum() == 0:
        return ""
    queues["waited"] = queues.mean_wait_minutes.fillna(0) * queues.served
    days = queues.groupby(["strategy", "replicate", "day"])[
        ["arrivals", "served", "abandoned", "backlog", "waited"]].sum().reset_index()
    try:
        contacts = run.table("contacts").to_pandas()
    except FileNotFoundError:
        contacts = pd.DataFrame(columns=["strategy", "day", "attempt", "resolved"])
    first = contacts[contacts.attempt == 1].groupby(["strategy", "day"]).resolved.mean()
    plt = _pyplot()
    figure, grid = plt.subplots(2, 2, figsize=(11, 6), constrained_layout=True)
    axes = grid.ravel()
    for i, strategy in enumerate(run.manifest["strategies"]):
        mine = days[days.strategy == strategy].groupby("day").sum(numeric_only=True)
        week = mine.rolling(7, min_periods=1).sum()
        style = _style(i)
        axes[0].plot(week.index, week.waited / week.served.where(week.served > 0),
                     label=strategy, **style)
        axes[1].plot(week.index, week.abandoned / (week.served + week.abandoned).where(
            week.served + week.abandoned > 0), **style)
        if strategy in first.index.get_level_values(0):
            axes[2].plot(first[strategy].rolling(7, min_periods=1).mean(), **style)
        replicates = max(days[days.strategy == strategy].replicate.nunique(), 1)
        axes[3].plot(mine.index, mine.backlog / replicates, **style)
    titles = ("mean wait of answered contacts, 7 days (minutes)",
              "abandoned share of contacts, 7 days", "first contacts solved, 7-day mean (share)",
              "contacts still waiting at midnight (contacts)")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("day")
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                  ncols=4, fontsize=7, frameon=False)
    columns = ["complaint_rate", "silent_dissatisfied_rate", "silent_churn_share",
               "first_contact_resolution", "mean_wait_minutes", "p90_wait_minutes",
               "service_level", "abandonment_rate", "cost_to_serve"]
    kpis = run.table("kpis").to_pandas().groupby("strategy")[columns].mean().reset_index()
    base = queues[queues.strategy == run.manifest["strategies"][0]]
    desks = base.groupby("touchpoint").agg(
        arrivals_per_day=("arrivals", "mean"), abandoned_per_day=("abandoned", "mean"),
        waited=("waited", "sum"), served=("served", "sum"),
        utilisation=("utilisation", "mean"), max_backlog=("backlog", "max")).reset_index()
    desks.insert(3, "mean_wait_minutes", desks.pop("waited") / desks.pop("served"))
    body = ("<p>Customers who meet a problem complain or stay silent; complaints wait for a "
            "free server at a care touchpoint, may give up, and are solved at the first "
            "contact, escalated or tried again. Lines: means over replicates. Silent customers "
            "never show up here: see the silent rates below.</p>"
            + _embed(figure, "waits, abandonment, first-contact resolution and backlog per day")
            + _table(kpis) + "<p>Care touchpoints in the baseline (per day, over replicates):"
            "</p>" + _table(desks))
    return _section("service", "Service: waits, abandonment and resolution", body)


def _moments(run: Run) -> pd.DataFrame | None:
    """The baseline's moments of truth (whole journeys of a sample of customers)."""
    try:
        table = run.table("moments")
    except FileNotFoundError:
        return None
    frame = table.to_pandas()
    frame = frame[frame.strategy == "baseline"]
    if "point" in frame:
        frame = frame[frame.point == frame.point.min()]
    if len(frame) > MOMENT_ROWS:
        customers = frame.customer.unique()
        keep = np.random.default_rng(0).choice(customers, size=int(
            len(customers) * MOMENT_ROWS / len(frame)), replace=False)
        frame = frame[frame.customer.isin(keep)]
    for column in ("touchpoint", "channel", "stage", "strategy"):
        if column in frame:
            frame[column] = frame[column].astype(str)
    return frame.sort_values(["replicate", "customer", "day"], kind="stable")


def _journey(run: Run, moments: pd.DataFrame | None) -> str:
    if moments is None or moments.empty:
        return _section("journey", "The journey", "<p>This run kept no moments of truth "
                        "(output.moments: off), so the journey cannot be drawn.</p>")
    import networkx as nx

    plt = _pyplot()
    scenario = run.scenario
    key = ["replicate", "customer", "journey"]
    steps = moments[[*key, "touchpoint"]].copy()
    steps["next"] = steps.groupby(key)["touchpoint"].shift(-1)
    flows = steps.dropna(subset=["next"]).groupby(["touchpoint", "next"]).size()
    graph = nx.DiGraph()
    for tp, spec in scenario.touchpoints.items():
        graph.add_node(tp, layer=STAGES.index(spec.stage))
    for (a, b), n in flows.items():
        if a in graph and b in graph:
            graph.add_edge(a, b, weight=n)
    order = sorted(graph.nodes, key=lambda n: graph.nodes[n]["layer"])
    position = nx.multipartite_layout(graph.subgraph(order), subset_key="layer")
    figure, ax = plt.subplots(figsize=(10, 4))
    largest = max((d["weight"] for *_, d in graph.edges(data=True)), default=1)
    nx.draw_networkx_edges(graph, position, ax=ax, width=[
        0.5 + 6 * d["weight"] / largest for *_, d in graph.edges(data=True)],
        edge_color="#0072B2", alpha=0.6, arrowsize=10, connectionstyle="arc3,rad=0.08")
    visits = moments.touchpoint.value_counts()
    nx.draw_networkx_nodes(graph, position, ax=ax, node_color="#F0E442", edgecolors="black",
                           node_size=[200 + 1200 * visits.get(n, 0) / max(visits.max(), 1)
                                      for n in graph.nodes])
    nx.draw_networkx_labels(graph, position, ax=ax, font_size=7)
    ax.set_title("Baseline journeys: edge width ∝ customers moving along it; "
                 "columns are stages, left to right", fontsize=8)
    ax.axis("off")
    counts = flows.reset_index(name="moves").sort_values("moves", ascending=False).head(15)
    return _section("journey", "The journey", _embed(figure, "touchpoint graph with traffic")
                    + "<h3>Busiest steps</h3>" + _table(counts))


def _moments_of_truth(moments: pd.DataFrame | None) -> str:
    if moments is None or moments.empty:
        return _section("moments", "Moments of truth", "<p>No moments of truth in this run "
                        "(output.moments: off).</p>")
    plt = _pyplot()
    per = moments.groupby("touchpoint")["disconfirmation"].agg(["mean", "std", "size"])
    per = per.sort_values("mean")
    figure, axes = plt.subplots(1, 3, figsize=(12, 0.8 + 0.3 * len(per)),
                                gridspec_kw={"width_ratios": [1.4, 1, 1]})
    axes[0].barh(per.index, per["mean"], xerr=per["std"], color="#56B4E9", ecolor="#555555",
                 capsize=2)
    axes[0].axvline(0, color="#999999", linewidth=0.8)
    axes[0].set_title("disconfirmation, quality − expectation\n(0–10 points): mean ± sd",
                      fontsize=8)
    figure.subplots_adjust(wspace=0.45)
    key = ["replicate", "customer", "journey"]
    intense = moments.felt_value.abs()
    peaks = moments.loc[intense.groupby([moments[k] for k in key]).idxmax()]
    ends = moments.groupby(key).tail(1)
    for ax, chosen, title in ((axes[1], peaks, "where journeys peak"),
                              (axes[2], ends, "where journeys end")):
        grid = pd.crosstab(chosen.stage, chosen.channel, normalize="all")
        image = ax.imshow(grid.to_numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(grid.columns)), grid.columns, rotation=45, ha="right")
        ax.set_yticks(range(len(grid.index)), grid.index)
        for (r, c), share in np.ndenumerate(grid.to_numpy()):
            ax.text(c, r, f"{share:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if share > 0.5 else "black")
        ax.set_title(f"{title}\n(share of journeys, stage × channel)", fontsize=8)
    figure.colorbar(image, ax=axes[2], fraction=0.04)
    body = ("<p>Customers judge each moment against their expectation; a journey is "
            "remembered mostly by its most intense moment (peak) and its last one (end).</p>"
            + _embed(figure, "disconfirmation per touchpoint, peaks and ends")
            + _table(per.reset_index().rename(columns={"size": "moments"})))
    return _section("moments", "Moments of truth", body)


def _fine_print(run: Run) -> str:
    scenario = run.scenario
    text = yaml.safe_dump(run.scenario.model_dump(mode="json", by_alias=True), sort_keys=False)
    command = (f"cxsim run scenario.yaml --seed {scenario.seed} --replicates "
               f"{scenario.replicates}")
    body = (f"<p>Seed {scenario.seed}; cxsim {html.escape(run.manifest['cxsim_version'])} "
            f"(report by cxsim {__version__}); started {run.manifest.get('started', '?')}, "
            f"finished {run.manifest.get('finished', '?')}.</p>"
            f"<p>To reproduce: save the scenario below as <code>scenario.yaml</code> and run "
            f"<code>{html.escape(command)}</code>: the results are identical, bit for bit.</p>"
            f"<details><summary>The full scenario</summary><pre>{html.escape(text)}</pre>"
            "</details>")
    return _section("fine-print", "The fine print", body)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{title}</h2>{body}</section>'


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em;
       color: #111; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table.data { border-collapse: collapse; font-size: .85em; margin: .5em 0 1.5em; }
table.data th, table.data td { padding: .2em .6em; border-bottom: 1px solid #ddd;
                               text-align: left; font-variant-numeric: tabular-nums; }
img { max-width: 100%; } pre { background: #f6f6f6; padding: 1em; overflow-x: auto;
                               font-size: .8em; }
nav a { margin-right: 1em; }
@media print { nav { display: none; } section { break-inside: avoid-page; } }
"""


def build_report(run: Run) -> str:
    """The whole report as one HTML document (styles and images inside)."""
    moments = _moments(run)
    sections = [_question(run), _answer(run), _over_time(run), _journey(run, moments),
                _moments_of_truth(moments), _service(run), _word_of_mouth(run),
                _fine_print(run)]
    links = " ".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("answer", "answer"), ("time", "over time"), ("journey", "journey"),
        ("moments", "moments of truth"), ("service", "service"), ("wom", "word of mouth"),
        ("fine-print", "fine print")) if f'id="{a}"' in "".join(sections))
    title = f"cxsim report: {html.escape(run.scenario.name)}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}"
            f"</title><style>{STYLE}</style></head><body><h1>{title}</h1><nav>{links}</nav>"
            + "".join(sections) + "</body></html>")


def write_report(run: Run, out: str | Path | None = None) -> Path:
    """Write the report of ``run`` to ``out`` (default: ``report.html`` in the run folder)."""
    path = Path(out) if out is not None else run.path / "report.html"
    document = build_report(run)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(document, encoding="utf-8")
    tmp.replace(path)
    return path


__all__ = ["ReportError", "build_report", "write_report"]
