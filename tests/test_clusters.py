"""Cluster finder: planted clusters with stragglers and tokens in flight, densities on the circle."""

import math

import numpy as np
import pytest
from scipy.special import ive

import attnflow as af
from attnflow.clusters import angle_density, cap_fraction, find_clusters, find_clusters_density
from attnflow.errors import ParameterError


def planted_circle(masses, centres, spread, stragglers, n, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [int(n * m) for m in masses]
    theta = [c + spread * rng.standard_normal(s) for c, s in zip(centres, sizes)]
    theta.append(rng.uniform(0, 2 * np.pi, int(n * stragglers)))
    return np.concatenate(theta)


def angle_of(centres):
    return np.mod(np.arctan2(centres[:, 1], centres[:, 0]), 2 * np.pi)


def test_circle_clusters_with_stragglers_and_tokens_in_flight():
    centres = [0.5, 2.6, 4.6]
    theta = planted_circle([0.5, 0.3, 0.15], centres, 0.03, 0.05, 20000)
    # a thin bridge of tokens in flight between the first two clusters must not chain them
    theta = np.concatenate([theta, np.linspace(0.5, 2.6, 60)])
    found = find_clusters(af.init.from_angles(theta))
    assert found.count == 3
    np.testing.assert_allclose(found.masses, np.array([0.5, 0.3, 0.15]) * 20000 / len(theta), atol=0.01)
    np.testing.assert_allclose(angle_of(found.centers), centres, atol=0.01)
    assert np.all(np.diff(found.masses) <= 0)
    assert (found.labels == -1).mean() > 0.03  # most stragglers are outside every cluster


@pytest.mark.parametrize("dim", [3, 5])
def test_sphere_clusters(dim):
    rng = np.random.default_rng(dim)
    centres = af.init.uniform(4, dim, seed=10 + dim)
    x = af.init.clusters(8000, dim, centres, masses=[0.4, 0.3, 0.2, 0.1], spread=0.03, seed=1)
    x = np.concatenate([x, af.init.uniform(300, dim, seed=3)])
    found = find_clusters(x[rng.permutation(len(x))])
    assert found.count == 4
    order = np.argmax(found.centers @ centres.T, axis=1)
    np.testing.assert_array_equal(order, [0, 1, 2, 3])
    np.testing.assert_allclose(np.sum(found.centers * centres[order], axis=1), 1, atol=1e-3)
    np.testing.assert_allclose(found.masses, np.array([0.4, 0.3, 0.2, 0.1]) * 8000 / 8300, atol=0.01)


def test_uniform_tokens_have_no_cluster_and_a_single_point_one():
    assert find_clusters(af.init.uniform(5000, 2, seed=0)).count == 0
    assert find_clusters(af.init.uniform(5000, 3, seed=0)).count == 0
    single = find_clusters(np.array([[0.0, 1.0]]))
    assert single.count == 1 and single.masses[0] == 1


def test_cap_fraction_closed_forms():
    for r in (0.1, 1.0, 2.5):
        assert cap_fraction(r, 2) == pytest.approx(r / math.pi, rel=1e-12)
        assert cap_fraction(r, 3) == pytest.approx((1 - math.cos(r)) / 2, rel=1e-12)
    x = af.init.uniform(200000, 5, seed=0)
    assert cap_fraction(0.8, 5) == pytest.approx(np.mean(x[:, 0] >= math.cos(0.8)), abs=3e-3)


def test_density_variant_on_von_mises_bumps():
    grid = 2 * np.pi * np.arange(1024) / 1024
    bumps = [(0.6, 1.0), (0.3, 3.5), (0.1, 6.1)]  # (mass, centre); the last wraps around 0
    kappa = 200.0
    density = 0.01 / (2 * np.pi) + sum(m * np.exp(kappa * (np.cos(grid - c) - 1)) for m, c in bumps)
    found = find_clusters_density(density)
    assert found.count == 3
    np.testing.assert_allclose(angle_of(found.centers), [1.0, 3.5, 6.1], atol=0.02)
    bump = 2 * np.pi * ive(0, kappa)  # integral of e^{kappa (cos t - 1)} over the circle
    total = np.array([m * bump for m, _ in bumps]) / (0.01 + bump * sum(m for m, _ in bumps))
    np.testing.assert_allclose(found.masses, total, atol=0.02)
    assert found.labels.shape == (1024,)
    assert find_clusters_density(np.ones(64)).count == 0


def test_angle_density_is_normalised_and_peaks_where_tokens_are():
    theta = np.concatenate([np.full(100, 2.0), np.full(50, 5.0)])
    rho = angle_density(theta, bins=512, smoothing=0.05)
    assert rho.sum() * 2 * np.pi / 512 == pytest.approx(1.0)
    found = find_clusters_density(rho)
    np.testing.assert_allclose(np.sort(angle_of(found.centers)), [2.0, 5.0], atol=0.02)
    np.testing.assert_allclose(found.masses, [2 / 3, 1 / 3], atol=0.01)


def test_bad_parameters_raise():
    x = af.init.uniform(100, 2, seed=0)
    with pytest.raises(ParameterError, match="radius"):
        find_clusters(x, radius=4.0)
    with pytest.raises(ParameterError, match="min_mass"):
        find_clusters(x, min_mass=2.0)
    with pytest.raises(ParameterError, match="density"):
        find_clusters_density(np.array([1.0, -1.0, 2.0]))
