"""`cxsim report`: a self-contained HTML story of a run, checked in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module", params=SCENARIOS, ids=[p.stem for p in SCENARIOS])
def report(request, tmp_path_factory) -> Path:
    out = small_run(request.param, tmp_path_factory.mktemp(request.param.stem) / "run")
    done = cli("report", str(out))
    assert done.returncode == 0, done.stderr
    assert str(out / "report.html") in done.stdout
    return out / "report.html"


def test_the_report_has_every_section_and_is_self_contained(report):
    text = report.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in text
    assert text.count("data:image/svg+xml;base64,") >= 4
    assert not re.search(r'(src|href)="https?://', text)  # opens offline
    assert "cxsim run scenario.yaml --seed" in text  # how to reproduce
    assert '<section id="wom">' in text  # both examples win prospects by promotion


def test_a_run_without_moments_still_gets_a_valid_report(tmp_path):
    out = small_run(SCENARIOS[0], tmp_path / "run", "--set", "output.moments=off")
    done = cli("report", str(out), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "r.html").read_text()
    assert "output.moments: off" in text and all(f'id="{s}"' in text for s in SECTIONS)


def test_run_can_write_the_report_at_the_end(tmp_path):
    out = tmp_path / "run"
    done = cli("run", str(SCENARIOS[0]), "--out", str(out), "--replicates", "2", "--set",
               "population.size=500", "--set", "horizon_days=60", "--report", "-q")
    assert done.returncode == 0, done.stderr
    assert f"Report: {out / 'report.html'}" in done.stdout and (out / "report.html").is_file()


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
                 "--disable-component-update", "--disable-sync", "--window-size=1280,3000"):
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
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"report-{report.parent.parent.name}.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        browser.quit()
