"""Validation: the simulation against closed forms and published regularities.

Each test derives its tolerance from the sample size (a few standard errors) and uses fixed seeds.
A researcher runs them with a rule of their own in place (``CXSIM_TEST_SET``, docs/rules.md) to
check that the closed forms around it still hold; a slot's own regularity (peak–end, loss
aversion) is tested for the built-in rule it was derived for, so a new rule needs a test of its
own for that.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cxsim import simulate
from cxsim.awareness import Awareness
from cxsim.graph import JourneyGraph
from cxsim.model import nps
from cxsim.rules import MeanMemory, PeakEnd
from cxsim.testing import tiny_scenario, tiny_world

Z = 4.0  # standard errors allowed: a false alarm about once in 16,000 checks where the error
# is known (binomial counts), once in 500 to 2,500 where it is estimated from 12 to 30
# replicates or batches (Student's t with 11 to 29 degrees of freedom)


# --------------------------------------------------------------------------------------------
# absorbing Markov chain (Kemeny & Snell 1960)

BRANCHING = tiny_world(
    {"a": 7, "b": 7, "c": 7, "x1": 7, "x2": 7, "x3": 7},
    entries={"a": 3, "c": 1},
    edges={
        "a": {"b": 0.5, "c": 0.3, "x1": 0.2},
        "b": {"x1": 0.4, "x2": 0.6},
        "c": {"b": 0.5, "x3": 0.5},
    },
    exits=["x1", "x2", "x3"],
)


def fundamental_matrix_exit_shares() -> dict[str, float]:
    """π·(I − Q)⁻¹·R worked out for BRANCHING, independently of cxsim's graph code."""
    # transient order a, b, c; exits x1, x2, x3
    q = np.array([[0, 0.5, 0.3], [0, 0, 0], [0, 0.5, 0]])
    r = np.array([[0.2, 0, 0], [0.4, 0.6, 0], [0, 0, 0.5]])
    start = np.array([0.75, 0, 0.25])
    shares = start @ np.linalg.inv(np.eye(3) - q) @ r
    return dict(zip(["x1", "x2", "x3"], shares, strict=True))


def journey_ends(moments) -> dict[str, float]:
    frame = moments.to_pandas()
    last = frame.groupby(["customer", "journey"], observed=True)["touchpoint"].last()
    return last.astype(str).value_counts(normalize=True).to_dict(), len(last)


def test_graph_code_matches_the_hand_worked_fundamental_matrix():
    scenario = tiny_scenario({"touchpoints": BRANCHING["touchpoints"],
                              "journey": BRANCHING["journey"]})
    computed = JourneyGraph.compile(scenario).exit_shares()
    for exit_, share in fundamental_matrix_exit_shares().items():
        assert computed[exit_] == pytest.approx(share, abs=1e-12)


def test_exit_shares_match_the_fundamental_matrix():
    scenario = tiny_scenario({"touchpoints": BRANCHING["touchpoints"],
                              "journey": BRANCHING["journey"]}, size=100_000)
    shares, n = journey_ends(simulate(scenario)["moments"])
    assert n == 100_000  # every customer made exactly one journey
    for exit_, p in fundamental_matrix_exit_shares().items():
        se = math.sqrt(p * (1 - p) / n)
        assert abs(shares[exit_] - p) < Z * se, (exit_, shares[exit_], p)


def test_segment_specific_weights_give_each_segment_its_own_chain():
    world = tiny_world({"a": 7, "x1": 7, "x2": 7}, {"a": 1},
                       {"a": {"x1": {"weight": 0.2, "segments": {"loyal": 0.8}}, "x2": 0.8}},
                       ["x1", "x2"])
    scenario = tiny_scenario({**world, "population.segments": {
        "casual": {"share": 0.5, "expectation": 7, "inter_purchase_days": 1},
        "loyal": {"share": 0.5, "expectation": 7, "inter_purchase_days": 1},
    }}, size=20_000)
    tables = simulate(scenario)
    ends = tables["moments"].to_pandas().groupby("customer")["touchpoint"].last().astype(str)
    segment = tables["customers"].to_pandas().set_index("customer")["segment"].astype(str)
    graph = JourneyGraph.compile(scenario)
    for s, name in enumerate(graph.segments):
        mine = ends[segment[ends.index] == name]
        p = graph.exit_shares(s)["x1"]
        se = math.sqrt(p * (1 - p) / len(mine))
        assert abs((mine == "x1").mean() - p) < Z * se, name


