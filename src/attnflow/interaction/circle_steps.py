"""Blocks of fixed time steps of the circle dynamics in one compiled call (docs/science.md §1).

Between two saves or observations a fixed-step run needs nothing from Python: each step is the kernel's
two passes (`circle_kernel`: moments, then the series) and an update of the angles. Here whole blocks of
Euler or RK4 steps run inside Numba, with the same arithmetic in the same order as `steppers.euler_step`
and `steppers.rk4_step` on `flow.CircleFlow` (float64), so a run gives the same bits either way:

  Euler  theta <- theta + h omega(theta)
  RK4    k1 = omega(theta), k2 = omega(theta + (h/2) k1), k3 = omega(theta + (h/2) k2), k4 = omega(theta + h k3),
         theta <- theta + (h/6) (((k1 + 2 k2) + 2 k3) + k4)

The per-step cost without it was the kernel's plus ~0.3 ms of tensor calls and Python (n = 2e4).
Causal attention runs the same steps with the kernel's causal passes (`task_moments`, `causal_series`: the
prefix moments), whose moments are kept per task of circle_kernel.TASK tokens.
"""

from __future__ import annotations

import types

import numpy as np
import torch
from numba import njit

from .. import threads
from . import circle_kernel
from .circle import series_coefficients
from .dense import system_betas

METHODS = ("euler", "rk4")
PROBE_STEPS = 2  # steps of a call that measures the parallel choice (threads.probing)


def _euler(theta, steps, a, b, i0, scale, counts, sa, re, im, omega):
    systems, n = theta.shape
    for h in steps:
        moments(theta, counts, re, im)  # noqa: F821 (bound by _compiled)
        series(theta, a, b, i0, scale, counts, sa, re, im, omega)  # noqa: F821
        for s in range(systems):
            for j in range(n):
                theta[s, j] = theta[s, j] + h * omega[s, j]


def _rate(theta, a, b, i0, scale, counts, sa, re, im, out):
    moments(theta, counts, re, im)  # noqa: F821
    series(theta, a, b, i0, scale, counts, sa, re, im, out)  # noqa: F821


def _rk4(theta, steps, a, b, i0, scale, counts, sa, re, im, k1, k2, k3, k4, stage):
    systems, n = theta.shape
    for h in steps:
        rate(theta, a, b, i0, scale, counts, sa, re, im, k1)  # noqa: F821
        for s in range(systems):
            for j in range(n):
                stage[s, j] = theta[s, j] + (h / 2) * k1[s, j]
        rate(stage, a, b, i0, scale, counts, sa, re, im, k2)  # noqa: F821
        for s in range(systems):
            for j in range(n):
                stage[s, j] = theta[s, j] + (h / 2) * k2[s, j]
        rate(stage, a, b, i0, scale, counts, sa, re, im, k3)  # noqa: F821
        for s in range(systems):
            for j in range(n):
                stage[s, j] = theta[s, j] + h * k3[s, j]
        rate(stage, a, b, i0, scale, counts, sa, re, im, k4)  # noqa: F821
        for s in range(systems):
            for j in range(n):
                theta[s, j] = theta[s, j] + (h / 6) * (((k1[s, j] + 2 * k2[s, j]) + 2 * k3[s, j]) + k4[s, j])


def _compiled(function, parallel: bool, causal: bool, **bound):
    """`function` compiled with the names `bound` (the kernel's passes, serial or parallel, causal or not) as its
    globals, under its own name per variant (Numba's disk cache tells functions apart by name, not by what they
    call)."""
    variant = f"{function.__name__}_{'parallel' if parallel else 'serial'}{'_causal' if causal else ''}"
    copy = types.FunctionType(function.__code__, {**function.__globals__, **bound}, variant)
    copy.__qualname__ = variant
    return njit(cache=True, fastmath=False)(copy)


def _variants(parallel: bool, causal: bool) -> dict:
    kernel = circle_kernel.COMPILED[parallel, False]
    passes = ({"moments": kernel["task_moments"], "series": kernel["causal_series"]} if causal
              else {"moments": kernel["moments"], "series": kernel["series"]})
    rate = _compiled(_rate, parallel, causal, **passes)
    return {"euler": _compiled(_euler, parallel, causal, **passes), "rk4": _compiled(_rk4, parallel, causal, rate=rate)}


COMPILED = {(parallel, causal): _variants(parallel, causal) for parallel in (False, True) for causal in (False, True)}


def advance(kind: str, beta, theta: torch.Tensor, steps: np.ndarray, method: str, causal: bool = False) -> torch.Tensor:
    """Angles theta (n,) or a batch (B, n) (CPU, float64) after fixed steps of sizes `steps` of `method`
    ("euler" or "rk4"), `beta` one number or one per system, `causal` for causal attention: bit for bit the
    steps taken one at a time."""
    batch = theta if theta.ndim == 2 else theta[None]
    a, b, i0, scale, counts = series_coefficients(kind, system_betas(beta, theta.shape[0] if theta.ndim == 2
                                                                     else None), batch.shape[0])
    systems, n = batch.shape
    modes = a.shape
    angles = batch.detach().clone().contiguous().numpy()
    tasks = (n + circle_kernel.TASK - 1) // circle_kernel.TASK
    re, im = (np.zeros((systems * tasks, modes[1])) for _ in range(2)) if causal else (np.empty(modes), np.empty(modes))
    work = [np.empty_like(angles) for _ in range(1 if method == "euler" else 5)]
    steps = np.ascontiguousarray(steps, dtype=np.float64)
    per_step = int(counts.sum()) * n * (1 if method == "euler" else 4)  # the tuner's work: token-modes
    kernel, done = f"circle {method} steps", 0
    while done < len(steps):  # a measurement of the parallel choice takes PROBE_STEPS steps only (threads.probing)
        block = steps[done:done + (PROBE_STEPS if threads.probing(kernel) else len(steps))]
        with threads.kernel_threads(per_step * len(block), kernel) as count:
            COMPILED[count > 1, causal][method](angles, block, a, b, i0, scale, counts, kind == "sa", re, im,
                                                *work)
        done += len(block)
    result = torch.from_numpy(angles)
    return result if theta.ndim == 2 else result[0]
