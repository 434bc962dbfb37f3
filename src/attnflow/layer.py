"""One discrete attention layer (docs/science.md §1, "discrete layers"), returning unit vectors.

With the attention output A_i = sum_j w_ij V y_j, w_ij = e^{beta<Q y_i, K y_j>} / Z_i
(Z_i = sum_k e^{beta<Q y_i, K y_k>} for SA, n for USA) computed on y = x/|x|:

  norm="pre":  x_i <- x_i + h A_i(x/|x|)                    (Pre-LN: attention on directions)
  norm="post": x_i <- normalise(x_i + h A_i(x)),  x on the sphere
  norm="ngpt": x_i <- normalise(x_i + h (A_i/|A_i| - x_i)), x on the sphere

and the layer returns the output directions x_i/|x_i|. The ODEs of docs/science.md §1 are
the h -> 0 limits (post: dx/dt = P_x A; pre: dx/dt = A; ngpt: dx/dt = P_x A/|A|); a real
transformer layer is h = 1. On unit-vector inputs "pre" and "post" give the same directions.
"""

from __future__ import annotations

import math

import torch

from . import sphere
from ._array import to_tensor
from .errors import check
from .interaction import dense
from .model import KINDS

NORMS = ("pre", "post", "ngpt")


def attention(x, beta: float, kind: str = "sa", norm: str = "pre", h: float = 1.0, Q=None, K=None, V=None,
              memory_budget: int = dense.DEFAULT_MEMORY_BUDGET):
    """Output directions of one attention layer (module docstring) on tokens x, shape (n, d).

    NumPy or torch in, the same kind out. Q, K, V: optional d x d matrices (identity by default).
    """
    check(kind in KINDS, "kind", kind, f"one of {', '.join(KINDS)}")
    check(norm in NORMS, "norm", norm, f"one of {', '.join(NORMS)}")
    check(isinstance(beta, (int, float)) and not isinstance(beta, bool) and math.isfinite(beta) and beta >= 0,
          "beta", beta, "a finite number >= 0")
    check(isinstance(h, (int, float)) and not isinstance(h, bool) and math.isfinite(h) and h > 0,
          "h", h, "a finite number > 0")
    tensor, restore = to_tensor(x)
    check(tensor.ndim == 2 and tensor.shape[0] >= 1 and tensor.shape[1] >= 2, "x", f"array of shape "
          f"{tuple(tensor.shape)}", "an (n, d) array with n >= 1, d >= 2")
    check(bool(torch.isfinite(tensor).all()), "x", "array with non-finite entries", "finite entries")
    norms = torch.linalg.vector_norm(tensor, dim=1)
    check(bool((norms > 0).all()), "x", "array with a zero row", "non-zero tokens")
    if norm != "pre":
        deviation = float((norms - 1).abs().max())
        check(deviation <= 1e-8, "x", f"rows with | |x| - 1 | up to {deviation:.2e}",
              f"unit vectors for norm={norm!r} (or use norm='pre')")
    output = dense.attention(kind, float(beta), sphere.normalize(tensor), Q, K, V, memory_budget)
    if norm == "ngpt":
        output = output / torch.linalg.vector_norm(output, dim=1, keepdim=True) - tensor
    return restore(sphere.normalize(tensor + h * output))
