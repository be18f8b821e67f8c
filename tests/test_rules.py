"""The built-in rules' compiled forms give what their numpy methods give (exactly, but an exp)."""

from __future__ import annotations

import pickle
import re
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pytest

from cxsim import load_scenario, override, simulate
from cxsim.model import _felt, _recommend, _return_probability, _update_attitudes
from cxsim.problems import Problem
from cxsim.rules import (
    AsymmetricDisconfirmation,
    Disconfirmation,
    ExponentialAttitude,
    JourneyMemory,
    LinearDisconfirmation,
    LogisticLoyalty,
    MeanMemory,
    PeakEnd,
    RecencyWeightedMemory,
    Rule,
    RuleError,
    compiled_recall,
    compiled_remember,
    register,
)
from cxsim.scenario_file import ScenarioError
from cxsim.testing import tiny_scenario

RNG = np.random.default_rng(20261202)


@pytest.mark.parametrize("rule", [AsymmetricDisconfirmation(loss_aversion=2.5),
                                  AsymmetricDisconfirmation(loss_aversion=0.0),
                                  LinearDisconfirmation()])
def test_a_compiled_felt_value_is_the_numpy_one(rule: Disconfirmation):
    quality, expectation = RNG.normal(7, 2, 500), RNG.normal(7, 1, 500)
    code, params = rule.compiled_form()
    compiled = _felt(code, params, quality, expectation, np.ones(1), np.zeros(500, np.int64))
    assert code and np.array_equal(compiled, rule.felt_value(quality, expectation))


@pytest.mark.parametrize("rule", [PeakEnd(peak_weight=0.3), MeanMemory(),
                                  RecencyWeightedMemory(recency_weight=0.25)])
def test_a_compiled_journey_memory_is_the_numpy_one(rule: JourneyMemory):
    """Ten rounds of moments for random customers (some left out), then the evaluations."""
    size = 200
    numpy_memory = {name: np.full(size, start) for name, start in rule.state.items()}
    compiled_memory = {name: values.copy() for name, values in numpy_memory.items()}
    code, params = rule.compiled_form()
    first, second = compiled_memory.values()
    for _ in range(10):
        who = RNG.choice(size, 80, replace=False)
        felt, left_out = RNG.normal(0, 2, 80), RNG.random(80) < 0.2
        tp, forgotten = RNG.integers(0, 3, 80), np.array([False, True, False])
        left_out |= forgotten[tp]  # at a touchpoint of importance 0, or left out
        rule.remember(numpy_memory, who[~left_out], felt[~left_out])
        compiled_remember(code, params, first, second, who, felt, left_out & ~forgotten[tp],
                          tp, forgotten)
    everyone = np.arange(size)
    assert code and all(np.array_equal(numpy_memory[n], compiled_memory[n]) for n in rule.state)
    assert np.array_equal(compiled_recall(code, params, first, second, everyone),
                          rule.recall(numpy_memory, everyone))


def test_a_compiled_attitude_update_is_the_numpy_one():
    rule, size = ExponentialAttitude(attitude_rate=0.35, expectation_rate=0.15), 300
    attitude, expectation = RNG.normal(0, 1, size), RNG.normal(7, 1, size)
    quality, moments = RNG.normal(50, 10, size), RNG.integers(0, 9, size).astype(np.int32)
    who, evaluation = RNG.permutation(size)[:200], RNG.normal(0, 2, 200)
    numpy_attitude, numpy_expectation = rule.update(
        attitude[who], expectation[who], evaluation, quality[who] / np.maximum(moments[who], 1))
    code, params = rule.compiled_form()
    assert code and np.array_equal(
        _update_attitudes(code, params, who, evaluation, attitude, expectation, quality,
                          moments), numpy_attitude)
    assert np.array_equal(expectation[who], numpy_expectation)


