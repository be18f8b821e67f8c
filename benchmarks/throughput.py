"""Throughput and memory of the journey model (issue: foundation).

Runs the hotel scenario with 100,000 customers for 365 days, one replicate, baseline only, with
moments off, and prints customer-days per second, moments of truth per second and the peak memory
per customer. Targets on one core: >= 10 M customer-days/s, >= 2 M moments/s, <= 500 B/customer.

    .venv/bin/python benchmarks/throughput.py [--size N] [--days D] [--repeat K] [--scale-staff]

Speed is the best of K runs (the least disturbed by other work on the machine), with the
median run's figures beside it (this machine's speed varies within minutes) and the time of
drawing the population (the model's construction, part of each run); memory is the
peak of numpy and Python allocations traced over a separate run (tracemalloc), per customer.
The hotel's staff are sized for its 20,000 people: at 100,000 its reception cannot keep up and
the line grows all year. ``--scale-staff`` multiplies every care touchpoint's servers by
size / 20,000 (rounded up), so the lines are as busy as in the file.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import tracemalloc
from pathlib import Path

from cxsim import load_scenario
from cxsim.model import JourneyModel
from cxsim.scenario import Scenario
from cxsim.scenario_file import override

HOTEL = Path(__file__).resolve().parent.parent / "scenarios" / "hotel.yaml"


def hotel_from_command_line(description: str, repeat: int) -> tuple[Scenario, argparse.Namespace]:
    """The benchmarks' hotel (moments off) sized by ``--size``, ``--days`` and
    ``--scale-staff``, and the parsed arguments (``--repeat`` defaults to ``repeat``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--scale-staff", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(HOTEL, [f"population.size={args.size}",
                                     f"horizon_days={args.days}", "output.moments=off"])
    if args.scale_staff:
        scenario = scaled_staff(scenario, math.ceil(args.size / 20_000))
    return scenario, args


def main() -> None:
    scenario, args = hotel_from_command_line(__doc__.splitlines()[0], repeat=3)
    times, drawing, moments = [], [], 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        model = JourneyModel(scenario)
        drawing.append(time.perf_counter() - start)
        model.run()
        times.append(time.perf_counter() - start)
        moments = sum(day["moments"] for day in model.daily)  # the same in every run
    best, median = min(times), statistics.median(times)
    tracemalloc.start()
    JourneyModel(scenario).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    customer_days = args.size * args.days
    staff = "staff scaled" if args.scale_staff else "staff as in the file"
    print(f"hotel, {args.size:,} customers x {args.days} days, moments off, {staff}, best of "
          f"{args.repeat}: {best:.2f} s (median {median:.2f} s; drawing the population "
          f"{min(drawing) * 1e3:.0f} ms, median {statistics.median(drawing) * 1e3:.0f} ms)")
    print(f"  customer-days/s : {customer_days / best / 1e6:8.1f} M   (target >= 10 M)")
    print(f"  moments/s       : {moments / best / 1e6:8.2f} M   ({moments:,} moments; "
          f"target >= 2 M; {moments / median / 1e6:.2f} M at the median run)")
    print(f"  peak memory     : {peak / args.size:8.0f} B per customer   (target <= 500 B)")


def scaled_staff(scenario: Scenario, factor: int) -> Scenario:
    """``scenario`` with every care touchpoint's servers multiplied by ``factor``."""
    return override(scenario, staff_times(scenario, factor))


def staff_times(scenario: Scenario, factor: int) -> dict[str, int | list]:
    """Every care touchpoint's servers × ``factor``, as overrides by field path."""
    def times(servers: int | list) -> int | list:
        return [times(s) for s in servers] if isinstance(servers, list) else servers * factor

    return {f"touchpoints.{name}.care.servers": times(tp.care.servers)
            for name, tp in scenario.touchpoints.items() if tp.care}


if __name__ == "__main__":
    main()
