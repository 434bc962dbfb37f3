"""The fused CPU kernel of the dense attention (interaction/dense_kernel.py) against the blocked PyTorch
path and a slow, obvious double loop of docs/science.md §1."""

import math

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow import sphere
from attnflow.interaction import dense, dense_kernel

TOLERANCE = 1e-13  # relative, float64


def slow_attention(kind, beta, x, Q=None, K=None, V=None):
    """A_i = sum_j e^{beta <Q x_i, K x_j> - s_i} V x_j / Z_i with s_i the row maximum, token by token."""
    n, d = x.shape
    Q = np.eye(d) if Q is None else Q
    K = np.eye(d) if K is None else K
    V = np.eye(d) if V is None else V
    out = np.zeros((n, V.shape[0]))
    for i in range(n):
        q = Q @ x[i]
        logits = [beta * float(q @ (K @ x[j])) for j in range(n)]
        shift = max(logits)
        weights = [math.exp(logit - shift) for logit in logits]
        total = sum(weights[j] * (V @ x[j]) for j in range(n))
        out[i] = total / sum(weights) if kind == "sa" else total * (math.exp(shift) / n)
    return out


def relative(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def tokens(n, d=3, seed=0, dtype=torch.float64):
    return sphere.uniform(n, d, torch.Generator().manual_seed(seed), dtype=dtype)


def parameters(d, seed):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal((d, d)) / math.sqrt(d) for _ in range(3))


CASES = [(kind, beta) for kind in ("sa", "usa") for beta in (0.0, 1.0, 5.0, 30.0)] + \
        [("sa", 100.0), ("sa", 500.0)]


@pytest.mark.parametrize("n", [1, 2, 37, 200])
@pytest.mark.parametrize("kind, beta", CASES)
@pytest.mark.parametrize("random_parameters", [False, True])
def test_kernel_matches_torch_path_and_double_loop(n, kind, beta, random_parameters):
    x = tokens(n, seed=n)
    Q, K, V = parameters(3, n) if random_parameters else (None, None, None)
    kernel = dense.attention(kind, beta, x, Q, K, V, kernel=True)
    blocked = dense.attention(kind, beta, x, Q, K, V, kernel=False)
    assert kernel.dtype == torch.float64 and kernel.shape == (n, 3)
    assert relative(kernel, blocked) <= TOLERANCE
    if n <= 37 or beta in (5.0, 500.0):  # the double loop at n = 200 is slow: two betas
        reference = slow_attention(kind, beta, x.numpy(), Q, K, V)
        assert relative(kernel, reference) <= TOLERANCE
        assert relative(blocked, reference) <= TOLERANCE


def test_kernel_is_the_default_for_small_cpu_systems(monkeypatch):
    x = tokens(30)
    calls = []
    original = dense_kernel.attention
    monkeypatch.setattr(dense_kernel, "attention", lambda *a: calls.append(1) or original(*a))
    dense.attention("sa", 1.0, x)
    dense.attention("sa", 1.0, x.float())
    assert len(calls) == 2
    dense.attention("sa", 1.0, x, kernel=False)
    dense.attention("sa", 1.0, x.requires_grad_())
    monkeypatch.setattr(dense, "KERNEL_MAX_PAIRS", 29 * 29)
    dense.attention("sa", 1.0, x.detach())
    assert len(calls) == 2


def test_other_dim_and_float32():
    x = tokens(50, d=4, seed=3)
    V = np.random.default_rng(1).standard_normal((4, 4))
    for kind in ("sa", "usa"):
        out = dense.attention(kind, 3.0, x, None, None, V, kernel=True)
        assert out.shape == (50, 4)
        assert relative(out, dense.attention(kind, 3.0, x, None, None, V, kernel=False)) <= TOLERANCE
        single = dense.attention(kind, 3.0, x.float(), None, None, V, kernel=True)
        assert single.dtype == torch.float32
        assert relative(single, dense.attention(kind, 3.0, x.float(), None, None, V, kernel=False)) <= 1e-5


@pytest.mark.parametrize("norm", ["post", "pre", "ngpt"])
@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("random_parameters", [False, True])
def test_velocity_through_kernel_matches_torch_path(monkeypatch, norm, kind, random_parameters):
    Q, K, V = parameters(3, 7) if random_parameters else (None, None, None)
    model = af.Model(kind, 4.0, 3, Q=Q, K=K, V=V, norm=norm)
    x = tokens(200, seed=5)
    if norm == "pre":
        x = x * torch.linspace(0.5, 2.0, 200, dtype=torch.float64)[:, None]
    kernel = af.velocity(model, x, engine="dense")
    monkeypatch.setattr(dense, "KERNEL_MAX_PAIRS", 0)
    blocked = af.velocity(model, x, engine="dense")
    assert relative(kernel, blocked) <= TOLERANCE
    numpy_kernel = af.velocity(model, x.numpy(), engine="dense")
    assert isinstance(numpy_kernel, np.ndarray)


def test_large_beta_stays_finite():
    x = tokens(64, seed=2)
    for beta in (1e3, 1e5):
        out = dense.attention("sa", beta, x, kernel=True)
        assert bool(torch.isfinite(out).all())
        assert relative(out, dense.attention("sa", beta, x, kernel=False)) <= TOLERANCE


def test_exponential_against_libm():
    t = np.concatenate([-np.logspace(-20, math.log10(750.0), 20001), [0.0, 1e-16, -708.4, -709.9, -744.0,
                                                                        -745.13, -745.2, -800.0]])
    out = t.copy()
    scratch = [np.empty_like(t) for _ in range(4)]
    dense_kernel._exponentials(out, len(t), len(t), 1.0, 0.0, *scratch)
    reference = np.exp(t)
    normal = reference >= np.finfo(np.float64).tiny
    assert np.abs(out[normal] - reference[normal]).max() <= 4e-16 * 1.0
    assert (np.abs(out[normal] / reference[normal] - 1) <= 4e-16).all()
    assert (np.abs(out[~normal] - reference[~normal]) <= 2 * 2.0**-1074).all()  # subnormals to the last bit
    assert out[-1] == 0.0


@pytest.mark.parametrize("n", [1, 8, 37, 200])
@pytest.mark.parametrize("dv", [1, 3, 8, 33])
def test_the_two_summation_loops_agree_bitwise(n, dv):
    """Lanes innermost (narrow values) and components innermost (d_v >= WIDE): the same partial sums in the same
    order, so the same bits; both the exact sums (math.fsum) to rounding."""
    rng = np.random.default_rng(n * 100 + dv)
    padded = (n + dense_kernel.LANES - 1) // dense_kernel.LANES * dense_kernel.LANES
    t, values = np.zeros(padded), rng.standard_normal((n, dv))
    t[:n] = rng.uniform(0, 1, n)
    values_t = np.zeros((dv, padded))
    values_t[:, :n] = values.T
    by_lane, by_component = np.empty(dv + 1), np.empty(dv + 1)
    dense_kernel._sums_by_lane(t, values_t, padded, np.empty((dv + 1, dense_kernel.LANES)), by_lane)
    dense_kernel._sums_by_component(t, values, n, np.empty((dense_kernel.LANES, dv + 1)), by_component)
    assert np.array_equal(by_lane, by_component)
    exact = [math.fsum(t[:n] * values[:, c]) for c in range(dv)] + [math.fsum(t[:n])]
    np.testing.assert_allclose(by_lane, exact, rtol=0, atol=1e-13 * max(1.0, np.abs(values).sum()))
