"""Rényi centres (theory/renyi.py, docs/science.md §7): hand-built sequences, a slow
independent scan, and Rényi's parking problem (its constant, and a Monte Carlo count on the circle)."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from attnflow import init
from attnflow.errors import AttnflowError
from attnflow.theory import renyi


def circle_points(angles):
    return np.stack((np.cos(angles), np.sin(angles)), axis=1)


def slow_centres(x, delta):
    """Both definitions, one pair at a time."""
    centres, strong = [], []
    for k in range(len(x)):
        if all(np.linalg.norm(x[k] - x[c]) > delta for c in centres):
            centres.append(k)
        if all(np.linalg.norm(x[k] - x[j]) > delta for j in range(k)):
            strong.append(k)
    return centres, strong


def test_a_hand_built_sequence():
    """Chord distances with delta = 0.3: token 1 sits by token 0; token 3 is 0.348 from token 0 and 0.639 from
    token 2 (a centre) but 0.249 from token 1 (not strong); token 4 sits by token 2; token 5 is alone."""
    x = circle_points(np.array([0.0, 0.1, 1.0, 0.35, 1.05, 3.0]))
    assert renyi.renyi_centers(x, delta=0.3).tolist() == [0, 2, 3, 5]
    assert renyi.strong_renyi_centers(x, delta=0.3).tolist() == [0, 2, 5]
    assert renyi.renyi_centers(x, delta=2.5).tolist() == [0] == renyi.strong_renyi_centers(x, delta=2.5).tolist()
    assert renyi.renyi_centers(x[:1], beta=4.0).tolist() == [0]


@pytest.mark.parametrize("dim, n, delta", [(2, 700, 0.2), (2, 300, 1.1), (3, 500, 0.5), (6, 400, 1.2)])
def test_against_a_slow_scan(dim, n, delta):
    x = init.uniform(n, dim, seed=dim)
    centres, strong = slow_centres(x, delta)
    assert renyi.renyi_centers(x, delta=delta).tolist() == centres
    assert renyi.strong_renyi_centers(x, delta=delta).tolist() == strong
    assert len(strong) >= 1 and set(strong) <= set(centres)


def test_default_separation_and_bad_input():
    x = init.uniform(300, 2, seed=1)
    assert renyi.renyi_delta(64.0) == 0.5
    assert np.array_equal(renyi.renyi_centers(x, beta=64.0), renyi.renyi_centers(x, delta=0.5))
    for call, name in [(lambda: renyi.renyi_centers(x), "delta"), (lambda: renyi.renyi_centers(x, delta=-1.0), "delta"),
                       (lambda: renyi.strong_renyi_centers(x, beta=0.0), "beta"),
                       (lambda: renyi.renyi_centers(np.ones(3), delta=1.0), "x"),
                       (lambda: renyi.parking_mean(-1.0), "length")]:
        with pytest.raises(AttnflowError, match=f"^{name}="):
            call()


def test_parking_mean_closed_forms_and_renyi_constant():
    """M = 0 below 1, 1 on [1, 2), M(3) = 2, M(4) = 11/3 - (4/3) ln 2 (the integral equation by hand), and
    M(x) = m x + m - 1 + o(1) with Rényi's constant m = int_0^inf exp(-2 int_0^t (1 - e^{-u})/u du) dt."""
    np.testing.assert_allclose(renyi.parking_mean([0.5, 1.0, 1.7, 3.0]), [0, 1, 1, 2], atol=1e-9)
    assert abs(float(renyi.parking_mean(4.0)) - (11 / 3 - 4 / 3 * math.log(2))) <= 1e-7

    def inner(t):
        return quad(lambda u: -math.expm1(-u) / u if u > 0 else 1.0, 0, t)[0]

    m = quad(lambda t: math.exp(-2 * inner(t)), 0, np.inf, limit=200)[0]
    for x in (15.0, 30.0):
        assert abs(float(renyi.parking_mean(x)) - (m * x + m - 1)) <= 1e-6


@pytest.mark.parametrize("beta", [16.0, 64.0])
def test_parking_count_against_many_uniform_sequences(beta):
    """With n large the centres of i.i.d. uniform tokens on the circle are the jammed parking: the mean count
    of 60 sequences of 4000 tokens is within 4 standard errors of 1 + M((2 pi - alpha)/alpha)."""
    counts = np.array([len(renyi.renyi_centers(init.uniform(4000, 2, seed=s), beta=beta)) for s in range(60)])
    error = counts.std(ddof=1) / math.sqrt(len(counts))
    assert abs(counts.mean() - renyi.parking_count(beta)) <= 4 * error + 1e-3
