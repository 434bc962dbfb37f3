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
    root = np.exp(0.5 * gegenbauer.log_dimension(np.arange(lmax + 1), dim))
    averages = cells.harmonic_averages(lmax, dim, n) / root[:, None]  # of P_l = phi_l / sqrt(N_l)
    for j in range(n):
        a, b = edges[j], edges[j + 1]
        top = log_density(min(max(np.pi / 2, a), b))
        scaled = lambda psi: np.exp(log_density(psi) - top)  # noqa: E731
        mass = quad(scaled, a, b, epsabs=0, epsrel=1e-13, limit=200)[0]
        assert abs(np.log(mass) + top - log_v[j]) < 1e-11 * max(1.0, abs(log_v[j])), j
        for l in range(1, lmax + 1):
            alpha = (dim - 2) / 2
            p = lambda psi: eval_gegenbauer(l, alpha, -np.cos(psi)) / eval_gegenbauer(l, alpha, 1.0)  # noqa: E731
            moment = quad(lambda psi: p(psi) * scaled(psi), a, b, epsabs=1e-12 * mass, epsrel=1e-12, limit=200)[0]
            assert abs(moment / mass - averages[l, j]) < 1e-9, (j, l)
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


@pytest.mark.parametrize("dim", [3, 8])
def test_mass_and_positivity_through_clustering_where_the_spectral_solver_fails(dim):
    """USA, beta = 5, from 1 + two low modes to 6 / gamma_1: the density sharpens into clusters; the Gegenbauer
    solver on 32 nodes goes negative (UnderResolvedError), finite volumes on 64 cells keep the mass to 1e-12 and every
    cell average >= 0 at every step (min_density) and saved time."""
    model = af.Model("usa", 5.0, dim)
    t_end = 6 / af.theory.growth_rates(5.0, dim, 1)[0]
    amplitudes = np.array([0.05, 0.02]) / np.exp(0.5 * gegenbauer.log_dimension(np.arange(1, 3), dim))
    with pytest.raises(pde.UnderResolvedError):
        pde.solve(model, initial.zonal_modes(32, dim, amplitudes), t_end, zonal=True)
    ds = pde.solve(model, initial.zonal_cell_modes(64, dim, amplitudes), t_end, zonal=True, method="fv")
    assert ds.attrs["method"] == "fv" and ds.density.dims == ("time", "t") and ds.attrs["geometry"] == "zonal"
    np.testing.assert_allclose(ds.mass.values, 1.0, atol=1e-12)
    assert ds.attrs["min_density"] >= 0 and float(ds.density.min()) >= 0
    assert float(ds.density.isel(time=-1).max()) > 100  # it clustered
    np.testing.assert_allclose(ds.quadrature_weight.values, np.exp(cells.log_measures(64, dim)), rtol=1e-15)


@pytest.mark.parametrize("dim,kind,diffusion", [(3, "usa", 0.0), (8, "sa", 0.02)])
def test_second_order_convergence_to_the_gegenbauer_solution(dim, kind, diffusion):
    """Smooth data to t = 0.1 (beta = 4): the L1(sigma) distance of the cell averages to the exact cell averages of
    the Gegenbauer solution (48 nodes, rtol 1e-12) falls ~4x per halving of the cells (observed order > 1.7)."""
    model = af.Model(kind, 4.0, dim, diffusion=diffusion)
    amplitudes = np.array([0.3, 0.2, 0.1]) / np.exp(0.5 * gegenbauer.log_dimension(np.arange(1, 4), dim))
    reference = ZonalSolver(model, Zonal(48, dim), initial.zonal_modes(48, dim, amplitudes), rtol=1e-12, atol=1e-14)
    reference.advance(0.1)
    while reference.t < 0.1:
        reference.advance(0.1)
    errors = []
    for n in (32, 64, 128):
        ds = pde.solve(model, initial.zonal_cell_modes(n, dim, amplitudes), 0.1, zonal=True, method="fv",
                       save_every=0.1)
        exact = reference.state @ cells.harmonic_averages(47, dim, n)
        errors.append(float(ds.quadrature_weight @ np.abs(ds.density.isel(time=-1) - exact)))
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    assert (orders > 1.7).all() and errors[-1] < 1e-3, (errors, orders)


