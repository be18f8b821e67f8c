"""The ``cxsim`` command: run, validate and describe scenarios.

A thin layer over the Python API (:func:`cxsim.load_scenario`, :func:`cxsim.run`): everything
the command does can be done from a notebook too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from cxsim import __version__
from cxsim.execution import RunError, run
from cxsim.scenario import Scenario
from cxsim.scenario_file import ScenarioError, load_scenario

EPILOG = """\
examples:
  cxsim run scenarios/hotel.yaml
  cxsim run scenarios/hotel.yaml --replicates 10 --set population.size=100000
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
                    "95%% confidence intervals.",
        epilog="The results folder holds customers/, moments/, daily/ and kpis/ (parquet, "
               "partitioned by strategy and replicate), scenario.yaml and run.json; see "
               "docs/results.md.")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file (YAML)")
    p.add_argument("--out", metavar="DIR",
                   help="results folder (default: results/<scenario>/<date-time>); must not exist "
                        "or be empty")
    p.add_argument("--replicates", type=int, metavar="R", help="replicates per strategy "
                   "(default: the scenario's)")
    p.add_argument("--seed", type=int, metavar="S", help="base seed (default: the scenario's)")
    _add_overrides(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary")

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


def _describe(scenario: Scenario) -> str:
    p = scenario.population
    return (f"{scenario.name}: {p.size:,} people in {len(p.segments)} segment(s), "
            f"{len(scenario.touchpoints)} touchpoints, {len(scenario.strategies)} strategies, "
            f"{scenario.horizon_days} days x {scenario.replicates} replicates")


def _run(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.replicates is not None:
        overrides.append(f"replicates={args.replicates}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    scenario = load_scenario(args.scenario, overrides)
    say = (lambda _: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    say(f"Running {_describe(scenario)}")
    start = time.perf_counter()
    result = run(scenario, out=args.out, progress=say)
    say(f"Done in {time.perf_counter() - start:.1f} s.\n")
    print(f"Scenario {scenario.name}: each strategy against the baseline\n")
    print(result.summary())
    print(f"\nResults: {result.path}  (tables customers, moments, daily, kpis; see "
          "docs/results.md)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, args.overrides)
    print(f"{args.scenario}: valid. {_describe(scenario)}")
    return 0


def _schema(_: argparse.Namespace) -> int:
    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return 2
    command = {"run": _run, "validate": _validate, "schema": _schema}[args.command]
    try:
        return command(args)
    except ScenarioError as error:
        count = len(error.lines)
        print(f"error: the scenario has {count} problem{'s' if count > 1 else ''}:",
              file=sys.stderr)
        for line in error.lines:
            print(f"  {line}", file=sys.stderr)
        return 2
    except RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: every task that had finished is kept in the results folder",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
