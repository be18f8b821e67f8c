"""Distributions draw what scipy's inverse CDFs give, alone and mixed in one table."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from cxsim.distributions import EXPONENTIAL, NORMAL, Distribution, DistributionTable

U = np.random.default_rng(7).random(2000)

CASES = [  # (distribution, the scipy distribution it is)
    ({"dist": "normal", "mean": 7, "sd": 1.5}, stats.norm(7, 1.5)),
    ({"dist": "truncnormal", "mean": 1, "sd": 0.5, "low": 0, "high": 3},
     stats.truncnorm(-2, 4, loc=1, scale=0.5)),
    ({"dist": "truncnormal", "mean": 0, "sd": 1, "low": 4, "high": 9},  # the upper tail
     stats.truncnorm(4, 9)),
    ({"dist": "beta", "a": 2, "b": 5, "low": 1, "high": 3}, stats.beta(2, 5, loc=1, scale=2)),
    ({"dist": "lognormal", "mean": 60, "sd": 30},
     stats.lognorm(np.sqrt(np.log1p(0.25)), scale=60 / np.sqrt(1.25))),
    ({"dist": "uniform", "low": 0.2, "high": 0.8}, stats.uniform(0.2, 0.6)),
    ({"dist": "exponential", "mean": 4}, stats.expon(scale=4)),
]


def distribution(spec: dict) -> Distribution:
    return TypeAdapter(Distribution).validate_python(spec)


@pytest.mark.parametrize(("spec", "expected"), CASES, ids=[c[0]["dist"] for c in CASES])
def test_a_distribution_draws_its_inverse_cdf(spec, expected):
    alone = distribution(spec).ppf(U)
    assert np.allclose(alone, expected.ppf(U), rtol=1e-9, atol=1e-12)
    table = DistributionTable([distribution(spec)])
    assert np.allclose(table.ppf(np.zeros(len(U), np.intp), U), alone, rtol=1e-12)


def test_a_table_mixing_distributions_draws_each_group_by_its_own():
    table = DistributionTable([distribution(spec) for spec, _ in CASES])
    group = np.arange(len(U)) % len(CASES)
    drawn = table.ppf(group, U)
    for g, (_, expected) in enumerate(CASES):
        here = group == g
        assert np.allclose(drawn[here], expected.ppf(U[here]), rtol=1e-9, atol=1e-12)
    assert not table.constant


@pytest.mark.parametrize("spec", [c[0] for c in CASES[:3]],
                         ids=["normal", "truncnormal", "truncnormal upper tail"])
def test_a_table_s_normal_draws_are_scipy_s_inverse_normal_bit_for_bit(spec):
    # beside another group, so the table is drawn by its compiled pass
    table = DistributionTable([distribution(spec), distribution(CASES[-1][0])])
    assert table.forms == [NORMAL, EXPONENTIAL]
    group = np.arange(len(U)) % 2
    expected = distribution(spec).ppf(U[0::2])  # by numpy, with scipy's ndtri
    assert np.array_equal(table.ppf(group, U)[0::2], expected)


@pytest.mark.parametrize("spec", [{"dist": "constant", "value": 2.5},
                                  {"dist": "lognormal", "mean": 2.5, "sd": 0},
                                  {"dist": "normal", "mean": 2.5, "sd": 0},
                                  {"dist": "uniform", "low": 2.5, "high": 2.5}])
def test_a_distribution_without_spread_is_its_value(spec):
    table = DistributionTable([distribution(spec), distribution({"dist": "constant",
                                                                 "value": 1})])
    assert table.constant
    assert distribution(spec).ppf(U[:3]).tolist() == [2.5, 2.5, 2.5]
    assert table.ppf(np.array([0, 1, 0]), U[:3]).tolist() == [2.5, 1.0, 2.5]
    mixed = DistributionTable([distribution(spec), distribution(CASES[0][0])])
    assert mixed.ppf(np.array([0, 0]), U[:2]).tolist() == [2.5, 2.5]


def test_a_truncated_normal_whose_tail_underflows_is_drawn_by_scipy_in_a_table_too():
    far_out = distribution({"dist": "truncnormal", "mean": 0, "sd": 1, "low": 40, "high": 41})
    assert far_out.inverse_cdf_terms() is None  # Φ(−40) − Φ(−41) underflows
    table = DistributionTable([far_out, distribution(CASES[-1][0])])
    group = np.arange(len(U)) % 2
    drawn = table.ppf(group, U)[0::2]
    assert np.array_equal(drawn, far_out.ppf(U[0::2]))
    assert np.allclose(drawn, stats.truncnorm(40, 41).ppf(U[0::2]), rtol=1e-12)
    assert (drawn >= 40).all() and (drawn <= 41).all()
