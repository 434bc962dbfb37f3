"""Events of a run: `Event(fn)` fires where fn(t, x) crosses zero (scipy's `solve_ivp` conventions), e.g.
the order parameter r = |mean x| of docs/science.md §4 reaching 0.9: `Event(lambda t, x: r(x) - 0.9)`.

`simulate(..., events=[...])` watches each event after every accepted step: it fires when fn changes
sign over the step, from < 0 to >= 0 or from > 0 to <= 0 (`direction` > 0: upward only, < 0: downward
only, 0: either; a zero is counted once, when it is reached).
A terminal event stops the run there: at the step's end for fixed steps, at the root of fn along the
dense output for dopri5; with a `delay`, that much later (fixed steps: at the first step at or after it,
within 1e-9 of a step, so that a delay of m steps is m steps however dt rounds).
In an ensemble (a batch of systems, integrate.py) every event is watched per system, on that system's
tokens: a terminal event stops its system, whose state is frozen from then on, and the run ends when
every system has stopped. A system's events are watched until its first terminal crossing (during a
delay its state runs on, unwatched). `x` is what observables see (observe.py): the tokens as unit vectors, their
directions for Pre-LN. The record is NaN-free: for each event the number of crossings, whether it
fired, and (only when it did) the time of the first one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import brentq

from .errors import AttnflowError, NonFiniteError, ParameterError, check, check_real, is_real


@dataclass(frozen=True)
class Event:
    """fn(t, x) -> float crossing zero; `terminal` stops the run (the system, in an ensemble) at the first
    crossing, or `delay` after it."""

    fn: Callable
    terminal: bool = True
    direction: float = 0.0
    name: str | None = None
    delay: float = 0.0

    def __post_init__(self):
        check(callable(self.fn), "events", self.fn, "Event(fn, ...) with fn(t, x) -> float callable")
        check(is_real(self.direction), "direction", self.direction, "a number: > 0 upward, < 0 downward, 0 either")
        check_real("delay", self.delay, 0.0)
        check(self.name is None or (isinstance(self.name, str) and self.name.isidentifier()), "name", self.name,
              "an identifier (it names the event's attributes)")


def as_events(events, until) -> list[Event]:
    """`events` (Events or callables: terminal events) and `until` (one more terminal event) as a list."""
    items = [events] if isinstance(events, Event) or callable(events) else list(events or ())
    if until is not None:
        items.append(until if isinstance(until, Event) else Event(until, terminal=True))
    resolved = [item if isinstance(item, Event) else Event(item) for item in items]
    names = [_name(event, i) for i, event in enumerate(resolved)]
    check(len(set(names)) == len(names), "events", names, "events with distinct names")
    return [Event(event.fn, event.terminal, event.direction, name, event.delay)
            for event, name in zip(resolved, names)]


def _name(event: Event, index: int) -> str:
    if event.name is not None:
        return event.name
    name = getattr(event.fn, "__name__", "")
    return name if name.isidentifier() else f"event{index}"


class Watch:
    """The events of one run of `systems` systems (None: a single system, whose tokens are x itself; else x is
    the batch (B, n, d) and system s sees x[s]): per system and event the last value, the crossings counted and
    the first crossing's time; per system when it is to stop (`stop_at`: a terminal crossing plus its delay),
    which event stopped it, and when it stopped (its state frozen from then on)."""

    def __init__(self, events: list[Event], systems: int | None = None):
        self.events, self.systems = events, systems
        shape = (1 if systems is None else systems, len(events))
        self.values = np.zeros(shape)
        self.counts = np.zeros(shape, dtype=np.int64)
        self.first = np.full(shape, np.nan)
        self.stopped_by = np.full(shape[0], -1)
        self.stop_at = np.full(shape[0], np.inf)
        self.stop_time = np.full(shape[0], np.inf)

    def part(self, x, s: int):
        """System s's tokens of x."""
        return x if self.systems is None else x[s]

    @property
    def stopped(self) -> np.ndarray:
        """Which systems have stopped (their state frozen)."""
        return np.isfinite(self.stop_time)

    def value(self, i: int, t: float, x) -> float:
        """fn_i(t, x) as a finite float; a failure is an error naming the event."""
        event = self.events[i]
        try:
            value = float(event.fn(t, x))
        except AttnflowError:
            raise
        except Exception as error:
            raise ParameterError("events", event.name, f"a function fn(t, x) -> float (at t = {t:.6g} it raised "
                                                       f"{type(error).__name__}: {error})") from None
        if not math.isfinite(value):
            raise NonFiniteError(f"the event {event.name!r} is not finite at t = {t:.6g} ({value})")
        return value

    def start(self, t: float, x) -> None:
        for s in range(len(self.values)):
            self.values[s] = [self.value(i, t, self.part(x, s)) for i in range(len(self.events))]

    def watched(self) -> np.ndarray:
        """The systems whose events are still watched: those no terminal crossing has yet set to stop."""
        return np.flatnonzero(np.isinf(self.stop_at))

    def crossed(self, t: float, x, systems: np.ndarray) -> list[tuple[int, int, float, float]]:
        """(system, event, value before, value now) for the events whose sign changed since the last call, in
        the watched `systems`, whose tokens are x (a single system's, or the batch of those systems')."""
        active = []
        for row, s in enumerate(systems):
            tokens = x if self.systems is None else x[row]
            for i, (event, old) in enumerate(zip(self.events, self.values[s])):
                value = self.values[s, i] = self.value(i, t, tokens)
                up, down = old < 0 <= value, old > 0 >= value
                if (up and event.direction >= 0) or (down and event.direction <= 0):
                    active.append((int(s), i, float(old), value))
        return active

    def locate(self, i: int, old: float, new: float, t: float, t_new: float, tokens_at) -> float:
        """The time in [t, t_new] where fn_i crosses zero along `tokens_at(time)` (the dense output of
        the step; `old`, `new` its values at the ends): Brent's method."""
        def g(time):
            return old if time == t else new if time == t_new else self.value(i, time, tokens_at(time))
        return brentq(g, t, t_new, xtol=1e-12 * (t_new - t))

    def record(self, hits: list[tuple[int, int, float]]) -> None:
        """Record the crossings `hits` (system, event, time) of one step, per system up to its first terminal
        one, which sets when the system stops (its time plus the event's delay) unless that is set already."""
        for s in sorted({s for s, _, _ in hits}):
            mine = sorted((time, i) for system, i, time in hits if system == s)
            terminal = [(time, i) for time, i in mine if self.events[i].terminal]
            end = terminal[0][0] if terminal else math.inf
            for time, i in mine:
                if time <= end:
                    self.counts[s, i] += 1
                    if np.isnan(self.first[s, i]):
                        self.first[s, i] = time
            if terminal and self.stopped_by[s] < 0:
                self.stopped_by[s] = terminal[0][1]
                self.stop_at[s] = end + self.events[terminal[0][1]].delay

    def due(self, t: float, tolerance: float = 0.0) -> np.ndarray:
        """The running systems to stop by time t (stop_at <= t + tolerance); marked stopped at t."""
        systems = np.flatnonzero(~self.stopped & (self.stop_at <= t + tolerance))
        self.stop_time[systems] = t
        return systems

    def checkpoint(self) -> dict:
        """The record so far, as arrays (a part of the run's checkpoint; none without events)."""
        if not self.events:
            return {}
        return {"event_counts": self.counts.copy(), "event_first": self.first.copy(),
                "event_stopped_by": self.stopped_by.copy(), "event_stop_at": self.stop_at.copy(),
                "event_stop_time": self.stop_time.copy()}

    def restore(self, state: dict, t: float, x) -> None:
        """The record of `checkpoint`, and the events' values at the checkpoint's (t, x)."""
        if not self.events:
            return
        self.start(t, x)
        self.counts, self.first = np.array(state["event_counts"]), np.array(state["event_first"])
        self.stopped_by, self.stop_at = np.array(state["event_stopped_by"]), np.array(state["event_stop_at"])
        self.stop_time = np.array(state["event_stop_time"])

    def attrs(self) -> dict:
        """A single system: `terminated_by` and, per event, `event_<name>_triggered` (0/1), `_count` and `_time`
        (first crossing). An ensemble: `terminated_by` (the events that stopped every system, "none" unless all
        stopped)."""
        if self.systems is not None:
            names = sorted({self.events[i].name for i in self.stopped_by if i >= 0})
            return {"terminated_by": ",".join(names) if (self.stopped_by >= 0).all() else "none"}
        stopped_by = int(self.stopped_by[0])
        record = {"terminated_by": "none" if stopped_by < 0 else self.events[stopped_by].name}
        for event, count, first in zip(self.events, self.counts[0], self.first[0]):
            record[f"event_{event.name}_triggered"] = int(count > 0)
            record[f"event_{event.name}_count"] = int(count)
            if not np.isnan(first):
                record[f"event_{event.name}_time"] = float(first)
        return record

    def variables(self, end: float) -> dict:
        """An ensemble: per event `event_<name>_triggered`, `_count` and `_time` (first crossing, NaN where none)
        as variables over `system`, and `stop_time`, when each system stopped (`end`, the run's last time, for
        those no event stopped)."""
        if self.systems is None or not self.events:
            return {}
        record = {}
        for i, event in enumerate(self.events):
            record[f"event_{event.name}_triggered"] = (self.counts[:, i] > 0).astype(np.int64)
            record[f"event_{event.name}_count"] = self.counts[:, i]
            record[f"event_{event.name}_time"] = self.first[:, i]
        return {**record, "stop_time": np.where(self.stopped, self.stop_time, end)}
