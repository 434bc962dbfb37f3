"""The interaction engines against each other and against a slow, obvious NumPy sum."""

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow.interaction import dense


def slow_velocity(kind, beta, x, Q=None, K=None, V=None, norm="post"):
    """docs/science.md §1 written out token by token."""
    n, d = x.shape
    Q = np.eye(d) if Q is None else Q
    K = np.eye(d) if K is None else K
    V = np.eye(d) if V is None else V
    theta = x / np.linalg.norm(x, axis=1, keepdims=True) if norm == "pre" else x
    out = np.zeros_like(x)
    for i in range(n):
        w = np.array([np.exp(beta * (Q @ theta[i]) @ (K @ theta[j])) for j in range(n)])
        z = w.sum() if kind == "sa" else n
        a = sum(w[j] * (V @ theta[j]) for j in range(n)) / z
        out[i] = a if norm == "pre" else a - (a @ x[i]) * x[i]
    return out


@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("beta", [0.0, 1.0, 5.0, 20.0])
def test_circle_and_dense_engines_agree(kind, beta):
    model = af.Model(kind, beta, 2)
    for seed in range(3):
        x = af.init.uniform(400, 2, seed=seed)
        v_dense = af.velocity(model, x, engine="dense")
        v_circle = af.velocity(model, x, engine="circle")
        scale = max(1.0, np.abs(v_dense).max())
        assert np.abs(v_dense - v_circle).max() <= 1e-12 * scale


@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_circle_engine_on_clustered_tokens(kind):
    model = af.Model(kind, 20.0, 2)
    x = af.init.clusters(300, 2, 3, spread=0.02, seed=4)
    v = af.velocity(model, x, engine="circle")
    expected = slow_velocity(kind, 20.0, x)
    assert np.abs(v - expected).max() <= 1e-12 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("norm", ["post", "pre"])
def test_dense_engine_general_parameters(kind, norm):
    rng = np.random.default_rng(0)
    d = 4
    Q, K, V = (rng.normal(size=(d, d)) for _ in range(3))
    x = af.init.uniform(60, d, seed=1)
    if norm == "pre":
        x = x * rng.uniform(0.5, 2.0, size=(60, 1))
    model = af.Model(kind, 1.5, d, Q=Q, K=K, V=V, norm=norm)
    v = af.velocity(model, x)
    assert np.allclose(v, slow_velocity(kind, 1.5, x, Q, K, V, norm), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_blocks_do_not_change_the_result(kind):
    x = af.init.uniform(500, 3, seed=2)
    model = af.Model(kind, 3.0, 3, Q=np.diag([1.0, 2.0, 0.5]))
    whole = af.velocity(model, x)
    blocked = af.velocity(model, x, memory_budget=8 * 500 * 7)  # 7 rows per block
    assert np.abs(whole - blocked).max() <= 1e-13


@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_large_beta_is_finite(kind):
    x = af.init.uniform(200, 3, seed=3)
    for model in (af.Model(kind, 500.0, 3), af.Model(kind, 500.0, 3, K=np.diag([1.0, 0.9, 1.1]))):
        v = af.velocity(model, x)
        assert np.isfinite(v).all()
    v2 = af.velocity(af.Model(kind, 500.0, 2), af.init.uniform(200, 2, seed=3), engine="circle")
    assert np.isfinite(v2).all()


def test_fused_kernel_path_matches_blocked():
    x = torch.as_tensor(af.init.uniform(300, 5, seed=5))
    fused = dense.attention("sa", 4.0, x, fused=True)
    blocked = dense.attention("sa", 4.0, x, fused=False)
    assert torch.allclose(fused, blocked, rtol=1e-10, atol=1e-12)


def test_torch_in_torch_out_numpy_in_numpy_out():
    model = af.Model("usa", 2.0, 3)
    x = af.init.uniform(50, 3, seed=0)
    assert isinstance(af.velocity(model, x), np.ndarray)
    out = af.velocity(model, torch.as_tensor(x))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64


def test_automatic_engine_is_circle_where_exact():
    from attnflow.interaction import choose_engine
    assert choose_engine(af.Model("sa", 1.0, 2)) == "circle"
    assert choose_engine(af.Model("sa", 1.0, 3)) == "dense"
    assert choose_engine(af.Model("sa", 1.0, 2, V=2 * np.eye(2))) == "dense"
    assert choose_engine(af.Model("sa", 1.0, 2, norm="pre")) == "dense"


@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_circle_engine_in_several_blocks(kind, monkeypatch):
    from attnflow.interaction import circle
    x = af.init.uniform(250, 2, seed=6)
    expected = slow_velocity(kind, 5.0, x)
    monkeypatch.setattr(circle, "CHUNK", 64)  # 4 blocks of tokens in the tensor path (CUDA, and the reference)
    theta = torch.atan2(torch.as_tensor(x[:, 1]), torch.as_tensor(x[:, 0]))
    omega = circle.torch_angular_velocity(kind, 5.0, theta).numpy()
    v = omega[:, None] * np.stack([-np.sin(theta.numpy()), np.cos(theta.numpy())], axis=1)
    assert np.abs(v - expected).max() <= 1e-12 * max(1.0, np.abs(expected).max())
