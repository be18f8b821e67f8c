"""Running a scenario: every strategy × replicate, each a task that writes its own files.

``simulate`` runs one strategy and replicate in memory and returns its tables (for notebooks and
tests); ``run`` runs them all into a results folder (see :mod:`cxsim.results`) and returns a
:class:`Run` to read them back. The command line (:mod:`cxsim.cli`) is a thin layer over these.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import itertools
import json
import multiprocessing
import os
import sys
import time
import warnings as python_warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from cxsim import __version__
from cxsim.checks import rule_specs, strategy_worlds, warnings
from cxsim.model import JourneyModel, Sink
from cxsim.network import file_sha256
from cxsim.population import _move_on
from cxsim.problems import unknown
from cxsim.progress import Progress
from cxsim.results import (
    EVENT_TABLES,
    KPI_SCHEMA,
    MOMENTS,
    BatchBuffer,
    BatchWriter,
    EventTable,
    Provenance,
    customers_table,
    daily_table,
    kpis,
    kpis_table,
    partition,
    queues_table,
    read_table,
    write_table,
)
from cxsim.rules import make_rule
from cxsim.scenario import Scenario, Strategy
from cxsim.scenario_file import ScenarioError, override, scenario_problems
from cxsim.sensitivity import DESIGNS as SENSITIVITY_DESIGNS
from cxsim.strategies import BASELINE, canonical
from cxsim.summary import (
    HEADLINE,
    differences_between,
    format_baseline,
    format_differences,
    format_points,
    paired_differences,
)
from cxsim.sweep import at_point, design


class RunError(Exception):
    """A run that cannot start (e.g. its results folder is taken)."""


StrategyWorld = tuple[Scenario, Strategy] | None
"""A strategy's patched scenario and definition (``None`` for the baseline)."""


def prepare(scenario: Scenario) -> tuple[dict[str, StrategyWorld], list[str]]:
    """Every strategy's world (the baseline first) and every channel of the run, worked out
    once (the channels of all strategies give all of a run's tables one schema)."""
    worlds, problems = strategy_worlds(scenario)
    if problems:  # a scenario read back from a run (its rule's module gone, say)
        raise ScenarioError([f"{p.dotted}: {p.message}" for p in problems])
    strategies: dict[str, StrategyWorld] = {BASELINE: None}
    strategies.update({name: (world, scenario.strategies[name]) for name, world in worlds.items()})
    channels = [c for w in [scenario, *worlds.values()] for c in w.channels()]
    return strategies, list(dict.fromkeys(channels))


def _model(scenario: Scenario, strategy: StrategyWorld, replicate: int, channels: list[str],
           sink: Callable[[EventTable, JourneyModel], Sink], events: tuple[EventTable, ...]
           ) -> JourneyModel:
    """The model of one task, sending the ``events`` tables that ``output`` asks for to sinks
    made by ``sink``."""
    model = JourneyModel(scenario, replicate, strategy, channels)
    for table in events:
        mode = getattr(scenario.output, table.name)
        if mode != "off":
            share = getattr(scenario.output, f"{table.name}_sample") if mode == "sample" else 1.0
            model.keep(table.name, sink(table, model), share)
    return model


def simulate(
    scenario: Scenario, strategy: str = BASELINE, replicate: int = 0, moments: bool = True
) -> dict[str, pa.Table]:
    """Simulate one strategy and replicate in memory; returns the tables by name.

    The tables are those of a results folder (docs/results.md): ``customers``, ``daily``,
    ``queues`` and ``kpis`` (one row), and the event tables the scenario's ``output`` switches
    on: ``moments`` (unless ``moments`` is false), ``contacts`` and ``messages``. Tables convert
    to pandas with ``.to_pandas()``.
    """
    strategies, channels = prepare(scenario)
    if strategy not in strategies:
        raise KeyError(f"no strategy {strategy!r} in scenario {scenario.name!r}; known: "
                       f"{', '.join(strategies)}")
    events = EVENT_TABLES if moments else tuple(t for t in EVENT_TABLES if t is not MOMENTS)
    model = _model(scenario, strategies[strategy], replicate, channels, BatchBuffer, events)
    model.run()
    tables = {
        "customers": customers_table(model),
        "daily": daily_table(model),
        "queues": queues_table(model),
        "kpis": kpis_table(kpis(model)),
    }
    for name, (buffer, _) in model.sinks.items():
        tables[name] = buffer.result()  # type: ignore[attr-defined]
    return tables


