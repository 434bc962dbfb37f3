"""Initial states: shapes, the sphere, masses, equiangular Gram matrices, seeds."""

import numpy as np
import pytest
import torch

import attnflow as af


def test_uniform_is_on_the_sphere_and_isotropic():
    x = af.init.uniform(20000, 3, seed=0)
    assert x.shape == (20000, 3)
    assert np.abs(np.linalg.norm(x, axis=1) - 1).max() < 1e-14
    assert np.abs(x.mean(0)).max() < 4 / np.sqrt(3 * 20000)  # E x = 0, Var x_c = 1/3
    assert np.abs((x**2).mean(0) - 1 / 3).max() < 0.02


def test_same_seed_same_tokens_on_every_device():
    assert np.array_equal(af.init.uniform(10, 4, seed=3), af.init.uniform(10, 4, seed=3))
    assert not np.array_equal(af.init.uniform(10, 4, seed=3), af.init.uniform(10, 4, seed=4))
    tokens = af.init.uniform(10, 4, seed=3, device="cpu")
    assert isinstance(tokens, torch.Tensor) and np.array_equal(tokens.numpy(), af.init.uniform(10, 4, seed=3))


@pytest.mark.parametrize("n, rho, dim", [(5, 0.3, None), (5, -0.25, 4), (6, 0.0, 10), (4, 0.9, 4), (3, 1.0, 2)])
def test_equiangular_gram_matrix(n, rho, dim):
    x = af.init.equiangular(n, rho, dim=dim, seed=1)
    gram = x @ x.T
    expected = (1 - rho) * np.eye(n) + rho
    assert x.shape == (n, n if dim is None else dim)
    assert np.abs(gram - expected).max() < 1e-13


def test_clusters_have_the_requested_masses_and_spread():
    centers = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    x = af.init.clusters(1000, 3, centers, masses=[0.5, 0.3, 0.2], spread=0.05, seed=2)
    nearest = np.argmax(x @ centers.T, axis=1)
    assert np.array_equal(np.bincount(nearest), [500, 300, 200])
    angle = np.arccos(np.clip((x * centers[nearest]).sum(1), -1, 1))
    assert abs(np.sqrt((angle**2).mean()) - 0.05 * np.sqrt(2)) < 0.01  # 2 tangent directions


def test_from_array_and_angles():
    theta = np.array([0.0, np.pi / 2, np.pi])
    assert np.allclose(af.init.from_angles(theta), [[1, 0], [0, 1], [-1, 0]], atol=1e-15)
    assert np.allclose(af.init.from_array([[3.0, 4.0]], normalize=True), [[0.6, 0.8]])
    with pytest.raises(af.AttnflowError, match="x0="):
        af.init.from_array([[3.0, 4.0]])
