"""Stationary states with noise (attnflow.theory.stationary): the fixed-point equation, zero flux of the PDE
computed independently (direct quadrature of the convolution), the continuous / discontinuous dichotomy at
beta_* found by the continuation (which never uses beta_*), and the circle PDE's dynamics."""

import numpy as np
import pytest

import attnflow as af
from attnflow.pde import solve
from attnflow.theory import noise, stationary

GRID = 48  # the states at beta = 4, D ~ D_# are smooth: 48 points resolve them to rounding


def circle_density(m, beta, diffusion, theta):
    """rho (against d theta / 2 pi) of the circle state with moments m: e^{Phi / D} normalised on the grid."""
    k = np.arange(1, len(m) + 1)
    strength = 2 * af.spectrum.funk_hecke_factor(beta, 2, len(m))  # lambda_k N_k, N_k = 2
    exponent = (strength * m) @ np.cos(np.outer(k, theta)) / diffusion
    rho = np.exp(exponent - exponent.max())
    return rho / rho.mean()


def test_branch_points_solve_the_fixed_point_equation_and_have_zero_flux():
    """At every tenth point: |<P_k> - m_k| <= 1e-10; on the circle the flux D rho' - rho Phi' of the mean-field
    equation vanishes, with Phi = (1/beta) integral e^{beta cos(theta - phi)} rho(phi) dphi / 2 pi by a direct
    sum (not the moments)."""
    branch = stationary.stationary_branch(4.0, 2)
    zonal = stationary.Zonal(4.0, 2, branch.sizes["mode"])
    theta = np.linspace(0, 2 * np.pi, 512, endpoint=False)
    for point in range(0, branch.sizes["point"], 10):
        m, diffusion = branch.moment.values[point], float(branch.diffusion[point])
        assert np.abs(zonal.residual(m, diffusion)[0]).max() <= 1e-10
        rho = circle_density(m, 4.0, diffusion, theta)
        difference = theta[:, None] - theta[None, :]
        potential = (np.exp(4.0 * np.cos(difference)) @ rho) / len(theta) / 4.0
        slope = (-4.0 * np.sin(difference) * np.exp(4.0 * np.cos(difference)) @ rho) / len(theta) / 4.0
        derivative = np.real(np.fft.ifft(1j * np.fft.fftfreq(512, 1 / 512) * np.fft.fft(rho)))
        flux = diffusion * derivative - rho * slope
        assert np.abs(flux).max() <= 1e-9 * np.abs(rho * slope).max() + 1e-12, point
        assert np.isfinite(potential).all()


@pytest.mark.parametrize("dim", [2, 3])
def test_the_branch_bends_back_above_beta_star_only(dim):
    """A fold (states with D > D_#, unstable near the uniform state) exactly above beta_*: the dichotomy of
    noise.transition_kind, found here by the continuation alone."""
    star = noise.transition_beta(dim)
    for beta in (0.95 * star, 1.05 * star):
        branch = stationary.stationary_branch(beta, dim)
        excess = float(branch.diffusion.max()) / branch.attrs["critical_diffusion"] - 1
        assert (excess > 1e-6) == (noise.transition_kind(beta, dim) == "discontinuous"), (beta, excess)
        assert bool(branch.stable[0]) == (excess < 0)  # born stable (supercritical) or unstable (subcritical)


def test_first_order_diffusion_is_where_the_clustered_state_ties_with_uniform():
    beta = 4.0
    branch = stationary.stationary_branch(beta, 2)
    threshold, fold = branch.attrs["critical_diffusion"], float(branch.diffusion.max())
    critical = stationary.first_order_diffusion(beta, 2)
    assert threshold < critical < fold
    m = stationary.stationary_state(beta, 2, critical, branch.moment.values[-1])
    assert abs(stationary.Zonal(beta, 2, len(m)).free_energy(m, critical)) < 1e-10 * threshold
    assert m[0] > 0.5  # the clustered state, not the uniform one
    assert stationary.first_order_diffusion(1.0, 2) == noise.critical_diffusion(1.0, 2)


