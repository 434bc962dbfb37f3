"""The finite-volume zonal solver on S^{d-1} (attnflow.pde.zonal_fv, method "fv" with zonal=True) against independent
computations: the cell measures and cell integrals by adaptive quadrature, a point mass's velocity in closed form,
the circle's finite volumes (d = 2), the Gegenbauer solver as a fine reference, the linear rates gamma_l(beta, d),
diffusion's decay, a noisy stationary state; and what only finite volumes have: mass and positivity through
clustering."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import eval_gegenbauer, gammaln

import attnflow as af
from attnflow import pde
from attnflow.pde import cells, gegenbauer, initial
from attnflow.pde.geometry import Zonal, ZonalCells, geometry_for
from attnflow.pde.zonal import ZonalSolver
from attnflow.pde.zonal_fv import ZonalFluxes


def sigma_density(dim):
    """log of sigma's density in psi, c_d sin^{d-2} psi, written independently of `cells`."""
    log_c = gammaln(dim / 2) - gammaln((dim - 1) / 2) - 0.5 * np.log(np.pi)
    return lambda psi: log_c + (dim - 2) * np.log(np.sin(psi))


@pytest.mark.parametrize("dim", [3, 8, 128, 1024])
def test_cell_measures_and_harmonic_integrals_against_quadrature(dim):
    """V_j = sigma(cell j) and (1/V_j) ∫_cell P_l dsigma (scipy's Gegenbauer polynomials) by scipy.integrate.quad of
    sigma's density scaled by its largest value in the cell (so that d = 1024's 1e-1300 cells stay in range)."""
    n, lmax = 16, 5
    log_density, edges = sigma_density(dim), cells.faces(n)
    log_v = cells.log_measures(n, dim)
    averages = cells.harmonic_averages(lmax, dim, n) * np.exp(-0.5 * gegenbauer.log_dimension(np.arange(6), dim))[:, None]
    for j in range(n):
        a, b = edges[j], edges[j + 1]
        top = log_density(min(max(np.pi / 2, a), b))
        scaled = lambda psi: np.exp(log_density(psi) - top)  # noqa: E731
        mass = quad(scaled, a, b, epsabs=0, epsrel=1e-13, limit=200)[0]
        assert abs(np.log(mass) + top - log_v[j]) < 1e-11 * max(1.0, abs(log_v[j])), j
        for l in range(1, lmax + 1):
            p = lambda psi: eval_gegenbauer(l, (dim - 2) / 2, -np.cos(psi)) / eval_gegenbauer(l, (dim - 2) / 2, 1.0)  # noqa: E731
            moment = quad(lambda psi: p(psi) * scaled(psi), a, b, epsabs=0, epsrel=1e-10, limit=200)[0] / mass
            assert abs(moment - averages[l, j]) < 1e-9, (j, l)
    np.testing.assert_allclose(np.exp(log_v).sum(), 1.0, atol=1e-14)


@pytest.mark.parametrize("dim", [3, 128, 1024])
def test_a_point_mass_velocity_is_exact(dim):
    """A point mass at e has Phi = e^{beta t} / beta (USA), so u = sqrt(1 - t^2) e^{beta t}: the degrees kept
    (spectrum.velocity_degree, about the same in every d) give it to 1e-12 of its largest value."""
    beta, n = 5.0, 64
    fluxes = ZonalFluxes(af.Model("usa", beta, dim), ZonalCells(n, dim))
    degree = fluxes.slope.shape[0] - 1
    a = gegenbauer.basis(degree, dim, np.ones(1))[0][:, 0]  # a_l = phi_l(1)
    t = -np.cos(cells.faces(n)[1:-1])
    exact = np.sqrt(1 - t**2) * np.exp(beta * t)
    np.testing.assert_allclose(a @ fluxes.slope, exact, rtol=0, atol=1e-12 * exact.max())
    assert degree <= 40


def test_d_2_is_the_circle_finite_volume_solver_on_even_densities():
    """d = 2: the zonal cells are the circle's cells of theta = pi - psi in (0, pi), and the zonal scheme is the
    circle's (`finite_volume.CircleFluxes`, an independent FFT velocity) on the even density rho(cos theta) / 2 pi."""
    n = 64
    zonal0 = initial.zonal_cell_function(n, 2, lambda t: np.exp(2 * t) * (1 + 0.3 * t**3))
    model = af.Model("usa", 4.0, 2, diffusion=0.01)
    zonal = pde.solve(model, zonal0, 0.3, zonal=True, method="fv", save_every=0.1)
    circle = pde.solve(model, np.concatenate([zonal0[::-1], zonal0]) / (2 * np.pi), 0.3, method="fv", save_every=0.1)
    assert zonal.attrs["steps"] == circle.attrs["steps"]
    np.testing.assert_allclose(2 * np.pi * circle.density.values[:, n - 1::-1], zonal.density.values, atol=1e-11)
    np.testing.assert_allclose(2 * np.pi * circle.density.values[:, n:], zonal.density.values, atol=1e-11)


@pytest.mark.parametrize("dim,kind", [(3, "usa"), (8, "sa"), (128, "usa")])
def test_face_velocity_converges_to_the_smooth_density_velocity(dim, kind):
    """The exact velocity of the cell averages tends at second order to that of the smooth density (from its
    Gegenbauer coefficients, as the spectral solver holds them: u = sum_l lambda_l a_l d_psi phi_l, SA over w)."""
    amplitudes = np.array([0.3, 0.2, 0.1]) / np.exp(gegenbauer.log_dimension(np.arange(1, 4), dim))  # 1 + sum c P_l
    model = af.Model(kind, 4.0, dim)
    solver = ZonalSolver(model, Zonal(8, dim), initial.zonal_modes(8, dim, amplitudes))
    errors = []
    for n in (32, 64, 128):
        phi, derivative = cells.face_derivatives(7, dim, n)
        exact = (solver.kernel.potential * solver.state) @ derivative[:, 1:-1]
        if kind == "sa":
            exact /= (solver.kernel.weight * solver.state) @ phi[:, 1:-1]
        fluxes = ZonalFluxes(model, ZonalCells(n, dim))
        masses = fluxes.state(initial.zonal_cell_modes(n, dim, amplitudes))
        errors.append(np.abs(fluxes.face_velocity(masses) - exact).max() / np.abs(exact).max())
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    assert errors[-1] < 1e-2 and (orders > 1.8).all(), (errors, orders)
