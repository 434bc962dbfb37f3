"""`simulate`: integrate the token dynamics in time and record the run as a Dataset (docs/science.md §1).

The vocabulary of a run: a save schedule (`SaveAt`, saveat.py), observables as functions f(t, x)
(observe.py), events that stop or mark the run (`Event`, events.py), the step-size controller of
dopri5 (controller.py) and its dense output (steppers.py); `_Loop` drives them.
"""

from __future__ import annotations

import math
import time as wallclock
from typing import Callable

import numpy as np
import torch

from . import observe, sphere, threads
from ._array import resolve_device, resolve_dtype, to_tensor
from .controller import IController
from .errors import NonFiniteError, ParameterError, check, check_choice, check_integer, check_positive, check_real
from .events import Watch, as_events
from .flow import make_flow
from .interaction import check_representable, check_tokens, choose_engine, dense
from .io import RunRecorder, checkpoint_arrays
from .model import Model
from .progress import callback
from .saveat import SaveAt, Steps
from .steppers import dopri5_step, error_ratio, euler_step, magnitude, rk4_step

METHODS = ("euler", "rk4", "dopri5")
FIXED_STEP = {"euler": euler_step, "rk4": rk4_step}
CONTROLLER = IController(order=4)  # dopri5's error estimate is of order 4


