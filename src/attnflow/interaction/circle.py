"""The exact Fourier–Bessel interaction on the circle (SCIENCE.md §1), O(n M) per evaluation.

With angles theta_j and moments m_k = (1/n) sum_j e^{i k theta_j}:
  e^{beta cos phi} = I_0(beta) + 2 sum_k I_k(beta) cos k phi,
  -e^{beta cos phi} sin phi = -(2/beta) sum_k k I_k(beta) sin k phi (differentiate the first line),
so the USA angular velocity is
  dtheta_i/dt = -(2/beta) sum_k k I_k(beta) Im(e^{i k theta_i} conj(m_k)),
and SA divides it by I_0(beta) + 2 sum_k I_k(beta) Re(e^{i k theta_i} conj(m_k)).
Both are computed with exponentially scaled Bessel functions ive = I e^{-beta};
USA multiplies back by e^{beta}. The series is cut at M modes, where the terms fall
below `TRUNCATION` relative to the largest one (M = 25 at beta = 5).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy.special import ive

TRUNCATION = 1e-17


@lru_cache(maxsize=64)
def bessel_coefficients(beta: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(a, b, I0) for k = 1..M, exponentially scaled: a_k = (2k/beta) ive(k, beta), b_k = 2 ive(k, beta).

    a_k multiplies sin k phi in -e^{beta cos phi} sin phi, b_k multiplies cos k phi in
    e^{beta cos phi}, I0 = ive(0, beta); all carry the factor e^{-beta}. At beta = 0, a = (1,).
    """
    if beta == 0.0:
        return np.array([1.0]), np.array([0.0]), 1.0
    k = np.arange(1, 64)
    while True:
        scaled = ive(k, beta)
        size = np.maximum(k * scaled / beta, scaled)
        negligible = (size < TRUNCATION * size.max()) & (k > k[np.argmax(size)])
        if negligible.any():
            m = int(np.argmax(negligible))  # first negligible index: keep modes 1..m
            k = k[: max(m, 1)]
            scaled = scaled[: max(m, 1)]
            return 2 * k * scaled / beta, 2 * scaled, float(ive(0, beta))
        k = np.arange(1, 2 * k[-1] + 1)


def modes(theta: torch.Tensor, kmax: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos(k theta_j) and sin(k theta_j) for k = 1..kmax, each of shape (kmax, n)."""
    phase = torch.arange(1, kmax + 1, dtype=theta.dtype, device=theta.device)[:, None] * theta[None, :]
    return torch.cos(phase), torch.sin(phase)


def angular_velocity(kind: str, beta: float, theta: torch.Tensor) -> torch.Tensor:
    """dtheta_i/dt for the SA or USA dynamics on the circle (identity parameters), shape (n,)."""
    a, b, i0 = bessel_coefficients(beta)
    a = torch.as_tensor(a, dtype=theta.dtype, device=theta.device)
    cos, sin = modes(theta, len(a))
    re, im = cos.mean(1), sin.mean(1)  # m_k = re_k + i im_k
    # Im(e^{ik theta} conj m_k) = sin(k theta) re_k - cos(k theta) im_k
    numerator = (a * im) @ cos - (a * re) @ sin
    if kind == "usa":
        return numerator * float(np.exp(beta))
    b = torch.as_tensor(b, dtype=theta.dtype, device=theta.device)
    # Re(e^{ik theta} conj m_k) = cos(k theta) re_k + sin(k theta) im_k
    denominator = i0 + (b * re) @ cos + (b * im) @ sin
    return numerator / denominator
