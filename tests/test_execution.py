"""Running many tasks: workers, a real Dask cluster, resuming after a kill, status, compare."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml
from scipy import stats

import cxsim
import cxsim.execution
from cxsim.execution import Run, compare
from cxsim.progress import Progress
from cxsim.results import TABLES
from cxsim.summary import format_differences, paired_differences
from cxsim.testing import tiny_scenario

SMALL = ["population.size=1500", "horizon_days=150"]
BIN = Path(sys.executable).parent


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cxsim.cli", *args], capture_output=True,
                          text=True, check=False, **kwargs)


def tables(folder: Path) -> dict[str, object]:
    """Every table of a run, rows in a canonical order."""
    found = {}
    for name in TABLES:
        files = sorted(str(p) for p in (folder / name).rglob("*.parquet"))
        table = ds.dataset(files, format="parquet", partitioning="hive").to_table()
        keys = [c for c in ("strategy", "replicate", "customer", "day") if c in table.column_names]
        found[name] = table.sort_by([(k, "ascending") for k in keys])
    return found


def same_results(a: Path, b: Path) -> bool:
    ta, tb = tables(a), tables(b)
    return all(ta[name].equals(tb[name]) for name in TABLES)


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "run"
    done = cli("run", "scenarios/hotel.yaml", "--out", str(out), "--replicates", "3",
               "--workers", "1", *[a for s in SMALL for a in ("--set", s)])
    assert done.returncode == 0, done.stderr
    return out


def test_two_workers_give_the_same_results_as_one(serial_run, tmp_path):
    out = tmp_path / "pool"
    done = cli("run", "scenarios/hotel.yaml", "--out", str(out), "--replicates", "3",
               "--workers", "2", *[a for s in SMALL for a in ("--set", s)])
    assert done.returncode == 0, done.stderr
    assert same_results(serial_run, out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_dask_cluster_gives_the_same_results(serial_run, tmp_path):
    """A scheduler and two workers as separate processes on loopback."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], stdout=(logs / "s.log").open("w"), stderr=subprocess.STDOUT)]
    try:
        time.sleep(2)
        processes += [subprocess.Popen(
            [str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard"], stdout=(logs / f"w{i}.log").open("w"), stderr=subprocess.STDOUT)
            for i in (1, 2)]
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        out = tmp_path / "dask"
        done = cli("run", "scenarios/hotel.yaml", "--out", str(out), "--replicates", "3",
                   "--cluster", address, *[a for s in SMALL for a in ("--set", s)])
        assert done.returncode == 0, done.stderr
        with Client(address, timeout=30) as client:
            ran = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
        assert ran > 0, "the scheduler saw no tasks"
        assert same_results(serial_run, out)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


@pytest.mark.parametrize("stop, workers", [(signal.SIGKILL, "1"), (signal.SIGINT, "2"),
                                           (signal.SIGTERM, "2")],
                         ids=["kill -9", "ctrl-c", "kill"])
def test_a_run_stopped_midway_resumes_to_the_uninterrupted_result(serial_run, tmp_path, stop,
                                                                   workers):
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "cxsim.cli", "run", "scenarios/hotel.yaml", "--out", str(out),
         "--replicates", "3", "--workers", workers, *[a for s in SMALL for a in ("--set", s)]],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("kpis/*/*/part-0.parquet"))) < 2:
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    if stop == signal.SIGTERM:  # a plain kill reaches the parent alone
        os.kill(process.pid, stop)
    else:  # the whole process group, as Ctrl-C in a terminal
        os.killpg(process.pid, stop)
    _, stderr = process.communicate(timeout=60)
    if stop != signal.SIGKILL:
        assert process.returncode == 128 + stop
        assert f"finish the run with: cxsim run --resume {out}" in stderr
        assert _group_ends(process.pid), "worker processes were left behind"
    finished = len(list(out.glob("kpis/*/*/part-0.parquet")))
    assert 2 <= finished < 12, "the kill came too late to test anything"

    status = cli("status", str(out))
    assert status.returncode == 0
    assert f"{finished} of 12 tasks done" in status.stdout and "--resume" in status.stdout

    refused = cli("run", "scenarios/hotel.yaml", "--out", str(out))
    assert refused.returncode == 1 and "--resume" in refused.stderr

    resumed = cli("run", "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert f"{finished} of 12 tasks already done" in resumed.stderr
    assert not list(out.rglob("*.tmp"))
    assert same_results(serial_run, out)
    assert "12 of 12 tasks done" in cli("status", str(out)).stdout


def _group_ends(group: int, seconds: float = 20.0) -> bool:
    """Whether every process of process group ``group`` is gone within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("args, message", [
    (["--kpi", "npss"], "--kpi: unknown KPI 'npss'; did you mean 'nps'?"),
    (["--baseline", "faster_chekin"], "unknown strategy 'faster_chekin'; did you mean "
                                      "'faster_checkin'?"),
], ids=["kpi", "baseline"])
def test_compare_refuses_a_misspelt_name_with_a_hint(serial_run, args, message):
    written = serial_run / "comparison.parquet"
    before = written.stat().st_mtime_ns if written.exists() else None
    done = cli("compare", str(serial_run), *args)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert (written.stat().st_mtime_ns if written.exists() else None) == before, \
        "a refused compare wrote its file"


def test_workers_must_be_at_least_one(tmp_path):
    done = cli("run", "scenarios/hotel.yaml", "--out", str(tmp_path / "x"), "--workers", "0")
    assert done.returncode == 2 and "--workers: must be a whole number of at least 1" in \
        done.stderr
    assert not (tmp_path / "x").exists()


def test_resume_refuses_options_that_would_change_the_run(serial_run):
    done = cli("run", "--resume", str(serial_run), "--set", "population.size=10")
    assert done.returncode == 1 and "--set" in done.stderr


def test_compare_prints_intervals_and_writes_a_parquet_file(serial_run):
    done = cli("compare", str(serial_run))
    assert done.returncode == 0, done.stderr
    assert "95% CI" in done.stdout and "return" in done.stdout
    table = pq.read_table(serial_run / "comparison.parquet")
    assert set(table.column("strategy").to_pylist()) == {
        "faster_checkin", "personalised_welcome", "follow_up_after_stay"}
    assert {"nps", "retention", "profit", "mean_clv"} <= set(table.column("kpi").to_pylist())
    row = next(r for r in table.to_pylist()
               if r["strategy"] == "faster_checkin" and r["kpi"] == "profit")
    kpis = cxsim.Run(serial_run).table("kpis").to_pandas().set_index(["strategy", "replicate"])
    diff = kpis.loc["faster_checkin", "profit"] - kpis.loc["baseline", "profit"]
    assert row["difference"] == pytest.approx(diff.mean())
    half = stats.t.ppf(0.975, 2) * diff.std(ddof=1) / math.sqrt(3)
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * half)
    cost = (10 + 2 * 6 * 28) * 150  # its own 10 a day, two more clerks for 6 hours at 28
    assert row["strategy_cost"] == pytest.approx(cost)
    assert row["return_on_cost"] == pytest.approx(diff.mean() / cost)


def test_a_run_opens_from_a_string_and_refuses_a_folder_that_is_not_one(serial_run, tmp_path):
    run = cxsim.Run(str(serial_run))  # as docs/results.md writes it
    assert run.path == serial_run and run.manifest["scenario"] == run.scenario.name
    assert not run.missing() and run.differences().num_rows
    with pytest.raises(cxsim.execution.RunError, match="not a cxsim results folder"):
        cxsim.Run(tmp_path)


def test_compare_pairs_two_runs_only_when_their_worlds_agree(serial_run, tmp_path):
    other = tmp_path / "other"
    assert cli("run", "scenarios/hotel.yaml", "--out", str(other), "--replicates", "3",
               "--seed", "5", *[a for s in SMALL for a in ("--set", s)]).returncode == 0
    table = compare(Run(serial_run), Run(other))
    assert "B:faster_checkin" in table.column("strategy").to_pylist()
    assert table.schema.metadata[b"cxsim.common_random_numbers"] == b"false"
    assert json.loads(table.schema.metadata[b"cxsim.seeds"]) == [Run(serial_run).scenario.seed, 5]
    done = cli("compare", str(serial_run), str(other), "--kpi", "profit", "--kpi", "nps")
    assert done.returncode == 0, done.stderr
    assert "the pairs share no random numbers" in done.stdout
    assert "(common random numbers)" not in done.stdout
    kpis = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("B:")]
    assert kpis[:2] == ["profit", "nps"]  # in the order asked for
    written = pq.read_table(other / f"comparison-against-{serial_run.name}.parquet")
    assert json.loads(written.schema.metadata[b"cxsim.runs"]) == [str(serial_run.resolve()),
                                                                  str(other.resolve())]
    same_seed = cli("compare", str(serial_run))
    assert "(common random numbers)" in same_seed.stdout
    bigger = tmp_path / "bigger"
    assert cli("run", "scenarios/hotel.yaml", "--out", str(bigger), "--replicates", "2",
               "--set", "population.size=1600", "--set", "horizon_days=150").returncode == 0
    done = cli("compare", str(serial_run), str(bigger))
    assert done.returncode == 1 and "population.size (1500 vs 1600)" in done.stderr


def test_paired_intervals_are_much_narrower_than_unpaired_ones(tmp_path):
    """The point of common random numbers: the same replicate of two strategies shares its
    random numbers, so the noise cancels in the paired difference."""
    scenario = cxsim.load_scenario("scenarios/hotel.yaml", ["population.size=2000",
                                                            "horizon_days=200"])
    run = cxsim.run(scenario, out=tmp_path / "crn", replicates=8)
    kpis = run.table("kpis").to_pandas().set_index(["strategy", "replicate"]).sort_index()
    for kpi in ("nps", "retention", "revenue"):
        a = kpis.loc["baseline", kpi].to_numpy()
        b = kpis.loc["personalised_welcome", kpi].to_numpy()
        paired = stats.t.ppf(0.975, 7) * np.std(b - a, ddof=1) / math.sqrt(8)
        unpaired = stats.t.ppf(0.975, 14) * math.sqrt(np.var(a, ddof=1) / 8
                                                      + np.var(b, ddof=1) / 8)
        assert paired < 0.5 * unpaired, (kpi, paired, unpaired)


def test_the_manifest_lists_every_task(serial_run):
    manifest = json.loads((serial_run / "run.json").read_text())
    assert len(manifest["tasks"]) == 12 and manifest["seed"] == 20261123


CACHED = "from cxsim.execution import compiled_code_cached\nprint(compiled_code_cached())"
RUN = ("from cxsim import simulate\nfrom cxsim.testing import tiny_scenario\n"
       "simulate(tiny_scenario(size=50, horizon_days=3), moments=False)\n")


def test_numba_s_cache_is_known_empty_on_a_fresh_install_and_full_after_a_run(tmp_path):
    """A fresh cache (a new install) lacks the model's compiled code; after a run (with the
    project's own cache, so as not to compile it all again) it holds it."""
    def python(code: str, **env: str) -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, **env}, check=True).stdout.strip()

    assert python(CACHED, NUMBA_CACHE_DIR=str(tmp_path)) == "False"
    assert python(RUN + CACHED) == "True"


