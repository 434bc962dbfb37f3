"""The dynamics in the coordinates the time steppers work in.

A flow turns tokens into a state tensor and back, gives the rate of change of the
state, and knows how to move along a geodesic and how to retract a Runge–Kutta
combination back onto the manifold:

* `CircleFlow`: the angles theta (n,), rate from the Fourier–Bessel engine; the
  geodesic step theta + h omega is exact and needs no retraction.
* `SphereFlow`: unit vectors (n, d), post-LN; rates evaluated at normalised points,
  Euler moves along the exponential map, Runge–Kutta combinations are normalised
  (a projection method, which keeps the order of the scheme).
* `EuclideanFlow`: Pre-LN tokens in R^d, attention on their directions.
"""

from __future__ import annotations

import math

import torch

from . import sphere
from .interaction import circle, dense, tangent_velocity
from .model import Model


class CircleFlow:
    def __init__(self, model: Model):
        self.model = model

    def encode(self, x):
        return sphere.angles(x)

    def decode(self, theta):
        return sphere.from_angles(theta)

    def rate(self, theta):
        return circle.angular_velocity(self.model.kind, self.model.beta, theta)

    def geodesic(self, theta, velocity, h):
        return theta + h * velocity

    def retract(self, theta):
        return theta

    def size(self, theta):
        return torch.ones_like(theta)

    def difference(self, a, b):
        return (a - b).abs()

    def brownian(self, theta, h, generator):
        noise = torch.randn(theta.shape, generator=generator, dtype=theta.dtype, device="cpu").to(theta.device)
        return theta + math.sqrt(2 * self.model.diffusion * h) * noise


class SphereFlow:
    def __init__(self, model: Model, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET):
        self.model, self.memory_budget = model, memory_budget

    def encode(self, x):
        return x

    def decode(self, x):
        return x

    def rate(self, x):
        return tangent_velocity(self.model, sphere.normalize(x), "dense", self.memory_budget)

    def geodesic(self, x, velocity, h):
        return sphere.exp_map(x, h * velocity)

    def retract(self, x):
        return sphere.normalize(x)

    def size(self, x):
        return torch.ones(x.shape[0], dtype=x.dtype, device=x.device)

    def difference(self, a, b):
        return torch.linalg.vector_norm(a - b, dim=-1)

    def brownian(self, x, h, generator):
        """Geodesic random walk: exp_x of a tangent Gaussian of variance 2 D h (generator D Laplacian)."""
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device="cpu").to(x.device)
        return sphere.exp_map(x, sphere.project(x, math.sqrt(2 * self.model.diffusion * h) * noise))


class EuclideanFlow(SphereFlow):
    def rate(self, x):
        return tangent_velocity(self.model, x, "dense", self.memory_budget)

    def geodesic(self, x, velocity, h):
        return x + h * velocity

    def retract(self, x):
        return x

    def size(self, x):
        return torch.linalg.vector_norm(x, dim=-1)


def make_flow(model: Model, engine: str, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET):
    """The flow for `model` with an already chosen engine."""
    if engine == "circle":
        return CircleFlow(model)
    if model.norm == "pre":
        return EuclideanFlow(model, memory_budget)
    return SphereFlow(model, memory_budget)
