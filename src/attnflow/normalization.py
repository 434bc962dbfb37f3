"""Normalisation schemes (docs/science.md §1): where tokens live and how attention moves them.

Each scheme is one object (`name`, a one-line `summary`, `unit_output`: whether A is scaled to
unit length) that knows, from the attention output A_i = sum_j w_ij V y_j computed on the
directions y = `directions(x)`:

* its manifold: the sphere S^{d-1} (`on_sphere`, the geometry of `Sphere`) or R^d (`Euclidean`);
* `velocity(x, A)`: dx/dt of the ODE;
* `layer(x, A, h)`: one discrete layer of step h, whose h -> 0 limit is the ODE;
* for the time steppers (flow.py): `retract`, `geodesic`, `size` (for the error norm) and, on the
  sphere, `brownian`.

  name  tokens   attention reads   dx/dt            one layer
  post  sphere   x                 P_x A            normalise(x + h A)
  pre   R^d      x/|x|             A                x + h A
  ngpt  sphere   x                 P_x A/|A|        normalise(x + h (A/|A| - x))
  peri  R^d      x/|x|             A/|A|            x + h A/|A|

A new scheme is a class here (on `Sphere` or `Euclidean`) registered in `NORMALIZATIONS`;
`Model`, the engines, the flow, `layer.attention` and the CLI read it from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import sphere


@dataclass(frozen=True)
class Sphere:
    """Tokens on the unit sphere S^{d-1}; attention reads them as they are."""

    on_sphere = True

    def directions(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def retract(self, x: torch.Tensor) -> torch.Tensor:
        """Back onto the sphere: x/|x| (a projection method keeps a Runge–Kutta scheme's order)."""
        return sphere.normalize(x)

    def geodesic(self, x: torch.Tensor, velocity: torch.Tensor, h: float) -> torch.Tensor:
        """exp_x(h v): an Euler step along the great circle."""
        return sphere.exp_map(x, h * velocity)

    def size(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones(x.shape[0], dtype=x.dtype, device=x.device)

    def brownian(self, x: torch.Tensor, h: float, diffusion: float, generator: torch.Generator) -> torch.Tensor:
        """Geodesic random walk: exp_x of a tangent Gaussian of variance 2 D h (generator D Laplacian, §1)."""
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device="cpu").to(x.device)
        return sphere.exp_map(x, sphere.project(x, math.sqrt(2 * diffusion * h) * noise))


@dataclass(frozen=True)
class Euclidean:
    """Tokens in R^d; attention reads their directions x/|x|."""

    on_sphere = False

    def directions(self, x: torch.Tensor) -> torch.Tensor:
        return sphere.normalize(x)

    def retract(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def geodesic(self, x: torch.Tensor, velocity: torch.Tensor, h: float) -> torch.Tensor:
        return x + h * velocity

    def size(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(x, dim=-1)


@dataclass(frozen=True)
class PostNorm(Sphere):
    """Post-LN: dx/dt = P_x A; layer x <- normalise(x + h A) (docs/science.md §1)."""

    name, summary, unit_output = "post", "Post-LN, tokens on the sphere", False

    def velocity(self, x, output):
        return sphere.project(x, output)

    def layer(self, x, output, h):
        return sphere.normalize(x + h * output)


@dataclass(frozen=True)
class PreNorm(Euclidean):
    """Pre-LN: dx/dt = A(x/|x|); layer x <- x + h A(x/|x|) (docs/science.md §1)."""

    name, summary, unit_output = "pre", "Pre-LN, tokens free in R^d", False

    def velocity(self, x, output):
        return output

    def layer(self, x, output, h):
        return x + h * output


@dataclass(frozen=True)
class NGPTNorm(Sphere):
    """nGPT: dx/dt = P_x A/|A|; layer x <- normalise(x + h (A/|A| - x)) (docs/science.md §1)."""

    name, summary, unit_output = "ngpt", "nGPT, on the sphere, unit attention output", True

    def velocity(self, x, output):
        return sphere.project(x, sphere.normalize(output))

    def layer(self, x, output, h):
        return sphere.normalize(x + h * (sphere.normalize(output) - x))


@dataclass(frozen=True)
class PeriNorm(Euclidean):
    """Peri-LN (Kim et al. 2025, arXiv:2502.02732; normalised input and output of attention, no learned
    scales): dx/dt = A(x/|x|)/|A(x/|x|)|; layer x <- x + h A/|A| (docs/science.md §1)."""

    name, summary, unit_output = "peri", "Peri-LN, in R^d, unit attention output", True

    def velocity(self, x, output):
        return sphere.normalize(output)

    def layer(self, x, output, h):
        return x + h * sphere.normalize(output)


POST, PRE, NGPT, PERI = PostNorm(), PreNorm(), NGPTNorm(), PeriNorm()
NORMALIZATIONS = {scheme.name: scheme for scheme in (POST, PRE, NGPT, PERI)}
NORMS = tuple(NORMALIZATIONS)