@pytest.mark.parametrize("cached", [False, True])
def test_a_run_says_when_it_compiles_numba_code_first(tmp_path, monkeypatch, cached):
    monkeypatch.setattr(cxsim.execution, "compiled_code_cached", lambda: cached)
    stream = io.StringIO()
    cxsim.run(tiny_scenario(size=50, horizon_days=3), out=tmp_path / "run",
              progress=Progress(stream, interactive=False))
    assert ("compiling cxsim's numba code first" in stream.getvalue()) is not cached


def test_a_script_read_from_standard_input_runs_though_it_asks_for_workers(tmp_path):
    # multiprocessing's workers import the main script again, which stdin cannot give them
    script = (f"import cxsim\n"
              f"scenario = cxsim.load_scenario('scenarios/hotel.yaml', ['population.size=300', "
              f"'horizon_days=10', 'replicates=2'])\n"
              f"cxsim.run(scenario, out={str(tmp_path / 'out')!r}, workers=2)\n")
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "out").glob("kpis/*/*/part-0.parquet"))) == 8


def test_a_smaller_population_than_the_file_s_gets_a_note_on_fixed_costs():
    from cxsim.cli import _fixed_costs_note

    filed = cxsim.load_scenario("scenarios/restaurant.yaml")
    small = cxsim.load_scenario("scenarios/restaurant.yaml", ["population.size=2000"])
    (note,) = _fixed_costs_note(filed, small)
    assert "2,000 people instead of the file's 20,000" in note and "waiter_service" in note
    assert _fixed_costs_note(filed, filed) == []


