"""When a run records: `SaveAt`, the save schedule (in the manner of diffrax's `SaveAt`).

States (positions, with a checkpoint) are saved rarely, observables (observe.py) on a finer grid:

    SaveAt(save_every=0.02, observe_every=0.002)     regular grids (the short form of simulate)
    SaveAt(ts=[0, 0.5, 2], obs_ts=np.linspace(0, 2, 401))   explicit times

Defaults: save_every = t_end / 50 and observe_every = save_every / 10; with explicit `ts` and no
observation grid, observations are taken at `ts`. The start and the end of the run are always saved
and observed. For fixed steps the schedule is a set of exact integer step indices: a grid of
`save_every` becomes every round(save_every / dt)-th step, an explicit time its nearest step, and the
recorded time is that step's time. For adaptive steps the schedule is the times themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import check, check_positive


@dataclass(frozen=True)
class Steps:
    """A schedule on the steps k = 0..count of size dt (the last one may be shorter: t_k = min(k dt, t_end))."""

    count: int
    dt: float
    t_end: float
    save: np.ndarray
    observe: np.ndarray

    def time(self, k: int) -> float:
        return min(k * self.dt, self.t_end)


@dataclass(frozen=True)
class SaveAt:
    """State save times (`save_every` or `ts`) and observation times (`observe_every` or `obs_ts`)."""

    save_every: float | None = None
    observe_every: float | None = None
    ts: tuple | None = None
    obs_ts: tuple | None = None

    def __post_init__(self):
        for pair, times in ("save_every", "ts"), ("observe_every", "obs_ts"):
            every = getattr(self, pair)
            check(every is None or getattr(self, times) is None, pair, every, f"either {pair} or {times}, not both")
            if every is not None:
                check_positive(pair, every)
            given = getattr(self, times)
            if given is not None:
                try:
                    values = np.asarray(given, dtype=float).ravel()
                except (TypeError, ValueError):
                    values = np.array([np.nan])
                check(np.isfinite(values).all() and (values >= 0).all(), times, given, "finite times >= 0")
                object.__setattr__(self, times, tuple(float(t) for t in np.unique(values)))

    def intervals(self, t_end: float) -> tuple[float | None, float | None]:
        """(save_every, observe_every) with the defaults applied; None where times are explicit."""
        save = self.save_every if self.save_every is not None or self.ts is not None else t_end / 50
        if self.observe_every is not None or self.obs_ts is not None:
            return save, self.observe_every
        return save, None if save is None else save / 10

    def times(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """(state save times, observation times): increasing, from 0 to t_end, both ends included."""
        save, observe = self.intervals(t_end)
        saves = _grid(t_end, save, "save_every") if save is not None else _explicit(t_end, self.ts, "ts")
        if observe is not None:
            return saves, _grid(t_end, observe, "observe_every")
        if self.obs_ts is not None:
            return saves, _explicit(t_end, self.obs_ts, "obs_ts")
        return saves, saves

    def steps(self, t_end: float, dt: float) -> Steps:
        """The schedule as exact step indices of a fixed step dt."""
        count = max(0, math.ceil(t_end / dt - 1e-9))
        save, observe = self.intervals(t_end)
        if save is not None:
            saves = _strided(count, dt, t_end, save, "save_every")
        else:
            saves = _nearest(count, dt, t_end, self.ts, "ts")
        if observe is not None:
            observes = _strided(count, dt, t_end, observe, "observe_every")
        elif self.obs_ts is not None:
            observes = _nearest(count, dt, t_end, self.obs_ts, "obs_ts")
        else:
            observes = saves
        return Steps(count, dt, t_end, saves, observes)

    def describe(self, t_end: float) -> dict:
        """The schedule as run attributes: save_every and observe_every ("none" where times are explicit)."""
        save, observe = self.intervals(t_end)
        attrs = {"save_every": float(save) if t_end > 0 and save is not None else "none",
                 "observe_every": float(observe) if t_end > 0 and observe is not None else "none"}
        if self.ts is not None:
            attrs["save_times"] = list(self.ts)
        if self.obs_ts is not None:
            attrs["observe_times"] = list(self.obs_ts)
        return attrs


def _grid(t_end: float, every: float, name: str) -> np.ndarray:
    """0, every, 2 every, ... below t_end, then t_end (a grid time within 1e-9 every of t_end is t_end)."""
    if t_end == 0:
        return np.zeros(1)
    check_positive(name, every)
    count = math.floor(t_end / every + 1e-9)
    times = np.arange(count + 1) * every
    return np.append(times[times < t_end - 1e-9 * every], t_end)


def _explicit(t_end: float, ts, name: str) -> np.ndarray:
    times = np.asarray(ts, dtype=float)
    check(t_end == 0 or times.max(initial=0.0) <= t_end, name, f"times up to {times.max(initial=0.0):g}",
          f"times within [0, t_end = {t_end:g}]")
    return np.union1d(np.union1d(times[times <= t_end], [0.0]), [float(t_end)])


def _strided(count: int, dt: float, t_end: float, every: float, name: str) -> np.ndarray:
    """Every round(every / dt)-th step, and the last."""
    if t_end > 0:
        check_positive(name, every)
    stride = max(1, round(every / dt)) if t_end > 0 else 1
    return np.union1d(np.arange(0, count + 1, stride), [count])


def _nearest(count: int, dt: float, t_end: float, ts, name: str) -> np.ndarray:
    """The step nearest to each time (t_k = min(k dt, t_end)), the first and the last."""
    times = _explicit(t_end, ts, name)
    k = np.minimum(np.round(times / dt), count).astype(np.int64)
    k = np.where(t_end - times < np.abs(times - k * dt), count, k)
    return np.union1d(np.union1d(k, [0]), [count])
