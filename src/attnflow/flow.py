"""The dynamics in the coordinates the time steppers work in.

A flow turns tokens into a state tensor and back, gives the rate of change of the
state, and knows how to move along a geodesic and how to retract a Runge–Kutta
combination back onto the manifold:

* `CircleFlow`: the angles theta (n,), rate from the Fourier–Bessel engine; the
  geodesic step theta + h omega is exact and needs no retraction. It can also `advance` whole blocks of
  fixed Euler/RK4 steps in compiled code (interaction/circle_steps.py).
* `TokenFlow`: the tokens (n, d) themselves, rate from the dense engine; the manifold
  (the sphere, or R^d) and its geodesic step, retraction, size and Brownian step are
  those of the model's normalisation scheme (attnflow.normalization). On the sphere,
  rates are evaluated at retracted points and Runge–Kutta combinations are normalised
  (a projection method, which keeps the order of the scheme).

The state may be a batch of independent systems (an ensemble: angles (B, n), tokens (B, n, d)); `beta` is the
model's, or one value per system (interaction.ensemble).
"""

from __future__ import annotations

import contextlib
import math

import torch

from . import sphere, threads
from .interaction import circle, circle_steps, dense, tangent_velocity
from .model import Model


class CircleFlow:
    def __init__(self, model: Model, beta=None):
        self.model, self.beta = model, model.beta if beta is None else beta

    def select(self, systems):
        """The flow of the systems `systems` (indices) of a batch."""
        return CircleFlow(self.model, subset(self.beta, systems))

    def encode(self, x):
        return sphere.angles(x)

    def decode(self, theta):
        return sphere.from_angles(theta)

    def rate(self, theta):
        return circle.angular_velocity(self.model.kind, self.beta, theta, self.model.causal)

    def advance(self, theta, steps, method: str):
        """theta after fixed steps of sizes `steps` (an array) of `method` in one compiled call (circle_steps),
        the same bits as the steps taken one at a time; None where that path does not apply (not float64 on
        the CPU, or a method it does not have)."""
        if theta.device.type != "cpu" or theta.dtype != torch.float64 or method not in circle_steps.METHODS:
            return None
        return circle_steps.advance(self.model.kind, self.beta, theta, steps, method, self.model.causal)

    def geodesic(self, theta, velocity, h):
        return theta + h * velocity

    def retract(self, theta):
        return theta

    def size(self, theta):
        return torch.ones_like(theta)

    def brownian(self, theta, h, generator):
        noise = torch.randn(theta.shape, generator=generator, dtype=theta.dtype, device="cpu").to(theta.device)
        return theta + math.sqrt(2 * self.model.diffusion * h) * noise

    def step_threads(self, theta, evaluations: int):
        """The threads of one time step: the compiled kernel's own choice (nothing to set here)."""
        return contextlib.nullcontext()


class TokenFlow:
    def __init__(self, model: Model, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET, beta=None):
        self.model, self.memory_budget = model, memory_budget
        self.beta = model.beta if beta is None else beta
        self.manifold = model.normalization

    def select(self, systems):
        """The flow of the systems `systems` (indices) of a batch."""
        return TokenFlow(self.model, self.memory_budget, subset(self.beta, systems))

    def encode(self, x):
        return x

    def decode(self, x):
        return x

    def rate(self, x):
        return tangent_velocity(self.model, self.manifold.retract(x), "dense", self.memory_budget, self.beta,
                                retracted=self.manifold.on_sphere)

    def geodesic(self, x, velocity, h):
        return self.manifold.geodesic(x, velocity, h)

    def retract(self, x):
        return self.manifold.retract(x)

    def size(self, x):
        """The size of each token, shape x.shape[:-1] (any leading axes: systems, tokens)."""
        return self.manifold.size(x.reshape(-1, x.shape[-1])).reshape(x.shape[:-1])

    def brownian(self, x, h, generator):
        return self.manifold.brownian(x, h, self.model.diffusion, generator)

    def step_threads(self, x, evaluations: int):
        """torch's threads for one time step of `evaluations` rates at x, chosen by measurement (`threads`) for a
        small system: its exponentials still open torch's parallel regions, which wait for a descheduled thread
        on a busy machine (n = 200, d = 3, RK4: 0.76 ms per step on two threads against 0.48 ms on one; quiet,
        0.27 against 0.33 ms). A larger system's attention tunes its own blocks (`dense.attention`)."""
        pairs = x[..., 0].numel() * x.shape[-2]  # systems x n x n
        if x.device.type != "cpu" or pairs >= 2 * threads.TORCH_GRAIN:
            return contextlib.nullcontext()
        return threads.kernel_threads(pairs * evaluations, "dense step", library="torch",
                                      grain=threads.TORCH_OPERATION_GRAIN)


def subset(beta, systems):
    """beta of the systems `systems` (indices): the shared float, or those entries of one value per system."""
    return beta if isinstance(beta, float) else beta[systems.cpu().numpy()]


def make_flow(model: Model, engine: str, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET, beta=None):
    """The flow for `model` with an already chosen engine (`beta`: model.beta, or one value per system)."""
    return CircleFlow(model, beta) if engine == "circle" else TokenFlow(model, memory_budget, beta)