# --------------------------------------------------------------------------------------------
# peak-end (Kahneman, Fredrickson, Schreiber & Redelmeier 1993)

SHORT = [-2.0, -8.0]  # felt values: the episode ends at its worst moment
LONG = [-2.0, -8.0, -7.0]  # the same, plus a milder (but still bad) tail


def remembered(rule, felt: list[float]) -> float:
    memory = {name: np.full(1, start) for name, start in rule.state.items()}
    who = np.array([0])
    for value in felt:
        rule.remember(memory, who, np.array([value]))
    return float(rule.recall(memory, who)[0])


def test_peak_end_remembers_the_longer_episode_with_a_milder_tail_better():
    assert remembered(PeakEnd(), LONG) > remembered(PeakEnd(), SHORT)
    assert remembered(PeakEnd(), SHORT) == pytest.approx(-8.0)
    assert remembered(PeakEnd(), LONG) == pytest.approx(-7.5)


def test_the_mean_rule_ranks_the_two_episodes_the_other_way():
    assert remembered(MeanMemory(), LONG) < remembered(MeanMemory(), SHORT)


@pytest.mark.parametrize("rule, long_is_better", [("peak_end", True), ("mean", False)])
def test_journeys_in_the_model_are_remembered_by_the_memory_rule(rule, long_is_better):
    """The same comparison through the whole model: attitude after one journey = evaluation."""
    expectation = 7.0
    path = {"t0": expectation + SHORT[0], "t1": expectation + SHORT[1],
            "t2": expectation + LONG[2]}
    common = {
        "perception.disconfirmation.rule": "linear",
        "perception.memory.rule": rule,
        "perception.attitude.attitude_rate": 1.0,
        "perception.attitude.expectation_rate": 0.0,
    }
    short_path = {k: path[k] for k in ("t0", "t1")}
    short = tiny_scenario(
        {**tiny_world(short_path, {"t0": 1}, {"t0": {"t1": 1}}, ["t1"]), **common}, size=10)
    long = tiny_scenario({**tiny_world(path, {"t0": 1}, {"t0": {"t1": 1}, "t1": {"t2": 1}},
                                       ["t2"]), **common}, size=10)
    a_short = simulate(short)["customers"].column("attitude").to_numpy()
    a_long = simulate(long)["customers"].column("attitude").to_numpy()
    assert np.all((a_long > a_short) == long_is_better)


@pytest.mark.parametrize("rule", ["peak_end", "mean", "recency"])
def test_a_moment_of_importance_zero_leaves_no_trace_in_the_journey_s_memory(rule):
    """A last moment of no weight is not the journey's end: the journey is remembered as
    without it (with weight 1 it would be remembered differently)."""
    common = {"perception.disconfirmation.rule": "linear", "perception.memory.rule": rule,
              "perception.attitude.attitude_rate": 1.0,
              "perception.attitude.expectation_rate": 0.0}
    short = tiny_world({"t0": 6.0, "t1": 3.0}, {"t0": 1}, {"t0": {"t1": 1}}, ["t1"])
    tail = {"stage": "post_purchase", "channel": "email", "p": "people", "quality": 9.0}

    def attitude(world: dict, **changes: float) -> np.ndarray:
        scenario = tiny_scenario({**world, **common, **changes}, size=10)
        return simulate(scenario)["customers"].column("attitude").to_numpy()

    longer = tiny_world({"t0": 6.0, "t1": 3.0, "t2": tail}, {"t0": 1},
                        {"t0": {"t1": 1}, "t1": {"t2": 1}}, ["t2"])
    assert np.array_equal(attitude(longer, **{"touchpoints.t2.importance": 0.0}),
                          attitude(short))
    assert not np.allclose(attitude(longer), attitude(short))


# --------------------------------------------------------------------------------------------
# asymmetric disconfirmation (Anderson & Sullivan 1993)


