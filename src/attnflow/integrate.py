"""`simulate`: integrate the token dynamics in time and record the run as a Dataset (docs/science.md §1).

The vocabulary of a run: a save schedule (`SaveAt`, saveat.py), observables as functions f(t, x)
(observe.py), events that stop or mark the run (`Event`, events.py), the step-size controller of
dopri5 (controller.py) and its dense output (steppers.py); `_Loop` drives them.
An ensemble (a batch of independent systems, x0 of shape (B, n, d)) runs in one loop: the engines take the
batch, dopri5 takes one step size for all (the largest error over systems), observables and events are
evaluated per system, and a system a terminal event stops is frozen until the last one stops.
"""

from __future__ import annotations

import contextlib
import math
import time as wallclock
from typing import Callable

import numpy as np
import torch

from . import observe, sphere, threads
from ._array import all_finite, resolve_device, resolve_dtype, to_tensor
from .controller import IController
from .errors import NonFiniteError, check, check_choice, check_integer, check_positive, check_real
from .events import Watch, as_events
from .flow import make_flow
from .interaction import check_representable, check_tokens, choose_engine, dense, ensemble, largest
from .io import RunRecorder, checkpoint_arrays
from .progress import callback
from .saveat import SaveAt, Steps
from .steppers import dopri5_step, error_ratio, euler_step, magnitude, rk4_step

METHODS = ("euler", "rk4", "dopri5")
FIXED_STEP = {"euler": euler_step, "rk4": rk4_step}
EVALUATIONS = {"euler": 1, "rk4": 4, "dopri5": 6}  # rates per step (dopri5: first same as last)
TUNED_STEPS = 8  # fixed steps per choice of threads (`flow.step_threads`: its measurement costs ~6 µs a call)
BLOCK_STEPS = 100  # fixed steps at most per compiled block (a Ctrl-C or a progress report waits for one block)
CONTROLLER = IController(order=4)  # dopri5's error estimate is of order 4


