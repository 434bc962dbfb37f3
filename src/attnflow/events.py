"""Events of a run: `Event(fn)` fires where fn(t, x) crosses zero (scipy's `solve_ivp` conventions), e.g.
the order parameter r = |mean x| of docs/science.md §4 reaching 0.9: `Event(lambda t, x: r(x) - 0.9)`.

`simulate(..., events=[...])` watches each event after every accepted step: it fires when fn changes
sign over the step, from < 0 to >= 0 or from > 0 to <= 0 (`direction` > 0: upward only, < 0: downward
only, 0: either; a zero is counted once, when it is reached).
A terminal event stops the run there: at the step's end for fixed steps, at the root of fn along the
dense output for dopri5. `x` is what observables see (observe.py): the tokens as unit vectors, their
directions for Pre-LN. The record is NaN-free: for each event the number of crossings, whether it
fired, and (only when it did) the time of the first one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from scipy.optimize import brentq

from .errors import AttnflowError, NonFiniteError, ParameterError, check, is_real


@dataclass(frozen=True)
class Event:
    """fn(t, x) -> float crossing zero; `terminal` stops the run at the first crossing."""

    fn: Callable
    terminal: bool = True
    direction: float = 0.0
    name: str | None = None

    def __post_init__(self):
        check(callable(self.fn), "events", self.fn, "Event(fn, ...) with fn(t, x) -> float callable")
        check(is_real(self.direction), "direction", self.direction, "a number: > 0 upward, < 0 downward, 0 either")
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
    return [Event(event.fn, event.terminal, event.direction, name) for event, name in zip(resolved, names)]


def _name(event: Event, index: int) -> str:
    if event.name is not None:
        return event.name
    name = getattr(event.fn, "__name__", "")
    return name if name.isidentifier() else f"event{index}"


class Watch:
    """The events of one run: their last values, crossings counted, first crossing times."""

    def __init__(self, events: list[Event]):
        self.events = events
        self.values = [0.0] * len(events)
        self.counts = [0] * len(events)
        self.first = [None] * len(events)
        self.stopped_by = None

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
        self.values = [self.value(i, t, x) for i in range(len(self.events))]

    def crossed(self, t: float, x) -> list[tuple[int, float, float]]:
        """(event, value before, value now) for the events whose sign changed since the last call."""
        new = [self.value(i, t, x) for i in range(len(self.events))]
        active = []
        for i, (event, old, value) in enumerate(zip(self.events, self.values, new)):
            up, down = old < 0 <= value, old > 0 >= value
            if (up and event.direction >= 0) or (down and event.direction <= 0):
                active.append((i, old, value))
        self.values = new
        return active

    def locate(self, i: int, old: float, new: float, t: float, t_new: float, tokens_at) -> float:
        """The time in [t, t_new] where fn_i crosses zero along `tokens_at(time)` (the dense output of
        the step; `old`, `new` its values at the ends): Brent's method."""
        def g(time):
            return old if time == t else new if time == t_new else self.value(i, time, tokens_at(time))
        return brentq(g, t, t_new, xtol=1e-12 * (t_new - t))

    def fire(self, i: int, t: float) -> None:
        self.counts[i] += 1
        if self.first[i] is None:
            self.first[i] = t

    def stop(self, hits: list[tuple[int, float]]) -> float | None:
        """Record the crossings `hits` (event, time) of one step up to the first terminal one; its time."""
        terminal = [time for i, time in hits if self.events[i].terminal]
        end = min(terminal) if terminal else None
        for i, time in sorted(hits, key=lambda hit: hit[1]):
            if end is None or time <= end:
                self.fire(i, time)
        if end is not None:
            self.stopped_by = min((time, i) for i, time in hits if self.events[i].terminal)[1]
        return end

    def checkpoint(self) -> dict:
        """The record so far, as numbers (a part of the run's checkpoint; none without events)."""
        if not self.events:
            return {}
        state = {"stopped_by": -1 if self.stopped_by is None else self.stopped_by}
        for i in range(len(self.events)):
            state[f"event{i}_count"] = self.counts[i]
            if self.first[i] is not None:
                state[f"event{i}_first"] = self.first[i]
        return state

    def restore(self, state: dict, t: float, x) -> None:
        """The record of `checkpoint`, and the events' values at the checkpoint's (t, x)."""
        if not self.events:
            return
        self.start(t, x)
        self.counts = [int(state[f"event{i}_count"]) for i in range(len(self.events))]
        self.first = [float(state[f"event{i}_first"]) if f"event{i}_first" in state else None
                      for i in range(len(self.events))]
        self.stopped_by = None if int(state["stopped_by"]) < 0 else int(state["stopped_by"])

    def attrs(self) -> dict:
        """`terminated_by` and, per event, `event_<name>_triggered` (0/1), `_count` and `_time` (first crossing)."""
        record = {"terminated_by": "none" if self.stopped_by is None else self.events[self.stopped_by].name}
        for event, count, first in zip(self.events, self.counts, self.first):
            record[f"event_{event.name}_triggered"] = int(count > 0)
            record[f"event_{event.name}_count"] = count
            if first is not None:
                record[f"event_{event.name}_time"] = first
        return record
