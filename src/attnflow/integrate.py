"""`simulate`: integrate the token dynamics in time and record the run as a Dataset."""

from __future__ import annotations

import math
import time as wallclock
from typing import Callable

import numpy as np
import torch

from . import observables as obs
from . import sphere, threads
from ._array import resolve_device, resolve_dtype, to_tensor
from .errors import NonFiniteError, ParameterError, check
from .flow import make_flow
from .interaction import check_representable, check_tokens, choose_engine, dense
from .io import RunRecorder, checkpoint_arrays
from .model import Model
from .progress import callback
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
             device=None, dtype=None, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET,
             overwrite: bool = False, resume: bool = False, flush_seconds: float = 5.0,
             max_steps: int = 10**7):
    """Integrate the dynamics of `model` from tokens `x0` up to time `t_end` (docs/science.md §1).

    method         "euler" (explicit, along geodesics: the seed's scheme), "rk4" (classical,
                   with retraction), "dopri5" (adaptive Dormand–Prince 5(4): rtol, atol, dt = first step)
    dt             step for euler/rk4 (required, at most t_end); optional first step for dopri5
    save_every     time between saved positions (default t_end / 50; rounded to a multiple of dt)
    observe_every  time between recorded observables (default save_every / 10)
    observables    any of "modes" (|mu_k|, k = 1..kmax, Gegenbauer powers in any dim), "energy"
                   (E_beta; recorded as "energy_scaled" = e^{-beta} E_beta where e^beta overflows),
                   "order_parameter" (|mean x|)
    seed           seed of the Brownian increments when model.diffusion > 0 (Euler–Maruyama)
    out            optional .nc/.zarr path: the run streams to `<stem>.partial.zarr` as it goes (with a
                   checkpoint at every flushed snapshot) and moves to `out` when complete (io.py)
    overwrite      replace an earlier attnflow result (or interrupted run) at `out`; never anything else
    resume         continue the interrupted run bound for `out` from its last checkpoint: the same
                   parameters and x0 are required, and the result equals an uninterrupted run bit for bit
                   (the noise generator's state is part of the checkpoint)
    progress       True for a progress bar (terminal or notebook; plain lines in a log), or a callback
                   progress(t, t_end)
    max_steps      dopri5: the most steps (accepted and rejected) the run may take; more is an error
    Returns an xarray.Dataset (see io.py) with the model, solver and seed in attrs.
    A state that becomes non-finite stops the run with `NonFiniteError` (naming beta, dt, dtype and
    the time); with `out`, the finished part stays in the partial store, marked incomplete.
    """
    if not isinstance(model, Model):
        raise ParameterError("model", type(model).__name__, "an attnflow.Model")
    check(method in METHODS, "method", method, f"one of {', '.join(METHODS)}")
    check(isinstance(t_end, (int, float, np.floating, np.integer)) and not isinstance(t_end, bool)
          and math.isfinite(t_end) and t_end >= 0, "t_end", t_end, "a finite number >= 0")
    if method in FIXED_STEP or dt is not None:
        _positive("dt", dt, "a finite number > 0" + (" (required by euler and rk4)" if dt is None else ""))
        check(t_end == 0 or dt <= t_end, "dt", dt, f"a step no longer than t_end = {t_end:g}")
    if model.diffusion > 0:
        check(method == "euler", "method", method, "euler (Euler–Maruyama) when diffusion > 0")
    check(isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0,
          "seed", seed, "an integer >= 0")
    check(isinstance(kmax, (int, np.integer)) and not isinstance(kmax, bool) and kmax >= 1,
          "kmax", kmax, "an integer >= 1")
    observables = (observables,) if isinstance(observables, str) else tuple(observables)
    unknown = [name for name in observables if name not in OBSERVABLES]
    check(not unknown, "observables", unknown, f"a subset of {', '.join(OBSERVABLES)}")
    if method == "dopri5":
        check(isinstance(max_steps, (int, np.integer)) and not isinstance(max_steps, bool) and max_steps >= 1,
              "max_steps", max_steps, "an integer >= 1")
        _positive("rtol", rtol)
        _positive("atol", atol)
    save_every = t_end / 50 if save_every is None else save_every
    if t_end > 0:
        _positive("save_every", save_every)
    observe_every = save_every / 10 if observe_every is None else observe_every
    if t_end > 0:
        _positive("observe_every", observe_every)
    check(progress is None or isinstance(progress, bool) or callable(progress), "progress", progress,
          "True (a bar in a terminal or notebook, plain lines in a log), a callback progress(t, t_end), or None")
    check(not resume or out is not None, "resume", resume, "False unless out names the interrupted run")
    check(not (resume and overwrite), "resume", resume, "False with overwrite=True (one or the other)")
    chosen = choose_engine(model, engine)
    torch_dtype = resolve_dtype(dtype) if dtype is not None else None
    torch_device = resolve_device(device) if device is not None else None
    x, _ = to_tensor(x0, "x0", torch_dtype or (None if isinstance(x0, torch.Tensor) else torch.float64),
                     torch_device)
    check_tokens(model, x, "x0")
    check_representable(model, x.dtype, squared=True)
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
             "device": str(x.device), "n": x.shape[0], "save_every": float(save_every) if t_end > 0 else "none",
             "observe_every": float(observe_every) if t_end > 0 else "none", "kmax": kmax,
             "observables": list(observables)}
    if resume:
        recorder = RunRecorder.resume(attrs, model.dim, out, flush_seconds)
        start = flow.decode(flow.encode(x)).detach().cpu().numpy()
        check(np.array_equal(recorder.positions[0], start), "x0", "tokens",
              f"the initial tokens of the interrupted run in {recorder.store}")
    else:
        recorder = RunRecorder(attrs, model.dim, out, flush_seconds, overwrite=overwrite)
        recorder.check_targets()
    energy_name = "energy" if model.beta <= obs.MAX_EXP else "energy_scaled"

    def observe(t, y):
        points = flow.decode(y)
        directions = sphere.normalize(points) if model.norm == "pre" else points
        values = {}
        if "modes" in observables:
            values["mode_amplitude"] = obs.mode_amplitudes(directions, kmax)
        if "energy" in observables:
            values[energy_name] = obs.energy(directions, model.beta, scaled=energy_name == "energy_scaled")
        if "order_parameter" in observables:
            values["order_parameter"] = obs.order_parameter(directions)
        recorder.observe(t, values)

    def guard(t, y):
        if y is None or not bool(torch.isfinite(y).all()):
            raise NonFiniteError(
                f"the state became non-finite by t = {t:.6g} (beta={model.beta:g}, dt={dt}, dtype={attrs['dtype']}, "
                f"kind={model.kind}, engine={chosen}): the run cannot be represented; try a smaller dt, "
                "float64 or a smaller beta")

    progress = callback(progress, "simulate t")
    loop = _Loop(flow, float(t_end), recorder, observe, guard, progress)
    started = wallclock.perf_counter()
    try:
        with threads.torch_threads(1 if chosen == "circle" and x.device.type == "cpu" else None):
            if method in FIXED_STEP:
                stats = loop.fixed(FIXED_STEP[method], flow.encode(x), float(dt), save_every, observe_every,
                                   model.diffusion > 0, torch.Generator().manual_seed(seed))
            else:
                stats = loop.adaptive(flow.encode(x), dt, save_every, observe_every, rtol, atol, max_steps)
    except BaseException as error:
        if hasattr(progress, "close"):
            progress.close()
        where = recorder.abandon(f"{type(error).__name__}: {error}")
        if where is not None:
            error.partial_result = where
        raise
    stats["wall_time"] = wallclock.perf_counter() - started
    return recorder.finish(stats)


