"""Second-order mode amplitudes (theory/second_order.py) against the exact particle dynamics."""

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from attnflow.errors import ParameterError
from attnflow.interaction.circle import angular_velocity
from attnflow.theory import growth_rates
from attnflow.theory.second_order import second_order_modes

BETA, T, N = 5.0, 0.15, 2048


def perturbed_grid(eps):
    """Tokens on a uniform grid displaced by eps times a fixed mixture of modes 1..5."""
    base = 2 * np.pi * np.arange(N) / N
    shift = sum(np.cos(k * base + phase) for k, phase in zip(range(1, 6), (0.3, 1.1, 2.0, 0.7, 2.9)))
    return base + eps * shift


def exact_moments(theta0, times, kmax):
    """M_k(t) of the particles, integrated with a tight tolerance (the velocity is the tested Fourier–Bessel sum)."""
    rhs = lambda t, y: angular_velocity("usa", BETA, torch.from_numpy(y)[None])[0].numpy()  # noqa: E731
    solution = solve_ivp(rhs, (0, times[-1]), theta0, t_eval=times, rtol=1e-12, atol=1e-14, method="DOP853")
    k = np.arange(1, kmax + 1)
    return np.exp(1j * k[None, :, None] * solution.y.T[:, None, :]).mean(2)


def test_second_order_error_is_third_order_in_the_amplitude():
    """Halving the initial amplitudes divides the second-order error by ~8 (third order) and the linear error
    by ~4 (its error is the second-order term), for modes 1..6 at t = 0.15, beta = 5."""
    torch.set_num_threads(1)
    times = np.array([T / 2, T])
    errors, linear_errors = [], []
    for eps in (2e-3, 1e-3):
        theta0 = perturbed_grid(eps)
        x0 = np.stack([np.cos(theta0), np.sin(theta0)], axis=1)
        exact = exact_moments(theta0, times, 6)
        predicted = second_order_modes(x0, BETA, times, 6)
        initial = np.exp(1j * np.arange(1, 7)[:, None] * theta0[None, :]).mean(1)
        linear = initial * np.exp(growth_rates(BETA, 2, 6) * times[:, None])
        errors.append(np.abs(predicted - exact).max())
        linear_errors.append(np.abs(linear - exact).max())
    assert 6 < errors[0] / errors[1] < 10
    assert 3 < linear_errors[0] / linear_errors[1] < 5
    assert errors[1] < 0.05 * linear_errors[1]


def test_mode_six_is_forced_by_mode_three_squared():
    """A start with only mode 3: M_6 follows M_6(0) e^{gamma_6 t}
    + 2 gamma_3 M_3(0)^2 (e^{2 gamma_3 t} - e^{gamma_6 t}) / (2 gamma_3 - gamma_6), the closed form of the l = 3 term."""
    base = 2 * np.pi * np.arange(N) / N
    theta0 = base + 1e-3 * np.cos(3 * base)
    x0 = np.stack([np.cos(theta0), np.sin(theta0)], axis=1)
    times = np.linspace(0, T, 4)
    rates = growth_rates(BETA, 2, 6)
    m3 = np.exp(3j * theta0).mean()
    m6 = np.exp(6j * theta0).mean()
    expected = m6 * np.exp(rates[5] * times) + 2 * rates[2] * m3**2 * (
        np.exp(2 * rates[2] * times) - np.exp(rates[5] * times)) / (2 * rates[2] - rates[5])
    np.testing.assert_allclose(second_order_modes(x0, BETA, times, 6)[:, 5], expected, rtol=1e-4)


def test_bad_input():
    with pytest.raises(ParameterError, match="x0"):
        second_order_modes(np.ones((5, 3)), BETA, [0.1], 4)
    with pytest.raises(ParameterError, match="beta"):
        second_order_modes(np.ones((5, 2)) / math.sqrt(2), 0.0, [0.1], 4)