def test_a_compiled_recommendation_is_the_numpy_one():
    rule = LogisticLoyalty(recommend_intercept=7.0, recommend_slope=1.5, recommend_noise=2.0)
    attitude, noise = RNG.normal(0, 3, 1000), RNG.normal(0, 1, 1000)  # scores beyond 0 and 10
    code, params = rule.compiled_form()
    compiled = _recommend(code, params, np.arange(1000), attitude, noise)
    assert code and compiled.dtype == np.int8
    assert np.array_equal(compiled, rule.recommend(attitude, noise))


def test_a_compiled_return_probability_is_the_numpy_one_to_its_last_bits():
    """The compiled rule's exp is the C library's, numpy's its own: they may differ in the
    last bit (a return decided by a uniform draw falling between them: about 1 in 10¹⁶)."""
    rule = LogisticLoyalty(base_return=0.65, return_slope=1.3)
    attitude = RNG.normal(0, 3, 1000)
    code, params = rule.compiled_form()
    compiled = _return_probability(code, params, np.arange(1000), attitude)
    assert code
    np.testing.assert_array_max_ulp(compiled, rule.return_probability(attitude), maxulp=2)


def test_a_subclass_that_overrides_a_method_runs_as_numpy():
    class Halved(PeakEnd):
        def recall(self, memory, who):
            return super().recall(memory, who) / 2

    class Sharper(PeakEnd):
        class Params(PeakEnd.Params):
            extra: float = 1.0

    class Counting(MeanMemory):
        state: ClassVar[dict[str, float]] = {"total": 0.0, "count": 0.0, "moments": 0.0}

    assert Halved().compiled_form()[0] == 0
    assert Counting().compiled_form()[0] == 0  # its own state: the compiled form would not do
    assert Sharper(peak_weight=0.9).compiled_form()[0] == PeakEnd.compiled
    assert Sharper(peak_weight=0.9).compiled_form()[1].tolist() == [0.9]


CHOICES = {
    "default rules": {},
    "linear, mean": {"perception.disconfirmation": {"rule": "linear"},
                     "perception.memory": {"rule": "mean"}},
    "recency": {"perception.memory": {"rule": "recency", "recency_weight": 0.3}},
}


@pytest.mark.parametrize("choice", CHOICES)
def test_the_model_gives_the_same_tables_with_the_rules_run_as_numpy(choice, monkeypatch):
    scenario = override(load_scenario("scenarios/hotel.yaml",
                                      ["population.size=1500", "horizon_days=120"]),
                        CHOICES[choice])
    compiled = simulate(scenario)
    monkeypatch.setattr(Rule, "compiled_form", lambda self: (0, np.empty(0)))
    as_numpy = simulate(scenario)
    for table in ("customers", "daily", "moments", "kpis"):
        assert isinstance(compiled[table], pa.Table)
        assert compiled[table].equals(as_numpy[table]), table


def test_a_rule_error_raised_in_a_worker_reaches_the_parent_whole():
    # worker processes send their exceptions back pickled: the problems must survive
    error = RuleError([Problem(("rule",), "unknown disconfirmation rule 'half'")])
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) == "rule: unknown disconfirmation rule 'half'"
    assert again.problems == error.problems
    bad_file = ScenarioError(["x.yaml:3:1: name: required field is missing", "x.yaml:4:1: y"])
    assert pickle.loads(pickle.dumps(bad_file)).lines == bad_file.lines


BROKEN_RULES = '''
import numpy as np
from cxsim.rules import Disconfirmation, Loyalty, MeanMemory


class EveryoneRecalled(MeanMemory):  # the whole population's array, not the batch's
    def recall(self, memory, who):
        return memory["total"] / np.maximum(memory["count"], 1)


class NoChance(Loyalty):
    def recommend(self, attitude, noise):
        return np.full(len(attitude), 8)

    def return_probability(self, attitude):
        return np.full(len(attitude), np.nan)


class Scores(NoChance):
    def recommend(self, attitude, noise):
        return np.full(len(attitude), 8.9)

    def return_probability(self, attitude):
        return np.full(len(attitude), 0.5)


class InPlace(Disconfirmation):
    def felt_value(self, quality, expectation):
        quality -= 7.0
        return quality


class Raises(Disconfirmation):
    def felt_value(self, quality, expectation):
        return quality[len(quality) + 5]  # a bug: IndexError
'''


