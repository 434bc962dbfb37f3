"""The step-size controller (controller.py): its formula, and adaptive Dormand–Prince under it on scalar ODEs
with known solutions."""

import math

import pytest
import torch

from attnflow.controller import IController
from attnflow.steppers import dopri5_step


class Logistic:
    """y' = y (1 - y), y(t) = 1 / (1 + (1/y0 - 1) e^{-t})."""

    def rate(self, y):
        return y * (1 - y)

    @staticmethod
    def exact(y0, t):
        return 1 / (1 + (1 / y0 - 1) * math.exp(-t))


def test_the_factor_is_the_clipped_i_controller():
    controller = IController(order=4)
    assert controller.factor(1.0) == pytest.approx(0.9)
    assert controller.factor(0.5) == pytest.approx(0.9 * 2 ** 0.2)
    assert controller.factor(2.0) == pytest.approx(0.9 * 2 ** -0.2)
    assert controller.factor(0.0) == 5.0 and controller.factor(1e-12) == 5.0 and controller.factor(1e9) == 0.2
    assert IController(order=2, safety=0.8).factor(8.0) == pytest.approx(0.8 / 2)


def test_accept_reject_and_landing():
    controller = IController()
    assert controller.adapt(0.1, 0.1, 0.5) == (True, pytest.approx(0.1 * 0.9 * 2 ** 0.2))
    accepted, h = controller.adapt(0.1, 0.1, 32.0)  # rejected: shrinks by 0.9 / 2
    assert not accepted and h == pytest.approx(0.045)
    assert controller.adapt(1.0, 0.3, 1e-6) == (True, 1.0)  # a step cut to land keeps the proposal it was cut from
    assert controller.adapt(1.0, 0.3, 1.0) == (True, pytest.approx(0.27))  # ... unless it must shrink


def integrate(flow, y0, t_end, rtol, atol=1e-14, first_step=0.01, controller=IController()):
    """Adaptive DOPRI5 under `controller`, landing on t_end (the loop of integrate.py, written out)."""
    y, t, h = torch.tensor([y0], dtype=torch.float64), 0.0, first_step
    k1, steps, rejected = flow.rate(y), 0, 0
    while t < t_end:
        h_step = min(h, t_end - t)
        y_new, error, k_new, _ = dopri5_step(flow, y, h_step, k1)
        ratio = float((error.abs() / (atol + rtol * y_new.abs())).max())
        accepted, h = controller.adapt(h, h_step, ratio)
        if accepted:
            t = t_end if h_step == t_end - t else t + h_step
            y, k1, steps = y_new, k_new, steps + 1
        else:
            rejected += 1
    return float(y[0]), steps, rejected


@pytest.mark.parametrize("rtol", [1e-6, 1e-9, 1e-12])
def test_dopri5_under_the_controller_meets_its_tolerance(rtol):
    y, steps, _ = integrate(Logistic(), 0.01, 12.0, rtol)
    assert abs(y - Logistic.exact(0.01, 12.0)) < 20 * rtol * abs(y)


def test_steps_grow_like_the_fifth_root_of_the_tolerance():
    """Local error ~ h^5 (order 4 estimate): 10^4 times tighter needs ~ 10^(4/5) = 6.3 times more steps."""
    _, loose, _ = integrate(Logistic(), 0.01, 12.0, 1e-6)
    _, tight, _ = integrate(Logistic(), 0.01, 12.0, 1e-10)
    assert 4 < tight / loose < 10


def test_a_too_large_first_step_is_rejected_then_recovers():
    y, _, rejected = integrate(Logistic(), 0.01, 12.0, 1e-9, first_step=10.0)
    assert rejected >= 1 and abs(y - Logistic.exact(0.01, 12.0)) < 2e-8
