"""The ``cxsim`` command: run, validate and describe scenarios.

A thin layer over the Python API (:func:`cxsim.load_scenario`, :func:`cxsim.run`): everything
the command does can be done from a notebook too.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import threading
import time
import warnings as python_warnings
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

import yaml
from pydantic import ValidationError

from cxsim import __version__
from cxsim.checks import warnings
from cxsim.execution import (
    Run,
    RunError,
    compare,
    default_folder,
    resume,
    run,
    write_comparison,
)
from cxsim.problems import unknown
from cxsim.progress import Progress
from cxsim.results import KPI_SCHEMA
from cxsim.rules import RuleError
from cxsim.scenario import Scenario, scenario_json_schema
from cxsim.scenario_file import ScenarioError, load_scenario
from cxsim.sensitivity import DESIGNS as SENSITIVITY_DESIGNS
from cxsim.sensitivity import SensitivityError, format_sensitivity, sensitivity
from cxsim.strategies import canonical
from cxsim.summary import HEADLINE, format_differences, overloaded_lines
from cxsim.sweep import SweepError, design

EPILOG = """\
examples:
  cxsim run scenarios/hotel.yaml
  cxsim run scenarios/hotel.yaml --replicates 10 --set population.size=100000
  cxsim run scenarios/hotel.yaml --workers 2 --out results/hotel/big
  cxsim run --resume results/hotel/big          # after an interruption
  cxsim status results/hotel/big
  cxsim compare results/hotel/big
  cxsim validate scenarios/hotel.yaml
  cxsim schema > scenario.schema.json

docs: README.md, docs/scenarios.md, docs/results.md, docs/rules.md
"""


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
        help="override a scenario field by its dotted path, e.g. --set population.size=100000 "
             "--set 'touchpoints.*.personalisation=0.3' (repeatable; VALUE is read as YAML)")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="cxsim",
        description="Simulate customer journeys through touchpoints and compare what-if "
                    "strategies on loyalty (NPS, retention, revenue, profit, CLV).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    main.add_argument("--version", action="version", version=f"cxsim {__version__}")
    commands = main.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser(
        "run", help="simulate a scenario's baseline and strategies into a results folder",
        description="Simulate the baseline and every strategy of SCENARIO, each for the "
                    "scenario's replicates, write the tables as parquet files into one results "
                    "folder, and print each strategy's paired difference from the baseline with "
                    "95% confidence intervals.",
        epilog="The results folder holds customers/, moments/, contacts/, messages/ (when "
               "switched on), daily/, queues/ and kpis/ (parquet, partitioned by strategy and "
               "replicate), scenario.yaml and run.json; see docs/results.md.")
    p.add_argument("scenario", metavar="SCENARIO", nargs="?", help="scenario file (YAML)")
    p.add_argument("--resume", metavar="DIR",
                   help="finish an interrupted run in DIR: simulate only its missing tasks "
                        "(no SCENARIO, --set, --replicates or --seed then)")
    p.add_argument("--out", metavar="DIR",
                   help="results folder (default: results/<scenario>/<date-time>); must not exist "
                        "or be empty")
    p.add_argument("--replicates", type=int, metavar="R", help="replicates per strategy "
                   "(default: the scenario's)")
    p.add_argument("--seed", type=int, metavar="S", help="base seed (default: the scenario's)")
    _add_overrides(p)
    _add_execution(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    p.add_argument("--report", action="store_true",
                   help="also write report.html into the results folder (see cxsim report)")

    r = commands.add_parser(
        "report", help="write a self-contained HTML report of a run",
        description="Write one HTML file (images and styles inside; opens offline; printable) "
                    "that tells the story of a run: the question, each strategy against the "
                    "baseline with 95% intervals, loyalty over time, traffic through the "
                    "journey, moments of truth, and how to reproduce the run. Needs matplotlib: "
                    "pip install 'cxsim[report]'.")
    r.add_argument("run", metavar="RUN", help="results folder")
    r.add_argument("-o", "--output", metavar="FILE",
                   help="where to write (default: RUN/report.html)")

    s = commands.add_parser(
        "status", help="say which tasks of a results folder are done",
        description="Show the scenario, seed and tasks of a results folder, which are done and "
                    "which are missing (an interrupted run); finish it with cxsim run --resume.")
    s.add_argument("run", metavar="DIR", help="results folder")

    c = commands.add_parser(
        "compare", help="compare strategies with a baseline, with paired 95%% intervals",
        description="For each KPI, each strategy's mean difference from the baseline over the "
                    "paired replicates (common random numbers) with its 95% confidence "
                    "interval, the relative change, whether the interval excludes zero, the "
                    "strategy's cost and its return on that cost (difference in profit / cost). "
                    "With two folders, every strategy of RUN_B is compared with the baseline of "
                    "RUN_A (their scenarios may differ only in strategies, replicates, seed and "
                    "output). "
                    "Prints a table and writes comparison.parquet into the folder (with two: "
                    "comparison-against-RUN_A.parquet into RUN_B).")
    c.add_argument("runs", metavar="RUN", nargs="+", help="one results folder, or RUN_A RUN_B")
    c.add_argument("--baseline", default="baseline", metavar="NAME",
                   help="the strategy to compare with (default: baseline)")
    e = commands.add_parser(
        "sensitivity", help="Sobol or Morris indices of a KPI for a sweep's fields",
        description="For a run with a sweep (design saltelli or morris), how much each swept "
                    "field moves a KPI: Sobol first-order and total indices, or Morris mu* and "
                    "sigma, with 95% bootstrap intervals (SALib: pip install "
                    "'cxsim[sensitivity]'). Prints a table and writes sensitivity-KPI.parquet.")
    e.add_argument("run", metavar="RUN", help="results folder of a sweep")
    e.add_argument("--kpi", default="nps", metavar="NAME", help="the KPI (default: nps)")
    e.add_argument("--strategy", default="baseline", metavar="NAME",
                   help="whose KPI (default: baseline)")

    c.add_argument("--kpi", action="append", metavar="NAME",
                   help="a KPI to show (repeatable; default: nps, retention, revenue, profit; "
                        "'all' for every KPI); the parquet file always holds every KPI")

    v = commands.add_parser(
        "validate", help="check a scenario file without running it",
        description="Check SCENARIO: the schema, the journey graph, the rules and every "
                    "strategy's patch. Prints one located message per problem (FILE:LINE:COL: "
                    "field.path: what was expected) and exits with status 2 if there is any.")
    v.add_argument("scenario", metavar="SCENARIO", help="scenario file (YAML)")
    _add_overrides(v)

    commands.add_parser(
        "schema", help="print the scenario JSON Schema (for editor completion and checks)",
        description="Print the JSON Schema of scenario files. Point your editor's YAML "
                    "language server at it, e.g. with a first line "
                    "'# yaml-language-server: $schema=scenario.schema.json'.")
    return main


def _add_execution(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=_positive, metavar="N",
                        help=f"local worker processes (default: the cores, {os.cpu_count()})")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                        help="run the tasks on a Dask cluster, e.g. tcp://host:8786 (default: "
                             "$DASK_SCHEDULER_ADDRESS; needs pip install 'cxsim[dask]')")


def _positive(text: str) -> int:
    """An argument that must be a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return number


