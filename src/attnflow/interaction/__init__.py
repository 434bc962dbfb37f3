"""Velocity fields of the attention dynamics and the choice of engine.

Engines: "dense" (any dim, any Q/K/V, SA/USA, every normalisation scheme; O(n^2) work in
memory-bounded blocks) and "circle" (dim 2, identity parameters, post-LN; the exact
Fourier–Bessel expansion, O(n M) work). `engine=None` picks "circle" wherever it is exact. Both take the
causal mask of the model (Model.mask; docs/science.md §7).
The engines give the attention output A; the model's normalisation (attnflow.normalization)
turns it into dx/dt.
Tokens may come as a batch (B, n, d) of independent systems (an ensemble), with beta per system: `ensemble`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import torch

from .._array import all_finite, float_range, to_tensor
from ..errors import EngineError, NonFiniteError, ParameterError, check, check_integer
from ..model import Model
from ..normalization import POST
from . import circle, dense

ENGINES = ("dense", "circle")


def circle_applies(model: Model) -> bool:
    """True where the circle engine is exact: dim 2, identity Q/K/V, post-LN (it computes P_x A)."""
    return model.dim == 2 and model.identity_parameters and model.normalization is POST


def choose_engine(model: Model, engine: str | None = None) -> str:
    """The engine to use: `engine` if allowed for `model`, else the fastest exact one."""
    if engine is None:
        return "circle" if circle_applies(model) else "dense"
    check(engine in ENGINES, "engine", engine, f"one of {', '.join(ENGINES)} (or None for automatic)")
    if engine == "circle" and not circle_applies(model):
        raise EngineError(
            f"engine='circle' needs dim=2, identity Q/K/V and norm={POST.name!r}; got dim={model.dim}, "
            f"identity parameters={model.identity_parameters}, norm={model.norm!r}; use engine='dense'")
    return engine


def ensemble(model, systems: int | None) -> tuple[Model, float | np.ndarray]:
    """(the model, beta) of `systems` independent systems (None: a single one). `model` is one Model (every system
    follows it) or, for a batch, a sequence of `systems` Models that differ at most in beta; beta is then one value
    per system (an array (systems,)), or one float where they all agree."""
    if isinstance(model, Model):
        return model, model.beta
    check(systems is not None and isinstance(model, Sequence) and len(model) == systems
          and all(isinstance(m, Model) for m in model), "model", type(model).__name__,
          "an attnflow.Model" + ("" if systems is None else f", or a sequence of {systems} Models (one per system)"))
    first = model[0]
    shared = {key: value for key, value in first.describe().items() if key != "beta"}
    differing = [i for i, m in enumerate(model) if {k: v for k, v in m.describe().items() if k != "beta"} != shared]
    check(not differing, "model", f"Models differing in more than beta (system {differing[:1]})",
          "Models that differ at most in beta")
    betas = dense.system_betas(np.array([m.beta for m in model]), systems)
    return first, betas


def largest(model: Model, beta) -> Model:
    """`model` with the largest of the betas `beta` (what `check_representable` must allow)."""
    return model if isinstance(beta, float) else dataclasses.replace(model, beta=float(np.max(beta)))


def check_tokens(model: Model, x: torch.Tensor, name: str = "x", finite: bool = True) -> None:
    """Shape (n, dim), or (B, n, dim) for a batch of B systems, with n, B >= 1 and (unless `finite` is False: a
    caller that checks its result instead) finite entries."""
    if not (x.ndim in (2, 3) and min(x.shape[:-1]) >= 1 and x.shape[-1] == model.dim):  # messages built on failure
        raise ParameterError(name, f"array of shape {tuple(x.shape)}",
                             f"an (n, {model.dim}) array with n >= 1, or a batch (B, n, {model.dim})")
    check(not finite or all_finite(x), name, "array with non-finite entries", "finite entries")


def check_representable(model: Model, dtype: torch.dtype, squared: bool = False) -> None:
    """Refuse a model whose velocities cannot be represented in `dtype` (docs/science.md §1).

    USA velocities reach e^{beta B} |V| with B = |K^T Q| (spectral norm; 1 for identity parameters):
    beyond the log of the largest float (half of it with `squared`, for a time integration, whose
    geodesic steps and error norms square velocities) they are refused. SA is a weighted average,
    finite at any beta, as long as beta B itself is representable."""
    largest, log_largest, name = float_range(dtype)
    bound = 1.0 if model.Q is None and model.K is None else float(np.linalg.norm(
        (np.eye(model.dim) if model.K is None else model.K).T @ (np.eye(model.dim) if model.Q is None else model.Q), 2))
    value_norm = 1.0 if model.V is None else float(np.linalg.norm(model.V, 2))
    if model.beta * bound > largest / 4:
        raise ParameterError("beta", model.beta,
                             f"a value with beta |K^T Q| representable in {name} (at most {largest / 4:.3g})")
    limit = log_largest / (2 if squared else 1) - 1
    if model.kind == "usa" and model.beta * bound + math.log(max(value_norm, 1e-300)) > limit:
        raise ParameterError(
            "beta", model.beta,
            f"at most {(limit - math.log(max(value_norm, 1e-300))) / bound:.4g} for kind='usa' in {name}"
            + (" (time integration)" if squared else "") + ": USA "
            f"velocities are of size e^(beta |K^T Q|) |V| and would leave the range of {name}; use kind='sa', "
            + ("float64, " if dtype != torch.float64 else "") + "or a smaller beta")


def tangent_velocity(model: Model, x: torch.Tensor, engine: str, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET,
                     beta=None, retracted: bool = False):
    """dx/dt at tokens x (a tensor (n, d), or a batch (B, n, d)), docs/science.md §1, for an already chosen engine:
    the model's normalisation applied to the attention output A on the directions it reads. `beta`: model.beta
    unless given (for a batch: one value, or one per system). `retracted`: x was just put on the sphere (the
    flows' rates), so that the directions attention reads are unit vectors, as a Euclidean scheme's always are."""
    beta = model.beta if beta is None else beta
    if engine == "circle":
        return circle.tangent_velocity(model.kind, beta, x, model.causal)
    scheme = model.normalization
    output = dense.attention(model.kind, beta, scheme.directions(x), model.Q, model.K, model.V, memory_budget,
                             causal=model.causal, unit=retracted or not scheme.on_sphere)
    return scheme.velocity(x, output)


def velocity(model, x, engine: str | None = None, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET):
    """Velocity dx_i/dt of every token (docs/science.md §1); NumPy or torch in, the same kind out.

    x              tokens (n, d), or a batch (B, n, d) of B independent systems
    model          an attnflow.Model; for a batch also a sequence of B Models differing only in beta (`ensemble`)
    engine         "dense", "circle" or None (automatic: "circle" wherever it is exact)
    memory_budget  bytes of attention weights per block for the dense engine
    """
    tensor, restore = to_tensor(x)
    model, beta = ensemble(model, tensor.shape[0] if tensor.ndim == 3 else None)
    chosen = choose_engine(model, engine)
    memory_budget = check_integer("memory_budget", memory_budget, 1, allowed="a positive number of bytes")
    check_tokens(model, tensor, finite=chosen != "dense")  # dense: NaN and infinities in x reach every velocity
    check_representable(largest(model, beta), tensor.dtype)
    result = tangent_velocity(model, tensor, chosen, memory_budget, beta)
    if not all_finite(result):
        check_tokens(model, tensor)  # a non-finite x is named as such
        raise NonFiniteError(f"the velocity is not finite (beta={np.max(beta):g}, kind={model.kind}, dtype="
                             f"{str(tensor.dtype).replace('torch.', '')}, engine={chosen})")
    return restore(result)