def attitude_after(quality: float, rule: str) -> np.ndarray:
    scenario = tiny_scenario({"touchpoints.shop.quality": quality,
                              "perception.disconfirmation.rule": rule}, size=10)
    return simulate(scenario)["customers"].column("attitude").to_numpy()


def test_equal_disconfirmation_moves_attitude_more_when_negative():
    up, down = attitude_after(7.0 + 1.5, "asymmetric"), attitude_after(7.0 - 1.5, "asymmetric")
    assert np.all(up > 0) and np.all(down < 0)
    assert np.all(-down > up)
    assert (-down / up) == pytest.approx(2.0)  # the default loss aversion


def test_the_linear_rule_is_symmetric():
    up, down = attitude_after(7.0 + 1.5, "linear"), attitude_after(7.0 - 1.5, "linear")
    assert np.allclose(-down, up)


# --------------------------------------------------------------------------------------------
# customer lifetime value (Gupta & Lehmann 2003)


def test_clv_with_constant_retention_matches_the_closed_form():
    """Margin m per period, retention r, discount d per period: CLV = m·r / (1 + d − r)."""
    m, r, d, period = 100.0, 0.8, 0.1, 30
    scenario = tiny_scenario({
        "touchpoints.shop.revenue": m,
        "population.segments.everyone.inter_purchase_days": period,
        "loyalty": {"rule": "logistic", "base_return": r, "return_slope": 0.0},
        "economics.discount_rate_per_year": (1 + d) ** (365 / period) - 1,
    }, size=20_000, horizon_days=period * 62)
    customers = simulate(scenario, moments=False)["customers"]
    clv = customers.column("clv").to_numpy()
    # exactly: a customer with J journeys got the margins of J − 1 repeat journeys, discounted
    repeats = customers.column("journeys").to_numpy() - 1
    exact = m * np.array([sum((1 + d) ** -k for k in range(1, j + 1)) for j in repeats])
    assert np.allclose(clv, exact)
    # and on average, the closed form
    expected = m * r / (1 + d - r)
    assert expected == pytest.approx(266.67, abs=0.01)
    se = clv.std(ddof=1) / math.sqrt(len(clv))
    assert abs(clv.mean() - expected) < Z * se, (clv.mean(), expected, se)


def test_retention_is_the_constant_return_probability():
    r = 0.6
    scenario = tiny_scenario({"loyalty": {"rule": "logistic", "base_return": r,
                                          "return_slope": 0.0},
                              "population.segments.everyone.inter_purchase_days": 5},
                             size=20_000, horizon_days=300)
    k = simulate(scenario, moments=False)["kpis"].to_pylist()[0]
    n = k["journeys"]
    assert abs(k["repurchase_rate"] - r) < Z * math.sqrt(r * (1 - r) / n)


# --------------------------------------------------------------------------------------------
# net promoter score (Reichheld 2003)


def test_nps_counts_promoters_9_10_and_detractors_0_6_exactly():
    scores = np.arange(11)  # 0..10: detractors 0-6 (7), passives 7-8 (2), promoters 9-10 (2)
    assert nps(scores) == pytest.approx(100 * (2 - 7) / 11)
    assert nps(np.array([9, 10, 7, 8])) == pytest.approx(50.0)
    assert nps(np.array([6, 6, 10])) == pytest.approx(-100 / 3)
    assert nps(np.array([7, 8])) == 0.0


def test_kpi_nps_is_the_nps_of_the_customers_last_scores():
    tables = simulate(tiny_scenario(size=2000), moments=False)
    scores = tables["customers"].column("last_recommend").to_numpy()
    assert tables["kpis"].column("nps")[0].as_py() == pytest.approx(nps(scores))


def test_returning_customers_use_the_returning_entries():
    world = tiny_world({"search": 7, "book": 7, "stay": 7}, {"search": 1},
                       {"search": {"book": 1}, "book": {"stay": 1}}, ["stay"])
    world["journey"]["returning_entries"] = {"book": 1}
    scenario = tiny_scenario({**world, "population.existing_customers": 0.5,
                              "population.awareness_per_day": 1.0,
                              "loyalty": {"rule": "logistic", "base_return": 0.9,
                                          "return_slope": 0.0},
                              "population.segments.everyone.inter_purchase_days": 3},
                             size=2000, horizon_days=30)
    tables = simulate(scenario)
    moments = tables["moments"].to_pandas()
    existing = tables["customers"].to_pandas().set_index("customer")["existing"]
    first = moments.groupby(["customer", "journey"]).first().reset_index()
    returning = (first.journey > 0) | existing[first.customer].to_numpy()
    assert set(first[returning].touchpoint.astype(str)) == {"book"}
    assert set(first[~returning].touchpoint.astype(str)) == {"search"}
    assert returning.sum() > 1000 and (~returning).sum() > 500


