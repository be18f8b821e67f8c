"""Word of mouth: who talks, what they say, and what it does (stylised facts)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter

from cxsim import override, simulate
from cxsim.checks import warnings
from cxsim.network import NetworkSpec, build_network
from cxsim.scenario import WordOfMouth
from cxsim.streams import Streams
from cxsim.testing import tiny_scenario
from cxsim.word_of_mouth import talk

Z = 4.0


def test_dissatisfied_customers_send_more_messages_per_person():
    """Anderson (1998): equally extreme, the dissatisfied talk more."""
    n = 20_000
    who = np.arange(n)
    evaluation = np.where(who % 2 == 0, 1.5, -1.5)  # half delighted, half let down, equally
    said = talk(who, evaluation, np.full(n, 0.6), np.zeros(n, dtype=np.int64),
                WordOfMouth(audience=3, valence_noise=0.0), Streams(1, 0), None, 10 * n)
    per_person = np.bincount(said.sender % 2, minlength=2) / (n / 2)  # [delighted, let down]
    assert per_person[1] > 1.5 * per_person[0]
    assert abs(per_person[0] - 3 * 0.6 * (1 - math.exp(-1.5))) < Z * math.sqrt(3 / (n / 2))


def hotel_like(quality: float, audience: float = 3.0) -> dict:
    return {"touchpoints.shop.quality": {"dist": "normal", "mean": quality, "sd": 1.0},
            "word_of_mouth.audience": audience,
            "population.segments.everyone.talkativeness": 0.5,
            "population.segments.everyone.inter_purchase_days": 20}


def test_when_most_are_satisfied_positive_messages_outnumber_negative_ones():
    """East, Hammond & Wright (2007): about three positive messages to one negative."""
    k = simulate(tiny_scenario(hotel_like(8.2), size=20_000, horizon_days=60),
                 moments=False)["kpis"].to_pylist()[0]
    assert k["wom_positive"] > 2 * k["wom_negative"] > 0


def test_what_people_hear_moves_their_attitude_and_expectation():
    quiet = tiny_scenario({**hotel_like(8.5, audience=0.0), "population.existing_customers": 0.5},
                          size=10_000, horizon_days=30)
    loud = tiny_scenario({**hotel_like(8.5, audience=5.0), "population.existing_customers": 0.5},
                         size=10_000, horizon_days=30)
    a = simulate(quiet, moments=False)["customers"].to_pandas()
    b = simulate(loud, moments=False)["customers"].to_pandas()
    prospects = ~a.existing & a.first_day.isna() & b.first_day.isna()  # never bought in either
    assert prospects.sum() > 1000
    assert (a.attitude[prospects] == 0).all()
    assert b.attitude[prospects].mean() > 0.02  # good news travelled to people who never came
    assert b.expectation[prospects].mean() > a.expectation[prospects].mean()


def test_the_messages_table_records_who_told_whom(tmp_path):
    import cxsim

    network = {"kind": "erdos_renyi", "mean_degree": 8, "strong_share": 0.3}
    scenario = tiny_scenario({**hotel_like(8.2), "word_of_mouth.network": network,
                              "output.messages": "all"}, size=3000, horizon_days=40)
    messages = simulate(scenario, moments=False)["messages"].to_pandas()
    kpis = simulate(scenario, moments=False)["kpis"].to_pylist()[0]
    assert len(messages) == kpis["wom_positive"] + kpis["wom_negative"] > 100
    assert set(messages.tie.astype(str)) == {"weak", "strong"}
    assert (messages.sender != messages.receiver).all()
    sampled = cxsim.run(cxsim.override(scenario, {"output.messages": "sample",
                                                  "output.messages_sample": 0.5}),
                        out=tmp_path / "run", replicates=1).table("messages").to_pandas()
    assert 0 < len(sampled) < len(messages)
    assert set(sampled.sender) <= set(messages.sender)


def shop_with_reviews(size: int = 20_000, days: int = 240) -> object:
    """Prospects read the rating at a search page, then buy or look elsewhere."""
    world = {
        "touchpoints": {
            "search": {"stage": "consideration", "channel": "web", "p": "promotion",
                       "quality": 7.0, "shows_rating": True},
            "buy": {"stage": "purchase", "channel": "web", "p": "process", "quality": 7.0,
                    "revenue": 50.0},
            "elsewhere": {"stage": "consideration", "channel": "web", "p": "place",
                          "quality": 7.0, "importance": 0.0},
            "stay": {"stage": "use", "channel": "in_person", "p": "product",
                     "quality": {"dist": "normal", "mean": 7.5, "sd": 1.5}},
        },
        "journey": {"entries": {"search": 1},
                    "edges": {"search": {"buy": 0.6, "elsewhere": 0.4}, "buy": {"stay": 1}},
                    "exits": ["elsewhere", "stay"]},
    }
    return tiny_scenario({
        **world, "population.existing_customers": 0.0, "population.awareness_per_day": 0.01,
        "population.segments.everyone.inter_purchase_days": 10_000,
        "reviews.post_chance": 0.5, "reviews.window": 100,
        "strategies.quality_drop": {"from_day": 60, "set": {
            "touchpoints.stay.quality": {"dist": "normal", "mean": 5.0, "sd": 1.5}}},
    }, size=size, horizon_days=days)


def test_a_drop_in_quality_lowers_the_rating_and_with_it_the_conversion_of_prospects():
    scenario = shop_with_reviews()
    base = simulate(scenario)
    drop = simulate(scenario, strategy="quality_drop")
    rating_base = base["daily"].column("rating").to_numpy()
    rating_drop = drop["daily"].column("rating").to_numpy()
    assert (rating_base[:60] == rating_drop[:60]).all()
    assert rating_drop[-1] < rating_base[-1] - 0.5

    def conversion(tables, since: int) -> tuple[float, int]:
        moments = tables["moments"].to_pandas()
        moments = moments[moments.day >= since]
        after_search = moments[moments.touchpoint.astype(str) != "search"]
        bought = (after_search.touchpoint.astype(str) == "buy").sum()
        return bought / len(after_search[after_search.touchpoint.astype(str).isin(
            ["buy", "elsewhere"])]), bought

    late = 150
    (c_base, n), (c_drop, _) = conversion(base, late), conversion(drop, late)
    assert c_drop < c_base - Z * math.sqrt(c_base * (1 - c_base) / n)
    k_base, k_drop = base["kpis"].to_pylist()[0], drop["kpis"].to_pylist()[0]
    assert k_drop["conversion"] < k_base["conversion"]  # the KPI tells the same story
    assert k_drop["lost_prospects"] > k_base["lost_prospects"]


def test_answering_negative_reviews_softens_the_fall():
    scenario = shop_with_reviews(size=10_000, days=200)
    answered = override(scenario, {"reviews.respond_share": 1.0})
    plain = simulate(scenario, strategy="quality_drop", moments=False)["kpis"].to_pylist()[0]
    soft = simulate(answered, strategy="quality_drop", moments=False)["kpis"].to_pylist()[0]
    assert soft["final_rating"] > plain["final_rating"] + 0.2


def test_the_daily_mean_attitude_is_that_of_the_active_customers():
    """The running total survives journeys, churn and word of mouth reaching anyone."""
    scenario = tiny_scenario({**hotel_like(7.5), "population.existing_customers": 0.3,
                              "population.awareness_per_day": 0.01,
                              "word_of_mouth.imitation_per_day": 0.05}, size=5000,
                             horizon_days=90)
    tables = simulate(scenario, moments=False)
    customers = tables["customers"].to_pandas()
    active = customers.status.astype(str).isin(["in_journey", "between"])
    last = tables["daily"].column("mean_attitude")[-1].as_py()
    assert last == pytest.approx(customers.attitude[active].mean(), rel=1e-9, abs=1e-12)


def test_prospects_who_buy_elsewhere_are_lost_not_customers():
    scenario = override(shop_with_reviews(size=10_000, days=120), {"reviews.post_chance": 0.0})
    tables = simulate(scenario, moments=False)
    people = tables["customers"].to_pandas()
    kpis = tables["kpis"].to_pylist()[0]
    lost = people.status.astype(str) == "lost"
    won = people.journeys > 0
    assert kpis["lost_prospects"] == lost.sum() > 0 and kpis["customers_won"] == won.sum()
    assert kpis["customers"] == won.sum() and not (lost & won).any()
    n = won.sum() + lost.sum()  # the search sends 0.6 to buy, 0.4 elsewhere
    assert abs(kpis["conversion"] - 0.6) < Z * math.sqrt(0.24 / n)
    assert people.last_recommend[lost].isna().all()  # not asked: not in NPS
    scores = people.last_recommend[won]
    assert kpis["nps"] == pytest.approx(100 * ((scores >= 9).mean() - (scores <= 6).mean()))
    assert tables["daily"].column("lost").to_numpy().sum() == lost.sum()


def told_about(quality: float, chance: float) -> dict:
    """A tenth of the people are customers; prospects hear only what customers tell them."""
    return simulate(tiny_scenario({
        **hotel_like(quality), "population.existing_customers": 0.1,
        "word_of_mouth.awareness_per_message": chance, "output.messages": "all"},
        size=10_000, horizon_days=30), moments=False)


def test_good_news_makes_the_prospects_told_aware():
    tables = told_about(9.0, 0.5)
    messages, people = tables["messages"].to_pandas(), tables["customers"].to_pandas()
    arrived = people[~people.existing & people.first_day.notna()]
    assert len(arrived) > 100  # no promotion, no imitation: only messages made them aware
    good = messages[messages.valence > 0]
    for _, person in arrived.head(200).iterrows():
        told = good[good.receiver == person.customer]
        assert (told.day == person.first_day - 1).any()  # told good news the day before
    # each positive message to a prospect makes them aware with the chance given
    first = good[~good.receiver.isin(people.customer[people.existing])].groupby(
        "receiver").day.min()
    share = first.index.isin(arrived.customer).mean()
    assert share > 0.5  # at least one message in two made its receiver aware
    silent = told_about(9.0, 0.0)["customers"].to_pandas()
    assert silent.first_day[~silent.existing].isna().all()


def test_bad_news_makes_nobody_aware():
    tables = told_about(3.0, 1.0)
    messages, people = tables["messages"].to_pandas(), tables["customers"].to_pandas()
    assert (messages.valence < 0).sum() > 10 * max(1, (messages.valence > 0).sum())
    newcomers = people[~people.existing & people.first_day.notna()]
    good = messages[messages.valence > 0]
    assert set(newcomers.customer) <= set(good.receiver)  # only the few told good news


def test_strong_ties_are_believed_more():
    n = 4000
    network = build_network(TypeAdapter(NetworkSpec).validate_python(
        {"kind": "erdos_renyi", "mean_degree": 10, "strong_share": 0.5}), n, 3)
    spec = WordOfMouth(audience=5, valence_noise=0.0,
                       credibility={"strong": 3.0, "weak": 0.5, "stranger": 1.0})
    said = talk(np.arange(n), np.full(n, 2.0), np.ones(n), np.zeros(n, dtype=np.int64), spec,
                Streams(1, 0), network, n)
    assert said.strong.any() and not said.strong.all()
    assert (said.credibility == np.where(said.strong, 3.0, 0.5)).all()
    anyone = talk(np.arange(n), np.full(n, 2.0), np.ones(n), np.zeros(n, dtype=np.int64), spec,
                  Streams(1, 0), None, n)
    assert (anyone.credibility == 1.0).all()


def test_the_daily_costs_add_up_to_the_run_cost_lost_prospects_included():
    scenario = override(shop_with_reviews(size=5000, days=90),
                        {"touchpoints.search.cost_per_visit": 1.0})  # a paid listing
    tables = simulate(scenario, moments=False)
    kpis = tables["kpis"].to_pylist()[0]
    assert kpis["lost_prospects"] > 0
    # journeys still under way at the end are not yet costed in either
    assert tables["daily"].column("cost").to_numpy().sum() == pytest.approx(kpis["cost"])


def test_a_word_of_mouth_rate_the_network_does_not_use_is_warned_about():
    mixed = override(tiny_scenario(), {"word_of_mouth.imitation_per_day": 0.01})
    assert not [w for w in warnings(mixed) if "word_of_mouth" in w]
    network = {"kind": "erdos_renyi", "mean_degree": 4}
    on_a_network = override(mixed, {"word_of_mouth.network": network})
    assert any("word_of_mouth.imitation_per_day applies to a fully mixed" in w
               for w in warnings(on_a_network))
    mixed_with_contacts = override(tiny_scenario(), {"word_of_mouth.contact_per_day": 0.01})
    assert any("word_of_mouth.contact_per_day applies to a network only" in w
               for w in warnings(mixed_with_contacts))


def test_people_an_edge_list_ties_to_nobody_are_warned_about(tmp_path):
    path = tmp_path / "ties.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i + 1}\n" for i in range(0, 100, 2)))  # 100 tied

    def untied(size: int) -> list[str]:
        scenario = tiny_scenario({"word_of_mouth.network": {"kind": "edge_list",
                                                             "path": str(path)}}, size=size)
        return [w for w in warnings(scenario) if "have no tie" in w]

    assert untied(100) == [] and untied(110) == []  # 10 % untied: the margin
    assert len(untied(200)) == 1 and "100 of the 200 people (50%)" in untied(200)[0]


@pytest.mark.parametrize(("network", "field", "warned"), [
    ({"kind": "configuration", "degree": {"dist": "normal", "mean": -3, "sd": 1}}, "degree", True),
    ({"kind": "configuration", "degree": {"dist": "normal", "mean": 6, "sd": 2}}, "degree", False),
    ({"kind": "erdos_renyi", "mean_degree": 1.0}, "mean_degree", True),  # e^-1: 37 % alone
    ({"kind": "erdos_renyi", "mean_degree": 3.0}, "mean_degree", False),  # e^-3: 5 %
])
def test_a_network_that_leaves_many_without_a_tie_is_warned_about(network, field, warned):
    scenario = tiny_scenario({"word_of_mouth.network": network}, size=1000)
    found = [w for w in warnings(scenario) if "word of mouth never reaches them" in w]
    assert bool(found) == warned
    assert all(w.startswith(f"warning: word_of_mouth.network.{field}:") for w in found)
