"""Running a scenario: every strategy × replicate, each a task that writes its own files.

``simulate`` runs one strategy and replicate in memory and returns its tables (for notebooks and
tests); ``run`` runs them all into a results folder (see :mod:`cxsim.results`) and returns a
:class:`Run` to read them back. The command line (:mod:`cxsim.cli`) is a thin layer over these.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from cxsim import __version__
from cxsim.checks import strategy_worlds
from cxsim.model import JourneyModel
from cxsim.results import (
    MomentBuffer,
    MomentWriter,
    Provenance,
    customers_table,
    daily_table,
    kpis,
    kpis_table,
    partition,
    read_table,
    write_table,
)
from cxsim.scenario import Scenario, Strategy
from cxsim.scenario_file import override
from cxsim.strategies import BASELINE, canonical
from cxsim.summary import format_differences, paired_differences


class RunError(Exception):
    """A run that cannot start (e.g. its results folder is taken)."""


def strategy_of(scenario: Scenario, name: str) -> tuple[Scenario, Strategy] | None:
    """The patched scenario and definition of strategy ``name`` (``None`` for the baseline)."""
    if name == BASELINE:
        return None
    if name not in scenario.strategies:
        known = ", ".join([BASELINE, *scenario.strategies])
        raise KeyError(f"no strategy {name!r} in scenario {scenario.name!r}; known: {known}")
    worlds, _ = strategy_worlds(scenario)
    return worlds[name], scenario.strategies[name]


def all_channels(scenario: Scenario) -> list[str]:
    """Every channel of the baseline and its strategies (one schema for all of a run's tables)."""
    worlds, _ = strategy_worlds(scenario)
    return list(dict.fromkeys(c for w in [scenario, *worlds.values()] for c in w.channels()))


def simulate(
    scenario: Scenario, strategy: str = BASELINE, replicate: int = 0, moments: bool = True
) -> dict[str, pa.Table]:
    """Simulate one strategy and replicate in memory; returns the tables by name.

    The kpis table has one row. Tables convert to pandas with ``.to_pandas()``.
    """
    model = JourneyModel(scenario, replicate, strategy_of(scenario, strategy),
                         all_channels(scenario))
    buffer = MomentBuffer() if moments else None
    if buffer is not None:
        model.keep_moments(buffer)
    model.run()
    tables = {
        "customers": customers_table(model),
        "daily": daily_table(model),
        "kpis": kpis_table(kpis(model)),
    }
    if buffer is not None:
        tables["moments"] = buffer.table(model)
    return tables


@dataclass(frozen=True)
class Task:
    """One strategy × replicate of a run."""

    root: Path
    scenario: Scenario
    scenario_json: str
    strategy: str
    replicate: int
    channels: list[str]


def run_task(task: Task) -> dict[str, Any]:
    """Simulate one task and write its tables; returns its kpis (a small summary)."""
    scenario = task.scenario
    provenance = Provenance(task.scenario_json, scenario.seed, task.strategy, task.replicate)
    mode = scenario.output.moments
    strategy = strategy_of(scenario, task.strategy)
    model = JourneyModel(scenario, task.replicate, strategy, task.channels)
    writer = None
    if mode != "off":
        graph = model.world.graph
        writer = MomentWriter(partition(task.root, "moments", task.strategy, task.replicate),
                              provenance, graph.ids, graph.channels, graph.channel)
        model.keep_moments(writer, scenario.output.moments_sample if mode == "sample" else 1.0)
    model.run()
    if writer is not None:
        writer.close()
    figures = kpis(model)
    for name, table in (("customers", customers_table(model)), ("daily", daily_table(model))):
        write_table(table, partition(task.root, name, task.strategy, task.replicate),
                    provenance, name)
    # kpis last: a task whose kpis file exists is complete
    write_table(kpis_table(figures),
                partition(task.root, "kpis", task.strategy, task.replicate), provenance, "kpis")
    return figures


@dataclass(frozen=True)
class Run:
    """A results folder: read its tables and its summary."""

    path: Path

    def table(self, name: str) -> pa.Table:
        """A table of every strategy and replicate, with ``strategy`` and ``replicate`` columns."""
        return read_table(self.path, name)

    @property
    def scenario(self) -> dict[str, Any]:
        return json.loads((self.path / "scenario.json").read_text())

    def differences(self) -> pa.Table:
        """Each strategy against the baseline: paired differences with 95% intervals."""
        order = json.loads((self.path / "run.json").read_text())["strategies"]
        return paired_differences(self.table("kpis"), order=order)

    def summary(self) -> str:
        """The paired differences as a printable table."""
        return format_differences(self.differences())


def _show(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def default_folder(scenario: Scenario, root: Path = Path("results")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = root / scenario.name / stamp
    n = 1
    while path.exists():
        n += 1
        path = root / scenario.name / f"{stamp}-{n}"
    return path


def run(
    scenario: Scenario,
    out: str | Path | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Run:
    """Simulate the baseline and every strategy, ``replicates`` times each, into ``out``.

    ``replicates`` and ``seed`` override the scenario's. Replicate r of every strategy shares
    the random numbers of replicate r of the baseline (common random numbers).
    """
    changes: dict[str, Any] = {}
    if replicates is not None:
        changes["replicates"] = replicates
    if seed is not None:
        changes["seed"] = seed
    if changes:
        scenario = override(scenario, changes)
    root = Path(out) if out is not None else default_folder(scenario)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise RunError(f"{root}: already exists and is not empty; choose another --out")
    root.mkdir(parents=True, exist_ok=True)
    data = canonical(scenario)
    scenario_json = json.dumps(data, sort_keys=True)
    (root / "scenario.json").write_text(scenario_json)
    (root / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    names = [BASELINE, *scenario.strategies]
    channels = all_channels(scenario)
    tasks = [Task(root, scenario, scenario_json, s, r, channels)
             for r in range(scenario.replicates) for s in names]
    manifest = {
        "scenario": scenario.name, "seed": scenario.seed, "replicates": scenario.replicates,
        "strategies": names, "cxsim_version": __version__,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "tasks": [{"strategy": t.strategy, "replicate": t.replicate} for t in tasks],
    }
    (root / "run.json").write_text(json.dumps(manifest, indent=2))
    for name, strategy in scenario.strategies.items():
        if strategy.from_day >= scenario.horizon_days and progress is not None:
            progress(f"warning: strategy {name} starts on day {strategy.from_day}, after the "
                     f"horizon ({scenario.horizon_days} days): it will equal the baseline")
    for i, task in enumerate(tasks, 1):
        start = time.perf_counter()
        figures = run_task(task)
        if progress is not None:
            progress(f"[{i}/{len(tasks)}] {task.strategy} replicate {task.replicate}: "
                     f"NPS {_show(figures['nps'])}, retention {_show(figures['retention'])}, "
                     f"profit {figures['profit']:,.0f} ({time.perf_counter() - start:.1f} s)")
    manifest["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    (root / "run.json").write_text(json.dumps(manifest, indent=2))
    return Run(root)