def _fixed_costs_note(as_filed: Scenario, scenario: Scenario) -> list[str]:
    """A note when ``scenario`` has fewer people than ``as_filed`` while costing things that do
    not shrink with them (strategies' costs per day, staff paid by the hour)."""
    filed, now = as_filed.population.size, scenario.population.size
    per_day = [n for n, s in scenario.strategies.items() if s.cost.per_day > 0]
    staffed = [n for n, tp in scenario.touchpoints.items()
               if tp.care is not None and tp.care.cost_per_server_hour > 0]
    if now >= filed or not (per_day or staffed):
        return []
    what = " and ".join(part for part in (
        f"the strategies' costs per day ({', '.join(per_day)})" if per_day else "",
        f"the staff paid by the hour ({', '.join(staffed)})" if staffed else "") if part)
    return [f"note: {now:,} people instead of the file's {filed:,}: revenue shrinks with them, "
            f"but {what} stay as in the file, so profit reads low"]


def _as_filed(path: str) -> Scenario | None:
    """The scenario file as it is, without overrides, for the notes on what they change: its
    schema only (no network built, no strategies patched); None if it is not valid alone (the
    overrides may be what makes it valid)."""
    try:
        return Scenario.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError):
        return None


def _added_sections_note(as_filed: Scenario, overrides: list[str]) -> list[str]:
    """A note for each ``--set`` that goes into a section ``as_filed`` does not have (a
    touchpoint's ``care``, ``service.follow_up``), so adds it: a line of servers at a
    touchpoint that had none is easily meant for another touchpoint."""
    data, found = canonical(as_filed), []
    for override in overrides:
        dotted = override.partition("=")[0].strip()
        parts, here = dotted.split("."), data
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(here, dict) or part not in here:
                break
            here = here[part]
            if here is None:
                section = ".".join(parts[:depth + 1])
                found.append(f"note: --set {dotted}: adds {section}, which the file does not "
                             "have (check that this is the touchpoint or section you meant)")
                break
    return found


