"""The step-size controller of the adaptive steppers (particles: `integrate.py`; densities: `pde/spectral.py`).

The standard integral (I) controller (Hairer, Nørsett & Wanner I, §II.4): a step of size h with error
ratio r = |err| / (atol + rtol |y|) is accepted when r <= 1, and the next step is

    h_next = h * clip(safety * r^(-1/(q+1)), factor_min, factor_max),

q the order of the embedded error estimate (4 for Dormand–Prince 5(4)); a rejected step is retried
with the same formula (r > 1 makes the factor < 1). A step shortened to land on a target time does
not slow the run down: when it would grow, the proposal it was cut from is kept.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IController:
    """h_next = h clip(safety r^(-1/(order+1)), factor_min, factor_max); accept when r <= 1."""

    order: int = 4
    safety: float = 0.9
    factor_min: float = 0.2
    factor_max: float = 5.0

    def factor(self, ratio: float) -> float:
        """The step-size factor for error ratio r (factor_max when the error vanishes)."""
        if ratio == 0:
            return self.factor_max
        return min(self.factor_max, max(self.factor_min, self.safety * ratio ** (-1 / (self.order + 1))))

    def adapt(self, proposed: float, taken: float, ratio: float) -> tuple[bool, float]:
        """(accepted, next step) after a step of size `taken` <= `proposed` with error ratio `ratio`."""
        factor = self.factor(ratio)
        if ratio <= 1.0:
            return True, taken * factor if taken == proposed or factor < 1 else proposed
        return False, taken * factor
