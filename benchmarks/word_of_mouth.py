"""Word of mouth as pure spread (issue: word of mouth).

An Erdős–Rényi network with mean degree 10; 1 % of the people customers at the start; each
customer makes each contact aware with probability 0.02 a day; promotion 0.001 a day; 365 days.
The journey is one touchpoint, so the run is the spread. Prints customer-days per second with
and without building the network. Target at 1,000,000 people on one core: >= 80 M customer-days/s.

    .venv/bin/python benchmarks/word_of_mouth.py [--size N ...]
"""

from __future__ import annotations

import argparse
import time

from cxsim.model import JourneyModel
from cxsim.network import build_network
from cxsim.testing import tiny_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    for size in args.size:
        scenario = tiny_scenario({
            "population.existing_customers": 0.01,
            "population.awareness_per_day": 0.001,
            "word_of_mouth.network": {"kind": "erdos_renyi", "mean_degree": 10},
            "word_of_mouth.contact_per_day": 0.02,
            "word_of_mouth.strong_tie_weight": 1.0,
            "population.segments.everyone.inter_purchase_days": 100_000,
            "output.moments": "off",
        }, size=size, horizon_days=args.days)
        start = time.perf_counter()
        build_network(scenario.word_of_mouth.network, size, 0)
        network = time.perf_counter() - start
        start = time.perf_counter()
        model = JourneyModel(scenario)
        model.run()
        total = time.perf_counter() - start
        aware = model.daily[-1]["aware"] / size
        days = size * args.days
        print(f"{size:>9,} people x {args.days} days: {total:.2f} s with the network's build "
              f"(~{network:.2f} s) -> {days / total / 1e6:.0f} M customer-days/s, "
              f"{days / (total - network) / 1e6:.0f} M without it; {aware:.1%} aware at the end")


if __name__ == "__main__":
    main()
