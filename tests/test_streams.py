"""The keyed random streams are uniform and independent across slots and keys."""

from __future__ import annotations

import numba
import numpy as np
from scipy import stats
from scipy.special import ndtri

from cxsim.streams import Streams, inverse_normal

N = 200_000
P_MIN = 1e-4  # a correct generator fails a check about once in 10,000 runs


def test_uniform_in_the_open_unit_interval_and_uniformly_spread():
    u = Streams(1, 0).uniform("x", np.arange(N), 3)
    assert u.min() > 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > P_MIN


def test_neighbouring_slots_and_neighbouring_days_are_uncorrelated():
    streams = Streams(1, 0)
    slots = np.arange(N)
    u = streams.uniform("x", slots, 3)
    pairs = [(u[:-1], u[1:]), (u, streams.uniform("x", slots, 4)),
             (u, streams.uniform("y", slots, 3))]
    for a, b in pairs:
        r = np.corrcoef(a, b)[0, 1]
        assert abs(r) < 4 / np.sqrt(N)
        # and jointly uniform: a chi-square test on a 10 x 10 grid
        counts = np.histogram2d(a, b, bins=10, range=[[0, 1], [0, 1]])[0].ravel()
        assert stats.chisquare(counts).pvalue > P_MIN


def test_normal_draws_are_standard_normal():
    z = Streams(3, 1).normal("z", np.arange(N), 0)
    assert stats.kstest(z, "norm").pvalue > P_MIN


def test_normal_draws_are_scipy_s_inverse_normal_of_the_uniforms_bit_for_bit():
    streams, slots = Streams(3, 1), np.arange(N)
    serial = np.arange(N, dtype=np.uint64) % 7
    u = streams.uniform("z", slots, serial=serial)
    u[:4] = [1e-300, 5e-324, 0.5, 1 - 1e-16]  # the far tails and the centre too
    z = streams.normal("z", slots, serial=serial)
    z[:4] = _compiled_inverse_normal(u[:4])
    assert np.array_equal(z.view(np.uint64), ndtri(u).view(np.uint64))


@numba.njit
def _compiled_inverse_normal(u: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    return np.array([inverse_normal(x) for x in u])
