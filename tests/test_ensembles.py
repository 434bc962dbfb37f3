"""Ensembles in the engines: a batch (B, ...) of independent systems, each with its own tokens and beta, gives
every system the numbers it gets alone (circle: interaction/circle.py and circle_kernel.py; dense:
interaction/dense.py); checked against a loop over the systems and against slow
pairwise sums of docs/science.md §1 written here."""

import math

import numpy as np
import pytest
import torch

from attnflow import sphere
from attnflow.errors import ParameterError
from attnflow.interaction import circle, dense

KINDS = ("sa", "usa")
CIRCLE_BETAS = np.array([0.0, 0.5, 5.0, 20.0, 5.0])  # zero, a repeat, and counts of modes from 1 to ~45


def angles(systems, n, seed):
    """Systems with different moments: system s spread over an arc of length 1 + s."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.stack([rng.uniform(0, 1.0 + s, n) for s in range(systems)]))


def relative(value, reference):
    value, reference = torch.as_tensor(value, dtype=torch.float64), torch.as_tensor(reference, dtype=torch.float64)
    return float((value - reference).abs().max() / max(float(reference.abs().max()), 1e-300))


def pairwise_circle(kind, beta, theta):
    """docs/science.md §1 directly: -(1/n) sum_j e^{beta cos(theta_i - theta_j)} sin(theta_i - theta_j),
    SA divided by (1/n) sum_j e^{beta cos(theta_i - theta_j)}, in long double, weights scaled by e^{-beta}."""
    theta = theta.numpy().astype(np.longdouble)
    difference = theta[:, None] - theta[None, :]
    weights = np.exp(np.longdouble(beta) * (np.cos(difference) - 1))
    velocity = -(weights * np.sin(difference)).mean(1)
    velocity = velocity / weights.mean(1) if kind == "sa" else velocity * np.exp(np.longdouble(beta))
    return torch.from_numpy(velocity.astype(np.float64))


def slow_attention(kind, beta, x, Q=None, K=None, V=None):
    """A_i = sum_j e^{beta <Q x_i, K x_j> - s_i} V x_j / Z_i, s_i the row maximum, token by token."""
    n, d = x.shape
    Q, K, V = (np.eye(d) if M is None else M for M in (Q, K, V))
    out = np.zeros((n, V.shape[0]))
    for i in range(n):
        logits = [beta * float((Q @ x[i]) @ (K @ x[j])) for j in range(n)]
        shift = max(logits)
        weights = [math.exp(logit - shift) for logit in logits]
        total = sum(weights[j] * (V @ x[j]) for j in range(n))
        out[i] = total / sum(weights) if kind == "sa" else total * (math.exp(shift) / n)
    return out


# the circle engine


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("beta", [5.0, CIRCLE_BETAS])
def test_circle_kernel_batch_is_each_system_alone_bit_for_bit(kind, beta):
    theta = angles(5, 777, seed=1)  # n not a multiple of the kernel's lanes or tasks
    batched = circle.angular_velocity(kind, beta, theta)
    assert batched.shape == (5, 777) and batched.dtype == torch.float64
    for system, value in enumerate(np.broadcast_to(beta, (5,))):
        assert torch.equal(batched[system], circle.angular_velocity(kind, float(value), theta[system]))


@pytest.mark.parametrize("kind", KINDS)
def test_circle_batch_against_the_pairwise_sum(kind):
    theta = angles(5, 301, seed=2)
    batched = circle.angular_velocity(kind, CIRCLE_BETAS, theta)
    for system, beta in enumerate(CIRCLE_BETAS):
        assert relative(batched[system], pairwise_circle(kind, beta, theta[system])) <= 1e-13


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("beta", [5.0, CIRCLE_BETAS])
@pytest.mark.parametrize("chunk", [None, 200])
def test_circle_tensor_path_batch_is_each_system_alone(kind, beta, chunk, monkeypatch):
    """Within 1e-13: the blocks of CHUNK tokens span the batch, the coefficients are zero-padded to the
    largest count of modes (with chunk = 200: 40 tokens per block over the 5 systems, 20 blocks)."""
    if chunk is not None:
        monkeypatch.setattr(circle, "CHUNK", chunk)
    theta = angles(5, 777, seed=3)
    batched = circle.torch_angular_velocity(kind, beta, theta)
    assert relative(batched, circle.angular_velocity(kind, beta, theta)) <= 1e-13
    for system, value in enumerate(np.broadcast_to(beta, (5,))):
        assert relative(batched[system], circle.torch_angular_velocity(kind, float(value), theta[system])) <= 1e-13


@pytest.mark.parametrize("function", [circle.angular_velocity, circle.torch_angular_velocity])
def test_circle_batch_of_one_is_the_unbatched_call(function):
    theta = angles(1, 500, seed=4)
    for kind in KINDS:
        assert torch.equal(function(kind, 5.0, theta)[0], function(kind, 5.0, theta[0]))
        assert torch.equal(function(kind, [5.0], theta)[0], function(kind, 5.0, theta[0]))


def test_circle_moments_of_a_batch():
    theta = angles(3, 1500, seed=5)
    k = torch.arange(1, 13, dtype=torch.float64)[:, None]
    moments = circle.moments(theta, 12)
    assert moments.shape == (3, 12)
    for system in range(3):
        expected = torch.exp(1j * k * theta[system][None, :]).mean(1).numpy()
        np.testing.assert_allclose(moments[system], expected, rtol=0, atol=1e-14)
        assert np.array_equal(moments[system], circle.moments(theta[system], 12))


def test_circle_float32_batch():
    theta = angles(3, 400, seed=6)
    value = circle.angular_velocity("sa", CIRCLE_BETAS[:3], theta.float())
    assert value.dtype == torch.float32 and value.shape == (3, 400)
    assert relative(value, circle.angular_velocity("sa", CIRCLE_BETAS[:3], theta)) <= 1e-6


def test_circle_shapes_and_beta_are_checked():
    theta = angles(3, 50, seed=7)
    for function in (circle.angular_velocity, circle.torch_angular_velocity):
        with pytest.raises(ParameterError, match="beta"):
            function("sa", [1.0, 2.0], theta)  # two values for three systems
        with pytest.raises(ParameterError, match="beta"):
            function("sa", [1.0, 2.0, 3.0], theta[0])  # values per system for a single system
        with pytest.raises(ParameterError, match="beta"):
            function("sa", [1.0, -2.0, 3.0], theta)
        with pytest.raises(ParameterError, match="beta"):
            function("sa", [1.0, math.nan, 3.0], theta)
        with pytest.raises(ParameterError, match="theta"):
            function("sa", 1.0, theta[None])
    with pytest.raises(ParameterError, match="theta"):
        circle.moments(theta[None], 4)


# the dense engine


def batch(systems, n, d, seed, dtype=torch.float64):
    return torch.stack([sphere.uniform(n, d, torch.Generator().manual_seed(seed + s), dtype=dtype)
                        for s in range(systems)])


def parameters(d, seed):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal((d, d)) / math.sqrt(d) for _ in range(3))


DENSE_BETAS = np.array([0.0, 1.0, 5.0, 30.0])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("beta", [5.0, DENSE_BETAS])
@pytest.mark.parametrize("random_parameters", [False, True])
@pytest.mark.parametrize("budget", [dense.DEFAULT_MEMORY_BUDGET, 37 * 10 * 8])
def test_dense_batch_is_each_system_alone(kind, beta, random_parameters, budget):
    """The whole-systems path bit for bit; the row blocks within 1e-13 (module docstring of dense.py)."""
    x = batch(4, 37, 3, seed=10)
    Q, K, V = parameters(3, 1) if random_parameters else (None, None, None)
    batched = dense.attention(kind, beta, x, Q, K, V, memory_budget=budget)
    assert batched.shape == (4, 37, 3) and batched.dtype == torch.float64
    for system, value in enumerate(np.broadcast_to(beta, (4,))):
        alone = dense.attention(kind, float(value), x[system], Q, K, V, memory_budget=budget)
        if budget == dense.DEFAULT_MEMORY_BUDGET:
            assert torch.equal(batched[system], alone)
        else:
            assert relative(batched[system], alone) <= 1e-13


@pytest.mark.parametrize("kind", KINDS)
def test_dense_batch_against_the_double_loop(kind):
    x = batch(4, 20, 3, seed=20)
    Q, K, V = parameters(3, 2)
    for budget in (dense.DEFAULT_MEMORY_BUDGET, 20 * 7 * 8):
        for parameters_given in ((None, None, None), (Q, K, V)):
            batched = dense.attention(kind, DENSE_BETAS, x, *parameters_given, memory_budget=budget)
            for system, beta in enumerate(DENSE_BETAS):
                reference = slow_attention(kind, beta, x[system].numpy(), *parameters_given)
                assert relative(batched[system], reference) <= 1e-13


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("budget", [8 * 50 * 50 * 2, 8 * 50 * 20, 8 * 50 * 7])
def test_dense_blocks_are_bounded_over_the_batch(kind, budget, product_shapes):
    """Blocks of systems x rows whose weights fit the budget: 2 whole systems, 20 rows of one, 7 rows of one."""
    x = batch(5, 50, 3, seed=30)
    for beta in (5.0, [0.0, 1.0, 5.0, 30.0, 2.0]):
        product_shapes.clear()
        batched = dense.attention(kind, beta, x, memory_budget=budget)
        logits = [shape for shape in product_shapes if shape[-1] == 50]  # (systems, rows, n) blocks of weights
        assert logits and all(math.prod(shape) * 8 <= budget for shape in logits)
        assert sum(shape[0] * shape[1] for shape in logits) == 5 * 50  # every row of every system once
        assert relative(batched, dense.attention(kind, beta, x)) <= 1e-13


def test_dense_batch_of_one_is_the_unbatched_call():
    x = batch(1, 60, 4, seed=40)
    Q, K, V = parameters(4, 3)
    for kind in KINDS:
        for budget in (dense.DEFAULT_MEMORY_BUDGET, 60 * 9 * 8):
            for parameters_given in ((None, None, None), (Q, K, V)):
                alone = dense.attention(kind, 5.0, x[0], *parameters_given, memory_budget=budget)
                assert torch.equal(dense.attention(kind, 5.0, x, *parameters_given, memory_budget=budget)[0], alone)
                assert torch.equal(dense.attention(kind, [5.0], x, *parameters_given, memory_budget=budget)[0],
                                   alone)


def test_dense_fused_path_of_a_batch():
    x = batch(3, 40, 5, seed=50)
    for beta in (4.0, [1.0, 4.0, 9.0]):
        fused = dense.attention("sa", beta, x, fused=True)
        assert fused.shape == (3, 40, 5)
        assert relative(fused, dense.attention("sa", beta, x, fused=False)) <= 1e-12


def test_dense_float32_batch():
    x = batch(3, 30, 3, seed=60, dtype=torch.float32)
    for budget in (dense.DEFAULT_MEMORY_BUDGET, 30 * 7 * 4):
        value = dense.attention("usa", DENSE_BETAS[:3], x, memory_budget=budget)
        assert value.dtype == torch.float32
        assert relative(value, dense.attention("usa", DENSE_BETAS[:3], x.double())) <= 1e-5


def test_dense_shapes_and_beta_are_checked():
    x = batch(3, 10, 3, seed=70)
    for budget in (dense.DEFAULT_MEMORY_BUDGET, 10 * 3 * 8):
        with pytest.raises(ParameterError, match="beta"):
            dense.attention("sa", [1.0, 2.0], x, memory_budget=budget)
        with pytest.raises(ParameterError, match="beta"):
            dense.attention("sa", [1.0, 2.0, 3.0], x[0], memory_budget=budget)
        with pytest.raises(ParameterError, match="beta"):
            dense.attention("sa", np.array([[1.0, 2.0, 3.0]]), x, memory_budget=budget)
        with pytest.raises(ParameterError, match="beta"):
            dense.attention("sa", [1.0, -1.0, 3.0], x, memory_budget=budget)
        with pytest.raises(ParameterError, match="x"):
            dense.attention("sa", 1.0, x[None], memory_budget=budget)
        with pytest.raises(ParameterError, match="x"):
            dense.attention("sa", 1.0, x[:0], memory_budget=budget)
    assert dense.system_betas(torch.tensor([1.0, 2.0]), 2).tolist() == [1.0, 2.0]
    assert dense.system_betas(np.float64(2.0), None) == 2.0