@dataclass(frozen=True)
class Task:
    """One strategy × replicate (× design point, in a sweep) of a run.

    Tasks are light: they share the run's scenario, and the world of their strategy (and design
    point) is worked out where the task runs, so a sweep of many tasks costs the parent little.
    """

    root: Path
    scenario: Scenario
    scenario_json: str
    strategy: str
    replicate: int
    channels: list[str]
    point: int | None = None  # the design point, in a sweep
    values: dict[str, Any] | None = None  # its values

    def world(self) -> tuple[Scenario, StrategyWorld]:
        """The scenario at this task's design point, and its strategy's world there."""
        here = self.scenario if self.values is None else at_point(
            canonical(self.scenario), self.values)
        strategies, _ = prepare(here)
        return here, strategies[self.strategy]

    def path(self, table: str) -> Path:
        return partition(self.root, table, self.strategy, self.replicate, self.point)

    def done(self) -> bool:
        """Whether every table of this task is written (the kpis file is written last)."""
        return self.path("kpis").is_file()


def run_task(task: Task) -> dict[str, Any]:
    """Simulate one task and write its tables; returns its kpis (a small summary)."""
    scenario, strategy = task.world()
    provenance = Provenance(task.scenario_json, scenario.seed, task.strategy, task.replicate,
                            task.values)
    model = _model(scenario, strategy, task.replicate, task.channels,
                   lambda table, m: BatchWriter(task.path(table.name), provenance, table, m),
                   EVENT_TABLES)
    model.run()
    for writer, _ in model.sinks.values():
        writer.close()  # type: ignore[attr-defined]
    figures = kpis(model)
    for name, table in (("customers", customers_table(model)), ("daily", daily_table(model)),
                        ("queues", queues_table(model))):
        write_table(table, task.path(name), provenance, name)
    # kpis last: a task whose kpis file exists is complete
    write_table(kpis_table(figures), task.path("kpis"), provenance, "kpis")
    return figures


@dataclass(frozen=True)
class Run:
    """A results folder: read its tables and its summary. ``Run("results/hotel/x")`` opens
    one (a string or a path), checked to be a cxsim results folder."""

    path: Path

    def __post_init__(self) -> None:
        path = Path(self.path)
        if not (path / MANIFEST).is_file() or not (path / "scenario.json").is_file():
            raise RunError(f"{path}: not a cxsim results folder (no {MANIFEST} and scenario.json)")
        object.__setattr__(self, "path", path)  # frozen: set once, here

    def table(self, name: str) -> pa.Table:
        """A table of every strategy and replicate, with ``strategy`` and ``replicate`` columns."""
        return read_table(self.path, name)

    @property
    def manifest(self) -> dict[str, Any]:
        """The run's ``run.json``: scenario name, seed, replicates, strategies, tasks."""
        return json.loads((self.path / MANIFEST).read_text())

    @property
    def scenario(self) -> Scenario:
        """The scenario as run (defaults filled in but for rules' parameters, overrides applied)."""
        return Scenario.model_validate_json((self.path / "scenario.json").read_text())

    def tasks(self) -> list[Task]:
        """Every task of the run, finished or not, listed without building the strategies'
        worlds (so that a run whose rule's module is gone can still be listed, compared and
        reported; :func:`resume` checks the worlds)."""
        return plan(self.path, self.scenario, channels=[])

    def missing(self) -> list[Task]:
        """The tasks whose results are not (all) written yet."""
        return [task for task in self.tasks() if not task.done()]

    def scenario_json(self) -> str:
        """The canonical scenario as JSON text."""
        return (self.path / "scenario.json").read_text()

    def differences(self) -> pa.Table:
        """Each strategy against the baseline: paired differences with 95% intervals."""
        return paired_differences(self.table("kpis"), order=self.manifest["strategies"])

    def summary(self) -> str:
        """The paired differences as a printable table (for a sweep: the headline KPIs of the
        baseline at each design point, averaged over replicates)."""
        if self.scenario.sweep is None:
            if not self.scenario.strategies:
                return format_baseline(self.table("kpis"))
            return format_differences(self.differences())
        return format_points(self.table("kpis"), pq.read_table(self.path / "design.parquet"),
                             indices=self.scenario.sweep.design in SENSITIVITY_DESIGNS)