def test_hysteresis_in_the_circle_pde():
    """beta = 4 > beta_*, D between D_# and D_c: a perturbed clustered stationary state returns to it, and a
    near-uniform start decays to uniform (both are stable: the loop of a first-order transition)."""
    beta = 4.0
    threshold = noise.critical_diffusion(beta, 2)
    diffusion = 1.03 * threshold
    branch = stationary.stationary_branch(beta, 2)
    clustered = stationary.stationary_state(beta, 2, diffusion, branch.moment.values[-1])
    theta = (np.arange(GRID) + 0.5) * 2 * np.pi / GRID
    rho = circle_density(clustered, beta, diffusion, theta) * (1 + 0.02 * np.cos(2 * theta))
    model = af.Model("usa", beta, 2, diffusion=diffusion)
    run = solve(model, rho / rho.sum() / (2 * np.pi / GRID), 6.0, method="spectral", kmax=1)
    assert abs(float(run.mode_amplitude.isel(obs_time=-1, mode=0)) - clustered[0]) < 1e-3
    near_uniform = 1 + 0.05 * np.cos(theta)
    run = solve(model, near_uniform / near_uniform.sum() / (2 * np.pi / GRID), 6.0, method="spectral", kmax=1)
    amplitude = run.mode_amplitude.isel(mode=0).values  # decays at the linear rate with noise (< 0)
    rate = noise.growth_rates(beta, 2, 1, diffusion=diffusion)[0]
    assert rate < 0 and np.all(np.diff(amplitude) < 0)
    assert amplitude[-1] == pytest.approx(amplitude[0] * np.exp(rate * 6.0), rel=0.02)


def test_escape_times_are_the_first_crossings_and_censored_at_the_end():
    """escape_times = a loop over seeds and observations, written out here."""
    from attnflow.experiments.noisy_transitions import escape_times

    rng = np.random.default_rng(3)
    order, time = rng.random((40, 6)), np.linspace(0, 2, 40)
    for upwards in (True, False):
        escaped, escape = escape_times(order, time, 0.9 if upwards else 0.05, upwards)
        for seed in range(6):
            first = next((t for t, value in zip(time, order[:, seed])
                          if (value > 0.9 if upwards else value < 0.05)), None)
            assert escaped[seed] == (first is not None)
            assert escape[seed] == (time[-1] if first is None else first)


def test_sampled_clustered_tokens_have_the_branch_order_parameter():
    """The particles' clustered start: n tokens drawn from the stationary state have |mean x| = its m_1 up to
    the sampling error (stratified: far below n^{-1/2}); the uniform start's |mean x| is O(n^{-1/2})."""
    from attnflow.experiments.noisy_transitions import clustered_start, sampled_tokens

    branch = stationary.stationary_branch(4.0, 2)
    tokens = sampled_tokens(branch, 4000, 3)
    expected = float(branch.order_parameter[clustered_start(branch)])
    assert np.abs(np.linalg.norm(tokens["clustered"].mean(axis=1), axis=-1) - expected).max() < 2e-3
    assert np.linalg.norm(tokens["uniform"].mean(axis=1), axis=-1).max() < 4 / np.sqrt(4000)
    assert np.allclose(np.linalg.norm(tokens["clustered"], axis=-1), 1)


def test_hysteresis_by_particles():
    """beta = 4, D = 1.03 D_# (between D_# and the fold): 1000 noisy particles from the clustered state stay
    clustered and 1000 from uniform angles stay near uniform, for two seeds each, to t = 4."""
    from attnflow.experiments.noisy_transitions import particle_points

    branch = stationary.stationary_branch(4.0, 2)
    loop = particle_points(branch, (1.03,), 4.0, n=1000, seeds=2, dt=2e-3, observations=20, progress=lambda _: None)
    assert not loop.escaped.any()
    order = loop.order_parameter.sel(ratio=1.03)
    assert float(order.sel(start="clustered").min()) > 0.6
    assert float(order.sel(start="uniform").max()) < 0.35


@pytest.mark.parametrize("beta", [2.0, 30.0])
def test_sa_states_on_the_circle_are_powers_of_their_potential(beta):
    """SA, d = 2: the Gauss–Chebyshev nodes are equally spaced angles, so each state is known on a uniform grid
    of the whole circle (mirrored); there rho_j / Phi_j^{1/(beta D)} is the same for every j to 1e-10, with Phi
    by the direct periodic sum of e^{beta cos(theta_j - theta_l)} rho_l (no Bessel function, no moments)."""
    branch = stationary.stationary_branch(beta, 2, kind="sa")
    half = np.arccos(branch.t.values)  # (0, pi), increasing in node order reversed
    theta = np.concatenate([half, -half])
    assert np.allclose(np.sort(np.diff(np.sort(theta))), np.pi / len(half))
    for point in range(0, branch.sizes["point"], 7):
        state = branch.isel(point=point)
        log_rho = np.concatenate([state.log_density.values] * 2)
        kernel = beta * np.cos(theta[:, None] - theta[None, :])
        log_phi = np.log(np.mean(np.exp(kernel + log_rho[None, :] - beta), axis=1)) + beta
        ratio = log_rho - log_phi / (beta * float(state.diffusion))
        assert np.ptp(ratio) < 1e-10 * max(1.0, np.abs(log_rho).max())
        assert np.mean(np.exp(log_rho)) == pytest.approx(1.0, abs=1e-10)
        assert float(state.moment.sel(mode=1)) == pytest.approx(np.mean(np.exp(log_rho) * np.cos(theta)), abs=1e-12)


