"""Where a day of the journey model goes: the time of each phase (issue: foundation).

Runs the hotel scenario as ``benchmarks/throughput.py`` does (100,000 customers, 365 days,
moments off) and times each of the day's phases (:attr:`JourneyModel.phases`) over the run;
prints each phase's best time of K runs, per day.

    .venv/bin/python benchmarks/phases.py [--size N] [--days D] [--repeat K] [--scale-staff]
"""

from __future__ import annotations

import math
import time

from throughput import hotel_from_command_line

from cxsim.model import JourneyModel


def phase_seconds(model: JourneyModel) -> dict[str, float]:
    """Run ``model`` to its horizon, day by day as :meth:`JourneyModel.step` does, timing each
    phase (and the start of the day)."""
    seconds = dict.fromkeys(("begin the day", *model.phases), 0.0)
    for _ in range(model.world.scenario.horizon_days):
        model.steps += 1  # what Mesa's step does before calling step()
        start = time.perf_counter()
        model.today = model._begin_day()
        seconds["begin the day"] += time.perf_counter() - start
        for phase in model.phases:
            start = time.perf_counter()
            getattr(model, phase)()
            seconds[phase] += time.perf_counter() - start
    return seconds


def main() -> None:
    scenario, args = hotel_from_command_line(__doc__.splitlines()[0], repeat=5)
    JourneyModel(scenario).run()  # compiled code loaded, caches warm
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for phase, seconds in phase_seconds(JourneyModel(scenario)).items():
            best[phase] = min(best.get(phase, math.inf), seconds)
    total = sum(best.values())
    print(f"hotel, {args.size:,} customers x {args.days} days, moments off, best of "
          f"{args.repeat} per phase: {total / args.days * 1e6:,.0f} us a day")
    for phase, seconds in sorted(best.items(), key=lambda item: -item[1]):
        print(f"  {phase:15s} {seconds / args.days * 1e6:8,.0f} us a day  "
              f"({seconds / total:4.0%})")


if __name__ == "__main__":
    main()
