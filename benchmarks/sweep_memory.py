"""Memory of the parent process over a sweep of 1,000 tasks (issue: experiments at scale).

A grid sweep of the hotel (50 people, 5 days, moments off): 250 design points x 4 strategies x
1 replicate = 1,000 tasks on 2 local workers. Prints the parent's resident memory after 100,
500 and 1,000 finished tasks: it should not grow with the number of tasks.

    .venv/bin/python benchmarks/sweep_memory.py
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from cxsim import load_scenario, override, run
from cxsim.progress import Progress

HOTEL = Path(__file__).resolve().parent.parent / "scenarios" / "hotel.yaml"


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Recorder(Progress):
    """Progress that remembers the parent's memory at a few task counts."""

    def __init__(self) -> None:
        super().__init__(interactive=False, every_seconds=1e9)
        self.memory: dict[int, float] = {}

    def done(self, strategy: str, replicate: int, figures: dict[str, Any],
             seconds: float) -> None:
        super().done(strategy, replicate, figures, seconds)
        if self.finished in (100, 500, 1000):
            self.memory[self.finished] = resident_mib()


def main() -> None:
    scenario = load_scenario(HOTEL, ["population.size=50", "horizon_days=5", "replicates=1",
                                     "output.moments=off"])
    scenario = override(scenario, {"sweep": {"design": "grid", "parameters": {
        "touchpoints.reception.quality.mean": {"low": 5.0, "high": 9.0, "steps": 25},
        "touchpoints.room.personalisation": {"low": 0.0, "high": 0.9, "steps": 10}}}})
    out = Path(tempfile.mkdtemp()) / "sweep"
    recorder = Recorder()
    start = time.perf_counter()
    run(scenario, out=out, workers=2, progress=recorder)
    elapsed = time.perf_counter() - start
    shutil.rmtree(out.parent)
    figures = ", ".join(f"{n} tasks {mib:.0f} MiB" for n, mib in recorder.memory.items())
    print(f"1,000-task sweep on 2 workers in {elapsed:.0f} s; parent resident memory: {figures}")


if __name__ == "__main__":
    main()
