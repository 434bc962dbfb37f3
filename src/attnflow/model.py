"""`Model`: which attention dynamics (docs/science.md §1) the particles follow."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import check

KINDS = ("sa", "usa")
NORMS = ("post", "pre", "ngpt")


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
    norm      "post": tokens stay on the sphere (projection P_x);
              "pre": tokens move in R^d, attention acts on directions x/|x|, no projection
              "ngpt": on the sphere, dx_i/dt = P_{x_i}(A_i / |A_i|) (h -> 0 limit of nGPT's update)
    diffusion D >= 0: adds sqrt(2D) dB, Brownian motion on the sphere (generator D*Laplacian)
    """

    kind: str
    beta: float
    dim: int
    Q: np.ndarray | None = None
    K: np.ndarray | None = None
    V: np.ndarray | None = None
    norm: str = "post"
    diffusion: float = 0.0

    def __post_init__(self):
        check(self.kind in KINDS, "kind", self.kind, f"one of {', '.join(KINDS)}")
        check(isinstance(self.dim, (int, np.integer)) and not isinstance(self.dim, bool) and self.dim >= 2,
              "dim", self.dim, "an integer >= 2")
        check(_is_real(self.beta) and math.isfinite(self.beta) and self.beta >= 0,
              "beta", self.beta, "a finite number >= 0")
        check(self.norm in NORMS, "norm", self.norm, f"one of {', '.join(NORMS)}")
        check(_is_real(self.diffusion) and math.isfinite(self.diffusion) and self.diffusion >= 0,
              "diffusion", self.diffusion, "a finite number >= 0")
        check(self.diffusion == 0 or self.norm != "pre", "diffusion", self.diffusion,
              "0 with norm='pre' (noise is Brownian motion on the sphere)")
        object.__setattr__(self, "beta", float(self.beta))
        object.__setattr__(self, "dim", int(self.dim))
        object.__setattr__(self, "diffusion", float(self.diffusion))
        for name in ("Q", "K", "V"):
            object.__setattr__(self, name, _as_matrix(name, getattr(self, name), self.dim))

    @property
    def identity_parameters(self) -> bool:
        """True when Q, K and V are all the identity (given as None or as I)."""
        eye = np.eye(self.dim)
        return all(m is None or np.array_equal(m, eye) for m in (self.Q, self.K, self.V))

    def describe(self) -> dict:
        """Parameters as plain attributes (for `Dataset.attrs`)."""
        attrs = {"kind": self.kind, "beta": self.beta, "dim": self.dim, "norm": self.norm,
                 "diffusion": self.diffusion, "identity_parameters": int(self.identity_parameters)}
        for name in ("Q", "K", "V"):
            matrix = getattr(self, name)
            if matrix is not None:
                attrs[name] = matrix.ravel().tolist()
        return attrs


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