def test_a_set_that_adds_a_section_the_file_lacks_gets_a_note():
    from cxsim.cli import _added_sections_note

    filed = cxsim.load_scenario("scenarios/hotel.yaml")
    (note,) = _added_sections_note(filed, ["touchpoints.room.care.servers=3",
                                           "touchpoints.reception.care.servers=3",
                                           "population.size=500"])
    assert "adds touchpoints.room.care, which the file does not have" in note


def test_an_edge_list_is_pinned_by_its_hash_and_a_changed_file_is_refused(tmp_path):
    ties = tmp_path / "ties.csv"
    ties.write_text("a,b\n" + "".join(f"{i},{(i + 1) % 50}\n" for i in range(50)))
    scenario = tiny_scenario({"word_of_mouth.network": {"kind": "edge_list",
                                                         "path": str(ties)}}, size=50)
    pinned = hashlib.sha256(ties.read_bytes()).hexdigest()
    assert scenario.word_of_mouth.network.sha256 == pinned
    run = cxsim.run(cxsim.override(scenario, {"replicates": 2}), tmp_path / "run")
    assert json.loads(run.scenario_json())["word_of_mouth"]["network"]["sha256"] == pinned
    next(run.path.glob("kpis/*/replicate=1/part-0.parquet")).unlink()  # an unfinished task
    ties.write_text(ties.read_text() + "0,25\n")
    with pytest.raises(cxsim.RunError, match=r"cannot resume: word_of_mouth\.network\.sha256: "
                       r".*ties\.csv: the file is not the one the scenario pins"):
        cxsim.resume(run.path)
    with pytest.raises(cxsim.ScenarioError, match="the file is not the one the scenario pins"):
        cxsim.override(scenario, {"population.size": 50})  # the pin travels with the scenario
    other = tmp_path / "other.csv"
    other.write_text("a,b\n0,1\n")
    moved = cxsim.override(scenario, {"word_of_mouth.network.path": str(other)})
    assert moved.word_of_mouth.network.sha256 == hashlib.sha256(other.read_bytes()).hexdigest()