def simulate(model, x0, t_end: float, dt: float | None = None, method: str = "rk4",
             save_every: float | None = None, observe_every: float | None = None, engine: str | None = None,
             rtol: float = 1e-6, atol: float = 1e-9, seed: int = 0, kmax: int = 10,
             observables=("modes", "energy"), out=None, progress: Callable[[float, float], None] | None = None,
             device=None, dtype=None, memory_budget: int = dense.DEFAULT_MEMORY_BUDGET,
             overwrite: bool = False, resume: bool = False, flush_seconds: float = 5.0,
             max_steps: int = 10**7, saveat: SaveAt | None = None, events=(), until=None):
    """Integrate the dynamics of `model` from tokens `x0` up to time `t_end` (docs/science.md §1).

    x0             tokens (n, d); or a batch (B, n, d) of B independent systems (an ensemble: seeds, betas),
                   integrated together: the Dataset gains a `system` dimension (io.py)
    model          an attnflow.Model; for a batch also a sequence of B Models that differ only in beta (one
                   per system: `beta` becomes a coordinate on `system`)

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
                   a terminal one stops the run where fn crosses zero (or its `delay` later; events.py);
                   `until` is one more. ds.attrs records `terminated_by` and, per event,
                   `event_<name>_triggered`, `_count` and `_time` (the first crossing, only when there was one).
                   In an ensemble, observables and events see one system's tokens x (n, d) at a time; an event
                   stops its own system (frozen from then on; the run ends when all have stopped), and the
                   record is variables over `system` (NaN time where none), with `stop_time`
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
    torch_dtype = resolve_dtype(dtype) if dtype is not None else None
    torch_device = resolve_device(device) if device is not None else None
    x, _ = to_tensor(x0, "x0", torch_dtype or (None if isinstance(x0, torch.Tensor) else torch.float64),
                     torch_device)
    systems = x.shape[0] if x.ndim == 3 else None
    model, beta = ensemble(model, systems)
    check_choice("method", method, METHODS)
    t_end = check_real("t_end", t_end, 0.0)
    if method in FIXED_STEP or dt is not None:
        check_positive("dt", dt, "a finite number > 0" + (" (required by euler and rk4)" if dt is None else ""))
        check(t_end == 0 or dt <= t_end, "dt", dt, f"a step no longer than t_end = {t_end:g}")
    if model.diffusion > 0:
        check(method == "euler", "method", method, "euler (Euler–Maruyama) when diffusion > 0")
    check_integer("seed", seed, 0)
    check_integer("kmax", kmax, 1)
    tables = {value: observe.resolve(observables, float(value), kmax) for value in np.unique(beta)}
    names, recorded = next(iter(tables.values()))
    check(all(list(table) == list(recorded) for _, table in tables.values()), "observables", observables,
          "observables with the same variables for every beta of the ensemble (the energy is recorded scaled "
          "where e^beta overflows: run those betas apart)")
    per_system = [tables[value][1] for value in np.broadcast_to(beta, (systems or 1,))]
    watch = Watch(as_events(events, until), systems)
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
    check_tokens(model, x, "x0")
    check_representable(largest(model, beta), x.dtype, squared=True)
    if model.normalization.on_sphere:
        tolerance = 1e-10 if x.dtype == torch.float64 else 1e-5
        deviation = float((torch.linalg.vector_norm(x, dim=-1) - 1).abs().max())
        check(deviation <= tolerance, "x0", f"rows with | |x| - 1 | up to {deviation:.2e}",
              f"unit vectors (tolerance {tolerance:g}); use attnflow.init.from_array(x, normalize=True)")
        x = sphere.normalize(x)

    flow = make_flow(model, chosen, memory_budget, beta)
    attrs = {**model.describe(), **({} if isinstance(beta, float) else {"beta": beta.tolist()}),
             **({} if systems is None else {"systems": systems}), "method": method, "dt": dt, "engine": chosen,
             "t_end": t_end, "seed": seed, "rtol": rtol if method == "dopri5" else "none",
             "atol": atol if method == "dopri5" else "none", "dtype": str(x.dtype).replace("torch.", ""),
             "device": str(x.device), "n": x.shape[-2], **saveat.describe(t_end), "kmax": kmax,
             "observables": names, **({"events": [event.name for event in watch.events]} if watch.events else {})}
    if resume:
        recorder = RunRecorder.resume(attrs, model.dim, out, flush_seconds, observables=recorded, systems=systems,
                                      beta=beta)
        start = flow.decode(flow.encode(x)).detach().cpu().numpy()
        check(np.array_equal(recorder.positions[0], start), "x0", "tokens",
              f"the initial tokens of the interrupted run in {recorder.store}")
    else:
        recorder = RunRecorder(attrs, model.dim, out, flush_seconds, overwrite=overwrite, observables=recorded,
                               systems=systems, beta=beta)
        recorder.check_targets()

    def tokens(y):
        """What observables and events see: the tokens as unit vectors (their directions in R^d)."""
        return model.normalization.directions(flow.decode(y))

    def guard(t, y):
        if y is None or not all_finite(y):
            raise NonFiniteError(
                f"the state became non-finite by t = {t:.6g} (beta={np.max(beta):g}, dt={dt}, dtype={attrs['dtype']}, "
                f"kind={model.kind}, engine={chosen}): the run cannot be represented; try a smaller dt, "
                "float64 or a smaller beta")

    progress = callback(progress, "simulate t")
    loop = _Loop(flow=flow, t_end=t_end, recorder=recorder, observables=per_system, events=watch, tokens=tokens,
                 guard=guard, progress=progress)
    started = wallclock.perf_counter()
    try:
        with threads.torch_threads(1 if chosen == "circle" and x.device.type == "cpu" else None):
            if method in FIXED_STEP:
                stats = loop.fixed(method, flow.encode(x), schedule=schedule,
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
    return recorder.finish({**stats, **watch.attrs()} if watch.events else stats,
                           None if systems is None else watch.variables(loop.time))


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
    """The state at any time of one accepted dopri5 step from t to t_new: the landed end `end` at t_new, the
    continuous extension retracted onto the manifold in between; `hold` keeps the frozen systems' states."""

    def __init__(self, flow, t: float, h: float, t_new: float, end, continuous, hold: Callable):
        self.flow, self.t, self.h, self.t_new, self.end, self.continuous = flow, t, h, t_new, end, continuous
        self.hold = hold

    def __call__(self, time: float):
        if time == self.t_new:
            return self.hold(self.end)
        return self.hold(self.flow.retract(self.continuous((time - self.t) / self.h)))