MANIFEST = "run.json"


def default_folder(scenario: Scenario, root: Path = Path("results")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = root / scenario.name / stamp
    n = 1
    while path.exists():
        n += 1
        path = root / scenario.name / f"{stamp}-{n}"
    return path


def rules_run(scenario: Scenario, strategies: dict[str, StrategyWorld]
              ) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The rules of every world of ``scenario`` (the baseline's and each of ``strategies``',
    from :func:`prepare`), with all their parameters (defaults filled in), and the file and
    SHA-256 of each module a rule of one's own comes from: what a run records in
    ``run.json``, so that its resume can refuse a module changed since."""
    worlds = {name: scenario if world is None else world[0] for name, world in strategies.items()}
    rules: dict[str, Any] = {}
    modules: dict[str, dict[str, str]] = {}
    for name, world in worlds.items():
        rules[name] = {}
        for kind, (path, spec) in rule_specs(world).items():
            rule = make_rule(kind, spec.rule, spec.model_extra or {})
            rules[name][".".join(path)] = {"rule": spec.rule,
                                           **rule.params.model_dump(mode="json")}
            module = sys.modules[type(rule).__module__]
            file = getattr(module, "__file__", None)
            if ":" in spec.rule and file is not None:
                modules[module.__name__] = {"file": file, "sha256": file_sha256(Path(file))}
    return rules, modules


@functools.cache
def source_digest() -> str:
    """The SHA-256 of cxsim's own modules (their names and bytes, in name order): which model
    a run was made with, finer than its version number."""
    digest = hashlib.sha256()
    for file in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _changed_code(manifest: dict[str, Any]) -> list[str]:
    """How the code a run would resume with differs from the code it started with: cxsim's own
    (:func:`source_digest`) or the module of a rule of one's own."""
    started = manifest.get("cxsim_source")
    if started != source_digest():
        return [f"the run was made by other cxsim code (cxsim {manifest.get('cxsim_version')}, "
                f"source {str(started)[:12]}; this cxsim's is {source_digest()[:12]}): resuming "
                "would mix the results of two models; finish it with the cxsim it started with"]
    changed = []
    for name, recorded in manifest.get("rule_modules", {}).items():
        try:
            file = importlib.import_module(name).__file__
        except ImportError:
            continue  # said by the scenario's own check
        now = file_sha256(Path(file)) if file is not None else "none"
        if now != recorded["sha256"]:
            where = "" if file == recorded["file"] else f", then at {recorded['file']}"
            changed.append(f"the rule module {name} ({file}{where}) has changed since the run "
                           f"started (SHA-256 then {recorded['sha256'][:12]}, now {now[:12]}): "
                           "resuming would mix two versions of a rule")
    return changed


def plan(root: Path, scenario: Scenario, channels: list[str] | None = None) -> list[Task]:
    """The tasks of a run: every strategy (baseline first) of every replicate, at every design
    point of the sweep if there is one. Tasks that will run need the run's ``channels``
    (:func:`prepare` works them out from the strategies' worlds when they are not given); for
    tasks that are only listed, ``[]`` will do."""
    scenario_json = json.dumps(canonical(scenario))  # key order matters: segments, touchpoints
    points: list[tuple[int | None, dict[str, Any] | None]] = [(None, None)]
    if scenario.sweep is not None:
        points = list(enumerate(design(scenario.sweep, scenario.seed)))
    channels = prepare(scenario)[1] if channels is None else channels
    return [Task(root, scenario, scenario_json, name, r, channels, point, values)
            for point, values in points
            for r in range(scenario.replicates) for name in [BASELINE, *scenario.strategies]]


def run(
    scenario: Scenario,
    out: str | Path | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    cluster: str | None = None,
    progress: Progress | None = None,
    notes: Sequence[str] = (),
) -> Run:
    """Simulate the baseline and every strategy, ``replicates`` times each, into ``out``, and
    return the results folder as a :class:`Run` (``run.table("kpis")``, ``run.summary()``).

    ``out`` must be new or empty; ``None`` writes to ``results/<scenario name>/<date-time>``
    under the current folder. ``replicates`` and ``seed`` override the scenario's. Replicate
    r of every strategy shares the random numbers of replicate r of the baseline (common random
    numbers). Tasks run on ``workers`` local processes (``None``: one per core) or on the Dask
    cluster whose scheduler is at ``cluster`` (e.g. ``"tcp://10.0.0.5:8786"``); the results
    are the same, bit for bit, either way. ``progress`` (a :class:`cxsim.Progress`) reports
    tasks done and the time left, and prints the scenario's warnings; without it they are
    issued as Python warnings. The warnings, and any ``notes`` (the command line's note on a
    population smaller than the file's), are kept in the run's ``run.json`` for the report.

    Raises :class:`RunError` when ``out`` is a file or a folder that is not empty (finish an
    interrupted run with :func:`cxsim.resume`), :class:`cxsim.ScenarioError` when ``seed``
    or ``replicates`` are invalid, and :class:`cxsim.rules.RuleError` when a rule fails.
    If interrupted, every finished task stays written.
    """
    changes: dict[str, Any] = {}
    if replicates is not None:
        changes["replicates"] = replicates
    if seed is not None:
        changes["seed"] = seed
    if changes:
        scenario = override(scenario, changes)
    root = Path(out) if out is not None else default_folder(scenario)
    if root.exists() and not root.is_dir():
        raise RunError(f"{root}: is a file, not a folder; choose another results folder "
                       "(--out)")
    if root.exists() and any(root.iterdir()):
        raise RunError(f"{root}: already exists and is not empty; choose another results "
                       f"folder (--out), or finish an interrupted run with: cxsim run --resume "
                       f"{root} (in Python: cxsim.resume)")
    data = canonical(scenario)
    strategies, channels = prepare(scenario)
    tasks = plan(root, scenario, channels)
    rules, modules = rules_run(scenario, strategies)  # for run.json, before anything is written
    found = warnings(scenario)
    root.mkdir(parents=True, exist_ok=True)
    if scenario.sweep is not None:
        points = {t.point: t.values for t in tasks}
        write_comparison(pa.Table.from_pylist([{"point": k, **v} for k, v in points.items()]),
                         root / "design.parquet")
    _write_atomically(root / "scenario.yaml", yaml.safe_dump(data, sort_keys=False))
    _write_atomically(root / "scenario.json", tasks[0].scenario_json)
    _write_atomically(root / MANIFEST, json.dumps({
        "scenario": scenario.name, "seed": scenario.seed, "replicates": scenario.replicates,
        "strategies": [BASELINE, *scenario.strategies], "cxsim_version": __version__,
        "cxsim_source": source_digest(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "tasks": [{"strategy": t.strategy, "replicate": t.replicate}
                  | ({"point": t.point} if t.point is not None else {}) for t in tasks],
        "warnings": [w.removeprefix("warning: ") for w in found] + list(notes),
        "rules": rules, "rule_modules": modules,
    }, indent=2))
    for warning in found:
        if progress is not None:
            progress.note(warning)
        else:
            python_warnings.warn(warning.removeprefix("warning: "), stacklevel=2)
    execute(tasks, len(tasks), workers, cluster, progress)
    _record_finish(root)
    return Run(root)


def resume(
    folder: str | Path,
    workers: int | None = 1,
    cluster: str | None = None,
    progress: Progress | None = None,
) -> Run:
    """Finish an interrupted run: simulate only the tasks whose results are missing.

    Leftovers of interrupted writes are removed first. The result equals an uninterrupted run.
    Raises :class:`RunError` when ``folder`` is not a run, or when its scenario no longer
    checks out: a file it names (an edge list) gone or changed since the run started, a rule's
    module that cannot be imported or has changed (``run.json`` keeps its SHA-256), or cxsim's
    own code changed (:func:`source_digest`).
    """
    result = Run(folder)
    problems = scenario_problems(result.scenario)  # files unchanged, rules importable
    found = [f"{p.dotted}: {p.message}" for p in problems] or _changed_code(result.manifest)
    if found:
        raise RunError(f"{result.path}: cannot resume: " + "; ".join(found) + " (the run's "
                       "scenario is checked again: put back what it ran with, a file or a "
                       "rule's module, or start a new run)")
    for leftover in result.path.rglob("*.tmp"):
        leftover.unlink()
    missing = [task for task in plan(result.path, result.scenario) if not task.done()]
    execute(missing, len(result.manifest["tasks"]), workers, cluster, progress)
    _record_finish(result.path)
    return result


def execute(
    tasks: list[Task], total: int, workers: int | None, cluster: str | None,
    progress: Progress | None,
) -> None:
    """Run ``tasks`` (of a run of ``total``) in-process, on a process pool or on Dask."""
    if progress is not None:
        progress.start(total, total - len(tasks))
        if tasks and compiled_code_cached() is False:
            progress.note("compiling cxsim's numba code first: the first run after installing "
                          "or updating cxsim takes about half a minute longer; later runs load "
                          "it from numba's cache")
    if not tasks:
        return
    workers = workers or os.cpu_count() or 1
    if cluster is None and workers > 1 and len(tasks) > 1 and not _main_importable():
        workers = 1
        if progress is not None:
            progress.note("running every task in this process: worker processes cannot import "
                          "a script read from standard input again (save it to a file to use "
                          "several workers)")
    if cluster is None and (workers == 1 or len(tasks) == 1):
        for task in tasks:
            start = time.perf_counter()
            figures = run_task(task)
            if progress is not None:
                progress.done(task.strategy, task.replicate, figures,
                              time.perf_counter() - start)
        return
    waiting = iter(tasks)
    with _executor(workers, cluster) as (pool, slots):
        # two tasks in flight per worker: the parent's memory does not grow with the run
        running = {pool.submit(_timed_task, t): t for t in itertools.islice(waiting, 2 * slots)}
        try:
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = running.pop(future)
                    figures, seconds = future.result()
                    if progress is not None:
                        progress.done(task.strategy, task.replicate, figures, seconds)
                    for nxt in itertools.islice(waiting, 1):
                        running[pool.submit(_timed_task, nxt)] = nxt
        except BaseException:
            for future in running:
                future.cancel()
            raise


def compiled_code_cached() -> bool | None:
    """Whether numba's cache holds the model's compiled code for the current sources (looked up
    for one pass, a hop of the journeys, whose module every run uses); None if this numba
    keeps its cache in a way not known here. Its private index is read, so any error counts as
    not known."""
    try:
        return bool(_move_on._cache._cache_file._load_index())
    except Exception:  # another numba's internals: just say nothing
        return None


def _main_importable() -> bool:
    """Whether worker processes can import the main module again, as multiprocessing makes them
    do: not when it is a script read from standard input (``python - <<EOF``: its ``__file__``
    is ``<stdin>``)."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


def _timed_task(task: Task) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    return run_task(task), time.perf_counter() - start


@contextmanager
def _executor(workers: int, cluster: str | None) -> Iterator[tuple[Executor, int]]:
    """A process pool of ``workers`` (forkserver: each worker imports cxsim once), or the
    executor of a Dask cluster (``pip install 'cxsim[dask]'``), with its number of workers.

    If the run is interrupted, the pool's workers are stopped at once; a cluster's tasks that
    are already running finish there (their files are written whole, or not at all)."""
    if cluster is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["cxsim.execution"])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            try:
                yield pool, workers
            except BaseException:  # interrupted or failed: stop the workers' tasks now
                _stop_workers(pool)
                raise
        return
    try:
        from distributed import Client
    except ImportError:
        raise RunError("--cluster needs Dask: pip install 'cxsim[dask]'") from None
    try:
        client = Client(cluster, timeout=30)
    except OSError as error:
        raise RunError(f"cannot reach the Dask scheduler at {cluster}: {error}") from None
    with client, client.get_executor(pure=False) as pool:
        yield pool, max(1, sum(w.get("nthreads", 1)
                               for w in client.scheduler_info()["workers"].values()))


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes instead of waiting for their tasks to finish (a
    task's files are written atomically, so a stopped one leaves only ``*.tmp`` leftovers,
    which resuming removes)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
        return
    for process in list((pool._processes or {}).values()):  # private before Python 3.14
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def compare(first: Run, second: Run | None = None, baseline: str = BASELINE) -> pa.Table:
    """Paired differences of every KPI: each strategy of ``first`` against its ``baseline``, or,
    given ``second``, each strategy of ``second`` against the baseline of ``first``.

    Two runs are paired replicate by replicate, so their scenarios may differ only in their
    strategies, replicate count, seed and output settings (with different seeds the pairs
    share no random numbers and the intervals are wider); the replicates of the larger run
    beyond the other's count are left out. The table's metadata says what was compared:
    ``cxsim.runs`` (the folders, JSON), ``cxsim.baseline``, ``cxsim.seeds`` (JSON) and
    ``cxsim.common_random_numbers`` (``true`` when the seeds agree), beside
    ``cxsim.version`` and ``cxsim.table``.
    """
    if any(run.scenario.sweep is not None for run in (first, second) if run is not None):
        raise RunError("a sweep's strategies are compared within each design point; use "
                       "cxsim sensitivity for the swept parameters, or read the kpis table")
    kpis = first.table("kpis")
    metrics = (*HEADLINE, *(c for c in KPI_SCHEMA.names if c not in HEADLINE))
    order = first.manifest["strategies"]
    if baseline not in order:
        raise RunError(f"{first.path}: {unknown('strategy', baseline, order)}")
    if second is not None:
        differ = differences_between(json.loads(first.scenario_json()),
                                     json.loads(second.scenario_json()))
        if differ:
            raise RunError(f"cannot pair {first.path} and {second.path}: their scenarios differ "
                           f"in {'; '.join(differ[:5])}" + (" ..." if len(differ) > 5 else ""))
        mine = kpis.filter(pc.equal(kpis["strategy"], baseline))
        theirs = second.table("kpis")
        labels = pa.array([f"B:{s}" for s in theirs.column("strategy").to_pylist()])
        theirs = theirs.set_column(theirs.schema.get_field_index("strategy"), "strategy", labels)
        kpis = pa.concat_tables([mine, theirs.cast(mine.schema)])
        order = [f"B:{s}" for s in second.manifest["strategies"]]
    runs = [first] if second is None else [first, second]
    seeds = [run.scenario.seed for run in runs]
    table = paired_differences(kpis, metrics, baseline=baseline, order=order)
    return table.replace_schema_metadata({
        "cxsim.table": "comparison", "cxsim.version": __version__,
        "cxsim.runs": json.dumps([str(run.path.resolve()) for run in runs]),
        "cxsim.baseline": baseline, "cxsim.seeds": json.dumps(seeds),
        "cxsim.common_random_numbers": json.dumps(len(set(seeds)) == 1)})


def write_comparison(table: pa.Table, path: Path) -> Path:
    """Write a comparison table as parquet, atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def _record_finish(root: Path) -> None:
    """Note in the manifest when the run's last task finished (``cxsim status`` reads the files:
    a task is done when its kpis file exists, whatever the manifest says)."""
    manifest = json.loads((root / MANIFEST).read_text())
    manifest["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    _write_atomically(root / MANIFEST, json.dumps(manifest, indent=2))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