def test_a_change_is_relative_only_to_a_positive_baseline_and_never_for_a_score():
    kpis = pa.table({"strategy": ["baseline"] * 3 + ["better"] * 3, "replicate": [0, 1, 2] * 2,
                     "profit": [-100.0, -120.0, -80.0, 50.0, 40.0, 60.0],
                     "revenue": [200.0, 220.0, 180.0, 250.0, 270.0, 230.0],
                     "nps": [1.0, 2.0, 1.8, 6.0, 7.0, 6.8],
                     "staff_cost": [0.0] * 6, "strategy_cost": [0.0] * 6})
    rows = {r["kpi"]: r for r in
            paired_differences(kpis, ("profit", "revenue", "nps")).to_pylist()}
    assert math.isnan(rows["profit"]["relative"])  # from a loss of 100 to a profit of 50
    assert rows["profit"]["difference"] == pytest.approx(150.0)
    assert rows["revenue"]["relative"] == pytest.approx(50.0 / 200.0)
    assert math.isnan(rows["nps"]["relative"])  # 1.6 -> 6.6 is 5 points, not +312 %
    assert rows["nps"]["difference"] == pytest.approx(5.0)
    printed = format_differences(paired_differences(kpis, ("revenue", "nps"))).splitlines()
    nps_line = next(line for line in printed if line.split()[1:2] == ["nps"])
    assert "n/a" in nps_line and "%" not in nps_line
    assert "+25.0%" in next(line for line in printed if line.split()[1:2] == ["revenue"])
    assert any(line.startswith("relative: none for nps,") for line in printed)


