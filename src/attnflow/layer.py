"""One discrete attention layer (docs/science.md §1, "discrete layers"), returning unit vectors.

With the attention output A_i = sum_j w_ij V y_j, w_ij = e^{beta<Q y_i, K y_j>} / Z_i
(Z_i = sum_k e^{beta<Q y_i, K y_k>} for SA, n for USA; with mask="causal" the sums over j, k <= i and i for
USA) computed on the directions y the
normalisation scheme reads (x itself on the sphere, x/|x| in R^d), one layer of step h is the
scheme's update, for example

  norm="post": x_i <- normalise(x_i + h A_i),  x on the sphere
  norm="pre":  x_i <- x_i + h A_i(x/|x|)       (Pre-LN: attention on directions)

(every scheme's update and its ODE: the table of attnflow.normalization), and the layer returns
the output directions x_i/|x_i|. The ODEs of docs/science.md §1 are the h -> 0 limits; a real
transformer layer is h = 1. On unit-vector inputs "pre" and "post" give the same directions.
"""

from __future__ import annotations

import torch

from ._array import to_tensor
from .errors import check, check_choice, check_positive, check_real
from .interaction import dense
from .model import KINDS, MASKS
from .normalization import NORMALIZATIONS, NORMS


def attention(x, beta: float, kind: str = "sa", norm: str = "pre", h: float = 1.0, Q=None, K=None, V=None,
              memory_budget: int = dense.DEFAULT_MEMORY_BUDGET, mask: str = "none"):
    """Output directions of one attention layer (module docstring) on tokens x, shape (n, d).

    NumPy or torch in, the same kind out. Q, K, V: optional d x d matrices (identity by default).
    mask: "none", or "causal" (token i sees j <= i only; USA divides by i: attnflow.Model).
    """
    check_choice("kind", kind, KINDS)
    check_choice("mask", mask, MASKS)
    check_choice("norm", norm, NORMS)
    beta = check_real("beta", beta, 0.0)
    h = check_positive("h", h)
    tensor, restore = to_tensor(x)
    check(tensor.ndim == 2 and tensor.shape[0] >= 1 and tensor.shape[1] >= 2, "x", f"array of shape "
          f"{tuple(tensor.shape)}", "an (n, d) array with n >= 1, d >= 2")
    check(bool(torch.isfinite(tensor).all()), "x", "array with non-finite entries", "finite entries")
    norms = torch.linalg.vector_norm(tensor, dim=1)
    check(bool((norms > 0).all()), "x", "array with a zero row", "non-zero tokens")
    scheme = NORMALIZATIONS[norm]
    if scheme.on_sphere:
        deviation = float((norms - 1).abs().max())
        free = ", ".join(name for name, other in NORMALIZATIONS.items() if not other.on_sphere)
        check(deviation <= 1e-8, "x", f"rows with | |x| - 1 | up to {deviation:.2e}",
              f"unit vectors for norm={norm!r} (or a scheme with tokens in R^d: {free})")
    output = dense.attention(kind, beta, scheme.directions(tensor), Q, K, V, memory_budget, causal=mask == "causal",
                             unit=True)  # directions, or tokens checked to be unit vectors above
    return restore(scheme.directions(scheme.layer(tensor, output, h)))
