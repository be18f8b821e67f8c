"""Reproducibility and common random numbers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cxsim import load_scenario, override, simulate
from cxsim.streams import Streams

HOTEL = "scenarios/hotel.yaml"
SMALL = ["population.size=1500", "horizon_days=120"]


@pytest.fixture(scope="module")
def hotel():
    return load_scenario(HOTEL, SMALL)


def same(a: dict[str, pa.Table], b: dict[str, pa.Table], tables=("customers", "daily",
                                                                   "moments")) -> bool:
    return all(a[t].equals(b[t]) for t in tables)


def test_same_seed_gives_identical_tables(hotel):
    assert same(simulate(hotel, replicate=1), simulate(hotel, replicate=1))


def test_another_seed_or_replicate_gives_different_tables(hotel):
    base = simulate(hotel)
    assert not base["customers"].equals(simulate(override(hotel, {"seed": 99}))["customers"])
    assert not base["customers"].equals(simulate(hotel, replicate=1)["customers"])


def test_a_strategy_that_patches_nothing_reproduces_the_baseline(hotel):
    scenario = override(hotel, {"strategies.nothing": {"description": "no change"},
                                "strategies.same_value": {"set": {
                                    "touchpoints.reception.quality.mean": 7.3}}})
    baseline = simulate(scenario)
    for name in ("nothing", "same_value"):
        assert same(baseline, simulate(scenario, strategy=name))
        k_base, k_strategy = baseline["kpis"].to_pylist()[0], simulate(
            scenario, strategy=name)["kpis"].to_pylist()[0]
        assert k_base == k_strategy


def test_a_strategy_from_a_later_day_leaves_the_days_before_alone(hotel):
    scenario = override(hotel, {"strategies.follow_up_after_stay.from_day": 60})
    base = simulate(scenario)["daily"].to_pandas()
    late = simulate(scenario, strategy="follow_up_after_stay")["daily"].to_pandas()
    differs = ~((base == late) | (base.isna() & late.isna())).all(axis=1)
    assert not differs.iloc[:60].any()
    assert differs.iloc[60]  # the follow-up email is sent from day 60 on, not later


def test_a_strategy_that_changes_one_touchpoint_keeps_the_other_draws(hotel):
    """Common random numbers: the first journeys start on the same days with the same entries
    and, up to the changed touchpoint, the same moments."""
    base = simulate(hotel)["moments"].to_pandas()
    fast = simulate(hotel, strategy="faster_checkin")["moments"].to_pandas()
    before = base[(base.journey == 0) & (base.touchpoint.astype(str) != "reception")]
    before_fast = fast[(fast.journey == 0) & (fast.touchpoint.astype(str) != "reception")]
    merged = before.merge(before_fast, on=["day", "customer", "journey", "touchpoint"],
                          suffixes=("", "_fast"))
    assert len(merged) > 0.9 * len(before)
    assert np.allclose(merged.quality, merged.quality_fast)


def test_a_slot_draws_the_same_number_whatever_the_batch():
    streams = Streams(seed=7, replicate=2)
    everyone = streams.uniform("quality", np.arange(1000), 5, 1)
    some = np.array([3, 999, 17])
    assert np.array_equal(streams.uniform("quality", some, 5, 1), everyone[some])
    assert not np.array_equal(streams.uniform("quality", some, 5, 2), everyone[some])
    assert not np.array_equal(streams.uniform("route", some, 5, 1), everyone[some])
    assert not np.array_equal(Streams(7, 3).uniform("quality", some, 5, 1), everyone[some])


def test_a_strategy_from_day_0_may_change_who_the_customers_are(hotel):
    """Traits come from the strategy's distributions, drawn with the same numbers (paired)."""
    scenario = override(hotel, {"strategies.pickier": {"set": {
        "population.segments.*.expectation.mean": 8.5}}})
    base = simulate(scenario, moments=False)["customers"].to_pandas()
    picky = simulate(scenario, strategy="pickier", moments=False)["customers"].to_pandas()
    shift = picky.baseline_expectation - base.baseline_expectation
    business = base.segment == "business"
    assert np.allclose(shift[business], 8.5 - 7.5, atol=1e-5)
    assert np.allclose(shift[~business], 8.5 - 7.0, atol=1e-5)


def test_more_promotion_makes_nobody_aware_later(hotel):
    """The redraw of awareness when a strategy raises p is paired with the baseline's draw
    (without awareness from messages, whose receivers depend on who has journeys when)."""
    scenario = override(hotel, {"word_of_mouth.awareness_per_message": 0.0,
                                "strategies.promotion": {"from_day": 30, "set": {
                                    "population.awareness_per_day": 0.004}}})
    base = simulate(scenario, moments=False)["customers"].to_pandas()
    more = simulate(scenario, strategy="promotion", moments=False)["customers"].to_pandas()
    prospects = ~base.existing
    a, b = base.first_day[prospects], more.first_day[prospects]
    before = a < 30
    assert (a[before] == b[before]).all()  # untouched before the strategy starts
    later = ~before & a.notna()
    assert later.sum() > 100 and (b[later] <= a[later]).all()
    assert b.notna().sum() > a.notna().sum()


def test_moments_at_a_touchpoint_a_strategy_adds_carry_its_channel(hotel):
    scenario = override(hotel, {"strategies.follow_up_after_stay.from_day": 30})
    moments = simulate(scenario, strategy="follow_up_after_stay")["moments"].to_pandas()
    email = moments[moments.touchpoint.astype(str) == "follow_up_email"]
    assert len(email) > 0 and set(email.channel.astype(str)) == {"email"}
    assert set(email.stage.astype(str)) == {"post_purchase"}


def test_on_a_network_more_word_of_mouth_makes_nobody_aware_later():
    from cxsim.testing import tiny_scenario

    scenario = tiny_scenario({
        "population.existing_customers": 0.01, "population.awareness_per_day": 0.002,
        "word_of_mouth.network": {"kind": "erdos_renyi", "mean_degree": 8},
        "word_of_mouth.contact_per_day": 0.02,
        "population.segments.everyone.inter_purchase_days": 1000,
        "strategies.referral": {"from_day": 20, "set": {"word_of_mouth.contact_per_day": 0.04}},
    }, size=5000, horizon_days=80)
    base = simulate(scenario, moments=False)["customers"].to_pandas()
    more = simulate(scenario, strategy="referral", moments=False)["customers"].to_pandas()
    a, b = base.first_day, more.first_day
    before = a < 20
    assert (a[before] == b[before]).all()
    later = a.notna() & ~before
    assert later.sum() > 100 and (b[later] <= a[later]).all()
    assert (b[later] < a[later]).mean() > 0.3


def test_on_a_network_a_strategy_that_patches_nothing_reproduces_every_table():
    """Word of mouth along ties, messages, reviews and lost prospects keep common random
    numbers too (the launch scenario: a small-world network, messages kept)."""
    scenario = load_scenario("scenarios/launch.yaml", [
        "population.size=3000", "horizon_days=90", "output.messages=all",
        "strategies.same_rating={set: {reviews.initial_rating: 4.0}}"])
    base, same_rating = simulate(scenario), simulate(scenario, strategy="same_rating")
    tables = ("customers", "daily", "moments", "messages", "kpis")
    assert base["messages"].num_rows > 100 and base["kpis"]["lost_prospects"][0].as_py() > 0
    assert same(base, same_rating, tables)
    assert same(base, simulate(scenario), tables)
