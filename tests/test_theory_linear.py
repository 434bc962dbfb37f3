"""Linear theory (docs/science.md §3) against quadrature, mpmath and closed forms."""

import math

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import eval_gegenbauer, iv

import attnflow as af
from attnflow.errors import ParameterError
from attnflow.theory import (dominant_mode, dominant_mode_table, emergence_time, finite_n_mode, funk_hecke_factor,
                             growth_rates, harmonic_component, predicted_angles, predicted_sites)


def legendre_like(k, dim, t):
    """Normalised Gegenbauer P_k = C_k^a / C_k^a(1), a = (d-2)/2; Chebyshev T_k for d = 2."""
    if dim == 2:
        return math.cos(k * math.acos(max(-1.0, min(1.0, t))))
    a = (dim - 2) / 2
    return eval_gegenbauer(k, a, t) / eval_gegenbauer(k, a, 1.0)


def quadrature_factor(k, beta, dim):
    """(1/beta) int e^{beta t} P_k(t) (1-t^2)^{(d-3)/2} dt / int (1-t^2)^{(d-3)/2} dt, in theta = arccos t."""
    weight = lambda th: math.sin(th) ** (dim - 2)  # noqa: E731
    num = quad(lambda th: math.exp(beta * math.cos(th)) * legendre_like(k, dim, math.cos(th)) * weight(th),
               0, math.pi, limit=200, epsabs=0, epsrel=1e-12)[0]
    den = quad(weight, 0, math.pi, epsabs=0, epsrel=1e-12)[0]
    return num / den / beta


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("dim", [2, 3, 4, 5])
@pytest.mark.parametrize("beta", [0.5, 5.0, 20.0])
def test_funk_hecke_factor_matches_quadrature(dim, beta):
    factors = funk_hecke_factor(beta, dim, 6)
    expected = [quadrature_factor(k, beta, dim) for k in range(1, 7)]
    np.testing.assert_allclose(factors, expected, rtol=1e-8)


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_growth_rates_usa_and_sa_match_quadrature(dim):
    beta = 7.0
    usa = [k * (k + dim - 2) * quadrature_factor(k, beta, dim) for k in range(1, 9)]
    np.testing.assert_allclose(growth_rates(beta, dim, 8, kind="usa"), usa, rtol=1e-8)
    weight = lambda th: math.sin(th) ** (dim - 2)  # noqa: E731
    z0 = (quad(lambda th: math.exp(beta * math.cos(th)) * weight(th), 0, math.pi, epsrel=1e-12)[0]
          / quad(weight, 0, math.pi, epsrel=1e-12)[0])
    np.testing.assert_allclose(growth_rates(beta, dim, 8, kind="sa"), np.array(usa) / z0, rtol=1e-8)


def mp_rate(k, beta, dim):
    """gamma_k e^{-beta} with mpmath's Bessel I (arbitrary precision), as a float."""
    nu = k + mpmath.mpf(dim) / 2 - 1
    value = (k * (k + dim - 2) * mpmath.gamma(mpmath.mpf(dim) / 2) * (2 / mpmath.mpf(beta)) ** (mpmath.mpf(dim) / 2 - 1)
             * mpmath.besseli(nu, beta) / beta * mpmath.exp(-beta))
    return float(value)


@pytest.mark.parametrize("dim", [2, 3, 8])
@pytest.mark.parametrize("beta", [100.0, 700.0, 1000.0])
def test_large_beta_scaled_rates_and_dominant_mode(dim, beta):
    scaled = growth_rates(beta, dim, 60, scaled=True)
    assert np.all(np.isfinite(scaled))
    exact = [mp_rate(k, beta, dim) for k in range(1, 61)]
    np.testing.assert_allclose(scaled, exact, rtol=1e-9)
    assert dominant_mode(beta, dim) == int(np.argmax(exact)) + 1
    sa = growth_rates(beta, dim, 60, kind="sa")
    assert np.all(np.isfinite(sa)) and sa.max() > 0
    assert emergence_time(beta, dim, 10**4, kind="sa") > 0


def test_beta_zero_and_errors():
    np.testing.assert_allclose(growth_rates(0.0, 3, 4), [2 / 3, 0, 0, 0])
    with pytest.raises(ParameterError, match="beta"):
        growth_rates(-1.0, 2, 4)
    with pytest.raises(ParameterError, match="dim"):
        dominant_mode(5.0, 1)
    with pytest.raises(ParameterError, match="n"):
        emergence_time(5.0, 2, 1)
    with pytest.raises(ParameterError, match="beta_max"):
        dominant_mode_table(0.0, 2)


def test_dominant_mode_table_thresholds_are_crossings():
    rows = dominant_mode_table(30.0, 2)
    assert rows[0].k == 1 and rows[0].beta_start == 0 and rows[-1].beta_end == math.inf
    # first threshold on the circle: gamma_1 = gamma_2  <=>  I_1(beta) = 4 I_2(beta), solved independently
    first = brentq(lambda b: iv(1, b) - 4 * iv(2, b), 0.1, 5.0, xtol=1e-13)
    assert rows[0].beta_end == pytest.approx(first, rel=1e-9)
    for left, right in zip(rows, rows[1:]):
        b = left.beta_end
        assert left.beta_end == right.beta_start
        assert right.k > left.k
        gk = [k * k * float(mpmath.besseli(k, b)) for k in (left.k, right.k)]
        assert gk[0] == pytest.approx(gk[1], rel=1e-8)
        assert dominant_mode(b * (1 - 1e-6), 2) == left.k and dominant_mode(b * (1 + 1e-6), 2) == right.k
    # the paper's values: beta = 5 -> 3, beta = 7 -> 4
    assert next(r for r in rows if r.beta_start <= 5 < r.beta_end).k == 3
    assert next(r for r in rows if r.beta_start <= 7 < r.beta_end).k == 4