def simulate(model: Model, x0, t_end: float, dt: float | None = None, method: str = "rk4",
             save_every: float | None = None, observe_every: float | None = None, engine: str | None = None,
             rtol: float = 1e-6, atol: float = 1e-9, seed: int = 0, kmax: int = 10,
             observables=("modes", "energy"), out=None, progress: Callable[[float, float], None] | None = None,
             device=None, dtype=None, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET,
             overwrite: bool = False, resume: bool = False, flush_seconds: float = 5.0,
             max_steps: int = 10**7, saveat: SaveAt | None = None, events=(), until=None):
    """Integrate the dynamics of `model` from tokens `x0` up to time `t_end` (docs/science.md §1).

    method         "euler" (explicit, along geodesics: the seed's scheme), "rk4" (classical,
                   with retraction), "dopri5" (adaptive Dormand–Prince 5(4): rtol, atol, dt = first step;
                   it lands on the save times and observes in between by its dense output)
    dt             step for euler/rk4 (required, at most t_end); optional first step for dopri5
    saveat         when to save states and observe: `attnflow.SaveAt` (save_every/observe_every or
                   explicit times); save_every and observe_every are its short form (not both):
    save_every     time between saved positions (default t_end / 50; rounded to a multiple of dt)
    observe_every  time between recorded observables (default save_every / 10)
    observables    any of "modes" (|mu_k|, k = 1..kmax, Gegenbauer powers in any dim), "energy"
                   (E_beta; recorded as "energy_scaled" = e^{-beta} E_beta where e^beta overflows),
                   "order_parameter" (|mean x|), and/or a mapping {name: f(t, x) -> float | array} of
                   one's own (observe.py: x are the tokens as unit vectors, a torch tensor)
    events, until  `attnflow.Event`s (or callables fn(t, x): terminal events) watched after every step;
                   a terminal one stops the run where fn crosses zero (events.py); `until` is one more.
                   ds.attrs records `terminated_by` and, per event, `event_<name>_triggered`, `_count`
                   and `_time` (the first crossing, only when there was one)
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
    check_choice("method", method, METHODS)
    t_end = check_real("t_end", t_end, 0.0)
    if method in FIXED_STEP or dt is not None:
        check_positive("dt", dt, "a finite number > 0" + (" (required by euler and rk4)" if dt is None else ""))
        check(t_end == 0 or dt <= t_end, "dt", dt, f"a step no longer than t_end = {t_end:g}")
    if model.diffusion > 0:
        check(method == "euler", "method", method, "euler (Euler–Maruyama) when diffusion > 0")
    check_integer("seed", seed, 0)
    check_integer("kmax", kmax, 1)
    names, recorded = observe.resolve(observables, model.beta, kmax)
    watch = Watch(as_events(events, until))
    if method == "dopri5":
        check_integer("max_steps", max_steps, 1)
        check_positive("rtol", rtol)
        check_positive("atol", atol)
    check(saveat is None or isinstance(saveat, SaveAt), "saveat", saveat, "an attnflow.SaveAt")
    check(saveat is None or (save_every is None and observe_every is None), "saveat", saveat,
          "either saveat or its short form save_every/observe_every, not both")
    saveat = saveat or SaveAt(save_every=save_every, observe_every=observe_every)
    schedule = saveat.steps(t_end, float(dt)) if method in FIXED_STEP else saveat.times(t_end)
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
    attrs = {**model.describe(), "method": method, "dt": dt, "engine": chosen, "t_end": t_end,
             "seed": seed, "rtol": rtol if method == "dopri5" else "none",
             "atol": atol if method == "dopri5" else "none", "dtype": str(x.dtype).replace("torch.", ""),
             "device": str(x.device), "n": x.shape[0], **saveat.describe(t_end), "kmax": kmax,
             "observables": names, **({"events": [event.name for event in watch.events]} if watch.events else {})}
    if resume:
        recorder = RunRecorder.resume(attrs, model.dim, out, flush_seconds, observables=recorded)
        start = flow.decode(flow.encode(x)).detach().cpu().numpy()
        check(np.array_equal(recorder.positions[0], start), "x0", "tokens",
              f"the initial tokens of the interrupted run in {recorder.store}")
    else:
        recorder = RunRecorder(attrs, model.dim, out, flush_seconds, overwrite=overwrite, observables=recorded)
        recorder.check_targets()

    def tokens(y):
        """What observables and events see: the tokens as unit vectors (their directions for Pre-LN)."""
        points = flow.decode(y)
        return sphere.normalize(points) if model.norm == "pre" else points

    def guard(t, y):
        if y is None or not bool(torch.isfinite(y).all()):
            raise NonFiniteError(
                f"the state became non-finite by t = {t:.6g} (beta={model.beta:g}, dt={dt}, dtype={attrs['dtype']}, "
                f"kind={model.kind}, engine={chosen}): the run cannot be represented; try a smaller dt, "
                "float64 or a smaller beta")

    progress = callback(progress, "simulate t")
    loop = _Loop(flow=flow, t_end=t_end, recorder=recorder, observables=recorded, events=watch, tokens=tokens,
                 guard=guard, progress=progress)
    started = wallclock.perf_counter()
    try:
        with threads.torch_threads(1 if chosen == "circle" and x.device.type == "cpu" else None):
            if method in FIXED_STEP:
                stats = loop.fixed(FIXED_STEP[method], flow.encode(x), schedule=schedule,
                                   generator=torch.Generator().manual_seed(seed), noisy=model.diffusion > 0)
            else:
                save_times, observe_times = schedule
                stats = loop.adaptive(flow.encode(x), save_times=save_times, observe_times=observe_times,
                                      first_step=dt, rtol=rtol, atol=atol, max_steps=max_steps)
    except BaseException as error:
        if hasattr(progress, "close"):
            progress.close()
        where = recorder.abandon(f"{type(error).__name__}: {error}")
        if where is not None:
            error.partial_result = where
        raise
    stats["wall_time"] = wallclock.perf_counter() - started
    return recorder.finish({**stats, **watch.attrs()} if watch.events else stats)


class _Cursor:
    """The entries still to come of an increasing array (step indices or times)."""

    def __init__(self, values: np.ndarray, after):
        self.values, self.index = values, int(np.searchsorted(values, after, side="right"))

    def peek(self):
        return self.values[self.index] if self.index < len(self.values) else None

    def take(self):
        self.index += 1
        return self.values[self.index - 1]

    def due(self, value) -> bool:
        """Whether `value` is the next entry (then passed)."""
        if self.peek() != value:
            return False
        self.index += 1
        return True


class _Step:
    """The state at any time of one accepted dopri5 step from t to t_new: the landed end at t_new, the
    continuous extension retracted onto the manifold in between."""

    def __init__(self, flow, t: float, h: float, t_new: float, y_new, continuous):
        self.flow, self.t, self.h, self.t_new, self.y_new, self.continuous = flow, t, h, t_new, y_new, continuous

    def __call__(self, time: float):
        if time == self.t_new:
            return self.y_new
        return self.flow.retract(self.continuous((time - self.t) / self.h))


class _Loop:
    """The time loop of one run: steps, saves (with checkpoints), observations, events, finiteness checks.

    The state y is the flow's tensor, of any shape: the loop steps, retracts and records it, nothing more.
    Every save carries a checkpoint from which `resume` continues to the same bits."""

    def __init__(self, *, flow, t_end: float, recorder: RunRecorder, observables: dict, events: Watch,
                 tokens: Callable, guard: Callable, progress: Callable | None):
        self.flow, self.t_end, self.recorder = flow, t_end, recorder
        self.observables, self.events, self.tokens = observables, events, tokens
        self.guard, self.progress = guard, progress

    def observe(self, t: float, y) -> None:
        self.guard(t, y)  # a NaN or inf stays so: checked before anything is recorded
        self.recorder.observe(t, observe.evaluate(self.observables, t, self.tokens(y)))
        if self.progress is not None:
            self.progress(t, self.t_end)

    def save(self, time: float, y, **state) -> None:
        """A snapshot of y at `time`, with the checkpoint `state` (solver state, counters) when streaming."""
        self.guard(time, y)
        checkpoint = None
        if self.recorder.store is not None:
            checkpoint = checkpoint_arrays({"state": y, **state, **self.events.checkpoint()})
        self.recorder.snapshot(time, self.flow.decode(y).detach().cpu().numpy(), checkpoint)

    def crossings(self, t: float, y) -> list[tuple[int, float, float]]:
        """The events that crossed zero over the step ending at (t, y)."""
        if not self.events.events:
            return []
        self.guard(t, y)
        return self.events.crossed(t, self.tokens(y))

    def restore(self, resumed: dict, y, t: float):
        """The checkpointed state as a tensor like y; the events' record restored."""
        y = torch.as_tensor(resumed["state"], dtype=y.dtype, device=y.device)
        self.events.restore(resumed, t, self.tokens(y))
        return y

    def fixed(self, step, y, *, schedule: Steps, generator: torch.Generator, noisy: bool) -> dict:
        """Fixed steps k = 1..count of `step` (Euler–Maruyama increments when `noisy`), recording at the
        schedule's step indices; a terminal event stops the run at the end of the step where it crosses."""
        resumed = self.recorder.checkpoint
        if resumed is None:
            first = 1
            self.events.start(0.0, self.tokens(y))
            self.observe(0.0, y)
            self.save(0.0, y, step=0, generator=generator.get_state())
        else:
            first = int(resumed["step"]) + 1
            y = self.restore(resumed, y, schedule.time(first - 1))
            generator.set_state(torch.as_tensor(resumed["generator"], dtype=torch.uint8))
            if self.events.stopped_by is not None:
                return {"steps": first - 1, "rejected_steps": 0}
        saves, observes = _Cursor(schedule.save, first - 1), _Cursor(schedule.observe, first - 1)
        k = first - 1
        for k in range(first, schedule.count + 1):
            h = min(schedule.dt, self.t_end - (k - 1) * schedule.dt)
            y = step(self.flow, y, h)
            if noisy:
                y = self.flow.brownian(y, h, generator)
            t = schedule.time(k)
            hits = self.crossings(t, y)
            stop = bool(hits) and self.events.stop([(i, t) for i, _, _ in hits]) is not None
            if observes.due(k) or stop:
                self.observe(t, y)
            if saves.due(k) or stop:
                self.save(t, y, step=k, generator=generator.get_state())
            if stop:
                break
        return {"steps": k, "rejected_steps": 0}

    def adaptive(self, y, *, save_times: np.ndarray, observe_times: np.ndarray, first_step: float | None,
                 rtol: float, atol: float, max_steps: int, controller: IController = CONTROLLER) -> dict:
        """Dormand–Prince under the step-size controller, landing on every save time; observation times in
        between are read from the dense output (retracted onto the manifold), and a terminal event is
        located along it (Brent's method)."""
        flow = self.flow
        resumed = self.recorder.checkpoint
        if resumed is None:
            k1 = flow.rate(y)
            size = flow.size(y)
            scale = float(size.max()) * rtol + atol
            speed = float(magnitude(k1, size).max())
            h = first_step if first_step is not None else (
                0.01 * scale ** 0.2 / speed if speed > 1e-12 else self.t_end or 1.0)
            t, steps, rejected = 0.0, 0, 0
            self.events.start(0.0, self.tokens(y))
            self.observe(0.0, y)
            self.save(0.0, y, rate=k1, t=t, h=h, steps=steps, rejected=rejected)
        else:
            t, h = float(resumed["t"]), float(resumed["h"])
            y = self.restore(resumed, y, t)
            k1 = torch.as_tensor(resumed["rate"], dtype=y.dtype, device=y.device)
            steps, rejected = int(resumed["steps"]), int(resumed["rejected"])
            if self.events.stopped_by is not None:
                return {"steps": steps, "rejected_steps": rejected}
        pending = _Cursor(observe_times, t)
        for target in save_times[save_times > t]:
            target = float(target)
            while t < target:
                if steps + rejected >= max_steps:
                    raise NonFiniteError(f"dopri5 took max_steps={max_steps} steps by t = {t:.6g} of {self.t_end:g}: "
                                         "the dynamics is too stiff for these tolerances; raise max_steps or rtol")
                remaining = target - t
                h_step = remaining if h >= remaining * (1 - 1e-12) else h  # land on the target, no sliver after
                y_new, error, k_new, continuous = dopri5_step(flow, y, h_step, k1)
                ratio = error_ratio(flow, y_new, error, rtol, atol)
                if not math.isfinite(ratio):
                    self.guard(t + h_step, None)
                accepted, h = controller.adapt(h, h_step, ratio)
                if not accepted:
                    rejected += 1
                    if h < 1e-14 * max(t, 1.0):
                        raise NonFiniteError(f"the step size of dopri5 fell below {h:.3g} at t = {t:.6g}: the "
                                             "dynamics cannot be resolved (try a smaller beta, rtol or float64)")
                    continue
                steps += 1
                t_new = target if h_step == remaining else t + h_step
                state_at = _Step(flow, t, h_step, t_new, flow.retract(y_new), continuous)
                located = [(i, self.events.locate(i, old, new, t, t_new, lambda time: self.tokens(state_at(time))))
                           for i, old, new in self.crossings(t_new, state_at.y_new)]
                stop = self.events.stop(located) if located else None
                while pending.peek() is not None and (pending.peek() <= t_new if stop is None else
                                                      pending.peek() < stop):
                    time = float(pending.take())
                    self.observe(time, state_at(time))
                t, y, k1 = t_new, state_at.y_new, k_new
                if stop is not None:
                    final = state_at(stop)
                    self.observe(stop, final)
                    self.save(stop, final, rate=k1, t=stop, h=h, steps=steps, rejected=rejected)
                    return {"steps": steps, "rejected_steps": rejected}
            self.save(target, y, rate=k1, t=t, h=h, steps=steps, rejected=rejected)
        return {"steps": steps, "rejected_steps": rejected}