def test_two_runs_that_differ_only_in_what_they_keep_can_be_paired():
    from cxsim.strategies import canonical
    from cxsim.summary import differences_between

    on = canonical(cxsim.load_scenario("scenarios/hotel.yaml"))
    off = canonical(cxsim.load_scenario("scenarios/hotel.yaml", ["output.moments=off"]))
    assert differences_between(on, off) == []
    bigger = canonical(cxsim.load_scenario("scenarios/hotel.yaml",
                                                 ["population.size=30000"]))
    assert differences_between(on, bigger) == ["population.size (20000 vs 30000)"]


def test_resume_refuses_a_run_made_by_other_cxsim_code(tmp_path):
    run = cxsim.run(tiny_scenario({"replicates": 2}, size=50), tmp_path / "run")
    next(run.path.glob("kpis/*/replicate=1/part-0.parquet")).unlink()
    manifest = json.loads((run.path / "run.json").read_text())
    assert manifest["cxsim_source"] == cxsim.execution.source_digest()
    (run.path / "run.json").write_text(json.dumps({**manifest, "cxsim_source": "0" * 64}))
    with pytest.raises(cxsim.RunError, match="made by other cxsim code"):
        cxsim.resume(run.path)
    (run.path / "run.json").write_text(json.dumps(manifest))
    assert not cxsim.resume(run.path).missing()


def test_a_run_file_that_its_overrides_make_valid_runs(tmp_path):
    broken = tmp_path / "hotel.yaml"
    broken.write_text(Path("scenarios/hotel.yaml").read_text().replace(
        "horizon_days: 365", "horizon_days: -5"))
    done = cli("run", str(broken), "--out", str(tmp_path / "run"), "--replicates", "2",
               "--set", "horizon_days=5", "--set", "population.size=200", "-q")
    assert done.returncode == 0, done.stderr


def test_compare_of_a_run_without_strategies_and_of_a_folder_given_as_dot(tmp_path):
    alone = tmp_path / "alone"
    cxsim.run(tiny_scenario({"replicates": 2}, size=50), alone)
    done = cli("compare", str(alone))
    assert done.returncode == 0 and "No strategies" in done.stdout, done.stderr
    other = tmp_path / "other"
    cxsim.run(tiny_scenario({"replicates": 2, "seed": 3}, size=50), other)
    done = cli("compare", ".", str(other), cwd=alone)
    assert done.returncode == 0, done.stderr
    assert (other / "comparison-against-alone.parquet").is_file()


def test_a_changed_network_path_pins_the_new_file(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("a,b\n0,1\n")
    second.write_text("a,b\n1,2\n")
    pinned = tiny_scenario({"word_of_mouth.network": {"kind": "edge_list", "path": str(first)}},
                           size=10)
    text = tmp_path / "pinned.yaml"
    text.write_text(yaml.safe_dump(pinned.model_dump(mode="json", by_alias=True)))
    moved = cxsim.load_scenario(text, [f"word_of_mouth.network.path={second}"])
    assert moved.word_of_mouth.network.sha256 == hashlib.sha256(second.read_bytes()).hexdigest()