def test_churn_rate_and_retention_count_the_customers_who_left():
    r = 0.6
    scenario = tiny_scenario({"loyalty": {"rule": "logistic", "base_return": r,
                                          "return_slope": 0.0},
                              "population.segments.everyone.inter_purchase_days": 10},
                             size=20_000, horizon_days=25)
    tables = simulate(scenario, moments=False)
    k = tables["kpis"].to_pylist()[0]
    customers = tables["customers"].to_pandas()
    # first journeys on days 0-9 (uniformly), then every 10 days: those starting on days 0-4
    # decide three times within the 25 days, the others twice; each decision keeps them with r
    stayed = (r**3 + r**2) / 2
    assert abs(k["retention"] - stayed) < Z * math.sqrt(stayed * (1 - stayed) / len(customers))
    assert k["churn_rate"] == pytest.approx(customers.churned.mean())
    assert k["retention"] == pytest.approx(1 - k["churn_rate"])


def test_a_customer_who_cares_for_no_channel_on_offer_still_moves_on():
    """Channel-preference weights of 0 everywhere fall back to the plain edge weights."""
    world = tiny_world({"a": 7, "b": {"stage": "use", "channel": "phone", "p": "people",
                                      "quality": 7},
                        "x": {"stage": "use", "channel": "email", "p": "people", "quality": 7}},
                       {"a": 1}, {"a": {"b": {"weight": 1, "by_channel_preference": True},
                                        "x": {"weight": 1, "by_channel_preference": True}},
                                  "b": {"a": 1}}, ["x"])
    scenario = tiny_scenario({**world, "population.segments.everyone.channel_preferences":
                              {"phone": 0, "email": 0}}, size=2000, horizon_days=3)
    daily = simulate(scenario, moments=False)["daily"].to_pandas()
    assert daily.journeys_started.iloc[0] == 2000
    assert (daily.journeys_completed == daily.journeys_started).all()  # all leave through x


# --------------------------------------------------------------------------------------------
# Bass diffusion (Bass 1969)


def bass(t: float, p: float, q: float) -> float:
    """The Bass adoption curve F(t)."""
    e = math.exp(-(p + q) * t)
    return (1 - e) / (1 + q / p * e)


def test_awareness_on_a_fully_mixed_population_follows_the_bass_curve():
    """The mean adoption curve over replicates matches Bass within its standard error (word of
    mouth amplifies early chance, so the spread is estimated from the replicates, not taken
    as binomial)."""
    p, q, n, replicates = 0.03, 0.38, 100_000, 12
    assert bass(5, p, q) == pytest.approx(0.3312, abs=1e-4)
    assert bass(10, p, q) == pytest.approx(0.8128, abs=1e-4)
    scenario = tiny_scenario({
        "population.existing_customers": 0.0,
        "population.awareness_per_day": 1 - math.exp(-p),  # a daily chance with rate p
        "word_of_mouth.imitation_per_day": q,
        "population.segments.everyone.inter_purchase_days": 1000,
    }, size=n, horizon_days=15)
    curves = np.array([simulate(scenario, replicate=r, moments=False)["daily"]
                       .column("aware").to_numpy() / n for r in range(replicates)])
    for t in (2, 5, 10, 15):
        share = curves[:, t - 1]  # at the end of day t - 1, t days have passed
        se = share.std(ddof=1) / math.sqrt(replicates)
        assert abs(share.mean() - bass(t, p, q)) < Z * se, (t, share.mean(), bass(t, p, q), se)


