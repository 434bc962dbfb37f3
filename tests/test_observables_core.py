"""Order parameters against their pairwise definitions (docs/science.md §3)."""

import numpy as np
import pytest
from scipy.special import eval_gegenbauer

import attnflow as af


@pytest.mark.parametrize("dim", [2, 3, 4, 7])
def test_gegenbauer_power_equals_the_pairwise_sum(dim):
    x = af.init.clusters(200, dim, 3, spread=0.4, seed=dim)
    inner = np.clip(x @ x.T, -1, 1)
    alpha = (dim - 2) / 2
    for k in range(1, 7):
        if dim == 2:
            expected = np.cos(k * np.arccos(inner)).mean()  # C_k^alpha / C_k^alpha(1) -> T_k as alpha -> 0
        else:
            expected = (eval_gegenbauer(k, alpha, inner) / eval_gegenbauer(k, alpha, 1.0)).mean()
        assert af.observables.gegenbauer_power(x, 6)[k - 1] == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_sphere_power_at_high_degree_and_at_the_poles():
    """The Legendre recurrences of the S^2 path stay accurate to degree 60, with tokens on the poles."""
    from scipy.special import eval_legendre

    x = np.concatenate([af.init.clusters(150, 3, 2, spread=0.2, seed=5), [[0, 0, 1.0], [0, 0, -1.0]]])
    inner = np.clip(x @ x.T, -1, 1)
    expected = np.array([eval_legendre(k, inner).mean() for k in range(1, 61)])
    np.testing.assert_allclose(af.observables.gegenbauer_power(x, 60), expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dim", [2, 3])
def test_energy_equals_the_pairwise_sum(dim):
    x = af.init.uniform(300, dim, seed=1)
    for beta in (0.5, 5.0, 30.0):
        expected = np.exp(beta * (x @ x.T)).mean() / (2 * beta)
        assert af.observables.energy(x, beta) == pytest.approx(expected, rel=1e-12)


def test_fourier_modes_and_order_parameter():
    theta = np.array([0.1, 0.7, 2.0, 4.0])
    x = af.init.from_angles(theta)
    modes = af.observables.fourier_modes(x, 3)
    assert np.allclose(modes, [np.exp(-1j * k * theta).mean() for k in (1, 2, 3)], atol=1e-15)
    assert af.observables.order_parameter(x) == pytest.approx(abs(np.exp(1j * theta).mean()))