def test_emergence_time_closed_form():
    rates = [k * k * iv(k, 5.0) / 5.0 for k in range(1, 10)]
    assert emergence_time(5.0, 2, 20000) == pytest.approx(math.log(math.sqrt(20000)) / max(rates), rel=1e-10)


def test_predicted_angles_of_planted_clusters():
    rng = np.random.default_rng(1)
    offset = 0.7
    theta = offset + 2 * np.pi * rng.integers(0, 3, 3000) / 3 + 0.05 * rng.standard_normal(3000)
    sites = predicted_angles(af.init.from_angles(theta), 3)
    expected = np.sort(np.mod(offset + 2 * np.pi * np.arange(3) / 3, 2 * np.pi))
    np.testing.assert_allclose(sites, expected, atol=0.01)
    circle = predicted_sites(af.init.from_angles(theta), 3)
    np.testing.assert_allclose(np.mod(np.arctan2(circle[:, 1], circle[:, 0]), 2 * np.pi), expected, atol=0.01)


def test_harmonic_component_matches_pairwise_loop():
    x = af.init.uniform(50, 4, seed=3)
    points = af.init.uniform(7, 4, seed=4)
    expected = [np.mean([legendre_like(3, 4, float(p @ xj)) for xj in x]) for p in points]
    np.testing.assert_allclose(harmonic_component(x, 3, points), expected, rtol=1e-10, atol=1e-13)


def test_predicted_sites_on_s2_against_closed_forms():
    rng = np.random.default_rng(0)
    pole = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    bump = pole + 0.1 * rng.standard_normal((400, 3))
    x = np.concatenate([af.init.uniform(1600, 3, seed=2), bump / np.linalg.norm(bump, axis=1, keepdims=True)])
    # degree 1: P_1(t) = t, the component is <x, mean>, maximal at mean / |mean|
    one = predicted_sites(x, 1)
    mean = x.mean(0) / np.linalg.norm(x.mean(0))
    assert len(one) == 1 and np.arccos(min(1.0, one[0] @ mean)) < 1e-3
    # degree 2: P_2(t) = (3t^2 - 1)/2, the component is a quadratic form, maximal at +-its top eigenvector
    two = predicted_sites(x, 2)
    top = np.linalg.eigh(x.T @ x)[1][:, -1]
    assert len(two) == 2
    np.testing.assert_allclose(np.sort(two @ top), [-1, 1], atol=1e-6)


def test_finite_n_mode_prefers_a_planted_mode():
    rng = np.random.default_rng(5)
    # density (1 + 2 a cos 4 theta) / 2 pi by rejection: the planted mode-4 amplitude a = 0.3 reaches 1 long before
    # the O(n^{-1/2}) mode 3, although gamma_3 > gamma_4 at beta = 5
    theta = rng.uniform(0, 2 * np.pi, 40000)
    theta = theta[rng.uniform(0, 1.6, theta.size) < 1 + 0.6 * np.cos(4 * theta)][:20000]
    x = af.init.from_angles(theta)
    amplitudes = np.abs(np.exp(-1j * np.arange(1, 9)[:, None] * theta[None, :]).mean(1))
    rates = growth_rates(5.0, 2, 8)
    assert finite_n_mode(x, 5.0, kmax=8) == int(np.argmin(np.log(1 / amplitudes) / rates)) + 1 == 4
    assert dominant_mode(5.0, 2) == 3


def _table_by_grid(beta_max, dim, points=4000):
    """The slow, obvious k*(beta) table: k* on a fine grid, each change refined by bisection."""
    grid = np.linspace(1e-3, beta_max, points)
    modes = [dominant_mode(b, dim) for b in grid]
    steps = []
    for i in np.flatnonzero(np.diff(modes)):
        low, high = grid[i], grid[i + 1]
        for _ in range(60):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if dominant_mode(middle, dim) == modes[i] else (low, middle)
        steps.append((modes[i], modes[i + 1], 0.5 * (low + high)))
    return steps


@pytest.mark.parametrize("dim", [2, 3, 8])
def test_dominant_mode_table_equals_a_grid_search(dim):
    rows = dominant_mode_table(40.0, dim)
    steps = _table_by_grid(40.0, dim)
    assert [(a.k, b.k) for a, b in zip(rows, rows[1:])] == [(k, k_next) for k, k_next, _ in steps]
    assert np.allclose([a.beta_end for a in rows[:-1]], [b for _, _, b in steps], rtol=1e-9)


def test_dominant_mode_table_near_a_large_beta_is_fast_and_consistent():
    rows = dominant_mode_table(1e6 + 5000, 2, beta_min=1e6 - 5000)
    for row in rows[:-1]:
        assert dominant_mode(row.beta_start * (1 + 1e-9) + 1e-9, 2) == row.k
        assert dominant_mode(row.beta_end * (1 - 1e-9), 2) == row.k
        assert dominant_mode(row.beta_end * (1 + 1e-9), 2) == row.k + 1
