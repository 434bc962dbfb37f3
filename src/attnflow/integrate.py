"""`simulate`: integrate the token dynamics in time and record the run as a Dataset."""

from __future__ import annotations

import math
import time as wallclock
from typing import Callable

import numpy as np
import torch

from . import observables as obs
from . import sphere
from ._array import resolve_device, resolve_dtype, to_tensor
from .errors import ParameterError, check
from .flow import make_flow
from .interaction import check_tokens, choose_engine, dense
from .io import RunRecorder
from .model import Model
from .steppers import dopri5_step, error_ratio, euler_step, rk4_step

METHODS = ("euler", "rk4", "dopri5")
OBSERVABLES = ("modes", "energy", "order_parameter")
FIXED_STEP = {"euler": euler_step, "rk4": rk4_step}


def _positive(name, value, allowed="a finite number > 0"):
    check(isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
          and math.isfinite(value) and value > 0, name, value, allowed)


def simulate(model: Model, x0, t_end: float, dt: float | None = None, method: str = "rk4",
             save_every: float | None = None, observe_every: float | None = None, engine: str | None = None,
             rtol: float = 1e-6, atol: float = 1e-9, seed: int = 0, kmax: int = 10,
             observables=("modes", "energy"), out=None, progress: Callable[[float, float], None] | None = None,
             device=None, dtype=None, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET):
    """Integrate the dynamics of `model` from tokens `x0` up to time `t_end` (SCIENCE.md §1).

    method         "euler" (explicit, along geodesics: the seed's scheme), "rk4" (classical,
                   with retraction), "dopri5" (adaptive Dormand–Prince 5(4): rtol, atol, dt = first step)
    dt             step for euler/rk4 (required); optional first step for dopri5
    save_every     time between saved positions (default t_end / 50; rounded to a multiple of dt)
    observe_every  time between recorded observables (default save_every / 10)
    observables    any of "modes" (|mu_k|, k = 1..kmax, Gegenbauer powers in any dim), "energy"
                   (E_beta), "order_parameter" (|mean x|)
    seed           seed of the Brownian increments when model.diffusion > 0 (Euler–Maruyama)
    out            optional .nc/.zarr path: snapshots are written as the run goes
    progress       optional callback progress(t, t_end)
    Returns an xarray.Dataset (see io.py) with the model, solver and seed in attrs.
    """
    if not isinstance(model, Model):
        raise ParameterError("model", type(model).__name__, "an attnflow.Model")
    check(method in METHODS, "method", method, f"one of {', '.join(METHODS)}")
    check(isinstance(t_end, (int, float, np.floating, np.integer)) and not isinstance(t_end, bool)
          and math.isfinite(t_end) and t_end >= 0, "t_end", t_end, "a finite number >= 0")
    if method in FIXED_STEP or dt is not None:
        _positive("dt", dt, "a finite number > 0" + (" (required by euler and rk4)" if dt is None else ""))
    if model.diffusion > 0:
        check(method == "euler", "method", method, "euler (Euler–Maruyama) when diffusion > 0")
    check(isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0,
          "seed", seed, "an integer >= 0")
    check(isinstance(kmax, (int, np.integer)) and not isinstance(kmax, bool) and kmax >= 1,
          "kmax", kmax, "an integer >= 1")
    unknown = [name for name in observables if name not in OBSERVABLES]
    check(not unknown, "observables", unknown, f"a subset of {', '.join(OBSERVABLES)}")
    if method == "dopri5":
        _positive("rtol", rtol)
        _positive("atol", atol)
    save_every = t_end / 50 if save_every is None else save_every
    if t_end > 0:
        _positive("save_every", save_every)
    observe_every = save_every / 10 if observe_every is None else observe_every
    if t_end > 0:
        _positive("observe_every", observe_every)
    chosen = choose_engine(model, engine)
    torch_dtype = resolve_dtype(dtype) if dtype is not None else None
    torch_device = resolve_device(device) if device is not None else None
    x, _ = to_tensor(x0, "x0", torch_dtype or (None if isinstance(x0, torch.Tensor) else torch.float64),
                     torch_device)
    check_tokens(model, x, "x0")
    if model.norm != "pre":
        tolerance = 1e-10 if x.dtype == torch.float64 else 1e-5
        deviation = float((torch.linalg.vector_norm(x, dim=1) - 1).abs().max())
        check(deviation <= tolerance, "x0", f"rows with | |x| - 1 | up to {deviation:.2e}",
              f"unit vectors (tolerance {tolerance:g}); use attnflow.init.from_array(x, normalize=True)")
        x = sphere.normalize(x)

    flow = make_flow(model, chosen, memory_budget)
    attrs = {**model.describe(), "method": method, "dt": dt, "engine": chosen, "t_end": float(t_end),
             "seed": seed, "rtol": rtol if method == "dopri5" else "none",
             "atol": atol if method == "dopri5" else "none", "dtype": str(x.dtype).replace("torch.", ""),
             "device": str(x.device), "n": x.shape[0]}
    recorder = RunRecorder(attrs, model.dim, out)
    generator = torch.Generator().manual_seed(seed)

    def record_observables(t, y):
        points = flow.decode(y)
        directions = sphere.normalize(points) if model.norm == "pre" else points
        values = {}
        if "modes" in observables:
            values["mode_amplitude"] = obs.mode_amplitudes(directions, kmax)
        if "energy" in observables:
            values["energy"] = obs.energy(directions, model.beta)
        if "order_parameter" in observables:
            values["order_parameter"] = obs.order_parameter(directions)
        recorder.observe(t, values)

    def save(t, y):
        recorder.snapshot(t, flow.decode(y).detach().cpu().numpy())

    started = wallclock.perf_counter()
    y = flow.encode(x)
    if method in FIXED_STEP:
        stats = _fixed_steps(flow, FIXED_STEP[method], y, float(t_end), float(dt), save_every, observe_every,
                             model.diffusion > 0, generator, save, record_observables, progress)
    else:
        stats = _adaptive_steps(flow, y, float(t_end), dt, save_every, observe_every, rtol, atol,
                                save, record_observables, progress)
    stats["wall_time"] = wallclock.perf_counter() - started
    return recorder.finish(stats)


