"""The zonal solver on S^{d-1} (attnflow.pde.zonal) against closed forms: the orthonormal zonal harmonics, mass,
the linear growth rates gamma_l(beta, d), the circle solver for even data (d = 2), the diffusion's decay."""

import numpy as np
import pytest
from scipy.special import comb, eval_gegenbauer

import attnflow as af
from attnflow import pde
from attnflow.pde import gegenbauer, initial
from attnflow.pde.geometry import Zonal, grid


@pytest.mark.parametrize("dim", [3, 5, 8])
def test_basis_is_the_normalised_gegenbauer_family(dim):
    """phi_l = sqrt(N_l) C_l^a / C_l^a(1) (scipy), orthonormal under the Gauss–Jacobi weights; N_l by binomials."""
    t, w = gegenbauer.nodes(30, dim)
    phi, dphi = gegenbauer.basis(12, dim, t)
    np.testing.assert_allclose((phi * w) @ phi.T, np.eye(13), atol=1e-12)
    a, l = (dim - 2) / 2, np.arange(13)
    n_l = comb(l + dim - 1, dim - 1) - comb(l + dim - 3, dim - 1)
    np.testing.assert_allclose(np.exp(gegenbauer.log_dimension(l, dim)), n_l, rtol=1e-12)
    expected = np.sqrt(n_l)[:, None] * eval_gegenbauer(l[:, None], a, t) / eval_gegenbauer(l[:, None], a, 1.0)
    np.testing.assert_allclose(phi, expected, atol=1e-10)
    h = 1e-6  # the derivative against a central difference
    central = (gegenbauer.basis(12, dim, t + h)[0] - gegenbauer.basis(12, dim, t - h)[0]) / (2 * h)
    np.testing.assert_allclose(dphi, central, atol=1e-6 * np.abs(dphi).max())


@pytest.mark.parametrize("kind,dim,diffusion", [("usa", 3, 0.0), ("sa", 8, 0.05), ("usa", 128, 0.001)])
def test_mass_is_conserved(kind, dim, diffusion):
    rho0 = initial.zonal_modes(32, dim, 0.3 / np.exp(gegenbauer.log_dimension(np.arange(1, 4), dim)))  # rho > 0
    ds = pde.solve(af.Model(kind, 4.0, dim, diffusion=diffusion), rho0, 0.1 if kind == "usa" else 1.0, zonal=True)
    assert ds.attrs["geometry"] == "zonal" and ds.density.dims == ("time", "t")
    np.testing.assert_allclose(ds.mass.values, 1.0, atol=1e-12)
    assert float(np.abs(ds.density.isel(time=-1) - ds.density.isel(time=0)).max()) > 1e-2  # it moved


@pytest.mark.parametrize("dim,beta,kind", [(3, 6.0, "usa"), (5, 4.0, "usa"), (8, 8.0, "usa"), (5, 4.0, "sa"),
                                           (1024, 6.0, "usa")])
def test_degree_l_grows_at_gamma_l(dim, beta, kind):
    """A perturbation 1e-7 N_l P_l: |m_l| grows like e^{gamma_l t} (docs/science.md §3)."""
    rates = af.theory.growth_rates(beta, dim, 4, kind)
    t_end = 0.2 / rates[1]
    for l in (2, 3):
        amplitudes = np.zeros(l)
        amplitudes[-1] = 1e-7
        ds = pde.solve(af.Model(kind, beta, dim), initial.zonal_modes(32, dim, amplitudes), t_end, zonal=True,
                       save_every=t_end, observe_every=t_end / 4, kmax=4)
        a = ds.mode_amplitude.sel(mode=l).values
        measured = np.log(a[-1] / a[0]) / t_end
        assert abs(measured / rates[l - 1] - 1) < 1e-3


def test_circle_is_the_zonal_case_d_2():
    """d = 2: an even density f(cos theta) / 2 pi on the circle (Fourier spectral solver) and f(t) zonally agree."""
    f = lambda t: np.exp(1.5 * t) * (1 + 0.3 * t**3)  # noqa: E731
    zonal0 = initial.zonal_function(48, 2, f)
    circle0 = initial.from_function(96, lambda theta: f(np.cos(theta)))
    model = af.Model("usa", 3.0, 2)
    zonal = pde.solve(model, zonal0, 0.1, zonal=True, rtol=1e-11, atol=1e-13)
    circle = pde.solve(model, circle0, 0.1, method="spectral", rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(zonal.mode_amplitude.values, circle.mode_amplitude.values, atol=1e-9)
    t = Zonal(48, 2).points  # the circle's final density at theta = arccos t, by its Fourier series
    coefficients = np.fft.rfft(circle.density.values[-1]) / 96
    k = np.arange(49)
    k_weight = np.where((k == 0) | (k == 48), 1.0, 2.0)
    phase = np.exp(1j * np.outer(np.arccos(t) - grid(96)[0], k))
    at_t = (phase * (k_weight * coefficients)).real.sum(1)
    np.testing.assert_allclose(zonal.density.values[-1], 2 * np.pi * at_t, atol=1e-8)


@pytest.mark.parametrize("dim", [3, 6])
def test_diffusion_alone_decays_at_l_l_plus_d_minus_2_d(dim):
    """beta = 0 without degree 1 there is no transport: degree l decays at l (l + d - 2) D."""
    diffusion, l = 0.05, 3
    ds = pde.solve(af.Model("usa", 0.0, dim, diffusion=diffusion), initial.zonal_modes(16, dim, [0, 0.01, 0.02]),
                   0.5, zonal=True, kmax=4, rtol=1e-11, atol=1e-13)
    a = ds.mode_amplitude.sel(mode=l).values
    np.testing.assert_allclose(a, 0.02 * np.exp(-l * (l + dim - 2) * diffusion * ds.obs_time.values), rtol=1e-9)


def test_high_dimension_costs_the_same():
    """The same band limit takes the same number of steps in d = 8 and 1024 (nothing in the solver grows with d)."""
    steps = []
    for dim in (8, 1024):
        rates = af.theory.growth_rates(4.0, dim, 3)
        amplitudes = 1e-3 / np.exp(gegenbauer.log_dimension(np.arange(1, 3), dim))
        ds = pde.solve(af.Model("usa", 4.0, dim), initial.zonal_modes(32, dim, amplitudes), 3 / rates[0], zonal=True)
        steps.append(ds.attrs["steps"])
    assert abs(steps[0] - steps[1]) <= 0.25 * max(steps)


def test_zonal_refuses_bad_input():
    model = af.Model("usa", 4.0, 5)
    with pytest.raises(af.errors.ParameterError, match="density0"):
        pde.solve(model, np.ones(16) * 2, 0.1, zonal=True)
    with pytest.raises(af.errors.ParameterError, match="method"):
        pde.solve(model, initial.zonal_modes(16, 5, [0.1]), 0.1, zonal=True, method="spectral")
    with pytest.raises(af.errors.ParameterError, match="amplitudes"):
        initial.zonal_modes(8, 5, np.ones(8))
