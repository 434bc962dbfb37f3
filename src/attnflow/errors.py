"""The error hierarchy: every bad input raises a subclass of `AttnflowError`.

`AttnflowError` derives from `ValueError`, so callers that already catch
`ValueError` keep working; the CLI turns it into one line on stderr and exit 2.
The `check_*` helpers are the one set of argument checks every module uses.
"""

from __future__ import annotations

import math

import numpy as np


class AttnflowError(ValueError):
    """Root of attnflow's errors."""


class ParameterError(AttnflowError):
    """A parameter has a value outside what is allowed."""

    def __init__(self, name: str, value, allowed: str):
        self.name, self.value, self.allowed = name, value, allowed
        super().__init__(f"{name}={value!r} is not allowed: {allowed}")


class EngineError(AttnflowError):
    """An interaction engine was asked for something it cannot compute exactly."""


class NonFiniteError(AttnflowError):
    """A computation left the range of its floating-point type (a state or result became NaN or inf)."""


def check(condition: bool, name: str, value, allowed: str) -> None:
    """Raise `ParameterError(name, value, allowed)` unless `condition` holds."""
    if not condition:
        raise ParameterError(name, value, allowed)


def is_real(value) -> bool:
    """A Python or NumPy real number (not a bool)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def is_integer(value) -> bool:
    """A Python or NumPy integer (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_real(name: str, value, minimum: float = -math.inf, exclusive: bool = False, allowed: str | None = None):
    """A finite real number >= minimum (> minimum with `exclusive`); returned as a float."""
    inside = minimum == -math.inf or (value > minimum if exclusive else value >= minimum) if is_real(value) else False
    if not (is_real(value) and math.isfinite(value) and inside):  # the message is built only when it is needed
        bound = "" if minimum == -math.inf else f" {'>' if exclusive else '>='} {minimum:g}"
        raise ParameterError(name, value, allowed or f"a finite number{bound}")
    return float(value)


def check_positive(name: str, value, allowed: str | None = None) -> float:
    """A finite real number > 0; returned as a float."""
    return check_real(name, value, 0.0, exclusive=True, allowed=allowed)


def check_integer(name: str, value, minimum: int | None = None, maximum: int | None = None,
                  allowed: str | None = None) -> int:
    """An integer in [minimum, maximum] (either bound optional); returned as an int."""
    inside = is_integer(value) and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if inside:
        return int(value)
    if allowed is None:
        allowed = ("an integer" + (f" >= {minimum}" if minimum is not None else "")
                   + (" and" if minimum is not None and maximum is not None else "")
                   + (f" <= {maximum}" if maximum is not None else ""))
    raise ParameterError(name, value, allowed)


def check_choice(name: str, value, choices) -> str:
    """One of `choices`."""
    check(value in tuple(choices), name, value, f"one of {', '.join(map(str, choices))}")
    return value
