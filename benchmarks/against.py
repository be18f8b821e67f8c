"""The hotel's speed now against an earlier commit, alternately in one process.

The machines this project runs on change speed by up to 2x within minutes, so timing two
versions one after the other says little. This script imports the earlier commit's cxsim under
another name (``cxsim_then``, from ``git archive``, kept in ~/.cache/cxsim-against/<commit> so
that numba compiles it once), then runs the two alternately, round after round. Each run is
timed in stretches of ten days, and for each version the best time of each stretch over the
rounds is summed: a best case that a slow minute does not spoil. Drawing the population is timed
apart.

    .venv/bin/python benchmarks/against.py COMMIT [--size N] [--days D] [--rounds R]
                                                  [--scale-staff]

Both versions run the same scenario file, with moments off.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from throughput import HOTEL, staff_times

import cxsim

ROOT = Path(__file__).resolve().parent.parent
STRETCH = 10  # days timed together


def then_package(commit: str) -> ModuleType:
    """The cxsim of ``commit``, importable as ``cxsim_then``."""
    sha = subprocess.run(["git", "rev-parse", commit], cwd=ROOT, check=True, text=True,
                         capture_output=True).stdout.strip()
    home = Path.home() / ".cache" / "cxsim-against" / sha
    package = home / "cxsim_then"
    if not package.exists():
        home.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "src/cxsim"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(home)], input=archive, check=True)
        (home / "src" / "cxsim").rename(package)
        for source in package.rglob("*.py"):
            text = source.read_text()
            text = text.replace("from cxsim import", "from cxsim_then import")
            source.write_text(text.replace("cxsim.", "cxsim_then."))
    sys.path.insert(0, str(home))
    return importlib.import_module("cxsim_then")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--scale-staff", action="store_true")
    args = parser.parse_args()
    sets = [f"population.size={args.size}", f"horizon_days={args.days}", "output.moments=off"]
    if args.scale_staff:
        staff = staff_times(cxsim.load_scenario(HOTEL), math.ceil(args.size / 20_000))
        sets += [f"{path}={json.dumps(servers)}" for path, servers in staff.items()]

    versions = {}
    for name, package in ((args.commit, then_package(args.commit)), ("now", cxsim)):
        model = importlib.import_module(f"{package.__name__}.model")
        scenario = package.load_scenario(HOTEL, sets)
        model.JourneyModel(scenario).run_for(2)  # compile (or load) every kernel
        versions[name] = (model.JourneyModel, scenario)

    stretches = math.ceil(args.days / STRETCH)
    best = {name: [math.inf] * (stretches + 1) for name in versions}  # last: the drawing
    moments = {}
    for _ in range(args.rounds):
        for name, (journey_model, scenario) in versions.items():
            start = time.perf_counter()
            model = journey_model(scenario)
            best[name][-1] = min(best[name][-1], time.perf_counter() - start)
            for s in range(stretches):
                start = time.perf_counter()
                model.run_for(min(STRETCH, args.days - s * STRETCH))
                best[name][s] = min(best[name][s], time.perf_counter() - start)
            moments[name] = sum(day["moments"] for day in model.daily)

    print(f"hotel, {args.size:,} customers x {args.days} days, moments off, "
          f"{'staff scaled' if args.scale_staff else 'staff as in the file'}, "
          f"best of {args.rounds} rounds per {STRETCH}-day stretch:")
    for name in versions:
        run, draw = sum(best[name][:-1]), best[name][-1]
        print(f"  {name:>12}: drawing {draw:.3f} s, days {run:.3f} s, "
              f"{moments[name] / (run + draw) / 1e6:.2f} M moments/s ({moments[name]:,} moments)")
    then, now = (sum(best[name][:-1]) for name in versions)
    print(f"  the days now run {then / now:.2f} times as fast")


if __name__ == "__main__":
    main()