class _Loop:
    """The time loop of one run: steps, saves (with checkpoints), observations, finiteness checks."""

    def __init__(self, flow, t_end, recorder, observe, guard, progress):
        self.flow, self.t_end, self.recorder = flow, t_end, recorder
        self.observe, self.guard, self.progress = observe, guard, progress

    def save(self, time, y, **state):
        checkpoint = None if self.recorder.store is None else checkpoint_arrays({"state": y, **state})
        self.recorder.snapshot(time, self.flow.decode(y).detach().cpu().numpy(), checkpoint)

    def fixed(self, step, y, dt, save_every, observe_every, noisy, generator):
        t_end, flow = self.t_end, self.flow
        steps = max(0, math.ceil(t_end / dt - 1e-9))
        save_stride = max(1, round(save_every / dt)) if t_end > 0 else 1
        observe_stride = max(1, round(observe_every / dt)) if t_end > 0 else 1
        resumed = self.recorder.checkpoint
        if resumed is None:
            first = 1
            self.observe(0.0, y)
            self.save(0.0, y, step=0, generator=generator.get_state())
        else:
            first = int(resumed["step"]) + 1
            y = torch.as_tensor(resumed["state"], dtype=y.dtype, device=y.device)
            generator.set_state(torch.as_tensor(resumed["generator"], dtype=torch.uint8))
        for k in range(first, steps + 1):
            h = min(dt, t_end - (k - 1) * dt)
            y = step(flow, y, h)
            if noisy:
                y = flow.brownian(y, h, generator)
            t = min(k * dt, t_end)
            if k % observe_stride == 0 or k % save_stride == 0 or k == steps:
                self.guard(t, y)  # a NaN or inf stays so: checked before anything is recorded
            if k % observe_stride == 0 or k == steps:
                self.observe(t, y)
                if self.progress is not None:
                    self.progress(t, t_end)
            if k % save_stride == 0 or k == steps:
                self.save(t, y, step=k, generator=generator.get_state())
        return {"steps": steps, "rejected_steps": 0}

    def adaptive(self, y, dt, save_every, observe_every, rtol, atol, max_steps):
        """Dormand–Prince with the standard controller, landing exactly on every save/observe time."""
        t_end, flow = self.t_end, self.flow
        observe_count = math.floor(t_end / observe_every + 1e-9) if t_end > 0 else 0
        save_count = math.floor(t_end / save_every + 1e-9) if t_end > 0 else 0
        targets = np.unique(np.concatenate([np.arange(1, observe_count + 1) * observe_every,
                                            np.arange(1, save_count + 1) * save_every, [t_end]]))
        targets = targets[(targets > 0) & (targets <= t_end)]
        save_times = set(np.round(np.arange(0, t_end + save_every / 2, save_every), 12)) if t_end > 0 else set()
        save_times.add(round(t_end, 12))
        resumed = self.recorder.checkpoint
        if resumed is None:
            self.observe(0.0, y)
            k1 = flow.rate(y)
            scale = float(flow.size(y).max()) * rtol + atol
            speed = float(torch.linalg.vector_norm(k1.reshape(k1.shape[0], -1), dim=-1).max())
            h = dt if dt is not None else (0.01 * scale ** 0.2 / speed if speed > 1e-12 else t_end or 1.0)
            t, steps, rejected = 0.0, 0, 0
            self.save(0.0, y, rate=k1, t=t, h=h, steps=steps, rejected=rejected)
        else:
            y = torch.as_tensor(resumed["state"], dtype=y.dtype, device=y.device)
            k1 = torch.as_tensor(resumed["rate"], dtype=y.dtype, device=y.device)
            t, h = float(resumed["t"]), float(resumed["h"])
            steps, rejected = int(resumed["steps"]), int(resumed["rejected"])
            targets = targets[targets > t]
        for target in targets:
            while t < target * (1 - 1e-14):
                if steps + rejected >= max_steps:
                    raise NonFiniteError(f"dopri5 took max_steps={max_steps} steps by t = {t:.6g} of {t_end:g}: the "
                                         "dynamics is too stiff for these tolerances; raise max_steps or rtol")
                h_step = min(h, target - t)
                y_new, error, k_new = dopri5_step(flow, y, h_step, k1)
                ratio = error_ratio(flow, y_new, error, rtol, atol)
                if not math.isfinite(ratio):
                    self.guard(t + h_step, None)
                factor = min(5.0, max(0.2, 0.9 * (ratio if ratio > 0 else 1e-10) ** -0.2))
                if ratio <= 1.0:
                    t = float(target) if h_step == target - t else t + h_step
                    y, k1 = flow.retract(y_new), k_new
                    steps += 1
                    h = h_step * factor if h_step == h or factor < 1 else max(h, h_step * factor)
                else:
                    rejected += 1
                    h = h_step * max(0.2, factor)
                    if h < 1e-14 * max(t, 1.0):
                        raise NonFiniteError(f"the step size of dopri5 fell below {h:.3g} at t = {t:.6g}: the "
                                             "dynamics cannot be resolved (try a smaller beta, rtol or float64)")
            self.guard(t, y)
            self.observe(float(target), y)
            if round(float(target), 12) in save_times:
                self.save(float(target), y, rate=k1, t=t, h=h, steps=steps, rejected=rejected)
            if self.progress is not None:
                self.progress(float(target), t_end)
        return {"steps": steps, "rejected_steps": rejected}
