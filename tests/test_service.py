"""Service episodes and queues (DESIGN.md rules 8 and 9): the queue against Erlang C and
Erlang A, backlog conservation, silent churn, the service-recovery effect, and the proactive and
consistency levers moving outcomes the expected way.

Tolerances are a few standard errors. Waits in a queue are correlated from one contact to the
next, so their standard error comes from batch means (one batch per day), not from the contacts.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cxsim import simulate
from cxsim.checks import warnings
from cxsim.queues import ServiceQueue, erlang_a, erlang_c, weekly_servers
from cxsim.scenario import Scenario
from cxsim.scenario_file import ScenarioError, override
from cxsim.summary import overloaded_lines, paired_differences
from cxsim.testing import call_centre, tiny_scenario, tiny_world

Z = 4.0


def batch_mean(values: np.ndarray, batches: np.ndarray) -> tuple[float, float]:
    """Mean of ``values`` and its standard error from the means of ``batches``."""
    means = np.array([values[batches == b].mean() for b in np.unique(batches)])
    return float(values.mean()), float(means.std(ddof=1) / np.sqrt(len(means)))


def poisson_calls(rate: float, handling: float, days: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rate * 1440 * days * 1.1)
    arrival = np.cumsum(rng.exponential(1 / rate, n))
    arrival = arrival[arrival < days * 1440]
    return arrival, rng.exponential(handling, len(arrival))


# --------------------------------------------------------------------------------------------
# the queue alone, against the closed forms


def test_erlang_c_closed_form_matches_the_published_table():
    assert erlang_c(10, 3, 4) == pytest.approx((0.6577, 0.3289), abs=1e-4)
    assert erlang_c(2, 1 / 3, 8)[1] == pytest.approx(0.536, abs=1e-3)
    assert erlang_c(2, 1 / 3, 7)[1] == pytest.approx(1.84, abs=5e-3)
    assert erlang_a(2, 1 / 3, 7, 0.0).mean_wait == pytest.approx(erlang_c(2, 1 / 3, 7)[1])
    # with very impatient callers nobody waits long: abandonment → P(all busy)
    assert erlang_a(2, 1 / 3, 7, 1e6).p_abandon == pytest.approx(
        erlang_a(2, 1 / 3, 7, 1e6).p_wait, rel=1e-3)


@pytest.mark.parametrize("rate, service_rate, servers", [(10, 3, 4), (2, 1 / 3, 8),
                                                         (2, 1 / 3, 7)])
def test_the_queue_reproduces_erlang_c(rate, service_rate, servers):
    # rates per minute; 30 "days" of traffic, batch means by day
    arrival, service = poisson_calls(rate, 1 / service_rate, days=30, seed=servers)
    served = ServiceQueue(weekly_servers(servers)).serve(
        arrival, service, np.full(len(arrival), np.inf))
    p_wait, mean_wait = erlang_c(rate, service_rate, servers)
    day = (arrival // 1440).astype(int)
    wait, se = batch_mean(served.wait, day)
    assert abs(wait - mean_wait) < Z * se, (wait, mean_wait, se)
    waited, se = batch_mean((served.wait > 0).astype(float), day)
    assert abs(waited - p_wait) < Z * se, (waited, p_wait, se)
    assert not served.abandoned.any()


def test_the_queue_reproduces_erlang_a_abandonment():
    rate, handling, servers, patience = 2.0, 3.0, 6, 10.0  # overloaded without abandonment
    arrival, service = poisson_calls(rate, handling, days=30, seed=7)
    give_up = np.random.default_rng(8).exponential(patience, len(arrival))
    served = ServiceQueue(weekly_servers(servers)).serve(arrival, service, give_up)
    exact = erlang_a(rate, 1 / handling, servers, 1 / patience)
    day = (arrival // 1440).astype(int)
    for observed, expected in ((served.abandoned.astype(float), exact.p_abandon),
                               (served.wait, exact.mean_wait)):
        mean, se = batch_mean(observed, day)
        assert abs(mean - expected) < Z * se, (mean, expected, se)
    assert 0.05 < exact.p_abandon < 0.5  # a regime where abandonment matters


def test_closed_hours_hold_contacts_until_opening():
    servers = weekly_servers([0] * 9 + [1] * 8 + [0] * 7)  # open 9:00-17:00
    queue = ServiceQueue(servers)
    served = queue.serve(np.array([60.0, 600.0, 1440 + 1200.0]), np.array([5.0, 5.0, 5.0]),
                         np.full(3, np.inf))
    assert served.start.tolist() == [540.0, 600.0, 2 * 1440 + 540.0]
    assert queue.server_hours(0).tolist() == [8.0]


def test_a_later_batch_with_earlier_arrivals_fits_into_the_gaps():
    # one clerk: a visitor at 10:00 for an hour; then, served later, arrivals from earlier on
    queue = ServiceQueue(weekly_servers(1))
    queue.serve(np.array([600.0]), np.array([60.0]), np.array([np.inf]))
    later = queue.serve(np.array([100.0, 590.0, 595.0]), np.array([30.0, 30.0, 6.0]),
                        np.array([np.inf, np.inf, 1.0]))
    # 100 fits before 10:00; 590 (30 min) does not fit before 600, so waits until 660;
    # 595 would wait past its 1-minute patience, and hangs up
    assert later.start.tolist() == [100.0, 660.0, 596.0]
    assert later.abandoned.tolist() == [False, False, True]
    after = queue.serve(np.array([700.0]), np.array([5.0]), np.array([np.inf]))
    assert after.start.tolist() == [700.0]  # in order again: first come, first served


def test_a_line_that_runs_out_of_room_for_gaps_serves_as_one_that_does_not():
    rng = np.random.default_rng(5)
    first, later = np.sort(rng.uniform(0, 1440, 400)), rng.uniform(0, 1440, 300)
    results = []
    for roomy in (True, False):
        queue = ServiceQueue(weekly_servers(3))
        if not roomy:  # room for a gap or so per server: the pass stops, grows and goes on
            queue.staffed[:] = 10**9
        served = [queue.serve(arrivals, rng_copy.exponential(8.0, len(arrivals)),
                              np.full(len(arrivals), 30.0))
                  for arrivals, rng_copy in ((first, np.random.default_rng(1)),
                                             (later, np.random.default_rng(2)))]
        results.append(np.concatenate([s.start for s in served]))
        if not roomy:
            assert queue.gaps.shape[2] > 2  # it did grow
    assert np.array_equal(results[0], results[1])
    assert (results[0] >= np.concatenate([first, later])).all()


# --------------------------------------------------------------------------------------------
# as a cxsim service touchpoint


def test_a_cxsim_call_centre_shows_the_staffing_cliff():
    waits = {}
    for servers in (7, 8):
        tables = simulate(call_centre(servers, arrivals_per_minute=2.0, handling_minutes=3.0))
        contacts = tables["contacts"].to_pandas()
        p_wait, mean_wait = erlang_c(2.0, 1 / 3, servers)
        wait, se = batch_mean(contacts["wait_minutes"].to_numpy(), contacts["day"].to_numpy())
        assert abs(wait - mean_wait) < Z * se, (wait, mean_wait, se)
        waited, se = batch_mean((contacts["wait_minutes"] > 0).to_numpy(float),
                                contacts["day"].to_numpy())
        assert abs(waited - p_wait) < Z * se, (waited, p_wait, se)
        assert abs(len(contacts) / 30 - 2880) < Z * np.sqrt(2880 / 30)  # calls a day ≈ λ·1440
        kpis = tables["kpis"].to_pylist()[0]
        assert kpis["mean_wait_minutes"] == pytest.approx(wait)
        assert kpis["first_contact_resolution"] == 1.0
        assert kpis["service_level"] == pytest.approx((contacts["wait_minutes"] <= 0.5).mean())
        waits[servers] = wait
    assert waits[7] > 2.5 * waits[8]  # one agent fewer: 0.54 → 1.84 minutes (the cliff)


def test_each_channel_is_held_to_its_own_answer_time():
    scenario = override(call_centre(7, arrivals_per_minute=2.0, handling_minutes=3.0, days=3),
                        {"touchpoints.phone.care.answer_within_minutes": 2.0})
    tables = simulate(scenario)
    wait = tables["contacts"].to_pandas()["wait_minutes"]
    assert tables["kpis"].to_pylist()[0]["service_level"] == pytest.approx((wait <= 2).mean())
    assert 0.2 < (wait <= 2).mean() < 0.9  # a target that tells strategies apart


def test_first_contact_resolution_counts_answered_contacts_only():
    # callers hang up after a minute on average; every answered call solves the problem
    tables = simulate(call_centre(7, arrivals_per_minute=2.0, handling_minutes=3.0, days=3,
                                  patience_minutes=1.0))
    kpis = tables["kpis"].to_pylist()[0]
    assert kpis["abandonment_rate"] > 0.1
    assert kpis["first_contact_resolution"] == 1.0


def test_a_strategy_costs_the_staff_it_adds():
    scenario = override(call_centre(7, arrivals_per_minute=2.0, handling_minutes=3.0, days=3,
                                    size=20_000), {
        "touchpoints.phone.care.cost_per_server_hour": 30.0,
        "strategies.more_staff": {"set": {"touchpoints.phone.care.servers": 8}}})
    kpis = pa.concat_tables([simulate(scenario, s)["kpis"].append_column(
        "strategy", pa.array([s])).append_column("replicate", pa.array([0]))
        for s in ("baseline", "more_staff")])
    row = paired_differences(kpis, ("profit",)).to_pylist()[0]
    assert row["strategy_cost"] == pytest.approx(1 * 24 * 3 * 30.0)  # an agent, 3 days of 24 h


def test_overload_carries_a_backlog_and_no_contact_disappears():
    # 0.9 calls a minute for one agent handling 0.67 a minute: only patience bounds the line
    scenario = call_centre(1, arrivals_per_minute=0.9, handling_minutes=1.5, days=5,
                           size=20_000, patience_minutes=600.0)
    tables = simulate(scenario)
    queues = tables["queues"].to_pandas()
    backlog = queues["backlog"].to_numpy()
    assert (backlog > 0).all()  # callers still waiting at midnight, every day
    totals = queues[["arrivals", "served", "abandoned"]].sum()
    assert totals["arrivals"] == totals["served"] + totals["abandoned"] + backlog[-1]
    contacts = tables["contacts"].to_pandas()  # rows for the contacts that ended
    assert len(contacts) <= totals["arrivals"]
    assert contacts["abandoned"].sum() == totals["abandoned"]
    overnight = contacts["minute"] + contacts["wait_minutes"] > 1440
    assert overnight.sum() > 0  # ...and are served (or give up) the next day
    assert 0 < tables["kpis"].to_pylist()[0]["abandonment_rate"] < 1


def desk_on_the_journey(servers: int, days: int = 10) -> Scenario:
    """Every journey is one visit to a desk with ``servers`` clerks: 2 visitors a minute
    round the clock, 3-minute exponential service (an M/M/c queue on the journey's way)."""
    return tiny_scenario({
        "touchpoints.shop.care": {"servers": servers,
                                  "service_minutes": {"dist": "exponential", "mean": 3.0}},
        "population.segments.everyone.inter_purchase_days": days,  # once each in the run
        "population.segments.everyone.patience_minutes": 10.0,
        "service.wait_penalty": 1.0,
    }, size=2 * 1440 * days, horizon_days=days)


def test_visitors_queue_at_a_staffed_touchpoint_on_the_journey():
    tables = simulate(desk_on_the_journey(7))
    moments = tables["moments"].to_pandas()
    wait, se = batch_mean(moments["wait_minutes"].to_numpy(), moments["day"].to_numpy())
    p_wait, mean_wait = erlang_c(2.0, 1 / 3, 7)
    assert abs(wait - mean_wait) < Z * se, (wait, mean_wait, se)
    waited, se = batch_mean((moments["wait_minutes"] > 0).to_numpy(float),
                            moments["day"].to_numpy())
    assert abs(waited - p_wait) < Z * se, (waited, p_wait, se)
    # the wait costs quality: quality 7 − wait_penalty · min(wait / patience, 2)
    expected = 7.0 - np.minimum(moments["wait_minutes"] / 10.0, 2.0)
    np.testing.assert_allclose(moments["quality"], expected)
    kpis = tables["kpis"].to_pylist()[0]
    assert kpis["mean_visit_wait_minutes"] == pytest.approx(wait)
    queues = tables["queues"].to_pandas()
    assert queues["arrivals"].sum() == len(moments)


def test_another_clerk_shortens_the_line_and_lifts_attitude():
    scenario = override(desk_on_the_journey(7, days=4), {
        "strategies.another_clerk": {"set": {"touchpoints.shop.care.servers": 8}}})
    base, more = (simulate(scenario, s)["kpis"].to_pylist()[0]
                  for s in ("baseline", "another_clerk"))
    assert more["mean_visit_wait_minutes"] < base["mean_visit_wait_minutes"] / 2
    mean, se = paired_attitude(scenario, "another_clerk")
    assert mean > Z * se


# --------------------------------------------------------------------------------------------
# problems, silence and recovery

CARE = {"stage": "service", "channel": "phone", "p": "people", "quality": 7.0,
        "care": {"servers": 50, "service_minutes": 1.0}}


def service_world(changes: dict | None = None, size: int = 20_000, days: int = 1):
    """Customers on a two-step journey (a → b), either step may go wrong; a phone line."""
    world = tiny_world({"a": {"stage": "use", "channel": "web", "p": "product",
                              "quality": {"dist": "normal", "mean": 7, "sd": 0.5}},
                        "b": {"stage": "use", "channel": "web", "p": "product",
                              "quality": {"dist": "normal", "mean": 7, "sd": 0.5}}},
                       {"a": 1}, {"a": {"b": 1}}, ["b"])
    world["touchpoints"]["phone"] = CARE
    return tiny_scenario({**world, "service.contact": {"phone": 1},
                          "touchpoints.a.problem_probability": 0.3,
                          "touchpoints.b.problem_probability": 0.3,
                          "service.wait_penalty": 0.0, **(changes or {})},
                         size=size, horizon_days=days)


def attitude_by_problems(tables) -> dict[int, tuple[float, float]]:
    people = tables["customers"].to_pandas()
    groups = people[people["journeys"] == 1].groupby("problems")["attitude"]
    return {k: (g.mean(), g.std(ddof=1) / np.sqrt(len(g))) for k, g in groups}


def differ(a: tuple[float, float], b: tuple[float, float]) -> float:
    """How many standard errors a lies above b."""
    return (a[0] - b[0]) / np.hypot(a[1], b[1])


def test_a_well_handled_problem_lifts_satisfaction_but_not_after_a_second_failure():
    recovered = attitude_by_problems(simulate(service_world({
        "population.segments.everyone.complain_propensity": 1.0,
        "touchpoints.phone.quality": {"dist": "normal", "mean": 9.0, "sd": 0.5},
        "touchpoints.phone.care.first_contact_resolution": 1.0})))
    assert differ(recovered[1], recovered[0]) > Z  # the recovery paradox (Maxham & Netemeyer)
    assert differ(recovered[0], recovered[2]) > Z  # gone after a second failure
    unsolved = attitude_by_problems(simulate(service_world({
        "population.segments.everyone.complain_propensity": 1.0,
        "touchpoints.phone.quality": {"dist": "normal", "mean": 9.0, "sd": 0.5},
        "touchpoints.phone.care.first_contact_resolution": 0.0, "service.retry": 0.0})))
    assert differ(unsolved[0], unsolved[1]) > Z  # no recovery without a solution
    mediocre = attitude_by_problems(simulate(service_world({
        "population.segments.everyone.complain_propensity": 1.0,
        "touchpoints.phone.care.first_contact_resolution": 1.0})))
    assert differ(mediocre[0], mediocre[1]) > Z  # only a recovery beyond expectation lifts


def test_most_dissatisfied_customers_stay_silent_and_some_leave_silently():
    # one journey each (day 0), then the loyalty decision
    tables = simulate(service_world({"population.segments.everyone.complain_propensity": 0.2,
                                     "touchpoints.phone.care.first_contact_resolution": 0.5},
                                    size=10_000))
    people = tables["customers"].to_pandas()
    kpis = tables["kpis"].to_pylist()[0]
    silent = (people["problems"] > 0) & (people["complaints"] == 0)
    assert kpis["silent_dissatisfied_rate"] > 0.5
    assert kpis["silent_dissatisfied_rate"] == pytest.approx(silent.sum()
                                                             / (people["problems"] > 0).sum())
    assert (silent & people["churned"]).sum() > 0
    assert kpis["silent_churn_share"] > 0
    # their loyalty decision saw the bad moments: they churn more than the untroubled
    untroubled = people[people["problems"] == 0]["churned"]
    quiet = people[silent]["churned"]
    se = np.hypot(quiet.std() / np.sqrt(len(quiet)), untroubled.std() / np.sqrt(len(untroubled)))
    assert quiet.mean() - untroubled.mean() > Z * se
    assert kpis["complaint_rate"] == pytest.approx(
        people["complaints"].sum() / people["problems"].sum())


def test_an_escalation_reaches_the_specialist_and_retries_respect_the_limit():
    tables = simulate(service_world({
        "population.segments.everyone.complain_propensity": 1.0,
        "touchpoints.phone.care.first_contact_resolution": 0.2,
        "touchpoints.phone.care.escalate_to": "expert",
        "touchpoints.expert": {**CARE, "care": {"servers": 5, "first_contact_resolution": 0.0}},
        "service.retry": 1.0, "service.max_attempts": 3}, size=2000, days=10))
    contacts = tables["contacts"].to_pandas()
    first = contacts[contacts["attempt"] == 1]
    assert set(first["touchpoint"].astype(str)) == {"phone"}
    assert first["escalated"].mean() == pytest.approx(0.8, abs=Z * np.sqrt(0.16 / len(first)))
    second = contacts[contacts["attempt"] == 2]
    assert set(second["touchpoint"].astype(str)) == {"expert"}
    assert contacts["attempt"].max() == 3
    assert (contacts["day"][contacts["attempt"] == 2] >= 1).all()  # escalations: the next day


# --------------------------------------------------------------------------------------------
# the levers


def paired_attitude(scenario, strategy: str) -> tuple[float, float]:
    base = simulate(scenario)["customers"].to_pandas()["attitude"]
    other = simulate(scenario, strategy)["customers"].to_pandas()["attitude"]
    diff = (other - base).to_numpy()
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


def test_following_up_after_a_problem_raises_attitude():
    scenario = service_world({
        "population.segments.everyone.complain_propensity": 0.5,
        "strategies.follow_up": {"cost": {"per_day": 100}, "set": {
            "touchpoints.call_back": {**CARE, "care": None, "quality": 8.5},
            "service.follow_up": {"touchpoint": "call_back"}}}})
    mean, se = paired_attitude(scenario, "follow_up")
    assert mean > Z * se


def test_consistent_answers_across_channels_raise_attitude():
    chat = {**CARE, "channel": "chat", "care": {"servers": 50, "answer": 2.0, "answer_sd": 0.5,
                                                 "first_contact_resolution": 0.3}}
    scenario = service_world({
        "population.segments.everyone.complain_propensity": 1.0,
        "touchpoints.chat": chat,
        "touchpoints.phone.care.first_contact_resolution": 0.3,
        "touchpoints.phone.care.answer_sd": 0.5,
        "service.contact": {"phone": 1, "chat": 1},
        "service.retry": 1.0, "service.switch_channel": 1.0,
        "strategies.consistent": {"cost": {"per_day": 100}, "set": {
            "touchpoints.*.care.answer": 1.0, "touchpoints.*.care.answer_sd": 0.0}}},
        days=5)
    mean, se = paired_attitude(scenario, "consistent")
    assert mean > Z * se
    spread = {s: simulate(scenario, s)["kpis"].to_pylist()[0]["answer_inconsistency"]
              for s in ("baseline", "consistent")}
    assert spread["consistent"] == 0 < spread["baseline"]


def test_impatient_callers_try_again_and_may_switch_channel():
    chat = {**CARE, "channel": "chat", "care": {"servers": 50, "patience_scale": 1e12}}
    tables = simulate(service_world({
        "population.segments.everyone.complain_propensity": 1.0,
        "population.segments.everyone.patience_minutes": 1e-6,  # nobody waits on the phone
        "touchpoints.phone.care.servers": 1,
        "touchpoints.chat": chat,
        "service.contact": {"phone": 1, "chat": 1},
        "service.retry": 1.0, "service.switch_channel": 1.0, "service.max_attempts": 2},
        size=2000, days=3))
    contacts = tables["contacts"].to_pandas()
    first, second = contacts[contacts.attempt == 1], contacts[contacts.attempt == 2]
    hung_up = first[first.abandoned & (first.day == 0)]
    assert len(hung_up) > 100 and set(hung_up.touchpoint.astype(str)) == {"phone"}
    # everyone who hung up on day 0 tries again on day 1, on the other channel
    again = second[second.customer.isin(hung_up.customer) & (second.day == 1)]
    assert len(again) == len(hung_up)
    assert set(again.touchpoint.astype(str)) == {"chat"} and not again.abandoned.any()


def test_escalations_arrive_in_the_specialists_opening_hours():
    office = [0] * 9 + [5] * 8 + [0] * 7  # 9:00-17:00
    tables = simulate(service_world({
        "population.segments.everyone.complain_propensity": 1.0,
        "touchpoints.phone.care.first_contact_resolution": 0.0,
        "touchpoints.phone.care.escalate_to": "expert",
        "touchpoints.expert": {**CARE, "care": {"servers": office}}}, size=2000, days=3))
    contacts = tables["contacts"].to_pandas()
    escalated = contacts[contacts.touchpoint.astype(str) == "expert"]
    assert len(escalated) > 500
    assert escalated.minute.between(9 * 60, 17 * 60).all()


def test_anticipating_a_problem_prevents_it_at_a_cost():
    scenario = service_world({"strategies.notice": {"set": {
        "touchpoints.a.prevented_share": 0.6, "touchpoints.a.prevention_cost": 2.0}}}, size=5000)
    base = simulate(scenario)["kpis"].to_pylist()[0]
    noticed = simulate(scenario, "notice")["kpis"].to_pylist()[0]
    # problems at a fall to 40%: expected 0.3·n·0.4 + 0.3·n at b instead of 0.6·n
    expected = 5000 * 0.3 * (1 + 0.4)
    assert abs(noticed["problems"] - expected) < Z * np.sqrt(expected)
    assert noticed["problems"] < base["problems"]
    # the action is paid for every problem it anticipates at a (0.3·n), prevented or not
    assert base["proactive_cost"] == 0
    anticipated = noticed["proactive_cost"] / 2.0
    assert anticipated == int(anticipated)
    assert abs(anticipated - 1500) < Z * np.sqrt(5000 * 0.3 * 0.7)
    assert noticed["cost_to_serve"] - noticed["staff_cost"] >= noticed["proactive_cost"]


def test_a_strategy_that_changes_nothing_reproduces_the_service_exactly():
    scenario = service_world({"population.segments.everyone.complain_propensity": 0.5,
                              "strategies.same": {"set": {"touchpoints.b.quality": {
                                  "dist": "normal", "mean": 7, "sd": 0.5}}}},
                             size=3000, days=20)
    base, same = simulate(scenario), simulate(scenario, "same")
    for table in ("contacts", "queues", "customers"):
        assert base[table].equals(same[table]), table
    again = simulate(scenario)
    assert base["contacts"].equals(again["contacts"])


def test_problems_grow_with_the_load_beyond_capacity():
    # 20,000 people use the product every day; it copes with 10,000: load 2 doubles problems
    scenario = call_centre(5, arrivals_per_minute=200 / 1440, handling_minutes=3.0, days=8,
                           size=20_000)
    strained = override(scenario, {"touchpoints.use.capacity_per_day": 10_000,
                                   "touchpoints.use.load_sensitivity": 1.0})
    daily = simulate(strained)["daily"].to_pandas()
    first, later = daily.problems.iloc[0], daily.problems.iloc[1:].to_numpy()
    assert abs(first - 200) < Z * np.sqrt(200)  # day 0: no load seen yet
    assert abs(later.mean() - 400) < Z * np.sqrt(400 / len(later))
    calm = simulate(scenario)["daily"].to_pandas().problems.iloc[1:]
    assert abs(calm.mean() - 200) < Z * np.sqrt(200 / len(calm))


def test_a_line_that_cannot_keep_up_is_named_in_a_warning():
    def warnings(servers: int) -> list[str]:
        queues = simulate(call_centre(servers, arrivals_per_minute=0.9, handling_minutes=1.5,
                                      days=5, size=20_000, patience_minutes=600.0))["queues"]
        return overloaded_lines(queues.append_column(
            "strategy", pa.array(["baseline"] * queues.num_rows)))

    assert len(warnings(1)) == 1 and "phone:" in warnings(1)[0]  # 1.35 agents' work for 1
    assert warnings(3) == []


def test_visitors_arriving_while_a_desk_is_closed_are_warned_about():
    open_all_day = desk_on_the_journey(2, days=1)
    assert warnings(open_all_day) == []
    nights_off = override(open_all_day, {"touchpoints.shop.care.servers":
                                         [0] * 8 + [2] * 12 + [0] * 4})
    found = warnings(nights_off)
    assert len(found) == 1 and "touchpoints.shop.care.visit_hours" in found[0]
    assert "0:00" in found[0] and "8:00" not in found[0]


def test_a_contact_line_nobody_ever_answers_is_warned_about():
    staffed = call_centre(1, arrivals_per_minute=0.1, handling_minutes=1.0, days=1)
    assert warnings(staffed) == []
    unstaffed = override(staffed, {"touchpoints.phone.care.servers": 0})
    found = warnings(unstaffed)
    assert len(found) == 1 and "touchpoints.phone.care.servers" in found[0]
    assert "abandoned" in found[0]


def test_contacts_made_while_no_contact_line_is_open_are_warned_about():
    always = call_centre(1, arrivals_per_minute=0.1, handling_minutes=1.0, days=1)
    days_only = override(always, {"touchpoints.phone.care.servers": [0] * 8 + [1] * 14 + [0] * 2})
    assert not [w for w in warnings(always) if "service.hours" in w]
    found = [w for w in warnings(days_only) if "service.hours" in w]
    assert len(found) == 1 and "0:00, 1:00" in found[0] and "8:00" not in found[0]
    daytime_calls = override(days_only, {"service.hours": [0] * 9 + [1] * 12 + [0] * 3})
    assert not [w for w in warnings(daytime_calls) if "service.hours" in w]
    with_a_night_line = override(days_only, {
        "touchpoints.night": {"stage": "service", "channel": "chat", "p": "people",
                              "quality": 7.0, "care": {"servers": [1] * 8 + [0] * 14 + [1] * 2}},
        "service.contact": {"phone": 1, "night": 1}})
    assert not [w for w in warnings(with_a_night_line) if "service.hours" in w]


def test_a_misspelt_care_touchpoint_gets_a_hint():
    scenario = call_centre(1, arrivals_per_minute=0.1, handling_minutes=1.0, days=1)
    with pytest.raises(ScenarioError, match=r"service\.contact\.phon.*unknown touchpoint 'phon'; "
                       r"did you mean 'phone'\?"):
        override(scenario, {"service.contact": {"phon": 1}})


def test_the_moments_table_says_which_moments_are_contacts_and_follow_ups():
    scenario = service_world({
        "population.segments.everyone.complain_propensity": 1.0,
        "touchpoints.follow": {"stage": "post_purchase", "channel": "email", "p": "people",
                               "quality": 8.0},
        "service.follow_up": {"touchpoint": "follow", "after": "problem"}}, size=2000, days=5)
    tables = simulate(scenario)
    moments, contacts = tables["moments"].to_pandas(), tables["contacts"].to_pandas()
    kinds = moments.groupby("kind", observed=True).touchpoint.unique()
    assert set(kinds["journey"]) == {"a", "b"}
    assert set(kinds["contact"]) == {"phone"} and set(kinds["follow_up"]) == {"follow"}
    assert (moments.kind == "contact").sum() == len(contacts) > 0


def test_a_quality_or_expectation_off_the_0_to_10_scale_is_warned_about():
    fine = tiny_scenario()
    assert not [w for w in warnings(fine) if "0–10 scale" in w]
    off = tiny_scenario({"touchpoints.shop.quality": 73.0,
                         "population.segments.everyone.expectation": {"dist": "normal",
                                                                      "mean": -2, "sd": 1}})
    found = [w for w in warnings(off) if "0–10 scale" in w]
    assert len(found) == 2 and "touchpoints.shop.quality: a median of 73" in found[0]
    assert "population.segments.everyone.expectation: a median of -2" in found[1]


def test_a_complaint_about_a_moment_of_importance_zero_holds_nothing_back():
    from cxsim.model import JourneyModel

    def held_after_day_0(importance: float) -> np.ndarray:
        scenario = service_world({"population.segments.everyone.complain_propensity": 1.0,
                                  "touchpoints.b.problem_probability": 1.0,
                                  "touchpoints.a.problem_probability": 0.0,
                                  "touchpoints.b.importance": importance}, size=500)
        model = JourneyModel(scenario)
        model.steps += 1  # day 0's phases up to care's answer, which releases what is held
        model.today = model._begin_day()
        for phase in model.phases[:model.phases.index("serve")]:
            getattr(model, phase)()
        return model.service.held

    assert np.isnan(held_after_day_0(0.0)).all()  # complaints made, nothing to fold in later
    assert not np.isnan(held_after_day_0(1.0)).all()