class _Loop:
    """The time loop of one run: steps, saves (with checkpoints), observations, events, finiteness checks.

    The state y is the flow's tensor, of any shape (a batch of systems along its first axis when the events
    watch an ensemble): the loop steps, retracts and records it, and holds a stopped system's state frozen.
    Every save carries a checkpoint from which `resume` continues to the same bits."""

    def __init__(self, *, flow, t_end: float, recorder: RunRecorder, observables: list[dict], events: Watch,
                 tokens: Callable, guard: Callable, progress: Callable | None):
        self.flow, self.t_end, self.recorder = flow, t_end, recorder
        self.observables, self.events, self.tokens = observables, events, tokens
        self.guard, self.progress = guard, progress
        self.frozen = None  # the states of the stopped systems (an ensemble's)
        self.time = 0.0  # how far the run got

    def observe(self, t: float, y) -> None:
        self.guard(t, y)  # a NaN or inf stays so: checked before anything is recorded
        x = self.tokens(y)
        if self.events.systems is None:
            values = observe.evaluate(self.observables[0], t, x)
        else:
            each = [observe.evaluate(table, t, x[s]) for s, table in enumerate(self.observables)]
            values = {name: np.stack([record[name] for record in each]) for name in each[0]}
        self.recorder.observe(t, values)
        if self.progress is not None:
            self.progress(t, self.t_end)

    def save(self, time: float, y, **state) -> None:
        """A snapshot of y at `time`, with the checkpoint `state` (solver state, counters) when streaming."""
        self.guard(time, y)
        self.time = time
        checkpoint = None
        if self.recorder.store is not None:
            checkpoint = checkpoint_arrays({"state": y, **state, **self.events.checkpoint()})
        self.recorder.snapshot(time, self.flow.decode(y).detach().cpu().numpy(), checkpoint)

    def crossings(self, t: float, y) -> list[tuple[int, int, float, float]]:
        """The events that crossed zero over the step ending at (t, y): (system, event, before, now)."""
        if not self.events.events:
            return []
        self.guard(t, y)
        systems = self.events.watched()
        if self.events.systems is None:
            return self.events.crossed(t, self.tokens(y), systems)
        return self.events.crossed(t, self.tokens(y[torch.as_tensor(systems, device=y.device)]), systems)

    def stopped(self, like):
        """Which systems have stopped, shaped to broadcast against `like` (systems first)."""
        return torch.as_tensor(self.events.stopped, device=like.device).reshape(-1, *(1,) * (like.ndim - 1))

    def hold(self, y):
        """y with the stopped systems' frozen states."""
        return y if self.frozen is None else torch.where(self.stopped(y), self.frozen, y)

    def running(self, y):
        """The indices of the systems still running (a tensor), None while all are: only they are stepped."""
        if self.frozen is None:
            return None
        return torch.as_tensor(np.flatnonzero(~self.events.stopped), device=y.device)

    @staticmethod
    def merge(full, systems, part):
        """`full` with the rows `systems` replaced by `part`."""
        merged = full.clone()
        merged[systems] = part
        return merged

    def freeze(self, t: float, y, tolerance: float = 0.0) -> bool:
        """Stop the systems due by time t (within `tolerance`: fixed steps stop at the step a delay reaches,
        however it rounds) at their states in y; whether every system has stopped (never, without events)."""
        if not self.events.events:
            return False
        systems = self.events.due(t, tolerance)
        if len(systems) and self.events.systems is not None:
            self.frozen = y.clone() if self.frozen is None else self.frozen
            self.frozen[systems] = y[systems]
        return bool(self.events.stopped.all())

    def restore(self, resumed: dict, y, t: float):
        """The checkpointed state as a tensor like y; the events' record and the frozen states restored."""
        y = torch.as_tensor(resumed["state"], dtype=y.dtype, device=y.device)
        self.events.restore(resumed, t, self.tokens(y))
        if self.events.stopped.any() and self.events.systems is not None:
            self.frozen = y.clone()
        return y

    def fixed(self, method: str, y, *, schedule: Steps, generator: torch.Generator, noisy: bool) -> dict:
        """Fixed steps k = 1..count of `method` (Euler–Maruyama increments when `noisy`), recording at the
        schedule's step indices; a terminal event stops its system at the end of the first step at or after
        the crossing plus its delay (within 1e-9 steps, as the schedule's grids), and the run when every
        system has stopped. Without noise and events, the steps between recordings run in compiled blocks
        where the flow can (`blocks`)."""
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
            if self.events.stopped.all():
                return {"steps": first - 1, "rejected_steps": 0}
        saves, observes = _Cursor(schedule.save, first - 1), _Cursor(schedule.observe, first - 1)
        k = first - 1
        if not noisy and not self.events.events:
            k, y = self.blocks(method, y, k, schedule=schedule, saves=saves, observes=observes, generator=generator)
        step = FIXED_STEP[method]
        with contextlib.ExitStack() as tuned:  # the threads of TUNED_STEPS steps at a time (`step_threads`)
            for k in range(k + 1, schedule.count + 1):
                if (k - first) % TUNED_STEPS == 0:
                    tuned.close()
                    tuned.enter_context(self.flow.step_threads(y, EVALUATIONS[method] * TUNED_STEPS))
                y, stop = self.fixed_step(step, y, k, schedule=schedule, saves=saves, observes=observes,
                                          generator=generator, noisy=noisy)
                if stop:
                    break
        return {"steps": k, "rejected_steps": 0}

    def fixed_step(self, step, y, k: int, *, schedule: Steps, saves: _Cursor, observes: _Cursor,
                   generator: torch.Generator, noisy: bool):
        """Step k of `fixed`, with its events, observations and saves: (the state, whether the run stops)."""
        h = min(schedule.dt, self.t_end - (k - 1) * schedule.dt)
        systems = self.running(y)
        flow = self.flow if systems is None else self.flow.select(systems)
        moved = step(flow, y if systems is None else y[systems], h)
        if noisy:
            moved = flow.brownian(moved, h, generator)
        y = moved if systems is None else self.merge(self.frozen, systems, moved)
        t = schedule.time(k)
        self.events.record([(s, i, t) for s, i, _, _ in self.crossings(t, y)])
        stop = self.freeze(t, y, tolerance=1e-9 * schedule.dt)
        if observes.due(k) or stop:
            self.observe(t, y)
        if saves.due(k) or stop:
            self.save(t, y, step=k, generator=generator.get_state())
        return y, stop

    def blocks(self, method: str, y, k: int, *, schedule: Steps, saves: _Cursor, observes: _Cursor,
               generator: torch.Generator) -> tuple[int, torch.Tensor]:
        """The fixed steps after step k in blocks of at most BLOCK_STEPS, each ending at a recording or earlier,
        advanced by the flow in one compiled call (`CircleFlow.advance`: the same bits as step by step), while
        it can; the last step taken and the state then."""
        advance = getattr(self.flow, "advance", None)
        while advance is not None and k < schedule.count:
            until = min([due for due in (saves.peek(), observes.peek()) if due is not None]
                        + [schedule.count, k + BLOCK_STEPS])
            taken = np.arange(k + 1, until + 1)
            moved = advance(y, np.minimum(schedule.dt, self.t_end - (taken - 1) * schedule.dt), method)
            if moved is None:
                break
            y, k = moved, int(until)
            t = schedule.time(k)
            if observes.due(k):
                self.observe(t, y)
            if saves.due(k):
                self.save(t, y, step=k, generator=generator.get_state())
        return k, y

    def adaptive(self, y, *, save_times: np.ndarray, observe_times: np.ndarray, first_step: float | None,
                 rtol: float, atol: float, max_steps: int, controller: IController = CONTROLLER) -> dict:
        """Dormand–Prince under the step-size controller (one step size for all systems: the error ratio is the
        largest over them), landing on every save time; observation times in between are read from the dense
        output (retracted onto the manifold), and a terminal event is located along it (Brent's method): its
        system stops there, or its delay later."""
        flow, events = self.flow, self.events
        resumed = self.recorder.checkpoint
        if resumed is None:
            k1 = flow.rate(y)
            size = flow.size(y)
            scale = float(size.max()) * rtol + atol
            speed = float(magnitude(k1, size).max())
            h = first_step if first_step is not None else (
                0.01 * scale ** 0.2 / speed if speed > 1e-12 else self.t_end or 1.0)
            t, steps, rejected = 0.0, 0, 0
            events.start(0.0, self.tokens(y))
            self.observe(0.0, y)
            self.save(0.0, y, rate=k1, t=t, h=h, steps=steps, rejected=rejected)
        else:
            t, h = float(resumed["t"]), float(resumed["h"])
            y = self.restore(resumed, y, t)
            k1 = torch.as_tensor(resumed["rate"], dtype=y.dtype, device=y.device)
            steps, rejected = int(resumed["steps"]), int(resumed["rejected"])
            if events.stopped.all():
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
                systems = self.running(y)  # only they are stepped, and limit the step
                if systems is None:
                    with flow.step_threads(y, EVALUATIONS["dopri5"]):
                        y_new, error, k_new, continuous = dopri5_step(flow, y, h_step, k1)
                    ratio = error_ratio(flow, y_new, error, rtol, atol)
                else:
                    with flow.step_threads(y, EVALUATIONS["dopri5"]):
                        part, error, k_part, extension = dopri5_step(flow.select(systems), y[systems], h_step,
                                                                     k1[systems])
                    ratio = error_ratio(flow, part, error, rtol, atol)
                    y_new, k_new = self.merge(y, systems, part), self.merge(k1, systems, k_part)

                    def continuous(theta, y=y, systems=systems, extension=extension):
                        return self.merge(y, systems, extension(theta))
                if not math.isfinite(ratio):
                    self.guard(t + h_step, None)
                accepted, h = controller.adapt(h, h_step, ratio)
                if h < max(1e-14 * max(t, 1.0), torch.finfo(y.dtype).eps * t):
                    # below the resolution of the time t in the state's dtype (float32: the error estimate is
                    # rounding noise there, and the steps would crawl towards max_steps)
                    raise NonFiniteError(f"the step size of dopri5 fell below {h:.3g} at t = {t:.6g}: the "
                                         f"dynamics cannot be resolved in {str(y.dtype).replace('torch.', '')} at "
                                         f"rtol={rtol:g} (try float64, a larger rtol or a smaller beta)")
                if not accepted:
                    rejected += 1
                    continue
                steps += 1
                t_new = target if h_step == remaining else t + h_step
                state_at = _Step(flow, t, h_step, t_new, flow.retract(y_new), continuous, self.hold)
                events.record([(s, i, events.locate(i, old, new, t, t_new,
                                                    lambda time, s=s: events.part(self.tokens(state_at(time)), s)))
                               for s, i, old, new in self.crossings(t_new, state_at(t_new))])
                stops = sorted(time for time in events.stop_at[~events.stopped] if time <= t_new)
                end = stops[-1] if stops and len(stops) == (~events.stopped).sum() else None
                while pending.peek() is not None and (pending.peek() <= t_new if end is None else
                                                      pending.peek() < end):
                    time = float(pending.take())
                    while stops and stops[0] <= time:
                        when = stops.pop(0)
                        self.freeze(when, state_at(when))
                    self.observe(time, state_at(time))
                for time in stops:
                    self.freeze(time, state_at(time))
                t, k1 = t_new, k_new
                y = state_at(t_new)
                if end is not None:
                    final = state_at(end)
                    self.observe(end, final)
                    self.save(end, final, rate=k1, t=end, h=h, steps=steps, rejected=rejected)
                    return {"steps": steps, "rejected_steps": rejected}
            self.save(target, y, rate=k1, t=t, h=h, steps=steps, rejected=rejected)
        return {"steps": steps, "rejected_steps": rejected}