def _describe(scenario: Scenario) -> str:
    p = scenario.population
    sweep = scenario.sweep
    swept = (f", a {sweep.design} sweep of {len(design(sweep, scenario.seed))} points over "
             f"{len(sweep.parameters)} field(s)" if sweep is not None else "")
    return (f"{scenario.name}: {p.size:,} people in {len(p.segments)} segment(s), "
            f"{len(scenario.touchpoints)} touchpoints, {len(scenario.strategies)} strategies, "
            f"{scenario.horizon_days} days x {scenario.replicates} replicates{swept}")


def _run(args: argparse.Namespace) -> int:
    progress = None if args.quiet else Progress()
    if args.quiet:  # the scenario's warnings too, which cxsim.run issues without a progress
        python_warnings.simplefilter("ignore", UserWarning)
    say = (lambda _: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    start = time.perf_counter()
    if args.resume:
        given = [flag for flag, value in (("SCENARIO", args.scenario), ("--set", args.overrides),
                                          ("--replicates", args.replicates),
                                          ("--seed", args.seed), ("--out", args.out)) if value]
        if given:
            raise RunError(f"--resume continues the run as it was started: drop {', '.join(given)}")
        result = Run(args.resume)
        say(f"Resuming {_describe(result.scenario)} in {result.path}")
        with _keeping(result.path):
            result = resume(result.path, workers=args.workers, cluster=args.cluster,
                            progress=progress)
    else:
        if args.scenario is None:
            raise RunError("give a SCENARIO file to run, or --resume DIR")
        overrides = list(args.overrides)
        if args.replicates is not None:
            overrides.append(f"replicates={args.replicates}")
        if args.seed is not None:
            overrides.append(f"seed={args.seed}")
        scenario = load_scenario(args.scenario, overrides)
        say(f"Running {_describe(scenario)}")
        filed = _as_filed(args.scenario) if args.overrides else scenario
        notes = [] if filed is None else (_fixed_costs_note(filed, scenario)
                                          + _added_sections_note(filed, args.overrides))
        for note in notes:
            print(note, file=sys.stderr)  # even with -q: it changes how profit reads
        folder = Path(args.out) if args.out else default_folder(scenario)
        with _keeping(folder):
            result = run(scenario, out=folder, workers=args.workers, cluster=args.cluster,
                         progress=progress, notes=[n.removeprefix("note: ") for n in notes])
    say(f"Done in {time.perf_counter() - start:.1f} s.\n")
    against = ("each strategy against the baseline" if result.scenario.strategies or
               result.scenario.sweep is not None else "the baseline")
    print(f"Scenario {result.scenario.name}: {against}\n")
    print(result.summary())
    tables = ", ".join(sorted(p.name for p in result.path.iterdir() if p.is_dir()))
    sweep = result.scenario.sweep
    if sweep is not None:
        then = (f"cxsim sensitivity {result.path} --kpi nps"
                if sweep.design in SENSITIVITY_DESIGNS else "read the kpis table by point")
    else:
        report = "" if args.report else f"cxsim report {result.path} (an HTML story of the run)"
        compare = f"cxsim compare {result.path}" if result.scenario.strategies else ""
        then = ", ".join(filter(None, [report, compare])) or "open the report"
    print(f"\nResults: {result.path}  (tables {tables}; see docs/results.md; then: {then})")
    if (result.path / "queues").is_dir():
        for warning in overloaded_lines(result.table("queues")):
            print(warning, file=sys.stderr)
    if args.report:
        print(f"Report: {_write_report(result)}  (open it in a browser)")
    return 0


def _write_report(result: Run, output: str | None = None) -> Path:
    try:  # plotting is an optional extra
        from cxsim.report import write_report
    except ImportError as missing:
        raise RunError(str(missing)) from None
    return write_report(result, output)


def _report(args: argparse.Namespace) -> int:
    result = Run(args.run)
    if result.missing():
        raise RunError(f"{result.path}: the run is not finished; finish it with: "
                       f"cxsim run --resume {result.path}")
    print(f"Report: {_write_report(result, args.output)}")
    return 0


def _stdout_gone() -> bool:
    """Whether standard output's reader has gone (a pipe whose other end is closed); if so,
    standard output is pointed at /dev/null, so that Python's last flush at exit is quiet."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real standard output
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if not any(event & select.POLLERR for _, event in poller.poll(0)):
            return False
    os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    return True


class _TerminatedError(KeyboardInterrupt):
    """SIGTERM (a plain ``kill``), raised where the run is, so that it stops as after Ctrl-C:
    worker processes stopped, finished results kept."""


@contextmanager
def _stopping_on_sigterm() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`_TerminatedError` (in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise _TerminatedError

    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN or previous is None:  # ignored on purpose, or set from C
        yield
        return
    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _StoppedError(Exception):
    """A run that stopped midway; its message says how to finish it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def _keeping(folder: Path) -> Iterator[None]:
    """Turn an interruption or a failure midway into a message on how to finish the run."""
    finish = (f"every task that had finished is kept in {folder}; finish the run with: "
              f"cxsim run --resume {folder}")
    try:
        yield
    except _TerminatedError:
        raise _StoppedError(f"terminated: {finish}", 128 + signal.SIGTERM) from None
    except KeyboardInterrupt:
        raise _StoppedError(f"interrupted: {finish}", 130) from None
    except BrokenProcessPool:
        raise _StoppedError(f"a worker process died (out of memory?): {finish}", 1) from None
    except OSError as error:
        raise _StoppedError(f"{error}: {finish}", 1) from None


def _status(args: argparse.Namespace) -> int:
    result = Run(args.run)
    tasks, missing = result.tasks(), result.missing()
    print(f"{result.path}: {_describe(result.scenario)}, seed {result.scenario.seed}")
    print(f"{len(tasks) - len(missing)} of {len(tasks)} task{'s' if len(tasks) != 1 else ''} "
          "done")
    if missing:
        shown = ", ".join(f"{t.strategy}/{t.replicate}" for t in missing[:12])
        more = f" and {len(missing) - 12} more" if len(missing) > 12 else ""
        print(f"missing: {shown}{more}")
        print(f"finish with: cxsim run --resume {result.path}")
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    result = Run(args.run)
    table = sensitivity(result, args.kpi, args.strategy)
    out = write_comparison(table, result.path / f"sensitivity-{args.kpi}.parquet")
    print(f"{result.path}: sensitivity of {args.kpi} ({args.strategy})\n")
    print(format_sensitivity(table))
    print(f"\nWritten: {out}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    if len(args.runs) > 2:
        raise RunError("compare takes one results folder, or two (RUN_A RUN_B)")
    runs = [Run(folder) for folder in args.runs]
    for r in runs:
        if r.missing():
            raise RunError(f"{r.path}: the run is not finished ({len(r.missing())} tasks "
                           f"missing); finish it with: cxsim run --resume {r.path}")
    kpis = args.kpi or list(HEADLINE)
    for kpi in kpis:
        if kpi != "all" and kpi not in KPI_SCHEMA.names:
            raise RunError(f"--kpi: {unknown('KPI', kpi, [*KPI_SCHEMA.names, 'all'])}")
    table = compare(*runs, baseline=args.baseline)
    name = ("comparison.parquet" if len(runs) == 1 else
            f"comparison-against-{runs[0].path.resolve().name}.parquet")
    out = runs[-1].path / name
    write_comparison(table, out)
    if "all" not in kpis and table.num_rows:  # each strategy's KPIs in the order asked for
        rank = {kpi: i for i, kpi in enumerate(dict.fromkeys(kpis))}
        strategies, names = table["strategy"].to_pylist(), table["kpi"].to_pylist()
        first = {s: i for i, s in reversed(list(enumerate(strategies)))}
        table = table.take(sorted((i for i, kpi in enumerate(names) if kpi in rank),
                                  key=lambda i: (first[strategies[i]], rank[names[i]])))
    title = (f"{runs[0].path}: each strategy against {args.baseline!r}" if len(runs) == 1 else
             f"strategies of {runs[1].path} against {args.baseline!r} of {runs[0].path}")
    print(title + "\n")
    counts = [r.scenario.replicates for r in runs]
    if len(set(counts)) > 1:
        print(f"note: {min(counts)} replicates paired; the other run's replicates beyond "
              f"{min(counts)} are left out\n")
    print(format_differences(table, costs=True))
    print(f"\nWritten: {out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, args.overrides)
    print(f"{args.scenario}: valid. {_describe(scenario)}")
    for warning in warnings(scenario):
        print(warning, file=sys.stderr)
    return 0


def _schema(_: argparse.Namespace) -> int:
    print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return 2
    command = {"run": _run, "validate": _validate, "schema": _schema, "status": _status,
               "compare": _compare, "sensitivity": _sensitivity,
               "report": _report}[args.command]
    try:
        with _stopping_on_sigterm():
            return command(args)
    except BrokenPipeError:
        if not _stdout_gone():
            raise
        return 1  # the reader went away (cxsim compare RUN | head): stop quietly
    except ScenarioError as error:
        count = len(error.lines)
        print(f"error: the scenario has {count} problem{'s' if count > 1 else ''}:",
              file=sys.stderr)
        for line in error.lines:
            print(f"  {line}", file=sys.stderr)
        return 2
    except (RunError, SensitivityError, SweepError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RuleError as error:  # a rule that fails during a run
        print(f"error: a rule failed: {error}", file=sys.stderr)
        return 1
    except _StoppedError as stopped:
        print(f"\nerror: {stopped}", file=sys.stderr)
        return stopped.status
    except _TerminatedError:
        print("\nterminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
