"""Basins of the linear potential (theory/basins.py) against direct sums, closed forms and planted clusters."""

import math

import numpy as np
import pytest
from scipy.special import eval_gegenbauer

import attnflow as af
from attnflow.errors import ParameterError
from attnflow.observables import fourier_modes
from attnflow.theory import (growth_rates, harmonic_dimension, linear_phase_end, linear_potential, predicted_angles,
                             predicted_clusters)


def circle(theta):
    return np.stack([np.cos(theta), np.sin(theta)], axis=1)


def planted(centres, n, spread, dim=2, seed=0):
    """Tokens in Gaussian bumps around the unit vectors `centres`, equal numbers each."""
    g = np.random.default_rng(seed)
    points = np.repeat(np.asarray(centres, dtype=float), n // len(centres), axis=0)
    points = points + spread * g.standard_normal(points.shape)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_harmonic_dimension_closed_forms():
    k = np.arange(1, 9)
    np.testing.assert_array_equal(harmonic_dimension(k, 2), 2)
    np.testing.assert_array_equal(harmonic_dimension(k, 3), 2 * k + 1)
    np.testing.assert_array_equal(harmonic_dimension(k, 4), (k + 1) ** 2)


@pytest.mark.parametrize("dim", [2, 3])
def test_potential_at_time_zero_is_the_kernel_sum(dim):
    """Funk–Hecke: sum_{k>=0} lambda_k N_k P_k(<x,y>) = e^{beta<x,y>}/beta, so at t = 0 with many modes the
    linear potential is an increasing affine function of (1/n) sum_j e^{beta<x, x_j>} (computed directly here)."""
    beta = 3.0
    x0 = af.init.uniform(300, dim, seed=1)
    points = af.init.uniform(50, dim, seed=2)
    direct = np.exp(beta * points @ x0.T).mean(1)
    values = linear_potential(x0, beta, 0.0, points, kmax=40)
    slope, intercept = np.polyfit(direct, values, 1)
    assert slope > 0
    np.testing.assert_allclose(values, slope * direct + intercept, atol=1e-10 * np.abs(values).max())


def test_potential_on_the_circle_matches_the_pairwise_sum():
    """The O(n kmax) Fourier path against sum_k lambda_k N_k e^{gamma_k t} (1/n) sum_j cos k(theta - theta_j)."""
    beta, t = 5.0, 0.2
    theta0 = np.random.default_rng(3).uniform(0, 2 * np.pi, 500)
    where = np.linspace(0, 2 * np.pi, 37)
    k = np.arange(1, 9)
    weights = af.theory.funk_hecke_factor(beta, 2, 8) * 2 * np.exp(growth_rates(beta, 2, 8) * t)
    cosines = np.cos(k[None, :, None] * (where[:, None, None] - theta0[None, None, :])).mean(2)
    direct = (weights[None, :] * cosines).sum(1)
    values = linear_potential(circle(theta0), beta, t, circle(where), kmax=8)
    np.testing.assert_allclose(values / values.max(), direct / direct.max(), atol=1e-12)


def test_linear_phase_end_is_the_first_crossing():
    beta = 5.0
    x0 = af.init.uniform(2000, 2, seed=4)
    t = linear_phase_end(x0, beta, kmax=8)
    grown = np.abs(fourier_modes(x0, 8)) * np.exp(growth_rates(beta, 2, 8) * t)
    assert grown.max() == pytest.approx(0.5, rel=1e-10)
    assert linear_phase_end(x0, beta, kmax=8, kind="sa") > t  # SA rates are the USA ones / Z_0 > 1


def test_unequally_spaced_planted_clusters_on_the_circle():
    """Three bumps at 0, 1.5, 3.8 rad: one basin each, sited at the bump, masses 1/3; the single-mode phase
    prediction (equally spaced) cannot place them all."""
    angles = np.array([0.0, 1.5, 3.8])
    x0 = planted(circle(angles), 3000, 0.15)
    result = predicted_clusters(x0, 5.0, time=0.0)
    assert result.count == 3
    found = np.arctan2(result.sites[:, 1], result.sites[:, 0])
    assert np.abs(np.angle(np.exp(1j * (found[:, None] - angles[None, :])))).min(0).max() < 0.02
    np.testing.assert_allclose(result.masses, 1 / 3, atol=0.01)
    assert np.array_equal(np.bincount(result.labels[result.labels >= 0]) / len(x0), result.masses)
    gap = np.abs(np.angle(np.exp(1j * (angles[:, None] - predicted_angles(x0, 3)[None, :])))).min(1)
    assert gap.max() > 0.25


def test_planted_tetrahedron_on_s2_and_light_basins_dropped():
    vertices = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / math.sqrt(3)
    x0 = planted(vertices, 2000, 0.12, dim=3)
    result = predicted_clusters(x0, 6.0, time=0.0)
    assert result.count == 4
    assert np.min(np.arccos(np.clip(result.sites @ vertices.T, -1, 1)), axis=1).max() < 0.03
    assert result.masses.sum() == pytest.approx(1.0)
    lonely = np.vstack([x0, planted([[0, 0, 1]], 10, 0.05, dim=3, seed=1)])  # 10 tokens: a basin below 2%
    assert predicted_clusters(lonely, 6.0, time=0.0).count == 4


def test_a_uniform_start_gives_the_dominant_number_of_basins_at_large_n():
    """n = 10^5 i.i.d. tokens, beta = 5 (k* = 3, far from a threshold): at the end of the linear phase the
    potential is mostly the degree-3 harmonic, so most starts give three arcs of roughly 1/3 each (the
    runner-up modes 2 and 4 make some starts differ)."""
    results = [predicted_clusters(af.init.uniform(100_000, 2, seed=seed), 5.0) for seed in range(5, 12)]
    three = [r for r in results if r.count == 3]
    assert len(three) >= 5
    for r in three:
        assert r.masses.sum() == pytest.approx(1.0) and 0.2 < r.masses.min() and r.masses.max() < 0.45
    x0 = af.init.uniform(100_000, 2, seed=5)
    assert results[0].time == pytest.approx(linear_phase_end(x0, 5.0))


def test_errors_name_the_parameter():
    x0 = af.init.uniform(100, 2, seed=0)
    for kwargs, name in [({"kind": "softmax"}, "kind"), ({"min_mass": 1.5}, "min_mass")]:
        with pytest.raises(ParameterError, match=name):
            predicted_clusters(x0, 5.0, **kwargs)
    with pytest.raises(ParameterError, match="level"):
        linear_phase_end(x0, 5.0, level=2.0)
    with pytest.raises(ParameterError, match="time"):
        linear_potential(x0, 5.0, -1.0, x0)