def _fixed_steps(flow, step, y, t_end, dt, save_every, observe_every, noisy, generator, save, observe, progress):
    steps = max(0, math.ceil(t_end / dt - 1e-9))
    save_stride = max(1, round(save_every / dt)) if t_end > 0 else 1
    observe_stride = max(1, round(observe_every / dt)) if t_end > 0 else 1
    save(0.0, y)
    observe(0.0, y)
    for k in range(1, steps + 1):
        h = min(dt, t_end - (k - 1) * dt)
        y = step(flow, y, h)
        if noisy:
            y = flow.brownian(y, h, generator)
        t = min(k * dt, t_end)
        if k % observe_stride == 0 or k == steps:
            observe(t, y)
            if progress is not None:
                progress(t, t_end)
        if k % save_stride == 0 or k == steps:
            save(t, y)
    return {"steps": steps, "rejected_steps": 0}


def _adaptive_steps(flow, y, t_end, dt, save_every, observe_every, rtol, atol, save, observe, progress):
    """Dormand–Prince with the standard controller, landing exactly on every save/observe time."""
    targets = np.unique(np.concatenate([np.arange(1, math.floor(t_end / observe_every + 1e-9) + 1) * observe_every,
                                        np.arange(1, math.floor(t_end / save_every + 1e-9) + 1) * save_every,
                                        [t_end]]))
    targets = targets[(targets > 0) & (targets <= t_end)]
    save_times = set(np.round(np.arange(0, t_end + save_every / 2, save_every), 12)) | {round(t_end, 12)}
    save(0.0, y)
    observe(0.0, y)
    k1 = flow.rate(y)
    scale = float(flow.size(y).max()) * rtol + atol
    speed = float(torch.linalg.vector_norm(k1.reshape(k1.shape[0], -1), dim=-1).max())
    h = dt if dt is not None else (0.01 * scale ** 0.2 / speed if speed > 1e-12 else t_end or 1.0)
    t, steps, rejected = 0.0, 0, 0
    for target in targets:
        while t < target * (1 - 1e-14):
            h_step = min(h, target - t)
            y_new, error, k_new = dopri5_step(flow, y, h_step, k1)
            ratio = error_ratio(flow, y_new, error, rtol, atol)
            factor = min(5.0, max(0.2, 0.9 * (ratio if ratio > 0 else 1e-10) ** -0.2))
            if ratio <= 1.0:
                t = float(target) if h_step == target - t else t + h_step
                y, k1 = flow.retract(y_new), k_new
                steps += 1
                h = h_step * factor if h_step == h or factor < 1 else max(h, h_step * factor)
            else:
                rejected += 1
                h = h_step * max(0.2, factor)
        observe(float(target), y)
        if round(float(target), 12) in save_times:
            save(float(target), y)
        if progress is not None:
            progress(float(target), t_end)
    return {"steps": steps, "rejected_steps": rejected}
