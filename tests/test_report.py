"""`cxsim report`: a self-contained HTML story of a run, checked in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

from cxsim.execution import Run
from cxsim.report import BENDS, JOURNEY_KEY, Obstacle, _bends, build_report

SCENARIOS = sorted(Path("scenarios").glob("*.yaml"))
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SECTIONS = ("question", "answer", "time", "journey", "moments", "fine-print")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cxsim.cli", *args], capture_output=True,
                          text=True, check=False)


def small_run(scenario: Path, out: Path, *extra: str) -> Path:
    done = cli("run", str(scenario), "--out", str(out), "--replicates", "2", "--set",
               "population.size=1000", "--set", "horizon_days=120", "-q", *extra)
    assert done.returncode == 0, done.stderr
    return out


def section(text: str, anchor: str) -> str:
    found = re.search(f'<section id="{anchor}">(.*?)</section>', text, re.S)
    assert found, f"no {anchor} section"
    return found.group(1)


@pytest.fixture(scope="module", params=SCENARIOS, ids=[p.stem for p in SCENARIOS])
def report(request, tmp_path_factory) -> Path:
    out = small_run(request.param, tmp_path_factory.mktemp(request.param.stem) / "run")
    done = cli("report", str(out))
    assert done.returncode == 0, done.stderr
    assert str(out / "report.html") in done.stdout
    return out / "report.html"


def test_the_report_has_every_section_and_is_self_contained(report):
    text = report.read_text()
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in text
    assert text.count("data:image/svg+xml;base64,") >= 4
    assert not re.search(r'(src|href)="https?://', text)  # opens offline
    assert "cxsim run scenario.yaml --seed" in text  # how to reproduce
    assert '<section id="wom">' in text  # every example wins prospects by promotion
    scenario = yaml.safe_load((report.parent / "scenario.yaml").read_text())
    cares = any(tp.get("care") for tp in scenario["touchpoints"].values())
    assert ('<section id="service">' in text) == cares  # when it has care touchpoints
    fixed = any((tp.get("care") or {}).get("cost_per_server_hour") for tp in
                scenario["touchpoints"].values()) or any(
        s["cost"]["per_day"] for s in scenario["strategies"].values())
    question = section(text, "question")  # the run's notes: 1,000 people, fixed costs
    assert ("1,000 people instead of the file" in question) == fixed
    assert ("Read with care" in question) == bool(json.loads(
        (report.parent / "run.json").read_text())["warnings"])


def test_the_answer_has_one_row_per_strategy_and_names_the_peaks(report):
    strategies = yaml.safe_load((report.parent / "scenario.yaml").read_text())["strategies"]
    answer = section(report.read_text(), "answer")
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>", answer.split("<tbody>")[1], re.S)
    assert [name.replace("<wbr>", "") for name in rows] == list(strategies)
    assert "Δ NPS (points)" in answer and "Δ retention (percentage points)" in answer
    moments = section(report.read_text(), "moments")
    assert "peak here (% of journeys)" in moments and "end here (% of journeys)" in moments


def test_a_run_without_moments_still_gets_a_valid_report(tmp_path):
    out = small_run(SCENARIOS[0], tmp_path / "run", "--set", "output.moments=off")
    done = cli("report", str(out), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "r.html").read_text()
    assert "output.moments: off" in text and all(f'id="{s}"' in text for s in SECTIONS)


def test_a_run_without_service_or_word_of_mouth_leaves_those_sections_out(tmp_path):
    from cxsim.testing import tiny_scenario

    scenario = tiny_scenario({"strategies": {"better_shop": {
        "description": "A better shop.", "set": {"touchpoints.shop.quality": 8.0}}}},
        size=300, horizon_days=40)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(
        scenario.model_dump(mode="json", by_alias=True), sort_keys=False))
    out = tmp_path / "run"
    done = cli("run", str(tmp_path / "tiny.yaml"), "--out", str(out), "--replicates", "2",
               "--report", "-q")
    assert done.returncode == 0, done.stderr
    text = (out / "report.html").read_text()
    assert all(f'<section id="{s}">' in text for s in SECTIONS)
    assert 'id="service"' not in text and 'id="wom"' not in text
    assert 'href="#service"' not in text and 'href="#wom"' not in text
    assert text.count("data:image/svg+xml;base64,") >= 4
    assert text.endswith("</body></html>")


class OlderRun(Run):
    """A run as an older cxsim wrote it: no queues or contacts, no word-of-mouth columns."""

    def table(self, name: str) -> pa.Table:
        if name in ("queues", "contacts"):
            raise FileNotFoundError(name)
        table = super().table(name)
        newer = [c for c in table.column_names if c.startswith(("wom_", "messages_"))
                 or c in ("reviews", "rating", "adopted", "final_rating")]
        return table.drop_columns(newer)


def test_a_run_from_an_older_version_degrades_gracefully(report):
    text = build_report(OlderRun(report.parent))
    assert 'id="service"' not in text
    wom = section(text, "wom")  # awareness is still there, the rest is said to be absent
    absent = re.search("Not in this run: (.*?)</p>", wom)
    assert absent and "positive messages" in absent.group(1) and "rating" in absent.group(1)
    assert "aware at the end" in wom and "wom_" not in wom


def test_each_strategy_has_a_line_of_its_own_in_grey():
    from cxsim.report import DASHES, MARKERS, PALETTE, _style

    styles = [_style(i, 365) for i in range(len(DASHES) * len(MARKERS))]
    assert len({(str(s["linestyle"]), s["marker"]) for s in styles}) == len(styles)
    assert all(s["color"] in PALETTE for s in styles)
    assert styles[0] == {**styles[0], "color": "#000000", "linestyle": "-", "marker": ""}


def test_run_can_write_the_report_at_the_end(tmp_path):
    out = tmp_path / "run"
    done = cli("run", str(SCENARIOS[0]), "--out", str(out), "--replicates", "2", "--set",
               "population.size=500", "--set", "horizon_days=60", "--report", "-q")
    assert done.returncode == 0, done.stderr
    assert f"Report: {out / 'report.html'}" in done.stdout and (out / "report.html").is_file()


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])  # the IHDR chunk
    return width, height


def test_the_report_renders_in_headless_chromium(report):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("headless Chromium is not installed: apt-get install chromium "
                    "chromium-driver (make test does it on CI)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                 "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        browser.get(report.resolve().as_uri())
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        assert len(images) >= 4
        assert all(complete and width > 0 for complete, width in images), images
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        wide = browser.execute_script(
            "return Array.from(document.querySelectorAll('img, table'))"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth).length")
        assert wide == 0  # nothing runs off the page
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, height)  # the whole report in one screenshot
        ARTIFACTS.mkdir(exist_ok=True)
        name = yaml.safe_load((report.parent / "scenario.yaml").read_text())["name"]
        shot = ARTIFACTS / f"report-{name}.png"
        browser.save_screenshot(str(shot))
        assert png_size(shot)[1] >= height - 200 and shot.stat().st_size > 10_000
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        printed = browser.execute_script(
            "return [document.querySelector('pre.scenario').checkVisibility(),"
            " Array.from(document.querySelectorAll('section'))"
            ".map(s => getComputedStyle(s).breakInside)]")
        assert printed[0]  # the scenario, in its closed <details>, prints in full
        assert set(printed[1]) == {"auto"}  # a section may run over pages
    finally:
        browser.quit()


def test_a_sweep_s_report_says_which_design_point_its_sections_show(tmp_path):
    import cxsim
    from cxsim.testing import tiny_scenario

    scenario = tiny_scenario({"sweep": {"design": "grid", "parameters": {
        "touchpoints.shop.quality": {"values": [5.0, 9.0]}}}}, size=200, horizon_days=30)
    text = build_report(cxsim.run(scenario, out=tmp_path / "sweep", workers=1))
    assert "show design point 0 alone (touchpoints.shop.quality = 5.0)" in text


def test_an_arrow_bends_around_the_circles_and_labels_in_its_way():
    at = {"a": np.array([0.0, 0.0]), "m": np.array([200.0, 0.0]), "b": np.array([400.0, 0.0]),
          "far": np.array([200.0, 300.0])}

    def circle(n: str, radius: float) -> list[Obstacle]:
        return [(at[n], 0.0, 0.0, radius)]

    obstacles = {"a": circle("a", 10), "m": circle("m", 30), "b": circle("b", 10),
                 "far": circle("far", 10)}
    bends = _bends([("a", "b"), ("b", "a"), ("a", "far")], at, obstacles)
    assert bends["a", "far"] == BENDS[0]  # nothing in the way: the gentlest bend
    # the gentlest bend's curve passes 20 pixels from m's centre, inside its circle
    assert abs(bends["a", "b"]) > BENDS[0] and bends["b", "a"] == bends["a", "b"]
    # the bend taken clears m: its curve's middle lies half of rad × length to the side
    assert abs(bends["a", "b"]) * 400 / 2 - 30 > 4
    # without m's circle, m's label (a box 100 × 40 pixels): a positive bend of a → b goes to
    # smaller y (arc3's control point is the middle + rad · (dy, −dx)), 20 pixels at the middle
    def label_at(y: float) -> dict[str, list[Obstacle]]:
        return {**obstacles, "m": [(at["m"] + (0, y), 50.0, 20.0, 0.0)]}

    assert _bends([("a", "b")], at, label_at(20))["a", "b"] == BENDS[0]  # above: clear
    assert _bends([("a", "b")], at, label_at(-30))["a", "b"] == -BENDS[0]  # below: go above


def test_the_journey_counts_are_per_replicate(report):
    run, output = Run(report.parent), Run(report.parent).scenario.output
    kept = output.moments_sample if output.moments == "sample" else 1.0  # small: all drawn
    moments = run.table("moments").to_pandas()
    moments = moments[moments.strategy == "baseline"].sort_values(
        ["replicate", "customer", "day"], kind="stable")
    moments["next"] = moments.groupby(list(JOURNEY_KEY))["touchpoint"].shift(-1)
    top = moments.dropna(subset=["next"]).groupby(["touchpoint", "next"],
                                                  observed=True).size().max()
    journey = section(report.read_text(), "journey")
    first = re.search(r"<tbody>\s*<tr>\s*<td>.*?</td>\s*<td>.*?</td>\s*<td>([\d,]+)</td>",
                      journey, re.S)
    assert first and int(first.group(1).replace(",", "")) == round(top / (2 * kept))
    assert "per replicate (the mean of 2)" in journey
