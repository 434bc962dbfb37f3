"""Normalisation schemes (attnflow.normalization, docs/science.md §1): each scheme's ODE against a plain
computation, the discrete layer against the ODE, the manifolds, and Peri-LN through the public surface."""

import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import attnflow as af
from attnflow import layer
from attnflow.cli import app
from attnflow.errors import ParameterError
from attnflow.interaction import choose_engine
from attnflow.normalization import NORMALIZATIONS, NORMS

ON_SPHERE = {"post": True, "pre": False, "ngpt": True, "peri": False}


def plain_attention(kind, beta, y, Q, K, V):
    """A_i = sum_j w_ij V y_j with w_ij = e^{beta <Q y_i, K y_j>} / Z_i, one pair at a time."""
    n, d = y.shape
    out = np.zeros((n, d))
    for i in range(n):
        w = np.array([math.exp(beta * (Q @ y[i]) @ (K @ y[j])) for j in range(n)])
        z = w.sum() if kind == "sa" else n
        for j in range(n):
            out[i] += w[j] * (V @ y[j]) / z
    return out


def plain_velocity(kind, beta, x, Q, K, V, norm):
    """docs/science.md §1: post P_x A(x); pre A(x/|x|); ngpt P_x A/|A|; peri A(x/|x|)/|A(x/|x|)|."""
    directions = x / np.linalg.norm(x, axis=1, keepdims=True)
    a = plain_attention(kind, beta, x if ON_SPHERE[norm] else directions, Q, K, V)
    if norm in ("ngpt", "peri"):
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
    if ON_SPHERE[norm]:
        a = a - (a * x).sum(1, keepdims=True) * x
    return a


def tokens(norm, n, d, seed):
    x = af.init.uniform(n, d, seed=seed)
    return x if ON_SPHERE[norm] else x * np.random.default_rng(seed).uniform(0.5, 2.0, size=(n, 1))


def test_the_registry_names_every_scheme_once():
    assert set(NORMS) == set(ON_SPHERE) and NORMS == tuple(NORMALIZATIONS)
    for name, scheme in NORMALIZATIONS.items():
        assert scheme.name == name and scheme.on_sphere == ON_SPHERE[name] and scheme.summary


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_velocity_is_the_schemes_formula(norm, kind):
    d = 4
    rng = np.random.default_rng(3)
    Q, K, V = (np.eye(d) + 0.4 * rng.standard_normal((d, d)) for _ in range(3))
    x = tokens(norm, 25, d, seed=1)
    v = af.velocity(af.Model(kind, 1.7, d, Q=Q, K=K, V=V, norm=norm), x)
    np.testing.assert_allclose(v, plain_velocity(kind, 1.7, x, Q, K, V, norm), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("norm", NORMS)
def test_layer_tends_to_the_ode_at_first_order_in_h(norm):
    """(layer(x, h) - x)/h -> dx/dt on unit tokens; the layer returns directions, so in R^d the limit is
    the motion of the direction, P_x dx/dt (|x| = 1). The error halves with h."""
    x = af.init.uniform(8, 3, seed=2)
    v = plain_velocity("sa", 2.0, x, np.eye(3), np.eye(3), np.eye(3), norm)
    expected = v - (v * x).sum(1, keepdims=True) * x
    errors = [np.abs((layer.attention(x, 2.0, "sa", norm, h=h) - x) / h - expected).max() for h in (1e-3, 5e-4)]
    assert errors[0] < 1e-2
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("norm", NORMS)
def test_update_of_the_scheme_tends_to_its_velocity(norm):
    """The scheme's own layer map on tokens in its manifold (off the unit sphere for R^d schemes)."""
    scheme = NORMALIZATIONS[norm]
    x = torch.as_tensor(tokens(norm, 10, 3, seed=4))
    output = torch.as_tensor(plain_attention("usa", 1.0, scheme.directions(x).numpy(), *[np.eye(3)] * 3))
    v = plain_velocity("usa", 1.0, x.numpy(), *[np.eye(3)] * 3, norm)
    errors = [np.abs(((scheme.layer(x, output, h) - x) / h).numpy() - v).max() for h in (1e-3, 5e-4)]
    assert errors[0] < 1e-2
    if ON_SPHERE[norm]:
        assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.05)
    else:  # x + h (velocity): exact
        assert errors[1] < 1e-12


