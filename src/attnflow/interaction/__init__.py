"""Velocity fields of the attention dynamics and the choice of engine.

Engines: "dense" (any dim, any Q/K/V, SA/USA, post- or pre-LN; O(n^2) work in
memory-bounded blocks) and "circle" (dim 2, identity parameters, post-LN; the exact
Fourier–Bessel expansion, O(n M) work). `engine=None` picks "circle" wherever it is exact.
"""

from __future__ import annotations

import torch

from .. import sphere
from .._array import to_tensor
from ..errors import EngineError, ParameterError, check
from ..model import Model
from . import circle, dense

ENGINES = ("dense", "circle")


def circle_applies(model: Model) -> bool:
    """True where the circle engine is exact: dim 2, identity Q/K/V, post-LN."""
    return model.dim == 2 and model.identity_parameters and model.norm == "post"


def choose_engine(model: Model, engine: str | None = None) -> str:
    """The engine to use: `engine` if allowed for `model`, else the fastest exact one."""
    if engine is None:
        return "circle" if circle_applies(model) else "dense"
    check(engine in ENGINES, "engine", engine, f"one of {', '.join(ENGINES)} (or None for automatic)")
    if engine == "circle" and not circle_applies(model):
        raise EngineError(
            f"engine='circle' needs dim=2, identity Q/K/V and norm='post'; got dim={model.dim}, "
            f"identity parameters={model.identity_parameters}, norm={model.norm!r}; use engine='dense'")
    return engine


def check_tokens(model: Model, x: torch.Tensor, name: str = "x") -> None:
    """Shape (n, dim) with n >= 1 and finite entries."""
    check(x.ndim == 2 and x.shape[0] >= 1 and x.shape[1] == model.dim, name, f"array of shape {tuple(x.shape)}",
          f"an (n, {model.dim}) array with n >= 1")
    check(bool(torch.isfinite(x).all()), name, "array with non-finite entries", "finite entries")


def tangent_velocity(model: Model, x: torch.Tensor, engine: str, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET):
    """dx/dt at tokens x (a tensor), SCIENCE.md §1, for an already chosen engine."""
    if engine == "circle":
        theta = sphere.angles(x)
        omega = circle.angular_velocity(model.kind, model.beta, theta)
        return omega[:, None] * torch.stack((-torch.sin(theta), torch.cos(theta)), dim=1)
    if model.norm == "pre":
        return dense.attention(model.kind, model.beta, sphere.normalize(x), model.Q, model.K, model.V,
                               memory_budget)
    output = dense.attention(model.kind, model.beta, x, model.Q, model.K, model.V, memory_budget)
    if model.norm == "ngpt":  # nGPT-style: the attention output is normalised before the update
        output = output / torch.linalg.vector_norm(output, dim=1, keepdim=True)
    return sphere.project(x, output)


def velocity(model: Model, x, engine: str | None = None, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET):
    """Velocity dx_i/dt of every token (SCIENCE.md §1); NumPy or torch in, the same kind out.

    engine         "dense", "circle" or None (automatic: "circle" wherever it is exact)
    memory_budget  bytes of attention weights per block for the dense engine
    """
    if not isinstance(model, Model):
        raise ParameterError("model", type(model).__name__, "an attnflow.Model")
    chosen = choose_engine(model, engine)
    check(isinstance(memory_budget, int) and memory_budget > 0, "memory_budget", memory_budget,
          "a positive number of bytes")
    tensor, restore = to_tensor(x)
    check_tokens(model, tensor)
    return restore(tangent_velocity(model, tensor, chosen, memory_budget))
