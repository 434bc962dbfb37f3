"""The mean-field PDE on the circle (attnflow.pde): closed forms, independent sums, properties."""

import numpy as np
import pytest

import attnflow as af
from attnflow import pde
from attnflow.errors import ParameterError
from attnflow.pde import initial
from attnflow.pde.geometry import Circle, Sphere, Zonal, geometry_for, grid
from attnflow.pde.kernels import Kernel


def direct_field(kind, beta, theta, f, points=20000):
    """v (or v/w for SA) at theta by a fine rectangle rule on the smooth density f (independent)."""
    tf = (np.arange(points) + 0.5) * 2 * np.pi / points
    rho = f(tf)
    d = theta[:, None] - tf[None, :]
    weight = np.exp(beta * np.cos(d)) * rho
    v = -(weight * np.sin(d)).sum(1) * 2 * np.pi / points
    return v if kind == "usa" else v / (weight.sum(1) * 2 * np.pi / points)


@pytest.mark.parametrize("kind", ["usa", "sa"])
@pytest.mark.parametrize("beta", [0.0, 1.0, 5.0, 9.0])
def test_fourier_velocity_matches_direct_integral(kind, beta):
    def f(t):
        return (1 + 0.3 * np.cos(2 * t) + 0.2 * np.sin(5 * t + 1)) / (2 * np.pi)
    n = 64
    theta = grid(n)
    kernel = Kernel.build(kind, beta, n)
    scale = max(1.0, np.exp(beta)) if kind == "usa" else 1.0
    for shift in (0.0, np.pi / n, 0.3):
        assert np.abs(kernel.field(f(theta), shift=shift) - direct_field(kind, beta, theta + shift, f)).max() \
            < 1e-12 * scale


@pytest.mark.parametrize("beta, t_end", [(5.0, 0.1), (7.0, 0.03)])
@pytest.mark.parametrize("method", ["spectral", "fv"])
def test_linear_growth_rates_within_two_percent(beta, t_end, method):
    """|mu_k| of uniform + 1e-9 cos(k theta) grows like e^{gamma_k t}, gamma_k = k^2 I_k(beta)/beta."""
    model = af.Model("usa", beta, 2)
    ds = pde.solve(model, initial.uniform_modes(128, [1e-9] * 6), t_end, method=method, save_every=t_end,
                   observe_every=t_end / 10, kmax=6)
    rates = np.polyfit(ds.obs_time.values, np.log(ds.mode_amplitude.values), 1)[0]
    expected = af.theory.growth_rates(beta, 2, 6, "usa")
    assert np.abs(rates / expected - 1).max() < 0.02
    if method == "spectral":
        assert np.abs(rates / expected - 1).max() < 1e-4


def test_diffusion_growth_rates():
    """Diffusion D subtracts D k^2 from gamma_k."""
    beta, diffusion = 5.0, 0.3
    rho0 = initial.uniform_modes(64, [1e-9] * 5)
    noisy = pde.solve(af.Model("usa", beta, 2, diffusion=diffusion), rho0, 0.1, method="spectral",
                      save_every=0.1, kmax=5)
    rates = np.polyfit(noisy.obs_time.values, np.log(noisy.mode_amplitude.values), 1)[0]
    k = np.arange(1, 6)
    assert np.allclose(rates, af.theory.growth_rates(beta, 2, 5, "usa") - diffusion * k**2, rtol=1e-4)


@pytest.mark.parametrize("method", ["fv", "spectral"])
def test_diffusion_alone_damps_mode_k_like_exp_minus_d_k_squared(method):
    """beta = 0: gamma_k = 0 for k >= 2, so with D the k-th mode decays like e^{-D k^2 t} (closed form)."""
    diffusion, t_end = 0.05, 0.2
    rho0 = initial.uniform_modes(256, [0.0, 0.1, 0.1])
    ds = pde.solve(af.Model("usa", 0.0, 2, diffusion=diffusion), rho0, t_end, method=method, save_every=t_end,
                   kmax=3)
    k = np.array([2, 3])
    expected = 0.1 * np.exp(-diffusion * k**2 * t_end)
    assert np.allclose(ds.mode_amplitude.values[-1, 1:], expected, rtol=1e-3 if method == "fv" else 1e-8)
    assert ds.attrs["min_density"] >= 0 and abs(ds.mass.values - 1).max() < 1e-12