def test_prospects_pass_their_thresholds_in_order_equal_ones_in_row_order():
    """The order in which the hazard passes prospects' thresholds: rising, ties by row (as a
    stable sort; the fast sort it uses is not stable where values repeat)."""
    values = (np.arange(3000) * 7919 % 10).astype(float)  # many ties
    prospects = np.arange(0, 3000, 2)
    expected = prospects[np.argsort(values[prospects], kind="stable")]
    assert (Awareness(values, prospects).who == expected).all()
    distinct = np.random.default_rng(3).random(3000)
    expected = prospects[np.argsort(distinct[prospects], kind="stable")]
    assert (Awareness(distinct, prospects).who == expected).all()


def test_without_word_of_mouth_awareness_is_a_daily_coin():
    p, n = 0.05, 100_000
    scenario = tiny_scenario({"population.existing_customers": 0.0,
                              "population.awareness_per_day": p,
                              "population.segments.everyone.inter_purchase_days": 1000},
                             size=n, horizon_days=10)
    aware = simulate(scenario, moments=False)["daily"].column("aware").to_numpy()
    for day in range(10):
        f = 1 - (1 - p) ** (day + 1)
        assert abs(aware[day] / n - f) < Z * math.sqrt(f * (1 - f) / n)


def on_network(network: dict, contact: float, size: int, days: int, replicate: int = 0,
               promotion: float = 0.01, **changes) -> np.ndarray:
    """Share aware at the end of each day, word of mouth spreading along ``network``."""
    scenario = tiny_scenario({
        "population.existing_customers": 0.0,
        "population.awareness_per_day": 1 - math.exp(-promotion),
        "word_of_mouth.network": network,
        "word_of_mouth.contact_per_day": contact,
        "word_of_mouth.strong_tie_weight": 1.0,
        "population.segments.everyone.inter_purchase_days": 1000, **changes,
    }, size=size, horizon_days=days)
    daily = simulate(scenario, replicate=replicate, moments=False)["daily"]
    return daily.column("aware").to_numpy() / size


SPARSE = {  # mean degree 6 each
    "erdos_renyi": {"kind": "erdos_renyi", "mean_degree": 6},
    "watts_strogatz": {"kind": "watts_strogatz", "degree": 6, "rewire": 0.1},
    "barabasi_albert": {"kind": "barabasi_albert", "attach": 3},
    "configuration": {"kind": "configuration",
                      "degree": {"dist": "lognormal", "mean": 6, "sd": 4}},
}


@pytest.mark.parametrize("kind", SPARSE)
def test_adoption_on_a_sparse_network_stays_at_or_below_the_bass_curve(kind):
    """Each prospect hears only from its own contacts, who cluster among the early adopters: the
    network curve lags the fully mixed one with the same q = β·mean degree (at most equal)."""
    p, degree, contact, n, replicates = 0.01, 6, 0.05, 20_000, 6
    q = -math.log1p(-contact) * degree
    curves = np.array([on_network(SPARSE[kind], contact, n, 40, r, p)
                       for r in range(replicates)])
    mean, se = curves.mean(axis=0), curves.std(axis=0, ddof=1) / math.sqrt(replicates)
    bass_curve = np.array([bass(t + 1, p, q) for t in range(40)])
    assert np.all(mean <= bass_curve + Z * se + 1e-9)
    assert np.max((bass_curve - mean) / np.maximum(se, 1e-12)) > 10  # and markedly below
    promotion_alone = 1 - math.exp(-p * 40)
    assert mean[-1] > promotion_alone + 0.3  # but word of mouth does spread along the network


def test_weak_ties_speed_the_spread():
    """Goldenberg, Libai & Muller (2001): even when strong ties carry more influence each,
    silencing the weak ties slows adoption markedly."""
    network = {"kind": "watts_strogatz", "degree": 10, "rewire": 0.1, "strong_share": 0.3}
    strong = {"word_of_mouth.strong_tie_weight": 2.0}
    both = on_network(network, 0.05, 20_000, 60, promotion=0.002, **strong)
    strong_only = on_network(network, 0.05, 20_000, 60, promotion=0.002, **strong,
                             **{"word_of_mouth.weak_tie_weight": 0.0})
    half = int(np.argmax(both >= 0.5))  # the day half the population is aware with both
    assert 0 < half < 59
    n = 20_000
    assert both[half] - strong_only[half] > 20 * math.sqrt(0.25 / n)
    assert np.all(strong_only <= both + 4 * math.sqrt(0.25 / n))
