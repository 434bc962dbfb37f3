"""The two paths of the dense attention (interaction/dense.py) — whole systems at once and row blocks — against
each other and against a slow, obvious double loop of docs/science.md §1."""

import math

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow import sphere
from attnflow.interaction import dense

TOLERANCE = 1e-13  # relative, float64


def row_blocks(x) -> int:
    """A memory budget that makes dense.attention take x in row blocks of about a third of the rows."""
    n = x.shape[-2]
    return max(1, n // 3) * n * x.element_size()


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
def test_whole_systems_match_row_blocks_and_double_loop(n, kind, beta, random_parameters):
    x = tokens(n, seed=n)
    Q, K, V = parameters(3, n) if random_parameters else (None, None, None)
    whole = dense.attention(kind, beta, x, Q, K, V)
    blocked = dense.attention(kind, beta, x, Q, K, V, memory_budget=row_blocks(x))
    assert whole.dtype == torch.float64 and whole.shape == (n, 3)
    assert relative(whole, blocked) <= TOLERANCE
    if n <= 37 or beta in (5.0, 500.0):  # the double loop at n = 200 is slow: two betas
        reference = slow_attention(kind, beta, x.numpy(), Q, K, V)
        assert relative(whole, reference) <= TOLERANCE
        assert relative(blocked, reference) <= TOLERANCE


def test_whole_systems_take_one_product_of_logits(product_shapes):
    """The whole-systems path computes all (n, n) logits in one bmm; a budget below
    n^2 elements splits them into row blocks that each fit it."""
    x = tokens(30)
    shapes = product_shapes
    dense.attention("sa", 1.0, x)
    assert [shape for shape in shapes if shape[-1] == 30] == [(1, 30, 30)]
    shapes.clear()
    dense.attention("sa", 1.0, x, memory_budget=10 * 30 * 8)
    logits = [shape for shape in shapes if shape[-1] == 30]
    assert len(logits) == 3 and all(shape[1] == 10 for shape in logits)


def test_other_dim_and_float32():
    x = tokens(50, d=4, seed=3)
    V = np.random.default_rng(1).standard_normal((4, 4))
    for kind in ("sa", "usa"):
        out = dense.attention(kind, 3.0, x, None, None, V)
        assert out.shape == (50, 4)
        assert relative(out, dense.attention(kind, 3.0, x, None, None, V, memory_budget=row_blocks(x))) <= TOLERANCE
        single = dense.attention(kind, 3.0, x.float(), None, None, V)
        assert single.dtype == torch.float32
        assert relative(single, out) <= 1e-5


@pytest.mark.parametrize("norm", ["post", "pre", "ngpt"])
@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("random_parameters", [False, True])
def test_velocity_on_both_paths(norm, kind, random_parameters):
    Q, K, V = parameters(3, 7) if random_parameters else (None, None, None)
    model = af.Model(kind, 4.0, 3, Q=Q, K=K, V=V, norm=norm)
    x = tokens(200, seed=5)
    if norm == "pre":
        x = x * torch.linspace(0.5, 2.0, 200, dtype=torch.float64)[:, None]
    whole = af.velocity(model, x, engine="dense")
    blocked = af.velocity(model, x, engine="dense", memory_budget=row_blocks(x))
    assert relative(whole, blocked) <= TOLERANCE
    assert isinstance(af.velocity(model, x.numpy(), engine="dense"), np.ndarray)


def test_large_beta_stays_finite():
    x = tokens(64, seed=2)
    for beta in (1e3, 1e5):
        out = dense.attention("sa", beta, x)
        assert bool(torch.isfinite(out).all())
        assert relative(out, dense.attention("sa", beta, x, memory_budget=row_blocks(x))) <= TOLERANCE


@pytest.mark.parametrize("kind, beta", [("sa", 100.0), ("usa", 100.0), ("usa", 600.0), ("sa", 800.0)])
def test_tokens_of_unequal_norms(kind, beta):
    """Identity Q, K shift each system by beta max|x|^2; tokens of norms 0.05..1 fall up to beta (1 - 0.05^2)
    below it in their own row: within SHIFT_SPREAD (beta = 100) the shared shift, beyond it the row maximum
    (at beta = 800 the shared shift would underflow the first rows to 0). Every row agrees with the double loop."""
    x = tokens(40, seed=4) * torch.linspace(0.05, 1.0, 40, dtype=torch.float64)[:, None]
    expected = slow_attention(kind, beta, x.numpy())
    for budget in (dense.DEFAULT_MEMORY_BUDGET, row_blocks(x)):
        out = dense.attention(kind, beta, x, memory_budget=budget).numpy()
        row_error = np.abs(out - expected).max(axis=1) / np.abs(expected).max(axis=1)  # every row, however small
        assert row_error.max() <= beta * 1e-15  # exp(beta <x_i, x_j>) is conditioned like beta |<x_i, x_j>|
    assert (dense.system_shifts(beta, x[None]) is None) == (beta * (1 - 0.05**2) > dense.SHIFT_SPREAD)