@pytest.mark.parametrize("method", ["spectral", "fv"])
def test_sa_growth_rates(method):
    ds = pde.solve(af.Model("sa", 5.0, 2), initial.uniform_modes(128, [1e-9] * 6), 0.5, method=method,
                   save_every=0.5, kmax=6)
    rates = np.polyfit(ds.obs_time.values, np.log(ds.mode_amplitude.values), 1)[0]
    assert np.abs(rates / af.theory.growth_rates(5.0, 2, 6, "sa") - 1).max() < 0.02


def test_finite_volume_keeps_mass_and_positivity_through_clustering():
    model = af.Model("usa", 5.0, 2)
    rho0 = initial.uniform_noise(512, sigma=0.01, seed=3)
    ds = pde.solve(model, rho0, 0.5, method="fv", save_every=0.05, observe_every=0.005)
    assert np.abs(ds.mass.values - 1).max() < 1e-12
    assert ds.attrs["min_density"] >= 0 and (ds.density.values >= 0).all()
    assert ds.density.values[-1].max() > 20 / (2 * np.pi)  # it did cluster: peaks far above uniform
    assert int(np.argmax(ds.mode_amplitude.values[-1])) + 1 >= 2


def test_spectral_mass_is_exact():
    rho0 = initial.uniform_noise(256, sigma=0.01, seed=1)
    ds = pde.solve(af.Model("usa", 5.0, 2), rho0, 0.2, method="spectral", save_every=0.1)
    assert np.abs(ds.mass.values - 1).max() < 1e-12


def smooth_start(n):
    return initial.uniform_modes(n, [0.05, 0.1, 0.1, 0.05], phases=[0.3, 1.0, 2.0, 0.5])


def final_density(method, n, t_end, beta=5.0, **options):
    ds = pde.solve(af.Model("usa", beta, 2), smooth_start(n), t_end, method=method, save_every=t_end, **options)
    return ds.density.values[-1]


def coarsened_error(rho, reference):
    """L1 error of cell averages against a finer reference averaged onto the same cells."""
    factor = len(reference) // len(rho)
    return np.abs(rho - reference.reshape(-1, factor).mean(1)).sum() * 2 * np.pi / len(rho)


def test_spectral_and_finite_volume_agree_while_smooth():
    spectral = final_density("spectral", 256, 0.1)
    fv = final_density("fv", 1024, 0.1)
    assert np.abs(fv.reshape(-1, 4).mean(1) - _cell_averages(spectral, 256)).max() < 2e-3


def test_convergence_orders():
    """Spectral: exponential; finite volumes: second order; Lax–Friedrichs: first order (smooth phase)."""
    t_end = 0.08
    reference = final_density("spectral", 1024, t_end, rtol=1e-11, atol=1e-13)
    spectral = [np.abs(final_density("spectral", n, t_end, rtol=1e-11, atol=1e-13) - _sample(reference, n)).max()
                for n in (32, 64, 128)]
    assert spectral[0] / spectral[1] > 10 and spectral[1] / spectral[2] > 100  # faster than any power
    assert spectral[2] < 1e-5
    fine = _cell_averages(reference, 1024)
    fv = [coarsened_error(final_density("fv", n, t_end), fine) for n in (64, 128, 256)]
    orders = np.log2(np.array(fv[:-1]) / np.array(fv[1:]))
    assert orders.min() > 1.7
    lf = [coarsened_error(final_density("lax-friedrichs", n, t_end, courant=0.2, convolution="fft"), fine)
          for n in (256, 512, 1024)]
    orders = np.log2(np.array(lf[:-1]) / np.array(lf[1:]))
    assert 0.75 < orders.min() and orders.max() < 1.25


