"""Near-uniform point sets on S^{d-1}, on which the theory looks for the maxima of a function on the sphere
(the degree-k component in `linear.predicted_sites`, the potential Phi_t in `basins.predicted_clusters`;
docs/science.md §3)."""

from __future__ import annotations

import numpy as np

from ..errors import check_integer


def near_uniform_points(dim: int, count: int) -> np.ndarray:
    """`count` points on S^{dim-1}, shape (count, dim): the Fibonacci lattice on S^2 (spacing about
    sqrt(4 pi / count)); in other dimensions uniform random points (normalised Gaussians, seed 0)."""
    check_integer("dim", dim, 2)
    check_integer("count", count, 1)
    if dim == 3:
        i = np.arange(count) + 0.5
        z = 1 - 2 * i / count
        phi = np.pi * (1 + 5**0.5) * i
        r = np.sqrt(1 - z**2)
        return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
    g = np.random.default_rng(0).standard_normal((count, dim))
    return g / np.linalg.norm(g, axis=1, keepdims=True)
