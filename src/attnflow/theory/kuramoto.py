"""Synchronisation at beta = 0 on the circle (docs/science.md §1, §2): the Kuramoto model, exactly.

At beta = 0 SA and USA coincide: dtheta/dt = -∫ sin(theta - theta') rho(theta') dtheta'
= Im(e^{-i theta} Z), Z(t) = ∫ e^{i theta} rho_t(theta) dtheta, so r = |Z| = |mu_1| is the order
parameter. For w = e^{i theta} this is the Riccati equation dw/dt = (Z - conj(Z) w^2)/2, whose
flow map is the Möbius map w -> (A w + B)/(C w + D) with

  d/dt [[A, B], [C, D]] = [[0, Z/2], [conj(Z)/2, 0]] [[A, B], [C, D]],   identity at t = 0    (K1)

(the Watanabe–Strogatz reduction). For |w| <= 1 the map is the power series
sum_k c_k w^k, c_0 = B/D, c_k = (AD - BC)/D^2 (-C/D)^{k-1} (|C/D| < 1), so with the initial
moments m_k = ∫ e^{i k theta} rho_0 dtheta

  Z(t) = c_0 + sum_{k>=1} c_k m_k,                                                          (K2)

a closed ODE of four complex numbers that solves the mean-field equation exactly (for a
trigonometric-polynomial rho_0 the sum is finite). For the Poisson kernel m_k = z^k it
reduces to the Ott–Antonsen equation dr/dt = r (1 - r^2)/2. Near synchrony every token
obeys tan((theta - psi)/2) ~ e^{-t} tan((theta_0 - psi)/2), hence

  mean field, rho_0 > 0 at the antipode of the limit:  1 - r ~ C e^{-t}
  n particles (no token at the antipode, t >~ log n):   1 - r ~ C e^{-2t}   (W_2 ~ e^{-t}, theory/rates.py)
"""

from __future__ import annotations


import numpy as np
from scipy.integrate import solve_ivp

from ..errors import check, is_real


def order_parameter(t, moments, rtol: float = 1e-12, atol: float = 1e-14) -> np.ndarray:
    """Z(t) = ∫ e^{i theta} rho_t dtheta (complex) of the mean-field Kuramoto flow, equations (K1)-(K2).

    t        non-decreasing times >= 0
    moments  m_1..m_K = ∫ e^{i k theta} rho_0(theta) dtheta (complex), K >= 1; (m_k) of a density
             with |m_1| > 0 (the uniform density, m_1 = 0, is stationary)
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    check(t.ndim == 1 and bool(np.all(np.isfinite(t)) and np.all(t >= 0) and np.all(np.diff(t) >= 0)),
          "t", "given times", "a non-decreasing array of finite times >= 0")
    m = np.atleast_1d(np.asarray(moments, dtype=np.complex128))
    check(m.ndim == 1 and m.size >= 1 and bool(np.all(np.isfinite(m))) and bool(np.all(np.abs(m) <= 1 + 1e-12)),
          "moments", "given moments", "a non-empty 1-d array of finite complex numbers with |m_k| <= 1")
    powers = np.arange(m.size)

    def field(a, b, c, d):
        ratio = -c / d
        return b / d + (a * d - b * c) / d**2 * np.sum(m * ratio**powers)

    def rhs(_, y):
        a, b, c, d = y[0:2] @ [1, 1j], y[2:4] @ [1, 1j], y[4:6] @ [1, 1j], y[6:8] @ [1, 1j]
        z = field(a, b, c, d)
        da, db, dc, dd = z / 2 * c, z / 2 * d, np.conj(z) / 2 * a, np.conj(z) / 2 * b
        return [da.real, da.imag, db.real, db.imag, dc.real, dc.imag, dd.real, dd.imag]

    y0 = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    if t[-1] == 0:
        return np.full(t.shape, m[0])
    sol = solve_ivp(rhs, (0.0, float(t[-1])), y0, method="DOP853", t_eval=t, rtol=rtol, atol=atol)
    y = sol.y
    return np.array([field(*(y[2 * j, i] + 1j * y[2 * j + 1, i] for j in range(4))) for i in range(t.size)])


def ott_antonsen(t, r0: float) -> np.ndarray:
    """r(t) = r0 e^{t/2} / sqrt(1 - r0^2 + r0^2 e^t), the solution of dr/dt = r (1 - r^2)/2
    (Poisson-kernel initial densities, m_k = r0^k)."""
    check(is_real(r0) and 0 < r0 < 1, "r0", r0, "a number in (0, 1)")
    t = np.asarray(t, dtype=np.float64)
    return r0 * np.exp(t / 2) / np.sqrt(1 - r0**2 + r0**2 * np.exp(t))


def asymptotic_rate(particles: bool) -> float:
    """c in 1 - r ~ C e^{-c t} (module docstring): 1 for a density positive at the antipode, 2 for particles."""
    return 2.0 if particles else 1.0


