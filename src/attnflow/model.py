"""`Model`: which attention dynamics (docs/science.md §1) the particles follow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import check, check_choice, check_integer, check_real
from .normalization import NORMALIZATIONS, NORMS

KINDS = ("sa", "usa")
MASKS = ("none", "causal")


def _as_matrix(name: str, value, dim: int) -> np.ndarray | None:
    if value is None:
        return None
    matrix = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=np.float64)
    check(matrix.shape == (dim, dim), name, f"array of shape {matrix.shape}", f"a {dim}x{dim} matrix (dim={dim})")
    check(bool(np.isfinite(matrix).all()), name, "matrix with non-finite entries", "finite entries")
    return matrix


@dataclass(frozen=True, eq=False)
class Model:
    """Attention dynamics of n tokens on the sphere S^{dim-1} (docs/science.md §1).

    kind      "sa": dx_i/dt = P_{x_i}( sum_j e^{beta<Qx_i,Kx_j>} V x_j / sum_k e^{beta<Qx_i,Kx_k>} )
              "usa": dx_i/dt = P_{x_i}( (1/n) sum_j e^{beta<Qx_i,Kx_j>} V x_j )
    beta      inverse temperature, finite and >= 0
    dim       ambient dimension d >= 2 (tokens on S^{d-1})
    Q, K, V   optional d x d matrices; None means the identity
    norm      the normalisation scheme, a name in attnflow.normalization.NORMS ("post": the equations
              above, on the sphere; "pre", "ngpt", "peri": see that module): where tokens live and
              how the attention output A_i moves them
    diffusion D >= 0: adds sqrt(2D) dB, Brownian motion on the sphere (generator D*Laplacian);
              only for schemes on the sphere
    mask      "none" (every token sees all n), or "causal" (a decoder: token i, counted from 1, sees only the
              tokens j <= i; docs/science.md §7): the sums over j above run over j <= i, SA
              normalises over those same tokens, and USA divides by their number i instead of n:
              "usa": dx_i/dt = P_{x_i}( (1/i) sum_{j<=i} e^{beta<Qx_i,Kx_j>} V x_j )
    """

    kind: str
    beta: float
    dim: int
    Q: np.ndarray | None = None
    K: np.ndarray | None = None
    V: np.ndarray | None = None
    norm: str = "post"
    diffusion: float = 0.0
    mask: str = "none"

    def __post_init__(self):
        check_choice("kind", self.kind, KINDS)
        object.__setattr__(self, "dim", check_integer("dim", self.dim, 2))
        object.__setattr__(self, "beta", check_real("beta", self.beta, 0.0))
        check_choice("norm", self.norm, NORMS)
        check_choice("mask", self.mask, MASKS)
        object.__setattr__(self, "diffusion", check_real("diffusion", self.diffusion, 0.0))
        check(self.diffusion == 0 or self.normalization.on_sphere, "diffusion", self.diffusion,
              f"0 with norm={self.norm!r}: its tokens live in R^d, and noise is Brownian motion on the sphere")
        for name in ("Q", "K", "V"):
            object.__setattr__(self, name, _as_matrix(name, getattr(self, name), self.dim))

    @property
    def normalization(self):
        """The scheme named by `norm` (attnflow.normalization, docs/science.md §1)."""
        return NORMALIZATIONS[self.norm]

    @property
    def causal(self) -> bool:
        """True for causal attention (mask="causal"): token i sees the tokens j <= i only."""
        return self.mask == "causal"

    @property
    def identity_parameters(self) -> bool:
        """True when Q, K and V are all the identity (given as None or as I)."""
        if self.Q is None and self.K is None and self.V is None:  # the common case, without building I (a hot path)
            return True
        eye = np.eye(self.dim)
        return all(m is None or np.array_equal(m, eye) for m in (self.Q, self.K, self.V))

    def describe(self) -> dict:
        """Parameters as plain attributes (for `Dataset.attrs`)."""
        attrs = {"kind": self.kind, "beta": self.beta, "dim": self.dim, "norm": self.norm,
                 "diffusion": self.diffusion, "mask": self.mask, "identity_parameters": int(self.identity_parameters)}
        for name in ("Q", "K", "V"):
            matrix = getattr(self, name)
            if matrix is not None:
                attrs[name] = matrix.ravel().tolist()
        return attrs