@pytest.mark.parametrize(("slot", "rule", "message"), [
    ("perception.memory", "EveryoneRecalled",
     r"perception\.memory: broken_rules:EveryoneRecalled\.recall returned an array of shape "
     r"\(200,\) for \d+ customers"),
    ("loyalty", "NoChance", r"loyalty: broken_rules:NoChance\.return_probability returned nan "
     r"for \d+ of \d+ customers, where finite numbers within \[0, 1\] are expected"),
    ("loyalty", "Scores", r"Scores\.recommend returned 8\.9 .* whole numbers within \[0, 10\]"),
    ("perception.disconfirmation", "InPlace",
     r"InPlace\.felt_value raised ValueError: .*read-only"),
    ("perception.disconfirmation", "Raises",
     r"Raises\.felt_value raised IndexError: index \d+ is out of bounds"),
])
def test_a_researcher_s_rule_that_returns_the_wrong_thing_is_named(tmp_path, monkeypatch, slot,
                                                                   rule, message):
    (tmp_path / "broken_rules.py").write_text(BROKEN_RULES)
    monkeypatch.syspath_prepend(str(tmp_path))
    scenario = tiny_scenario({f"{slot}.rule": f"broken_rules:{rule}"}, size=200, horizon_days=5)
    with pytest.raises(RuleError, match=message):
        simulate(scenario)


@pytest.mark.parametrize(("source", "rule", "message"), [
    ("raise RuntimeError('no licence')\n", "Any", "importing 'odd_rules' raised RuntimeError: "
     "no licence"),
    ("from cxsim.rules import Disconfirmation\nclass Misnamed(Disconfirmation):\n"
     "    def felt(self, quality, expectation):\n        return quality - expectation\n",
     "Misnamed", "'odd_rules:Misnamed' does not define felt_value"),
    ("from cxsim.rules import Disconfirmation\nclass Plain(Disconfirmation):\n"
     "    class Params:\n        pass\n    def felt_value(self, q, e):\n        return q - e\n",
     "Plain", "its Params must subclass cxsim.rules.RuleParams"),
])
def test_a_rule_module_or_class_that_cannot_work_is_refused_when_the_scenario_is_read(
        tmp_path, monkeypatch, source, rule, message):
    module = f"odd_rules_{rule.lower()}"  # one module a case: imported modules are kept
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ScenarioError, match=re.escape(message.replace("odd_rules",
                                                                      module))):
        tiny_scenario({"perception.disconfirmation.rule": f"{module}:{rule}"})


def test_a_built_in_rule_name_cannot_be_taken_by_another_class():
    with pytest.raises(ValueError, match=r"'linear' is taken by cxsim\.rules\.Linear"):
        @register("linear")
        class MyLinear(Disconfirmation):
            def felt_value(self, quality, expectation):
                return quality - expectation


def test_a_rule_of_another_module_cannot_take_a_built_in_name_by_its_class_name(tmp_path,
                                                                              monkeypatch):
    (tmp_path / "shadow_rules.py").write_text(
        "from cxsim.rules import PeakEnd, register\n\n\n@register('peak_end')\n"
        "class PeakEnd(PeakEnd):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"'peak_end' is taken by cxsim\.rules\.PeakEnd"):
        __import__("shadow_rules")


def test_a_felt_value_rule_may_return_its_input_on_a_weighted_journey(tmp_path, monkeypatch):
    (tmp_path / "plain_rules.py").write_text(
        "from cxsim.rules import Disconfirmation\n\n\nclass Quality(Disconfirmation):\n"
        "    def felt_value(self, quality, expectation):\n        return quality\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    scenario = tiny_scenario({"perception.disconfirmation.rule": "plain_rules:Quality",
                              "touchpoints.shop.importance": 0.5}, size=50, horizon_days=3)
    moments = simulate(scenario)["moments"].to_pandas()
    assert np.allclose(moments.felt_value, 0.5 * moments.quality)
