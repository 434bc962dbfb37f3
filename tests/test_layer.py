"""One discrete attention layer (attnflow.layer) and its long-context theory (theory/long_context.py)."""

import math

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow import layer
from attnflow.errors import ParameterError
from attnflow.experiments.long_context import equiangular_tokens, read_off_limit
from attnflow.theory import long_context as lc


def _slow_layer(x, beta, kind, norm, h=1.0):
    """Straight from docs/science.md §1, one token at a time."""
    n = x.shape[0]
    theta = x / np.linalg.norm(x, axis=1, keepdims=True)
    out = np.empty_like(x)
    for i in range(n):
        w = np.array([math.exp(beta * theta[i] @ theta[j]) for j in range(n)])
        w = w / (w.sum() if kind == "sa" else n)
        a = w @ theta
        step = {"post": a, "pre": a, "ngpt": a / np.linalg.norm(a) - x[i], "peri": a / np.linalg.norm(a)}[norm]
        y = x[i] + h * step
        out[i] = y / np.linalg.norm(y)
    return out


@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("norm", ["pre", "post", "ngpt", "peri"])
def test_layer_against_a_slow_loop(kind, norm):
    x = af.init.uniform(9, 4, seed=5)
    if norm in ("pre", "peri"):
        x = x * np.linspace(0.5, 2.0, 9)[:, None]
    np.testing.assert_allclose(layer.attention(x, 1.7, kind, norm, h=0.6), _slow_layer(x, 1.7, kind, norm, 0.6),
                               atol=1e-13)


def test_layer_is_the_euler_step_of_the_ode_for_small_h():
    x = af.init.uniform(6, 3, seed=2)
    h = 1e-6
    v = af.velocity(af.Model(kind="sa", beta=2.0, dim=3), x)
    np.testing.assert_allclose((layer.attention(x, 2.0, "sa", "post", h=h) - x) / h, v, atol=1e-5)


def test_layer_keeps_torch_and_returns_unit_vectors():
    x = torch.as_tensor(af.init.uniform(5, 3, seed=0))
    y = layer.attention(x, 1.0)
    assert isinstance(y, torch.Tensor)
    np.testing.assert_allclose(torch.linalg.vector_norm(y, dim=1).numpy(), 1.0, atol=1e-14)


def test_layer_bad_input():
    with pytest.raises(ParameterError, match="norm"):
        layer.attention(np.eye(3), 1.0, norm="mid")
    with pytest.raises(ParameterError, match="x="):
        layer.attention(2 * np.eye(3), 1.0, norm="post")
    with pytest.raises(ParameterError, match="beta"):
        layer.attention(np.eye(3), -1.0)


@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("beta", [0.3, 4.0, 25.0])
def test_gram_formula_matches_the_layer_on_equiangular_tokens(kind, beta):
    n, rho = 40, 0.3
    y = layer.attention(equiangular_tokens(n, rho), beta, kind)
    gram = y @ y.T
    assert np.abs(gram[~np.eye(n, dtype=bool)] - lc.layer_inner_product(n, rho, beta, kind)).max() < 1e-13


@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_three_distinct_limits(kind):
    rho = 0.4
    gamma_c = lc.critical_gamma(rho)
    assert gamma_c == pytest.approx(1 / 0.6)
    limits = [lc.limit(rho, g, kind) for g in (0.5 * gamma_c, gamma_c, 2 * gamma_c)]
    assert len({round(v, 6) for v in limits}) == 3
    assert limits[2] == pytest.approx(rho)
    for g, expected in zip((0.5 * gamma_c, gamma_c, 2 * gamma_c), limits):
        assert float(lc.long_context_inner_product(1e14, rho, g, kind)) == pytest.approx(expected, abs=2e-3)
    if kind == "sa":
        assert limits == pytest.approx([4 * rho / (1 + 3 * rho), 16 * rho / (9 + 7 * rho), rho])


def test_read_off_limit_recovers_a_power_law():
    n = np.logspace(2, 5, 13)
    limit, p = read_off_limit(n, 0.7 + 0.3 * n ** -0.5)
    assert limit == pytest.approx(0.7, abs=1e-8) and p == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("norm", ["post", "ngpt"])
def test_velocity_is_the_small_h_limit_of_the_layer(norm):
    x = af.init.uniform(7, 5, seed=4)
    h = 1e-7
    v = af.velocity(af.Model(kind="usa", beta=1.3, dim=5, norm=norm), x)
    np.testing.assert_allclose((layer.attention(x, 1.3, "usa", norm, h=h) - x) / h, v, atol=2e-5)
