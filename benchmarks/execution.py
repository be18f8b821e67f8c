"""Execution overheads and scaling (issue: experiments at scale).

1. Scaling of replicates from 1 to 2 local workers: the hotel with 20,000 people, 16 replicates
   (64 tasks), moments off. Target: >= 1.8x.
2. Per-task overhead: 40 tiny tasks (100 people, 10 days), in-process and on a 2-worker pool.
3. Dask overhead versus the local pool: the tiny tasks and the hotel run on a scheduler and two
   single-threaded workers started on loopback.

    .venv/bin/python benchmarks/execution.py
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cxsim import load_scenario, run

HOTEL = Path(__file__).resolve().parent.parent / "scenarios" / "hotel.yaml"
BIN = Path(sys.executable).parent


def timed(scenario, workers: int | None = None, cluster: str | None = None) -> float:
    out = Path(tempfile.mkdtemp()) / "run"
    start = time.perf_counter()
    run(scenario, out=out, workers=workers, cluster=cluster)
    elapsed = time.perf_counter() - start
    shutil.rmtree(out.parent)
    return elapsed


def start_dask() -> tuple[str, list[subprocess.Popen]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                   "--port", str(port), "--no-dashboard"], **quiet)]
    time.sleep(2)
    processes.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nworkers", "2",
                                       "--nthreads", "1", "--no-dashboard"], **quiet))
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    return address, processes


def main() -> None:
    hotel = load_scenario(HOTEL, ["population.size=20000", "replicates=16",
                                  "output.moments=off"])
    tiny = load_scenario(HOTEL, ["population.size=100", "horizon_days=10", "replicates=10",
                                 "output.moments=off"])
    one, two = timed(hotel, workers=1), timed(hotel, workers=2)
    print(f"hotel 20,000 x 365, 64 tasks: 1 worker {one:.1f} s, 2 workers {two:.1f} s, "
          f"speed-up {one / two:.2f}x (target >= 1.8x)")
    serial, pooled = timed(tiny, workers=1), timed(tiny, workers=2)
    print(f"40 tiny tasks: in-process {serial / 40 * 1000:.0f} ms a task, 2-worker pool "
          f"{pooled / 40 * 1000:.0f} ms a task (wall, including the pool's start)")
    address, processes = start_dask()
    try:
        dask_tiny, dask_hotel = timed(tiny, cluster=address), timed(hotel, cluster=address)
    finally:
        for process in processes:
            process.terminate()
    print(f"Dask (scheduler + 2 workers on loopback): tiny tasks {dask_tiny / 40 * 1000:.0f} ms "
          f"a task; hotel {dask_hotel:.1f} s vs local pool {two:.1f} s "
          f"({(dask_hotel - two) / 64 * 1000:+.0f} ms a task)")


if __name__ == "__main__":
    main()
