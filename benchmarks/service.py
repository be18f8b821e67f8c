"""Service queues: contacts per second, and the queue's share of a day (issue: service).

1. The M/M/7 call centre of the issue — 2 calls a minute, 3-minute exponential handling, seven
   agents, 30 days — as a cxsim service touchpoint: every customer who starts a journey has a
   problem, complains, calls the phone line, waits, is served and judged, and the journey closes.
   Prints contacts simulated per second by the whole model (with and without drawing the
   population) and by the queue alone, and the mean wait and P(wait) against Erlang C
   (standard errors from daily batch means). Target on one core: >= 1 M contacts/s.
2. One million contacts a day: 694.4 calls a minute, 3-minute handling, 2,150 agents, three days.
   Prints the share of a day's time the queue takes (it must not dominate).

    .venv/bin/python benchmarks/service.py [--repeat K]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import cxsim.service
from cxsim import simulate
from cxsim.model import JourneyModel
from cxsim.queues import ServiceLines, erlang_c, weekly_servers
from cxsim.scenario import Scenario
from cxsim.scenario_file import override
from cxsim.testing import call_centre


class TimedLines(ServiceLines):
    """Service lines that add up the time spent serving."""

    seconds = 0.0

    def serve(self, *args: np.ndarray, **kwargs: float):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        served = super().serve(*args, **kwargs)
        TimedLines.seconds += time.perf_counter() - start
        return served


def one_call_per_journey(servers: int, per_minute: float, days: int) -> Scenario:
    """The call centre where each journey is one problem and one call: customers come back
    every ``days`` days (each once in the run), so the day's work is its callers."""
    callers = int(per_minute * 1440)
    return override(call_centre(servers, per_minute, 3.0, days=days, size=callers * days), {
        "touchpoints.use.problem_probability": 1.0,
        "touchpoints.use.duration_days": 0,
        "journey.edges.use": {"done": 1},
        "population.segments.everyone.inter_purchase_days": days,
    })


def timed_run(scenario: Scenario) -> tuple[JourneyModel, float, float]:
    """A model run: (the model, seconds with the population's draw, seconds of the days)."""
    start = time.perf_counter()
    model = JourneyModel(scenario)
    built = time.perf_counter()
    model.run()
    end = time.perf_counter()
    return model, end - start, end - built


def call_centre_benchmark(repeat: int) -> None:
    scenario = one_call_per_journey(7, 2.0, 30)
    runs = []
    for _ in range(repeat):
        model, total, days = timed_run(scenario)
        runs.append((total, days))
        contacts = sum(day["contacts"] for day in model.daily)
    total, days = min(runs)
    print(f"M/M/7, 2 calls/min, 3-min handling, 30 days: {contacts:,} contacts, best of {repeat}")
    print(f"  whole model          : {total:.3f} s -> {contacts / total / 1e6:5.2f} M contacts/s "
          f"(target >= 1 M); {contacts / days / 1e6:5.2f} M/s without drawing the population")

    tables = simulate(scenario)  # the same run through the API, for the contacts table
    calls = tables["contacts"].to_pandas()
    day, wait = calls["day"].to_numpy(), calls["wait_minutes"].to_numpy()
    p_wait, mean_wait = erlang_c(2.0, 1 / 3, 7)
    for name, values, exact in (("mean wait (min)", wait, mean_wait),
                                ("P(wait)", (wait > 0).astype(float), p_wait)):
        means = np.array([values[day == d].mean() for d in np.unique(day)])
        se = means.std(ddof=1) / np.sqrt(len(means))
        print(f"  {name:21s}: {values.mean():.4f} ± {se:.4f} (Erlang C {exact:.4f}, "
              f"{(values.mean() - exact) / se:+.1f} standard errors)")

    rng = np.random.default_rng(0)  # the queue alone, on the same kind of traffic
    arrival = np.sort(rng.uniform(0, 30 * 1440, contacts))
    service = rng.exponential(3.0, contacts)
    line = np.zeros(contacts, dtype=np.int64)
    never = np.full(contacts, np.inf)
    best = min(_queue_seconds(7, line, arrival, service, never) for _ in range(repeat))
    print(f"  the queue alone      : {best * 1e3:.1f} ms -> {contacts / best / 1e6:5.1f} M "
          "contacts/s (for scale: SimPy ~0.1 M, Ciw ~0.06 M on these machines)")


def _queue_seconds(servers: int, line: np.ndarray, arrival: np.ndarray, service: np.ndarray,
                   patience: np.ndarray) -> float:
    lines = ServiceLines([weekly_servers(servers)])
    start = time.perf_counter()
    lines.serve(line, arrival, service, patience)
    return time.perf_counter() - start


def million_a_day_benchmark() -> None:
    per_minute, servers, days = 1_000_000 / 1440, 2150, 3
    scenario = call_centre(servers, per_minute, 3.0, days=days, size=1_200_000)
    cxsim.service.ServiceLines = TimedLines  # type: ignore[misc]
    TimedLines.seconds = 0.0
    model, _, run = timed_run(scenario)
    contacts = sum(day["contacts"] for day in model.daily)
    waits = model.service.waits
    wait = float(np.concatenate(waits).mean()) if waits else float("nan")
    print(f"{contacts / days:,.0f} contacts a day on {servers:,} agents, {days} days: "
          f"{run / days:.2f} s a day, of which the queue {TimedLines.seconds / days:.3f} s "
          f"({TimedLines.seconds / run:.1%}); mean wait {wait:.4f} min "
          f"(Erlang C {erlang_c(per_minute, 1 / 3, servers)[1]:.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    call_centre_benchmark(args.repeat)
    million_a_day_benchmark()


if __name__ == "__main__":
    main()