def test_sa_states_on_s2_by_an_azimuthal_average():
    """SA, d = 3: Phi(t) = integral e^{beta<x,y>} rho dsigma by the trapezoidal rule in the azimuth (not the
    Bessel kernel of stationary_sa) and Gauss–Legendre in t: rho is Phi^{1/(beta D)} up to a constant."""
    beta = 6.0
    branch = stationary.stationary_branch(beta, 3, kind="sa")
    t, w = np.polynomial.legendre.leggauss(branch.sizes["node"])
    assert np.allclose(t, branch.t.values)
    phi_angles = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    r = np.sqrt(np.outer(1 - t**2, 1 - t**2))
    kernel = np.mean(np.exp(beta * (np.outer(t, t)[..., None] + r[..., None] * np.cos(phi_angles)) - beta), axis=-1)
    for point in range(0, branch.sizes["point"], 9):
        state = branch.isel(point=point)
        rho = np.exp(state.log_density.values)
        potential = kernel @ (w / 2 * rho)
        ratio = np.log(rho) - np.log(potential) / (beta * float(state.diffusion))
        assert np.ptp(ratio) < 1e-9


def test_sa_branch_starts_at_the_sa_threshold_and_the_circle_pde_reaches_it():
    """The SA branch is born at D_# = lambda_1 / Z_0 (|m_1|^2 extrapolates to 0 there) and, at beta = 3, is
    stable and bends to D < D_# (a continuous transition); the SA circle PDE at D = 0.6 D_# from
    1 + 0.05 cos theta ends at the branch's |m_1| (interpolated between branch points) within 1e-4."""
    beta = 3.0
    threshold = noise.critical_diffusion(beta, 2, "sa")
    branch = stationary.stationary_branch(beta, 2, kind="sa")
    assert branch.attrs["critical_diffusion"] == threshold
    diffusion = branch.diffusion.values
    assert diffusion[0] < threshold and np.all(np.diff(diffusion) < 0) and branch.stable.all()
    square = branch.order_parameter.values[:3] ** 2  # a pitchfork: |m_1|^2 linear in D near D_#
    slope, intercept = np.polyfit(diffusion[:3], square, 1)
    assert -intercept / slope == pytest.approx(threshold, rel=1e-3)
    predicted = np.interp(0.6 * threshold, diffusion[::-1], branch.order_parameter.values[::-1])
    theta = (np.arange(GRID) + 0.5) * 2 * np.pi / GRID
    start = 1 + 0.05 * np.cos(theta)
    run = solve(af.Model("sa", beta, 2, diffusion=0.6 * threshold), start / start.sum() / (2 * np.pi / GRID), 80.0,
                method="spectral", kmax=1)
    assert abs(float(run.mode_amplitude.isel(obs_time=-1, mode=0)) - predicted) < 1e-4


def test_sa_has_no_free_energy_and_kind_is_checked():
    with pytest.raises(af.ParameterError, match="kind"):
        stationary.stationary_branch(2.0, 2, kind="bogus")
    assert "free_energy" not in stationary.stationary_branch(2.0, 2, kind="sa")