@pytest.mark.parametrize("dim,beta", [(3, 6.0), (8, 8.0), (128, 6.0)])
def test_degree_l_growth_approaches_gamma_l(dim, beta):
    """A perturbation 1e-7 N_2 P_2: the rate of |m_2| over 0.2 / gamma_2 tends to gamma_2(beta, d) at second order,
    with the same number of steps on every grid (max_step bounds them while the velocity is small)."""
    rate = af.theory.growth_rates(beta, dim, 2)[1]
    t_end = 0.2 / rate
    errors, steps = [], set()
    for n in (64, 128, 256):
        ds = pde.solve(af.Model("usa", beta, dim), initial.zonal_cell_modes(n, dim, [0, 1e-7]), t_end, zonal=True,
                       method="fv", save_every=t_end, observe_every=t_end / 4, kmax=2)
        a = ds.mode_amplitude.sel(mode=2).values
        errors.append(abs(np.log(a[-1] / a[0]) / t_end / rate - 1))
        steps.add(ds.attrs["steps"])
    assert len(steps) == 1 and errors[-1] < 0.005 and (np.array(errors[:-1]) / errors[1:] > 3.5).all(), errors


@pytest.mark.parametrize("dim", [3, 6])
def test_diffusion_alone_decays_at_l_l_plus_d_minus_2_d(dim):
    """beta = 0, an even density (no degree 1, hence no transport): |m_2| decays at 2 d D, at second order."""
    diffusion = 0.05
    errors = []
    for n in (32, 64):
        ds = pde.solve(af.Model("usa", 0.0, dim, diffusion=diffusion), initial.zonal_cell_modes(n, dim, [0, 0.02]),
                       0.5, zonal=True, method="fv", kmax=2)
        a = ds.mode_amplitude.sel(mode=2).values
        errors.append(abs(np.log(a[-1] / a[0]) / 0.5 / (-2 * dim * diffusion) - 1))
    assert errors[-1] < 5e-3 and errors[0] / errors[1] > 3.5, errors


def test_a_noisy_stationary_state_stays_with_shrinking_drift():
    """USA, beta = 4, d = 3, D = 0.8 D_#: the clustered stationary state of theory.stationary (|m_1| = 0.97), put on
    the cells, moves in L1(sigma) by an amount that shrinks under refinement (the discretisation's own equilibrium
    differs by O(h^2)), and so does the change of its |m_1| (below 0.2% on 64 cells)."""
    from attnflow.theory import noise, stationary

    beta, dim = 4.0, 3
    diffusion = 0.8 * noise.critical_diffusion(beta, dim)
    m = stationary.stationary_state(beta, dim, diffusion, [0.5])
    strength = stationary.Zonal(beta, dim, len(m)).strength * m / diffusion
    legendre = lambda t: stationary.legendre_values(len(m), dim, t.ravel())  # noqa: E731
    state = lambda t: np.exp(strength @ legendre(t)).reshape(t.shape)  # noqa: E731
    drift, moment = [], []
    for n in (32, 64):
        ds = pde.solve(af.Model("usa", beta, dim, diffusion=diffusion), initial.zonal_cell_function(n, dim, state),
                       0.5, zonal=True, method="fv", save_every=0.5, kmax=1)
        drift.append(float(ds.quadrature_weight @ np.abs(ds.density.isel(time=-1) - ds.density.isel(time=0))))
        moment.append(abs(ds.mode_amplitude.values[-1, 0] / abs(m[0]) - 1))
    assert drift[1] < drift[0] / 2.5 and moment[1] < min(moment[0] / 2.5, 2e-3), (drift, moment)


