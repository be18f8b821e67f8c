"""The worked example of docs/rules.md runs as documented."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cxsim import simulate
from cxsim.scenario_file import ScenarioError
from cxsim.testing import tiny_scenario, tiny_world

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def examples_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))


def journey(end_weight: float):
    """A bad moment (felt −2) then a good end (felt +2), remembered by the example rule."""
    return tiny_scenario({
        **tiny_world({"start": 5.0, "finish": 9.0}, {"start": 1}, {"start": {"finish": 1}},
                     ["finish"]),
        "perception.disconfirmation.rule": "linear",
        "perception.memory": {"rule": "my_rules:EndWeightedMemory", "end_weight": end_weight},
        "perception.attitude.attitude_rate": 1.0,
    }, size=20)


@pytest.mark.parametrize("end_weight, remembered", [(0.0, 0.0), (0.5, 1.0), (1.0, 2.0)])
def test_the_example_rule_remembers_journeys_by_its_equation(end_weight, remembered):
    attitude = simulate(journey(end_weight))["customers"].column("attitude").to_numpy()
    assert np.allclose(attitude, remembered)


def test_the_example_rule_validates_its_parameters():
    with pytest.raises(ScenarioError, match=r"perception\.memory\.end_weight: must be <= 1"):
        journey(1.5)


def test_the_documented_command_line_runs(tmp_path):
    env = {"PYTHONPATH": str(EXAMPLES), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "cxsim.cli", "run", "scenarios/hotel.yaml",
         "--set", "perception.memory={rule: 'my_rules:EndWeightedMemory', end_weight: 0.7}",
         "--set", "population.size=500", "--set", "horizon_days=60",
         "--replicates", "2", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "personalised_welcome" in done.stdout


def test_step_4_runs_the_validation_tests_with_the_example_rule():
    # the command of docs/rules.md's step 4, as written there; then with a rule that is not
    # there, to show that the override reaches the tests
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    override = re.search(r'CXSIM_TEST_SET="([^"]+)" PYTHONPATH=examples', docs).group(1)

    def validation_tests(test_set: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CXSIM_TEST_SET": test_set, "PYTHONPATH": str(EXAMPLES)}
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/test_validation.py"], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)

    done = validation_tests(override)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-2000:]
    broken = validation_tests(override.replace("EndWeightedMemory", "NoSuchMemory"))
    assert broken.returncode == 1 and " failed" in broken.stdout, broken.stdout[-2000:]


def test_resuming_without_the_rule_s_module_is_refused_not_skipped(tmp_path):
    out = tmp_path / "run"
    rule = "--set=perception.memory={rule: 'my_rules:EndWeightedMemory', end_weight: 0.7}"
    small = ["--set", "population.size=300", "--set", "horizon_days=20", "--replicates", "2"]

    def cli(*args: str, path: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cxsim.cli", *args], capture_output=True,
                              text=True, env={"PYTHONPATH": path, "PATH": ""}, check=False)

    done = cli("run", "scenarios/hotel.yaml", rule, *small, "--out", str(out), "-q",
               path=str(EXAMPLES))
    assert done.returncode == 0, done.stderr
    next(out.glob("kpis/strategy=faster_checkin/replicate=1/part-0.parquet")).unlink()
    status = cli("status", str(out), path="")  # listing the tasks needs no rule
    assert status.returncode == 0 and "missing: faster_checkin/1" in status.stdout, status.stderr
    resumed = cli("run", "--resume", str(out), path="")
    assert resumed.returncode == 1, resumed.stdout
    assert "cannot resume: perception.memory.rule" in resumed.stderr
    assert "my_rules" in resumed.stderr and "Traceback" not in resumed.stderr
    finished = cli("run", "--resume", str(out), "-q", path=str(EXAMPLES))
    assert finished.returncode == 0, finished.stderr
    assert out.joinpath("kpis/strategy=faster_checkin/replicate=1/part-0.parquet").is_file()
    for command in (("compare", str(out)), ("report", str(out))):  # read only the tables
        done = cli(*command, path="")
        assert done.returncode == 0, done.stderr


def test_a_test_that_pins_a_rule_leaves_the_researcher_s_override_of_it_out(monkeypatch):
    monkeypatch.setenv("CXSIM_TEST_SET", "perception.memory={rule: 'my_rules:EndWeightedMemory', "
                       "end_weight: 0.7};perception.attitude.rule=my_rules:EndWeightedMemory")
    with pytest.raises(ScenarioError, match="is not a AttitudeUpdate rule"):
        tiny_scenario()  # the researcher's overrides apply where nothing pins them
    pinned = tiny_scenario({"perception.memory.rule": "mean",
                            "perception.attitude.attitude_rate": 1.0})
    assert pinned.perception.memory.rule == "mean"
    assert pinned.perception.attitude.rule == "exponential"
    monkeypatch.setenv("CXSIM_TEST_SET", "perception.memory={rule: 'my_rules:EndWeightedMemory', "
                       "end_weight: 0.7}")
    assert tiny_scenario().perception.memory.rule == "my_rules:EndWeightedMemory"


def test_a_run_records_its_rules_and_resuming_refuses_a_changed_rule_module(tmp_path):
    module = tmp_path / "my_rules.py"
    module.write_text((EXAMPLES / "my_rules.py").read_text())
    out, env = tmp_path / "run", {"PYTHONPATH": str(tmp_path), "PATH": ""}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cxsim.cli", *args], capture_output=True,
                              text=True, env=env, check=False)

    done = cli("run", "scenarios/hotel.yaml", "--set=perception.memory={rule: "
               "'my_rules:EndWeightedMemory'}", "--set", "population.size=300", "--set",
               "horizon_days=20", "--replicates", "2", "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["rules"]["baseline"]["perception.memory"] == {
        "rule": "my_rules:EndWeightedMemory", "end_weight": 0.5}  # the default, recorded
    assert manifest["rule_modules"]["my_rules"]["file"] == str(module)
    next(out.glob("kpis/strategy=baseline/replicate=1/part-0.parquet")).unlink()
    original = module.read_text()
    module.write_text(original.replace("default=0.5", "default=0.6"))
    refused = cli("run", "--resume", str(out))
    assert refused.returncode == 1 and "would mix two versions of a rule" in refused.stderr
    module.write_text(original)
    assert cli("run", "--resume", str(out), "-q").returncode == 0