def _sample(reference, n):
    """The spectral reference (a trigonometric polynomial) evaluated at the n-point grid."""
    m = len(reference)
    c = np.fft.rfft(reference) / m * np.exp(-1j * np.pi * np.arange(m // 2 + 1) / m)
    theta = grid(n)
    k = np.arange(1, m // 2)
    return (c[0] + 2 * np.real(c[1:m // 2, None] * np.exp(1j * k[:, None] * theta[None, :])).sum(0)).real


def _cell_averages(reference, m):
    """Exact cell averages of the trigonometric polynomial through the reference values (sinc factor)."""
    c = np.fft.rfft(reference) * np.sinc(np.arange(m // 2 + 1) / m)
    return np.fft.irfft(c, m)


def test_lax_friedrichs_direct_sum_equals_fft_and_a_handwritten_step():
    model = af.Model("usa", 5.0, 2)
    rho0 = initial.uniform_noise(96, sigma=0.01, seed=2)
    direct = pde.solve(model, rho0, 0.02, method="lax-friedrichs", save_every=0.02).density.values[-1]
    by_fft = pde.solve(model, rho0, 0.02, method="lax-friedrichs", save_every=0.02,
                       convolution="fft").density.values[-1]
    assert np.abs(direct - by_fft).max() < 1e-12
    # one step written out with loops
    n, dx = 96, 2 * np.pi / 96
    theta = grid(n)
    v = np.array([-sum(np.exp(5 * np.cos(theta[i] - theta[j])) * np.sin(theta[i] - theta[j]) * rho0[j] * dx
                       for j in range(n)) for i in range(n)])
    dt = 0.02 * dx
    f = rho0 * v
    expected = np.array([(rho0[(i + 1) % n] + rho0[i - 1]) / 2 - dt / (2 * dx) * (f[(i + 1) % n] - f[i - 1])
                         for i in range(n)])
    one = pde.solve(model, rho0, dt, method="lax-friedrichs", save_every=dt, observe_every=dt)
    assert np.abs(one.density.values[-1] - expected).max() < 1e-12


def test_initial_densities():
    for rho in (initial.uniform_noise(100, 0.01, seed=0), initial.uniform_modes(100, [0.1, 0.2]),
                initial.from_function(100, lambda t: 1 + np.cos(t)), initial.from_array(np.arange(1, 101))):
        assert abs(Circle(100).mass(rho) - 1) < 1e-13
    assert np.allclose(Circle(64).mode_amplitudes(initial.uniform_modes(64, [0.1, 0.2], phases=[1.0, 2.0]), 3),
                       [0.1, 0.2, 0.0], atol=1e-14)
    # the same noise function on every grid when it is drawn on a fixed coarser grid
    a = initial.uniform_noise(64, 0.01, seed=5, noise_points=40)
    b = initial.uniform_noise(256, 0.01, seed=5, noise_points=40)
    assert np.allclose(Circle(64).mode_amplitudes(a, 19), Circle(256).mode_amplitudes(b, 19), atol=1e-14)
    assert Circle(256).mode_amplitudes(b, 30)[20:].max() < 1e-14
    assert not np.allclose(a[:8], initial.uniform_noise(64, 0.01, seed=6, noise_points=40)[:8])
    # samples follow the density: their first moments match |mu_k| within sampling error
    rho = initial.uniform_modes(128, [0.2, 0.1])
    theta = initial.sample(rho, 200_000, seed=0)
    mu = np.abs(np.exp(-1j * np.arange(1, 3)[:, None] * theta[None, :]).mean(1))
    assert np.allclose(mu, [0.2, 0.1], atol=0.01)
    estimate = initial.from_particles(theta, 128)
    assert abs(Circle(128).mass(estimate) - 1) < 1e-12 and (estimate >= 0).all()
    assert np.abs(estimate - rho).max() < 0.1 * rho.max()


def test_wasserstein1_closed_forms():
    w1 = pde.wasserstein1
    assert w1({"particles": [0.1]}, {"particles": [6.0]}) == pytest.approx(2 * np.pi - 5.9, abs=1e-14)
    uniform = np.full(64, 1 / (2 * np.pi))
    assert w1(uniform, {"particles": [1.234]}) == pytest.approx(np.pi / 2, rel=1e-12)
    n = 10
    assert w1(uniform, {"particles": grid(n)}) == pytest.approx(np.pi / (2 * n), rel=1e-12)
    eps, delta = 0.1, 1e-4
    a = initial.from_function(4096, lambda t: 1 + 2 * eps * np.cos(t))
    b = initial.from_function(4096, lambda t: 1 + 2 * eps * np.cos(t - delta))
    assert w1(a, b) == pytest.approx(4 * eps * delta / np.pi, rel=1e-3)
    assert w1(a, a) == 0.0


@pytest.mark.parametrize("call, name", [
    (lambda: pde.solve(af.Model("usa", 5.0, 2), initial.uniform_modes(64, [0.1]), 0.1, method="euler"), "method"),
    (lambda: pde.solve(af.Model("usa", 5.0, 4), initial.uniform_modes(64, [0.1]), 0.1), "dim"),
    (lambda: pde.solve(af.Model("usa", 5.0, 2), np.ones(64), 0.1), "density0"),
    (lambda: pde.solve(af.Model("usa", 5.0, 2), initial.uniform_modes(64, [0.6]), 0.1, method="fv"), "density0"),
    (lambda: pde.solve(af.Model("usa", 5.0, 2), initial.uniform_modes(64, [0.1]), 0.1, courant=0.1), "options"),
    (lambda: pde.solve(af.Model("usa", 5.0, 2), initial.uniform_modes(64, [0.1]), 0.1, cfl=2.0), "cfl"),
    (lambda: pde.solve(af.Model("usa", 5.0, 2), initial.uniform_modes(64, [0.1]), -1.0), "t_end"),
    (lambda: initial.uniform_noise(64, sigma=1.0), "sigma"),
    (lambda: pde.solve(af.Model("usa", 5.0, 2, diffusion=0.1), initial.uniform_modes(64, [0.1]), 0.1,
                       method="lax-friedrichs"), "diffusion"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ParameterError) as error:
        call()
    assert error.value.name == name


def test_spectral_under_resolution_is_an_error_or_a_warning_with_its_time():
    rho0 = pde.initial.uniform_noise(64, sigma=0.01, seed=0)
    model = af.Model("usa", 5.0, 2)
    with pytest.raises(pde.UnderResolvedError, match="t = "):
        pde.solve(model, rho0, 0.5, method="spectral")
    with pytest.warns(pde.UnderResolvedWarning, match="fv"):
        ds = pde.solve(model, rho0, 0.5, method="spectral", underresolved="warn")
    assert 0 < ds.attrs["underresolved_at"] < 0.5
    assert ds.attrs["min_density"] < -1e-3 * ds.density.values.max()
    fine = pde.solve(model, rho0, 0.2, method="fv")  # positive by construction: no such event
    assert fine.attrs["underresolved_at"] == "none"


def test_circle_geometry():
    """The circle's grid, quadrature weight and coordinate against closed forms; geometry_for picks the sphere for
    dim = 3 and refuses dim = 4 (without zonal=True) naming dim and the circle; the circle's solvers."""
    circle = Circle(16)
    assert np.allclose(circle.points, 2 * np.pi * (np.arange(16) + 0.5) / 16, rtol=0, atol=1e-15)
    assert circle.weight == pytest.approx(2 * np.pi / 16, rel=1e-15) and circle.max_modes == 8
    assert list(circle.coords) == list(circle.dims) == ["angle"]
    # the rectangle rule integrates trigonometric polynomials of degree < N exactly
    values = 3 + np.cos(5 * circle.points) - 2 * np.sin(7 * circle.points)
    assert circle.mass(values) == pytest.approx(6 * np.pi, rel=1e-14)
    assert np.allclose(circle.mass(np.stack([values, 2 * values])), [6 * np.pi, 12 * np.pi], rtol=1e-14)
    geometry, rho = Circle.from_density(np.full(16, 1 / (2 * np.pi)), "fv")
    assert geometry == circle and rho.dtype == np.float64
    assert geometry_for(af.Model("usa", 1.0, 2)) is Circle
    assert geometry_for(af.Model("usa", 1.0, 3)) is Sphere and geometry_for(af.Model("usa", 1.0, 4), zonal=True) is Zonal
    with pytest.raises(ParameterError, match="dim=4.*circle"):
        geometry_for(af.Model("usa", 1.0, 4))
    assert [name for name, solver in pde.SOLVERS.items() if "circle" in solver.geometries] == [
        "spectral", "fv", "lax-friedrichs"]
