"""Adaptive time stepping of the spectral PDE solvers (docs/science.md §2, §8): Dormand–Prince 5(4) on the
coefficients, the step chosen by the shared controller (`attnflow.controller.IController`) from the error
estimate in the solver's L2 norm, |err| <= atol + rtol |rho|.

A solver derives from `Dopri5Solver` and defines `rate(state)` (the right-hand side), `norm(state)`
(the L2 norm of the density with those coefficients) and `density(state=None)` (the density on the grid of the
current state, or of `state`); it sets `state`, `rtol`, `atol` and `h` (the first step, or None to pick
0.01 |rho| / |d rho/dt|).
Dense output: `density_at(t)` between the last step's ends is the density of DOPRI5's continuous extension (order
4, `steppers.dopri5_step`), so `solve` observes at any times without cutting the steps there.
"""

from __future__ import annotations

from ..controller import IController
from ..steppers import dopri5_step

CONTROLLER = IController(order=4)  # DOPRI5's error estimate is of order 4


class Dopri5Solver:
    """advance(t_target): one accepted DOPRI5 step under the shared controller."""

    t: float = 0.0
    steps: int = 0
    rejected: int = 0
    rate_now = None
    extension = None  # (t, h, continuous extension) of the last accepted step

    def advance(self, t_target: float) -> None:
        """One accepted DOPRI5 step, no further than t_target."""
        if self.rate_now is None:
            self.rate_now = self.rate(self.state)
        if self.h is None:
            scale = self.norm(self.rate_now) / max(self.norm(self.state), 1e-300)
            self.h = 0.01 / max(scale, 1e-3)
        while True:
            h = min(self.h, t_target - self.t)
            new, error, rate_new, continuous = dopri5_step(self, self.state, h, self.rate_now)
            ratio = self.norm(error) / (self.atol + self.rtol * self.norm(new))
            accepted, self.h = CONTROLLER.adapt(self.h, h, ratio)
            if accepted:
                self.extension = (self.t, h, continuous)
                self.state, self.rate_now = new, rate_new
                self.t = t_target if h == t_target - self.t else self.t + h
                self.steps += 1
                return
            self.rejected += 1

    def density_at(self, time: float):
        """The density at `time` within the last accepted step [t - h, t] (its end: the state itself)."""
        if time == self.t:
            return self.density()
        start, h, continuous = self.extension
        return self.density(continuous((time - start) / h))
