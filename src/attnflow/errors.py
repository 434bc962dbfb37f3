"""The error hierarchy: every bad input raises a subclass of `AttnflowError`.

`AttnflowError` derives from `ValueError`, so callers that already catch
`ValueError` keep working; the CLI turns it into one line on stderr and exit 2.
"""


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
