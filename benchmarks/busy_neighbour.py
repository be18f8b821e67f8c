"""A stand-in for another tenant busy with memory, to see what the benchmarks give beside one.

Copies a 256 MB array and adds 1 at 4 million random places in it, over and over, for SECONDS
seconds (default 300). Start it in the background, on the other core, then run a benchmark:

    .venv/bin/python benchmarks/busy_neighbour.py 200 &
    .venv/bin/python benchmarks/throughput.py --repeat 5

The ninth session of 2026-12-02 measured the hotel at 1.63 M moments/s beside it, against
2.2–2.7 M on the quiet machine (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seconds", nargs="?", type=float, default=300.0)
    args = parser.parse_args()
    source = np.ones(32_000_000)  # 256 MB of float64
    target = np.empty_like(source)
    places = np.random.default_rng(0).integers(0, len(source), 4_000_000)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        target[:] = source
        source[places] += 1.0


if __name__ == "__main__":
    main()
