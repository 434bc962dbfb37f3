"""Initial token configurations on the sphere S^{dim-1}.

Every function returns an (n, dim) array of unit vectors: a NumPy float64 array,
or a torch tensor when `device` is given. Randomness comes only from `seed`
(drawn on the CPU, so a seed gives the same tokens on every device).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import sphere
from ._array import resolve_device
from .errors import AttnflowError, check, check_integer, check_real, is_integer

ON_SPHERE_TOLERANCE = 1e-10


def _check_n_dim(n, dim):
    check_integer("n", n, 1)
    check_integer("dim", dim, 2)


def _generator(seed) -> torch.Generator:
    check_integer("seed", seed, 0)
    return torch.Generator().manual_seed(int(seed))


def _deliver(x: torch.Tensor, device):
    if device is None:
        return x.numpy()
    return x.to(resolve_device(device))


def uniform(n: int, dim: int, seed: int = 0, device=None):
    """n i.i.d. tokens from the uniform measure on S^{dim-1}."""
    _check_n_dim(n, dim)
    return _deliver(sphere.uniform(n, dim, _generator(seed)), device)


def from_angles(theta, device=None):
    """Tokens on the circle S^1 at the given angles (radians)."""
    theta = torch.as_tensor(np.asarray(theta, dtype=np.float64))
    check(theta.ndim == 1 and theta.numel() >= 1, "theta", f"array of shape {tuple(theta.shape)}",
          "a non-empty 1-d array of angles")
    check(bool(torch.isfinite(theta).all()), "theta", "array with non-finite entries", "finite angles")
    return _deliver(sphere.from_angles(theta), device)


def from_array(array, normalize: bool = False, device=None):
    """Tokens from an (n, dim) array; each row must be a unit vector unless `normalize`."""
    x = torch.as_tensor(np.asarray(array.detach().cpu() if hasattr(array, "detach") else array,
                                   dtype=np.float64))
    check(x.ndim == 2 and x.shape[0] >= 1 and x.shape[1] >= 2, "x0", f"array of shape {tuple(x.shape)}",
          "an (n, dim) array with n >= 1, dim >= 2")
    check(bool(torch.isfinite(x).all()), "x0", "array with non-finite entries", "finite entries")
    norms = torch.linalg.vector_norm(x, dim=1)
    if normalize:
        check(bool((norms > 0).all()), "x0", "array with a zero row", "non-zero rows to normalise")
        x = x / norms[:, None]
    else:
        error = float((norms - 1).abs().max())
        check(error <= ON_SPHERE_TOLERANCE, "x0", f"rows with | |x| - 1 | up to {error:.2e}",
              f"unit vectors (tolerance {ON_SPHERE_TOLERANCE:g}); pass normalize=True to project")
    return _deliver(x, device)


def clusters(n: int, dim: int, centers, masses=None, spread: float = 0.05, seed: int = 0, device=None):
    """K groups of tokens around `centers`, with weights `masses` and angular `spread`.

    centers   an int K (K random centres; on the circle K equally spaced angles 2 pi m / K)
              or a (K, dim) array of directions
    masses    K non-negative fractions summing to 1 (within 1e-9); equal by default
    spread    standard deviation (radians) of the tangent Gaussian around each centre
    Group sizes are round(n * mass) by the largest-remainder rule; tokens are listed group by group.
    """
    _check_n_dim(n, dim)
    generator = _generator(seed)
    if is_integer(centers):
        check(centers >= 1, "centers", centers, "an integer >= 1 or a (K, dim) array")
        if dim == 2:
            c = sphere.from_angles(2 * math.pi * torch.arange(centers, dtype=torch.float64) / centers)
        else:
            c = sphere.uniform(int(centers), dim, generator)
    else:
        c = torch.as_tensor(np.asarray(centers, dtype=np.float64))
        check(c.ndim == 2 and c.shape[1] == dim and c.shape[0] >= 1, "centers", f"array of shape {tuple(c.shape)}",
              f"an integer K or a (K, {dim}) array")
        check(bool((torch.linalg.vector_norm(c, dim=1) > 0).all()), "centers", "a zero row", "non-zero directions")
        c = sphere.normalize(c)
    k = c.shape[0]
    weights = np.full(k, 1.0 / k) if masses is None else np.asarray(masses, dtype=np.float64)
    check(weights.shape == (k,) and bool(np.all(np.isfinite(weights))) and bool(np.all(weights >= 0))
          and abs(weights.sum() - 1) <= 1e-9, "masses", masses, f"{k} non-negative fractions summing to 1")
    check_real("spread", spread, 0.0)
    sizes = _largest_remainder(n, weights / weights.sum())
    centre_of_token = torch.repeat_interleave(c, torch.as_tensor(sizes), dim=0)
    noise = sphere.project(centre_of_token, spread * torch.randn(n, dim, generator=generator, dtype=torch.float64))
    return _deliver(sphere.exp_map(centre_of_token, noise), device)


def _largest_remainder(n: int, fractions: np.ndarray) -> np.ndarray:
    exact = n * fractions
    sizes = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[: n - sizes.sum()]] += 1
    return sizes


def equiangular(n: int, rho: float, dim: int | None = None, seed: int | None = None, device=None):
    """n unit vectors with <x_i, x_j> = rho for all i != j (docs/science.md §4, equiangular model).

    The Gram matrix (1 - rho) I + rho 11^T is positive semi-definite for
    rho in [-1/(n-1), 1] and has rank n (n - 1 at the simplex rho = -1/(n-1),
    1 at rho = 1), so the tokens need dim >= n (the default dim is n).
    `seed` applies a random rotation; without it the configuration is the
    symmetric square root of the Gram matrix padded with zeros.
    """
    check_integer("n", n, 1)
    dim = n if dim is None else dim
    _check_n_dim(n, dim)
    lowest = -1.0 / (n - 1) if n > 1 else -1.0
    check(math.isfinite(rho) and lowest <= rho <= 1, "rho", rho, f"a number in [{lowest:g}, 1] for n={n}")
    rank = 1 if rho == 1 else (n - 1 if (n > 1 and rho == lowest) else n)
    if dim < rank:
        raise AttnflowError(f"dim={dim} is too small: {n} equiangular tokens with rho={rho:g} span "
                            f"{rank} dimensions, so dim must be >= {rank}")
    gram = (1 - rho) * torch.eye(n, dtype=torch.float64) + rho
    values, vectors = torch.linalg.eigh(gram)
    root = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    x = torch.zeros(n, max(dim, n), dtype=torch.float64)
    x[:, :n] = root
    if dim < n:  # rank-deficient Gram: rotate its range into the first `dim` coordinates
        x = root @ vectors[:, n - dim:]
    if seed is not None:
        rotation, _ = torch.linalg.qr(torch.randn(dim, dim, generator=_generator(seed), dtype=torch.float64))
        x = x @ rotation
    return _deliver(sphere.normalize(x), device)
