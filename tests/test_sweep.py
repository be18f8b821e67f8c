"""Sweeps over design points and the sensitivity of KPIs to the swept fields."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cxsim
from cxsim.checks import warnings
from cxsim.scenario_file import ScenarioError
from cxsim.sensitivity import format_sensitivity
from cxsim.sweep import design
from cxsim.testing import tiny_scenario

CHURN = {"loyalty": {"rule": "logistic", "base_return": 0.7, "return_slope": 1.5},
         "population.segments.everyone.inter_purchase_days": 10,
         "touchpoints.shop.revenue": 50.0}


def swept(sweep: dict, size: int = 400, replicates: int = 2) -> cxsim.Scenario:
    return tiny_scenario({**CHURN, "sweep": sweep, "replicates": replicates}, size=size,
                         horizon_days=60)


def test_a_grid_runs_every_combination_partitioned_by_point(tmp_path):
    scenario = swept({"design": "grid", "parameters": {
        "touchpoints.shop.quality": {"values": [5.0, 9.0]},
        "touchpoints.shop.cost_per_visit": {"low": 0, "high": 20, "steps": 3}}})
    run = cxsim.run(scenario, out=tmp_path / "grid")
    points = pq.read_table(tmp_path / "grid" / "design.parquet").to_pylist()
    assert len(points) == 6
    assert {(p["touchpoints.shop.quality"], p["touchpoints.shop.cost_per_visit"])
            for p in points} == {(q, c) for q in (5.0, 9.0) for c in (0.0, 10.0, 20.0)}
    kpis = run.table("kpis").to_pandas()
    assert len(kpis) == 6 * 2 and set(kpis.point) == set(range(6))
    assert (tmp_path / "grid" / "kpis" / "point=5" / "strategy=baseline" / "replicate=1"
            / "part-0.parquet").is_file()
    by_point = kpis.set_index("point")
    quality = {p["point"]: p["touchpoints.shop.quality"] for p in points}
    better = [k for k in quality if quality[k] == 9.0]
    worse = [k for k in quality if quality[k] == 5.0]
    assert by_point.loc[better, "nps"].min() > by_point.loc[worse, "nps"].max()
    assert "Sweep: 6 design points" in run.summary()


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
def test_space_filling_designs_stay_in_range_and_are_reproducible(kind):
    sweep = swept({"design": kind, "points": 8, "parameters": {
        "touchpoints.shop.quality": {"low": 5, "high": 9},
        "population.segments.everyone.inter_purchase_days": {"low": 5, "high": 30,
                                                             "integer": True}}}).sweep
    points = design(sweep, seed=3)
    assert len(points) == 8 and points == design(sweep, seed=3)
    assert all(5 <= p["touchpoints.shop.quality"] <= 9 for p in points)
    assert all(isinstance(p["population.segments.everyone.inter_purchase_days"], int)
               for p in points)
    assert points != design(sweep, seed=4)


def test_sobol_indices_find_the_field_that_matters(tmp_path):
    """NPS depends on the quality customers meet, not on what a visit costs the company."""
    scenario = swept({"design": "saltelli", "points": 64, "parameters": {
        "touchpoints.shop.quality": {"low": 4, "high": 10},
        "touchpoints.shop.cost_per_visit": {"low": 0, "high": 30}}}, size=200, replicates=1)
    out = tmp_path / "sobol"
    cxsim.run(scenario, out=out, workers=2)
    done = subprocess.run([sys.executable, "-m", "cxsim.cli", "sensitivity", str(out), "--kpi",
                           "nps"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = {r["parameter"]: r for r in pq.read_table(out / "sensitivity-nps.parquet").to_pylist()}
    quality, cost = rows["touchpoints.shop.quality"], rows["touchpoints.shop.cost_per_visit"]
    assert quality["ST"] - quality["ST_conf"] > 0.5
    assert cost["ST"] + cost["ST_conf"] < 0.1
    assert "touchpoints.shop.quality" in done.stdout.splitlines()[4]  # listed first


def test_morris_screening_ranks_the_fields(tmp_path):
    scenario = swept({"design": "morris", "points": 6, "parameters": {
        "touchpoints.shop.quality": {"low": 4, "high": 10},
        "touchpoints.shop.cost_per_visit": {"low": 0, "high": 30}}}, size=300)
    run = cxsim.run(scenario, out=tmp_path / "morris", workers=1)
    from cxsim.sensitivity import SensitivityError, sensitivity

    rows = {r["parameter"]: r for r in sensitivity(run, "nps").to_pylist()}
    assert rows["touchpoints.shop.quality"]["mu_star"] > 10 * max(
        rows["touchpoints.shop.cost_per_visit"]["mu_star"], 1e-9)
    with pytest.raises(SensitivityError, match="unknown strategy 'basline'; did you mean"):
        sensitivity(run, "nps", "basline")
    with pytest.raises(SensitivityError, match="unknown KPI 'npss'; did you mean 'nps'"):
        sensitivity(run, "npss")


@pytest.mark.parametrize("sweep, fragment", [
    ({"parameters": {"touchpoints.shop.qualty": {"low": 1, "high": 2}}}, "unknown key 'qualty'"),
    ({"parameters": {"seed": {"values": [1, 2]}}}, "a sweep cannot change 'seed'"),
    ({"design": "lhs", "parameters": {"touchpoints.shop.quality": {"values": [1, 2]}}},
     "needs a range"),
    ({"parameters": {"touchpoints.shop.importance": {"low": -1, "high": 1}}}, "must be >= 0"),
    ({"parameters": {"touchpoints.shop.quality": {"low": 2}}}, "give either low and high"),
])
def test_a_bad_sweep_is_refused_with_its_field(sweep, fragment):
    with pytest.raises(ScenarioError, match=fragment):
        swept(sweep)


def test_a_morris_sweep_over_whole_numbers_is_warned_about():
    scenario = swept({"design": "morris", "points": 4, "parameters": {
        "population.segments.everyone.inter_purchase_days": {"low": 0, "high": 5,
                                                             "integer": True},
        "touchpoints.shop.quality": {"low": 4, "high": 10}}})
    found = [w for w in warnings(scenario) if "sweep.parameters" in w]
    assert len(found) == 1 and "inter_purchase_days.integer" in found[0]


def test_sobol_indices_outside_zero_to_one_come_with_a_caveat():
    rows = [{"parameter": "a", "kpi": "nps", "method": "sobol", "S1": s1, "S1_conf": 0.7,
             "ST": 0.9, "ST_conf": 0.3} for s1 in (1.656, 0.4)]
    assert "outside [0, 1]" in format_sensitivity(pa.Table.from_pylist(rows[:1]))
    assert "outside [0, 1]" not in format_sensitivity(pa.Table.from_pylist(rows[1:]))
