"""The exact mean-field Kuramoto reduction (theory/kuramoto.py) against independent computations."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import attnflow as af
from attnflow.errors import ParameterError
from attnflow.experiments.kuramoto import fitted_rate
from attnflow.theory import kuramoto


def test_poisson_kernel_start_follows_ott_antonsen():
    t = np.linspace(0, 12, 25)
    z = kuramoto.order_parameter(t, [0.2**k for k in range(1, 40)])
    np.testing.assert_allclose(np.abs(z), kuramoto.ott_antonsen(t, 0.2), atol=1e-11)


def test_matches_a_weighted_quadrature_of_the_mean_field():
    """Material points theta_j on a fine grid, weights rho_0(theta_j) 2pi/N: the mean field by quadrature."""
    m1, m2 = 0.1, 0.05 - 0.03j
    theta = (np.arange(2048) + 0.5) * 2 * np.pi / 2048
    rho = (1 + 2 * np.real(np.conj(m1) * np.exp(1j * theta) + np.conj(m2) * np.exp(2j * theta))) / (2 * np.pi)
    weight = rho * 2 * np.pi / 2048

    def rhs(_, th):
        z = np.sum(weight * np.exp(1j * th))
        return np.imag(np.exp(-1j * th) * z)

    t = np.linspace(0, 5, 11)
    sol = solve_ivp(rhs, (0, 5), theta, t_eval=t, rtol=1e-11, atol=1e-12, method="DOP853")
    z_quadrature = (weight[:, None] * np.exp(1j * sol.y)).sum(0)
    np.testing.assert_allclose(kuramoto.order_parameter(t, [m1, m2]), z_quadrature, atol=1e-9)


def test_mean_field_approaches_synchrony_at_rate_one():
    t = np.linspace(0, 30, 301)
    gap = 1 - np.abs(kuramoto.order_parameter(t, [0.1, 0.02j]))
    assert fitted_rate(t, gap, (18, 28)) == pytest.approx(kuramoto.asymptotic_rate(particles=False), rel=0.01)


def test_particles_approach_synchrony_at_rate_two():
    theta = np.random.default_rng(0).uniform(0, 2 * np.pi, 40)
    ds = af.simulate(af.Model(kind="usa", beta=0.0, dim=2), af.init.from_angles(theta), t_end=20.0, dt=0.02,
                     method="rk4", save_every=0.5, observables=())
    gap = np.array([af.observables.w2_to_dirac(x) ** 2 / 2 for x in ds.x.values])
    assert fitted_rate(ds.time.values, gap, (14, 20)) == pytest.approx(kuramoto.asymptotic_rate(particles=True),
                                                                         rel=0.01)


def test_bad_moments():
    with pytest.raises(ParameterError, match="moments"):
        kuramoto.order_parameter([1.0], [])
    with pytest.raises(ParameterError, match="moments"):
        kuramoto.order_parameter([1.0], [2.0])
