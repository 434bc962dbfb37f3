"""Geometry of the unit sphere S^{d-1} in R^d, on torch tensors of shape (n, d)."""

from __future__ import annotations

import torch


def project(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Tangent projection P_x y = y - <x, y> x, row by row. The row sums <x, y> as a product with a column of ones:
    PyTorch's reduction over a short last axis is strided (n = 2e4, d = 3: 0.37 ms against 0.07 ms)."""
    return torch.addcmul(y, x, (x * y) @ x.new_ones(x.shape[-1], 1), value=-1)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Retraction onto the sphere: x / |x|, row by row."""
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)


def exp_map(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Exponential map exp_x(v) = cos|v| x + sin|v| v/|v| for tangent v (then renormalised)."""
    speed = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    direction = v / torch.where(speed > 0, speed, torch.ones_like(speed))
    return normalize(torch.cos(speed) * x + torch.sin(speed) * direction)


def uniform(n: int, dim: int, generator: torch.Generator, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """n i.i.d. points from the uniform measure on S^{dim-1} (normalised Gaussians)."""
    g = torch.randn(n, dim, generator=generator, dtype=dtype, device=device)
    return normalize(g)


def angles(x: torch.Tensor) -> torch.Tensor:
    """Angle in [0, 2pi) of points of the circle S^1 given as (n, 2) unit vectors."""
    return torch.remainder(torch.atan2(x[..., 1], x[..., 0]), 2 * torch.pi)


def from_angles(theta: torch.Tensor) -> torch.Tensor:
    """Points (cos theta, sin theta) of the circle, shape (..., 2)."""
    return torch.stack((torch.cos(theta), torch.sin(theta)), dim=-1)


def geodesic_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Great-circle distance arccos <x, y>, computed stably with atan2(|x^y|, <x,y>)."""
    inner = (x * y).sum(-1)
    cross = torch.linalg.vector_norm(y - inner[..., None] * x, dim=-1)
    return torch.atan2(cross, inner)