def test_cell_initial_densities():
    """zonal_cell_function of the polynomial 1 + sum eps_l N_l P_l equals the exact zonal_cell_modes (a constant is
    exact in every d); zonal_cell_tokens puts each token's mass 1/count in its cell."""
    for dim in (3, 8):
        amplitudes = np.array([0.2, 0.1]) / np.exp(gegenbauer.log_dimension(np.arange(1, 3), dim))
        root = np.exp(0.5 * gegenbauer.log_dimension(np.arange(1, 3), dim))
        function = lambda t: 1 + (amplitudes * root) @ gegenbauer.basis(2, dim, t.ravel())[0][1:]  # noqa: E731
        np.testing.assert_allclose(initial.zonal_cell_function(32, dim, lambda t: function(t).reshape(t.shape)),
                                   initial.zonal_cell_modes(32, dim, amplitudes), rtol=1e-13)
    np.testing.assert_allclose(initial.zonal_cell_function(32, 1024, lambda t: np.ones_like(t)), 1.0, rtol=1e-14)
    x = af.init.uniform(500, 5, seed=0)
    rho = initial.zonal_cell_tokens(x, 16)
    counts = np.bincount(np.minimum((np.arccos(-x[:, -1]) // (np.pi / 16)).astype(int), 15), minlength=16)
    np.testing.assert_allclose(rho * ZonalCells(16, 5).weights * 500, counts, rtol=1e-12)


def test_geometry_choice_and_bad_input():
    model = af.Model("usa", 4.0, 5)
    assert geometry_for(model, zonal=True, method="fv") is ZonalCells and geometry_for(model, zonal=True) is Zonal
    rho = initial.zonal_cell_modes(16, 5, [0.1])
    assert pde.solve(model, rho, 0.0, zonal=True).attrs["method"] == "gegenbauer"  # the default stays spectral
    bad = rho.copy()
    bad[0], bad[-1] = -0.01, bad[-1] + 0.01 * ZonalCells(16, 5).weights[0] / ZonalCells(16, 5).weights[-1]
    with pytest.raises(af.errors.ParameterError, match="density0"):
        pde.solve(model, bad, 0.1, zonal=True, method="fv")
    with pytest.raises(af.errors.ParameterError, match="density0"):
        pde.solve(model, 2 * rho, 0.1, zonal=True, method="fv")
    with pytest.raises(af.errors.ParameterError, match="amplitudes"):
        initial.zonal_cell_modes(16, 128, [0.1])  # negative near the poles
    with pytest.raises(af.errors.ParameterError, match="function"):
        initial.zonal_cell_function(16, 5, lambda t: t)
    with pytest.raises(af.errors.ParameterError, match="axis"):
        initial.zonal_cell_tokens(af.init.uniform(10, 3, seed=0), 16, axis=[0, 1])


def test_the_command_line_runs_zonal_finite_volumes(tmp_path, monkeypatch, capsys):
    """`attnflow pde --zonal --method fv` (default 256 cells) writes a run that `rerun` repeats bit for bit; bad input
    exits 2 in one line."""
    from test_pde_cli import run_cli

    from attnflow.rerun import rerun

    out = tmp_path / "zonal_fv.nc"
    status, err = run_cli(monkeypatch, capsys, "--zonal", "--dim", 1024, "--beta", 4, "--method", "fv",
                          "--amplitudes", "5e-4", "--t-end", 0.5, "--out", out)
    assert status == 0, err
    ds = af.load(out)
    assert ds.sizes["t"] == 256 and ds.attrs["method"] == "fv" and np.abs(ds.mass.values - 1).max() < 1e-12
    np.testing.assert_array_equal(rerun(out).density.values, ds.density.values)
    for args, name in ((("--grid", 4), "--grid"), (("--amplitudes", "0.5"), "amplitudes"), (("--cfl", 2), "cfl")):
        status, err = run_cli(monkeypatch, capsys, "--zonal", "--dim", 8, "--method", "fv", "--t-end", 0.01, *args)
        assert status == 2 and "Traceback" not in err and name in err and len(err.strip().splitlines()) <= 2, err
