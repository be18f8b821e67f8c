"""End to end: `cxsim run` on each example scenario, then the files read back."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

import cxsim
from cxsim.results import TABLES, read_metadata

SCENARIOS = sorted(Path("scenarios").glob("*.yaml"))
COLUMNS = {
    "customers": {"customer", "segment", "baseline_expectation", "patience_minutes",
                  "price_sensitivity", "personalisation_response", "talkativeness",
                  "complain_propensity", "attitude", "expectation", "journeys", "purchases",
                  "revenue", "cost", "clv", "churned", "churn_day", "last_recommend"},
    "moments": {"day", "customer", "journey", "touchpoint", "channel", "quality", "expectation",
                "disconfirmation", "felt_value"},
    "daily": {"day", "prospects", "active_customers", "journeys_started", "journeys_completed",
              "churned", "revenue", "cost", "mean_attitude", "nps"},
    "kpis": {"retention", "churn_rate", "nps", "revenue", "cost", "profit", "mean_clv",
             "journeys_per_customer"},
}


def cxsim_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cxsim.cli", *args], capture_output=True,
                          text=True, cwd=cwd, check=False)


@pytest.fixture(scope="module", params=SCENARIOS, ids=[p.stem for p in SCENARIOS])
def finished_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param.stem) / "run"
    done = cxsim_cli("run", str(request.param), "--out", str(out), "--replicates", "2",
                     "--set", "population.size=1500", "--set", "horizon_days=150")
    assert done.returncode == 0, done.stderr
    return request.param, out, done


def test_the_run_prints_a_summary_with_intervals(finished_run):
    scenario_file, _, done = finished_run
    scenario = cxsim.load_scenario(scenario_file)
    for strategy in scenario.strategies:
        assert strategy in done.stdout
    for kpi in ("nps", "retention", "revenue", "profit"):
        assert kpi in done.stdout
    assert "95% CI" in done.stdout


def test_every_table_is_partitioned_by_strategy_and_replicate(finished_run):
    scenario_file, out, _ = finished_run
    names = ["baseline", *cxsim.load_scenario(scenario_file).strategies]
    for table in TABLES:
        for strategy in names:
            for replicate in (0, 1):
                assert (out / table / f"strategy={strategy}" / f"replicate={replicate}"
                        / "part-0.parquet").is_file()
    assert not list(out.rglob("*.tmp"))


def test_tables_have_their_columns_and_provenance(finished_run):
    scenario_file, out, _ = finished_run
    for table, columns in COLUMNS.items():
        files = sorted((out / table).rglob("*.parquet"))
        data = ds.dataset(files, format="parquet", partitioning="hive").to_table()
        assert columns <= set(data.column_names), columns - set(data.column_names)
        assert data.num_rows > 0
        expected_seed = cxsim.load_scenario(scenario_file).seed
        for file in files:
            info = read_metadata(file)
            assert info["scenario"]["name"] == cxsim.load_scenario(scenario_file).name
            assert info["scenario"]["population"]["size"] == 1500  # the --set is recorded
            assert info["seed"] == expected_seed
            assert info["version"] == cxsim.__version__
            assert info["table"] == table
            parts = file.relative_to(out).parts
            assert parts[1] == f"strategy={info['strategy']}"
            assert parts[2] == f"replicate={info['replicate']}"
    kpis = cxsim.Run(out).table("kpis")
    assert all(-100 <= v <= 100 for v in kpis.column("nps").to_pylist())
    assert json.loads((out / "run.json").read_text())["replicates"] == 2


def test_the_results_open_in_pandas_polars_and_duckdb(finished_run):
    _, out, _ = finished_run
    import duckdb
    import pandas as pd
    import polars as pl

    frame = pd.read_parquet(out / "kpis")
    assert {"strategy", "replicate", "nps"} <= set(frame.columns)
    lazy = pl.scan_parquet(out / "customers" / "**" / "*.parquet", hive_partitioning=True)
    counts = lazy.group_by("strategy").len().collect()
    assert counts.height == frame["strategy"].nunique()
    rows = duckdb.sql(
        f"select strategy, avg(nps) from read_parquet('{out}/kpis/*/*/*.parquet', "
        "hive_partitioning = true) group by strategy").fetchall()
    assert len(rows) == frame["strategy"].nunique()


def test_the_recorded_scenario_runs_again_to_the_same_results(finished_run, tmp_path):
    _, out, _ = finished_run
    again = tmp_path / "again"
    done = cxsim_cli("run", str(out / "scenario.yaml"), "--out", str(again), "-q")
    assert done.returncode == 0, done.stderr
    assert (again / "scenario.json").read_text() == (out / "scenario.json").read_text()
    for table in ("kpis", "daily", "customers"):
        first = ds.dataset(out / table, partitioning="hive").to_table()
        second = ds.dataset(again / table, partitioning="hive").to_table()
        assert first.replace_schema_metadata(None).equals(second.replace_schema_metadata(None))


def test_a_bad_run_writes_nothing(tmp_path):
    out = tmp_path / "never"
    done = cxsim_cli("run", "scenarios/hotel.yaml", "--out", str(out), "--set",
                     "population.size=-1")
    assert done.returncode == 2
    assert "population.size" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_run_refuses_a_results_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old.txt").write_text("keep me")
    done = cxsim_cli("run", "scenarios/hotel.yaml", "--out", str(tmp_path), "--set",
                     "population.size=100")
    assert done.returncode == 1 and "not empty" in done.stderr
    assert (tmp_path / "old.txt").read_text() == "keep me"


@pytest.mark.filterwarnings("ignore:strategy follow_up_after_stay starts on day 90")  # short
def test_moments_can_be_sampled_or_switched_off(tmp_path):
    scenario = cxsim.load_scenario("scenarios/hotel.yaml", ["population.size=2000",
                                                            "horizon_days=90"])
    full = cxsim.run(scenario, out=tmp_path / "all", replicates=1).table("moments")
    sample = cxsim.run(cxsim.override(scenario, {"output.moments": "sample",
                                                 "output.moments_sample": 0.25}),
                       out=tmp_path / "sample", replicates=1).table("moments")
    # customers are sampled: their share is binomial around 0.25
    seen = full.to_pandas().customer.nunique()
    share = sample.to_pandas().customer.nunique() / seen
    assert abs(share - 0.25) < 4 * math.sqrt(0.25 * 0.75 / seen)
    kept = sample.to_pandas().groupby("customer").size()
    every = full.to_pandas().groupby("customer").size()
    assert kept.equals(every[kept.index])  # every moment of each sampled customer is kept
    cxsim.run(cxsim.override(scenario, {"output.moments": "off"}), out=tmp_path / "off",
              replicates=1)
    assert not (tmp_path / "off" / "moments").exists()


@pytest.mark.filterwarnings("ignore:strategy follow_up_after_stay starts on day 90")  # short
def test_the_python_api_returns_tables(tmp_path):
    scenario = cxsim.load_scenario("scenarios/hotel.yaml", ["population.size=500"])
    scenario = cxsim.override(scenario, {"horizon_days": 60})
    tables = cxsim.simulate(scenario, strategy="faster_checkin")
    assert set(tables) == set(TABLES)
    assert tables["kpis"].to_pandas().shape[0] == 1
    run = cxsim.run(scenario, out=tmp_path / "api", replicates=2)
    assert run.differences().num_rows == 3 * 4  # 3 strategies x 4 headline kpis
    assert "faster_checkin" in run.summary()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_scenarios_satisfy_the_exported_json_schema(path):
    import jsonschema
    import yaml

    done = cxsim_cli("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "bogus": 1}, schema)


def test_the_exported_json_schema_shows_defaults_made_by_a_factory():
    schema = json.loads(cxsim_cli("schema").stdout)
    segment, care = schema["$defs"]["Segment"]["properties"], schema["$defs"]["Care"]["properties"]
    assert segment["patience_minutes"]["default"] == {"dist": "constant", "value": 10.0}
    assert care["service_minutes"]["default"] == {"dist": "exponential", "mean": 6.0}
    assert schema["properties"]["word_of_mouth"]["default"]["network"]["kind"] == "fully_mixed"


def test_the_python_api_issues_the_scenarios_warnings_without_a_progress(tmp_path):
    from cxsim.testing import tiny_scenario

    late = tiny_scenario({"strategies": {"late": {"from_day": 50, "set": {
        "touchpoints.shop.quality": 8.0}}}},
                         size=200, horizon_days=20)
    with pytest.warns(UserWarning, match="strategy late starts on day 50, after the horizon"):
        cxsim.run(late, out=tmp_path / "run", workers=1)


def test_a_run_without_strategies_summarises_the_baseline(tmp_path):
    from cxsim.testing import tiny_scenario

    run = cxsim.run(tiny_scenario({"replicates": 3}, size=300, horizon_days=20),
                    out=tmp_path / "run", workers=1)
    summary = run.summary()
    assert "mean [95% CI]" in summary and "No strategies to compare with" in summary
    assert all(kpi in summary for kpi in ("nps", "retention", "revenue", "profit"))
