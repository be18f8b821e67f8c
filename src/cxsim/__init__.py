"""cxsim: an agent-based simulator of customer journeys.

Simulated customers move through a graph of touchpoints, meet a moment of truth at each, form a
perception, and come back, recommend or leave. A strategist compares what-if strategies with
confidence intervals; an analyst reads the parquet results; a researcher replaces the rules.

    >>> import cxsim
    >>> scenario = cxsim.load_scenario("scenarios/hotel.yaml", ["population.size=2000"])
    >>> run = cxsim.run(scenario, out="results/hotel/try", replicates=2)   # doctest: +SKIP
    >>> run.table("kpis").to_pandas()                                      # doctest: +SKIP
"""

__version__ = "0.1.0"

from cxsim.execution import Run, RunError, compare, resume, run, simulate
from cxsim.progress import Progress
from cxsim.scenario import Scenario
from cxsim.scenario_file import ScenarioError, load_scenario, override, parse_scenario

__all__ = [
    "Progress",
    "Run",
    "RunError",
    "Scenario",
    "ScenarioError",
    "__version__",
    "compare",
    "load_scenario",
    "override",
    "parse_scenario",
    "resume",
    "run",
    "simulate",
]
