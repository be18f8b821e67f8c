"""Throughput and memory of the journey model (issue: foundation).

Runs the hotel scenario with 100,000 customers for 365 days, one replicate, baseline only, with
moments off, and prints customer-days per second, moments of truth per second and the peak memory
per customer. Targets on one core: >= 10 M customer-days/s, >= 2 M moments/s, <= 500 B/customer.

    .venv/bin/python benchmarks/throughput.py [--size N] [--days D] [--repeat K]

Speed is the best of K runs (the least disturbed by other work on the machine); memory is the
peak of numpy and Python allocations traced over a separate run (tracemalloc), per customer.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

from cxsim import load_scenario
from cxsim.model import JourneyModel

HOTEL = Path(__file__).resolve().parent.parent / "scenarios" / "hotel.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario(HOTEL, [f"population.size={args.size}",
                                     f"horizon_days={args.days}", "output.moments=off"])
    best, moments = float("inf"), 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        model = JourneyModel(scenario)
        model.run()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, moments = elapsed, sum(day["moments"] for day in model.daily)
    tracemalloc.start()
    JourneyModel(scenario).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    customer_days = args.size * args.days
    print(f"hotel, {args.size:,} customers x {args.days} days, moments off, best of "
          f"{args.repeat}: {best:.2f} s")
    print(f"  customer-days/s : {customer_days / best / 1e6:8.1f} M   (target >= 10 M)")
    print(f"  moments/s       : {moments / best / 1e6:8.2f} M   ({moments:,} moments; "
          "target >= 2 M)")
    print(f"  peak memory     : {peak / args.size:8.0f} B per customer   (target <= 500 B)")


if __name__ == "__main__":
    main()