def test_peri_ln_velocity_has_unit_norm():
    for seed in range(3):
        x = tokens("peri", 40, 5, seed)
        for kind in ("sa", "usa"):
            v = af.velocity(af.Model(kind, 3.0, 5, norm="peri"), x)
            np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-14)


@pytest.mark.parametrize("norm", ["post", "ngpt"])
@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
def test_sphere_schemes_keep_tokens_on_the_sphere(norm, method):
    ds = af.simulate(af.Model("usa", 2.0, 3, norm=norm), af.init.uniform(30, 3, seed=5), 1.0,
                     dt=0.01 if method != "dopri5" else None, method=method, save_every=0.25, observables=())
    assert np.abs(np.linalg.norm(ds.x.values, axis=-1) - 1).max() < 1e-12


def test_peri_ln_simulation_is_the_plain_euler_loop():
    """x <- x + dt A(theta)/|A(theta)|, theta = x/|x| (docs/science.md §1), with the dense engine."""
    beta, dt, steps = 1.5, 1e-2, 30
    x = af.init.uniform(20, 3, seed=6)
    x0, eye = x.copy(), np.eye(3)
    for _ in range(steps):
        x = x + dt * plain_velocity("sa", beta, x, eye, eye, eye, "peri")
    ds = af.simulate(af.Model("sa", beta, 3, norm="peri"), x0, steps * dt, dt=dt, method="euler",
                     save_every=steps * dt, observables=())
    assert ds.attrs["norm"] == "peri" and ds.attrs["engine"] == "dense"
    assert np.abs(ds.x.isel(time=-1).values - x).max() < 1e-12
    assert np.linalg.norm(x, axis=1).min() > 1.1  # the tokens left the sphere


def test_only_post_ln_has_the_circle_engine_and_only_the_sphere_has_noise():
    for norm in NORMS:
        assert choose_engine(af.Model("sa", 1.0, 2, norm=norm)) == ("circle" if norm == "post" else "dense")
        if ON_SPHERE[norm]:
            af.Model("sa", 1.0, 3, norm=norm, diffusion=0.1)
        else:
            with pytest.raises(ParameterError, match="diffusion"):
                af.Model("sa", 1.0, 3, norm=norm, diffusion=0.1)


def test_manifold_geometry():
    x = torch.as_tensor(tokens("pre", 6, 3, seed=7))
    v = torch.as_tensor(np.random.default_rng(7).standard_normal((6, 3)))
    free, sphere = NORMALIZATIONS["peri"], NORMALIZATIONS["post"]
    assert torch.equal(free.geodesic(x, v, 0.1), x + 0.1 * v) and torch.equal(free.retract(x), x)
    torch.testing.assert_close(free.size(x), torch.linalg.vector_norm(x, dim=1))
    unit = x / torch.linalg.vector_norm(x, dim=1, keepdim=True)
    torch.testing.assert_close(sphere.retract(x), unit)
    tangent = v - (v * unit).sum(1, keepdim=True) * unit
    moved = sphere.geodesic(unit, tangent, 0.3)
    torch.testing.assert_close(torch.linalg.vector_norm(moved, dim=1), torch.ones(6, dtype=x.dtype))
    angle = torch.arccos((moved * unit).sum(1).clamp(-1, 1))  # a great-circle arc of length h |v|
    torch.testing.assert_close(angle, 0.3 * torch.linalg.vector_norm(tangent, dim=1))
    torch.testing.assert_close(sphere.size(x), torch.ones(6, dtype=x.dtype))


def test_theory_refuses_peri_ln_saying_why():
    from attnflow.theory import equiangular, rates
    with pytest.raises(ParameterError, match="not derived for peri"):
        equiangular.rate(0.1, 5, 1.0, "sa", "peri")
    with pytest.raises(ParameterError, match="polynomially"):
        rates.point_mass_rate(1.0, "sa", "peri")


def test_cli_runs_peri_ln(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--norm", "peri", "--dim", "3", "--n", "30", "--t-end", "0.1",
                                      "--dt", "0.01", "--method", "euler", "--out", str(tmp_path / "peri.nc")])
    assert result.exit_code == 0, result.output
    ds = af.load(tmp_path / "peri.nc")
    assert ds.attrs["norm"] == "peri" and np.linalg.norm(ds.x.values[-1], axis=1).min() > 1.0
