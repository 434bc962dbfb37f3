"""The S^2 solver (attnflow.pde.sphere, torch-harmonics) against closed forms and independent computations: the
transforms' round trip, mass, gamma_l(beta, 3), the zonal solver on axially symmetric data, rotation invariance
(evaluated by scipy's spherical harmonics), the initial densities and the detection of under-resolution."""

import sys

import numpy as np
import pytest
import torch
from scipy.special import eval_legendre, sph_harm_y

import attnflow as af
from attnflow import pde
from attnflow.pde import initial
from attnflow.pde.geometry import Sphere

pytest.importorskip("torch_harmonics")
from attnflow.pde.sht import power, transforms  # noqa: E402


def synthesis(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    """f(x) = sum_l (c_l0 Y_l0 + 2 Re sum_{m>0} c_lm Y_lm) by scipy's Y_lm (orthonormal on dA, Condon–Shortley)."""
    theta, phi = np.arccos(np.clip(x[..., 2], -1, 1)), np.arctan2(x[..., 1], x[..., 0])
    total = np.zeros(x.shape[:-1])
    for l in range(coefficients.shape[0]):
        for m in range(l + 1):
            term = coefficients[l, m] * sph_harm_y(l, m, theta, phi)
            total += term.real if m == 0 else 2 * term.real
    return total


def test_transforms_round_trip_band_limited_fields():
    rng = np.random.default_rng(0)
    lmax = 20
    c = rng.standard_normal((lmax, lmax)) + 1j * rng.standard_normal((lmax, lmax))
    c = np.tril(c)
    c[:, 0] = c[:, 0].real
    for nlat in (lmax, 31):
        t = transforms(nlat, 2 * nlat, lmax)
        back = t.forward(t.inverse(torch.as_tensor(c))).numpy()
        np.testing.assert_allclose(back, c, atol=1e-12)
    x = Sphere(lmax, 2 * lmax).points  # the convention: scipy's harmonics give the same field
    np.testing.assert_allclose(transforms(lmax, 2 * lmax, lmax).inverse(torch.as_tensor(c)).numpy(), synthesis(c, x),
                               atol=1e-11)


def test_quadrature_and_power_against_closed_forms():
    geometry = Sphere(12, 24)
    assert geometry.weights.sum() == pytest.approx(4 * np.pi, rel=1e-14)
    z = geometry.points[..., 2]
    assert geometry.mass(z**2) == pytest.approx(4 * np.pi / 3, rel=1e-14)
    axes = np.array([[0.0, 0, 1], [1, 1, 0], [0.2, -1, 0.4]])
    rho = initial.sphere_modes(12, [0.05, 0.02, 0.01], axes)
    np.testing.assert_allclose(geometry.mode_amplitudes(rho, 4), [0.05, 0.02, 0.01, 0.0], atol=1e-14)
    tokens = np.random.default_rng(1).standard_normal((50, 3))
    tokens /= np.linalg.norm(tokens, axis=1, keepdims=True)
    inner = tokens @ tokens.T  # S_l of a weighted sum of delta masses, by the addition theorem
    expected = [eval_legendre(l, inner).mean() for l in range(1, 6)]
    c = np.zeros((6, 6), dtype=complex)  # the coefficients of the empirical measure: conj Y_lm(x_i) / n
    theta, phi = np.arccos(tokens[:, 2]), np.arctan2(tokens[:, 1], tokens[:, 0])
    for l in range(6):
        for m in range(l + 1):
            c[l, m] = np.conj(sph_harm_y(l, m, theta, phi)).mean()
    np.testing.assert_allclose(power(torch.as_tensor(c))[1:], expected, atol=1e-13)


@pytest.mark.parametrize("kind,diffusion", [("usa", 0.0), ("sa", 0.1)])
def test_mass_is_conserved(kind, diffusion):
    rho0 = initial.sphere_noise(12, 0.02, seed=3)
    ds = pde.solve(af.Model(kind, 4.0, 3, diffusion=diffusion), rho0, 0.05 if kind == "usa" else 0.5)
    assert ds.density.dims == ("time", "lat", "lon") and ds.quadrature_weight.dims == ("lat", "lon")
    np.testing.assert_allclose(ds.mass.values, 1.0, atol=1e-12)
    assert float(np.abs(ds.density.isel(time=-1) - ds.density.isel(time=0)).max()) > 1e-3  # it moved


@pytest.mark.parametrize("beta,kind", [(3.0, "usa"), (6.0, "usa"), (6.0, "sa")])
def test_degree_l_grows_at_gamma_l(beta, kind):
    """A perturbation 1e-7 (2l + 1) P_l(<x, e>) about a tilted axis: sqrt(S_l) grows like e^{gamma_l t}."""
    rates = af.theory.growth_rates(beta, 3, 4, kind)
    axis = np.array([[0.3, 0.5, 0.8]] * 3)
    for l in (2, 3):
        amplitudes = np.zeros(l)
        amplitudes[-1] = 1e-7
        t_end = 0.2 / rates[l - 1]
        ds = pde.solve(af.Model(kind, beta, 3), initial.sphere_modes(12, amplitudes, axis[:l]), t_end,
                       save_every=t_end, observe_every=t_end / 4, kmax=4)
        a = ds.mode_amplitude.sel(mode=l).values
        assert abs(np.log(a[-1] / a[0]) / t_end / rates[l - 1] - 1) < 1e-3


@pytest.mark.parametrize("kind", ["usa", "sa"])
def test_axially_symmetric_data_follow_the_zonal_solver(kind):
    """rho(x) = f(z) on S^2 and f(t) zonally (d = 3): the same solution, 4 pi rho_S2 = rho_zonal at t = cos(colat)."""
    f = lambda t: np.exp(2 * t) * (1 + 0.3 * t**2) + 0.5  # noqa: E731
    nlat = 16
    model = af.Model(kind, 3.0, 3, diffusion=0.02)
    sphere = pde.solve(model, initial.sphere_function(nlat, lambda x: f(x[..., 2])), 0.1, rtol=1e-10, atol=1e-12)
    zonal = pde.solve(model, initial.zonal_function(nlat, 3, f), 0.1, zonal=True, rtol=1e-10, atol=1e-12)
    final = sphere.density.isel(time=-1).values
    assert np.abs(final - final[:, :1]).max() < 1e-12  # still axially symmetric
    np.testing.assert_allclose(4 * np.pi * final[::-1, 0], zonal.density.isel(time=-1).values, atol=1e-8)
    np.testing.assert_allclose(sphere.mode_amplitude.values, zonal.mode_amplitude.values, atol=1e-10)


def test_rotation_invariance():
    """Rotate the initial density (the analytic function at R^T x), solve, compare with the solution at R^T x."""
    rng = np.random.default_rng(2)
    rotation, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    centres = np.array([[0.0, 0, 1], [1, 0, 0], [0, 0.6, -0.8]])
    f = lambda x: sum(np.exp(2.0 * (x @ c - 1)) * w for c, w in zip(centres, (1.0, 0.7, 0.4)))  # noqa: E731
    nlat = 14
    model = af.Model("usa", 3.0, 3)
    ds = pde.solve(model, initial.sphere_function(nlat, f), 0.1, rtol=1e-11, atol=1e-13)
    rotated = pde.solve(model, initial.sphere_function(nlat, lambda x: f(x @ rotation)), 0.1, rtol=1e-11,
                        atol=1e-13)
    geometry = Sphere(nlat, 2 * nlat)
    coefficients = geometry.coefficients(ds.density.isel(time=-1).values).numpy()
    expected = synthesis(coefficients, geometry.points @ rotation)  # rho_t(R^T x)
    assert np.abs(ds.density.isel(time=-1) - ds.density.isel(time=0)).max() > 1e-2
    np.testing.assert_allclose(rotated.density.isel(time=-1).values, expected, atol=1e-8)


def test_sharpening_clusters_are_detected():
    """Clusters sharper than the band limit: an UnderResolvedError naming the time, or the time in the attributes."""
    rho0 = initial.sphere_modes(8, [0.0, 0.0, 0.05])
    model = af.Model("usa", 6.0, 3)
    with pytest.raises(pde.UnderResolvedError, match=r"at t = "):
        pde.solve(model, rho0, 1.0)
    with pytest.warns(pde.UnderResolvedWarning):
        ds = pde.solve(model, rho0, 0.1, underresolved="warn")
    assert 0 < ds.attrs["underresolved_at"] <= 0.1 and ds.attrs["min_density"] < 0


def test_initial_densities():
    geometry = Sphere(16, 32)
    first, finer = initial.sphere_noise(16, 0.02, seed=4, lmax=10), initial.sphere_noise(24, 0.02, seed=4, lmax=10)
    np.testing.assert_allclose(geometry.coefficients(first).numpy(),
                               Sphere(24, 48).coefficients(finer).numpy()[:16, :16], atol=1e-14)
    tokens = np.random.default_rng(5).standard_normal((300, 3))
    smooth = initial.sphere_from_particles(tokens, 16, kappa=8.0)
    assert smooth.min() > 0 and geometry.mass(smooth) == pytest.approx(1, abs=1e-14)
    x = geometry.points  # one token: the von Mises–Fisher density itself, normalised on the grid
    single = initial.sphere_from_particles([[0, 0, 2.0]], 16, kappa=8.0)
    np.testing.assert_allclose(single, 8 * np.exp(8 * (x[..., 2] - 1)) / (2 * np.pi * (1 - np.exp(-16))), rtol=1e-10)
    samples = initial.sphere_sample(lambda x: 1 + 0.5 * x[:, 2], 1.5, 40_000, seed=0)
    assert samples[:, 2].mean() == pytest.approx(0.5 / 3, abs=0.01)  # E z = ∫ z (1 + z/2) dA / 4 pi


def test_sphere_refuses_bad_input_and_explains_a_missing_torch_harmonics(monkeypatch):
    model = af.Model("usa", 4.0, 3)
    with pytest.raises(af.errors.ParameterError, match="density0"):
        pde.solve(model, np.ones((8, 8)) / (4 * np.pi), 0.1)
    with pytest.raises(af.errors.ParameterError, match="method"):
        pde.solve(model, initial.sphere_modes(8, [0.1]), 0.1, method="fv")
    with pytest.raises(af.errors.ParameterError, match="dim"):
        pde.solve(af.Model("usa", 4.0, 4), np.ones(8), 0.1)
    with pytest.raises(af.errors.ParameterError, match="device"):
        pde.solve(model, initial.sphere_modes(8, [0.1]), 0.1, device="gpu7")
    monkeypatch.setitem(sys.modules, "torch_harmonics", None)
    transforms.cache_clear()
    with pytest.raises(af.errors.AttnflowError, match="attnflow\\[sphere\\]"):
        pde.solve(model, initial.sphere_modes(8, [0.1]), 0.1)
    transforms.cache_clear()
