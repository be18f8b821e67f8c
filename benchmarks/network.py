"""Build time and memory of the social networks (issue 4: social networks).

Builds an Erdős–Rényi network of 1,000,000 people with mean degree 20, and a Watts–Strogatz,
a Barabási–Albert and a configuration-model network of the same size and mean degree, and
prints for each the build time, the size of its arrays (``nbytes``) and the peak memory traced
while building it. Targets: seconds to build, well under 1 GB.

    .venv/bin/python benchmarks/network.py [--size N] [--degree K] [--repeat R] [--kinds ...]

Time is the best of R builds (the least disturbed by other work on the machine); peak memory
is the peak of numpy and Python allocations traced over a separate build (tracemalloc), which
includes the finished network. The largest resident size of the whole process (Python,
numpy, scipy and all builds) is printed last.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

from pydantic import TypeAdapter

from cxsim.network import NetworkSpec, build_network


def specs(degree: int) -> dict[str, dict]:
    return {
        "erdos_renyi": {"kind": "erdos_renyi", "mean_degree": degree},
        "watts_strogatz": {"kind": "watts_strogatz", "degree": degree, "rewire": 0.1},
        "barabasi_albert": {"kind": "barabasi_albert", "attach": degree // 2},
        "configuration": {"kind": "configuration",
                          "degree": {"dist": "lognormal", "mean": degree, "sd": degree / 2}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--degree", type=int, default=20, help="mean degree (even)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=list(specs(2)), choices=list(specs(2)))
    args = parser.parse_args()
    adapter = TypeAdapter(NetworkSpec)
    print(f"{args.size:,} people, mean degree {args.degree}, best of {args.repeat}")
    print(f"{'network':<16} {'build s':>8} {'ties':>12} {'mean deg':>9} {'nbytes MB':>10} "
          f"{'B/person':>9} {'peak MB':>8}")
    for kind in args.kinds:
        spec = adapter.validate_python(specs(args.degree)[kind])
        best = float("inf")
        for seed in range(args.repeat):
            start = time.perf_counter()
            network = build_network(spec, args.size, seed)
            best = min(best, time.perf_counter() - start)
            del network
        tracemalloc.start()
        network = build_network(spec, args.size, 0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert network is not None
        print(f"{kind:<16} {best:8.2f} {network.edges:12,} {network.degree().mean():9.2f} "
              f"{network.nbytes / 1e6:10.1f} {network.nbytes / args.size:9.0f} "
              f"{peak / 1e6:8.0f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB on Linux
    print(f"largest resident size of this process over all builds: {rss:,.0f} MB")


if __name__ == "__main__":
    main()