@pytest.mark.parametrize("kind", ["usa", "sa"])
@pytest.mark.parametrize("k", [2, 3])
def test_branches_born_from_mode_k_on_the_circle(kind, k):
    """The branch from the degree-k harmonic: born at D_k = lambda_k (SA lambda_k / Z_0: |m_k|^2 extrapolates to
    0 there, a pitchfork), only the harmonics jk present (k-fold symmetric states: the others below 1e-12), and
    unstable all along (mode 1 is unstable below D_# > D_k). USA's states make the PDE's flux vanish (Phi by a
    direct convolution sum)."""
    beta = 4.0
    branch = stationary.stationary_branch(beta, 2, kind=kind, born_from=k)
    birth = noise.growth_rates(beta, 2, k, kind)[k - 1] / k**2
    assert branch.attrs["bifurcation_diffusion"] == pytest.approx(birth, rel=1e-14)
    diffusion, square = branch.diffusion.values[:3], branch.order_parameter.values[:3] ** 2
    roots = np.roots(np.polyfit(diffusion, square, 2))  # |m_k|^2 quadratic in D through the first three points
    assert roots[np.argmin(np.abs(roots - birth))] == pytest.approx(birth, rel=1e-3)
    others = np.arange(1, branch.sizes["mode"] + 1) % k != 0
    assert np.abs(branch.moment.values[:, others]).max() < 1e-12
    assert np.abs(branch.moment.sel(mode=k)).min() > 0 and not branch.stable.any()
    if kind == "usa":
        theta = np.linspace(0, 2 * np.pi, 512, endpoint=False)
        m, d = branch.moment.values[-1], float(branch.diffusion[-1])
        rho = circle_density(m, beta, d, theta)
        difference = theta[:, None] - theta[None, :]
        slope = (-beta * np.sin(difference) * np.exp(beta * np.cos(difference)) @ rho) / len(theta) / beta
        derivative = np.real(np.fft.ifft(1j * np.fft.fftfreq(512, 1 / 512) * np.fft.fft(rho)))
        assert np.abs(d * derivative - rho * slope).max() <= 1e-9 * np.abs(rho * slope).max()


def test_born_from_and_d_min_are_checked():
    with pytest.raises(af.ParameterError, match="born_from"):
        stationary.stationary_branch(4.0, 2, modes=8, born_from=9)
    with pytest.raises(af.ParameterError, match="d_min"):
        stationary.stationary_branch(4.0, 2, d_min=1.2)


@pytest.mark.parametrize("dim", [3, 5])
def test_zonal_states_are_stationary_for_the_zonal_pde(dim):
    """Every tenth state of the USA branch at beta = 4 in d = 3, 5, put on the zonal PDE's nodes (96: the states'
    degrees beyond are below rounding), makes its rate vanish: |d a_l / dt| <= 1e-9 of the transport term's size
    (the PDE's own residual, Gegenbauer–Galerkin, independent of the fixed-point solver's quadrature)."""
    from attnflow.experiments.noisy_transitions import profile
    from attnflow.pde import initial
    from attnflow.pde.geometry import Zonal as ZonalGrid
    from attnflow.pde.zonal import ZonalSolver

    branch = stationary.stationary_branch(4.0, dim)
    for point in range(0, branch.sizes["point"], 10):
        diffusion = float(branch.diffusion[point])
        rho = initial.zonal_function(96, dim, lambda t: profile(branch, point, t))
        solver = ZonalSolver(af.Model("usa", 4.0, dim, diffusion=diffusion), ZonalGrid(96, dim), rho)
        transport = ZonalSolver(af.Model("usa", 4.0, dim), ZonalGrid(96, dim), rho).rate(solver.state)
        assert np.abs(solver.rate(solver.state)).max() <= 1e-9 * np.abs(transport).max(), point


def test_hysteresis_on_s2_by_the_zonal_pde():
    """beta = 4 > beta_*(3), D = 1.1 D_# (between D_# and the fold): the clustered state stays on the stable
    branch (|m_1| within 1e-3 of the branch's stable state at that D, by Newton) and a near-uniform start decays
    at the linear rate with noise."""
    from attnflow.experiments.noisy_transitions import pde_points

    beta = 4.0
    branch = stationary.stationary_branch(beta, 3)
    threshold = branch.attrs["critical_diffusion"]
    loop = pde_points(branch, (1.1,), 24, 6.0, lambda _: None)
    stable = branch.stable.values & (branch.order_parameter.values > 0.5)
    nearest = int(np.argmin(np.where(stable, np.abs(branch.diffusion.values - 1.1 * threshold), np.inf)))
    state = stationary.stationary_state(beta, 3, 1.1 * threshold, branch.moment.values[nearest])
    assert float(loop.order_parameter.sel(start="clustered", ratio=1.1)) == pytest.approx(state[0], abs=1e-3)
    rate = noise.growth_rates(beta, 3, 1, diffusion=1.1 * threshold)[0]
    assert float(loop.order_parameter.sel(start="uniform", ratio=1.1)) == pytest.approx(0.05 * np.exp(rate * 6.0),
                                                                                      rel=0.02)
