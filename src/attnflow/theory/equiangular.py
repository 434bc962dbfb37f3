"""The equiangular model (docs/science.md §4): n tokens with <x_i, x_j> = rho for all i != j.

The configuration is symmetric under every permutation of the tokens, and the
dynamics commute with permutations, so it stays equiangular and reduces to an ODE
for rho (and, Pre-LN, for the common norm r = |x_i|). With identity parameters the
attention output of token i is A_i = a x_i + b sum_{j != i} x_j (directions for
Pre-LN), with

  SA:  a = e^beta / Z,   b = e^{beta rho} / Z,   Z = e^beta + (n-1) e^{beta rho}
  USA: a = e^beta / n,   b = e^{beta rho} / n.

Then <A_i, x_i> = a + (n-1) b rho and <A_i, x_k> - <A_i, x_i> rho = b (1-rho)(1+(n-1)rho)
for k != i, which gives, per normalisation scheme (docs/science.md §1):

  post  (tokens on the sphere, dx_i/dt = P_{x_i} A_i):
        rho' = 2 b (1-rho) (1+(n-1)rho)                                     (E1)
  pre   (x_i = r theta_i in R^d, dx_i/dt = A_i(theta)):
        rho' = 2 b (1-rho) (1+(n-1)rho) / r,   r' = a + (n-1) b rho           (E2)
  ngpt  (on the sphere, dx_i/dt = P_{x_i} A_i / |A_i|, the h -> 0 limit of nGPT's
        x <- normalise(x + h (normalise(A) - x))):
        rho' = 2 b (1-rho) (1+(n-1)rho) / |A|,
        |A|^2 = a^2 + 2 (n-1) a b rho + (n-1) b^2 (1 + (n-2) rho)           (E3)

(E1) is the SA and USA equation of docs/science.md §4. Near rho = 1 (b -> 1/n for SA, e^beta/n
for USA; |A| -> 1 for SA, e^beta for USA; r grows linearly, r' -> 1 for SA, e^beta
for USA):

  post SA: 1-rho ~ e^{-2t};   post USA: 1-rho ~ e^{-2 e^beta t};
  ngpt SA and USA: 1-rho ~ e^{-2t};   pre SA and USA: 1-rho ~ C t^{-2} (polynomial).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import check, check_choice, check_integer, check_real
from ..model import KINDS
from ..normalization import NGPT, NORMALIZATIONS, NORMS, POST, PRE

SCHEMES = (POST, PRE, NGPT)  # the normalisation schemes (E1)-(E3) are derived for


def _check(n, beta, kind, norm):
    check_integer("n", n, 2)
    check_real("beta", beta, 0.0)
    check_choice("kind", kind, KINDS)
    others = ", ".join(name for name, scheme in NORMALIZATIONS.items() if scheme not in SCHEMES)
    check(norm in NORMS and NORMALIZATIONS[norm] in SCHEMES, "norm", norm,
          f"one of {', '.join(s.name for s in SCHEMES)} (equations (E1)-(E3); the equiangular reduction "
          f"is not derived for {others})")


def weights(rho, n: int, beta: float, kind: str = "sa"):
    """(a, b): attention weight of a token on itself and on each other token (module docstring).

    SA is written as a = 1 / (1 + (n-1) e^{-beta(1-rho)}), b = 1 / (e^{beta(1-rho)} + n - 1),
    finite for any beta.
    """
    rho = np.asarray(rho, dtype=np.float64)
    if kind == "sa":
        gap = np.exp(-beta * (1 - rho))
        return 1 / (1 + (n - 1) * gap), gap / (1 + (n - 1) * gap)
    return np.full_like(rho, math.exp(beta) / n), np.exp(beta * rho) / n


def rate(rho, n: int, beta: float, kind: str = "sa", norm: str = "post", r=1.0):
    """(drho/dt, dr/dt) of the equiangular model, equations (E1)-(E3); dr/dt = 0 except Pre-LN."""
    _check(n, beta, kind, norm)
    return _rate_of_gap(1 - np.asarray(rho, dtype=np.float64), n, beta, kind, norm, r)


def _rate_of_gap(gap, n, beta, kind, norm, r):
    """`rate` with rho given as gap = 1 - rho, so that the factor (1 - rho) keeps full relative precision."""
    rho = 1 - gap
    a, b = weights(rho, n, beta, kind)
    contraction = 2 * b * gap * (1 + (n - 1) * rho)
    scheme = NORMALIZATIONS[norm]
    if scheme is POST:
        return contraction, np.zeros_like(rho)
    if scheme is PRE:
        return contraction / r, a + (n - 1) * b * rho
    size = np.sqrt(a**2 + 2 * (n - 1) * a * b * rho + (n - 1) * b**2 * (1 + (n - 2) * rho))
    return contraction / size, np.zeros_like(rho)


@dataclass(frozen=True)
class EquiangularSolution:
    """rho(t), r(t) (r = 1 except Pre-LN) and gap = 1 - rho(t) (accurate far below 1e-16) on the requested times."""

    t: np.ndarray
    rho: np.ndarray
    r: np.ndarray
    gap: np.ndarray


def solve(n: int, beta: float, rho0: float, t, kind: str = "sa", norm: str = "post", r0: float = 1.0,
          rtol: float = 1e-12, atol: float = 1e-30) -> EquiangularSolution:
    """Integrate (E1)-(E3) from rho(0) = rho0, r(0) = r0 and return it at the times `t` (increasing, >= 0).

    Uses scipy's DOP853 in the variable u = 1 - rho (so that the tolerances resolve 1 - rho near 1).
    """
    _check(n, beta, kind, norm)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    check(t.ndim == 1 and bool(np.all(np.isfinite(t))) and bool(np.all(t >= 0)) and bool(np.all(np.diff(t) >= 0)),
          "t", "given times", "a non-decreasing array of finite times >= 0")
    check(math.isfinite(rho0) and -1 / (n - 1) <= rho0 <= 1, "rho0", rho0, f"a number in [{-1 / (n - 1):g}, 1]")
    check(math.isfinite(r0) and r0 > 0, "r0", r0, "a finite number > 0")

    def rhs(_, y):
        drho, dr = _rate_of_gap(y[0], n, beta, kind, norm, y[1])
        return [-drho, dr]

    if t[-1] == 0:
        return EquiangularSolution(t, np.full_like(t, rho0), np.full_like(t, r0), np.full_like(t, 1 - rho0))
    sol = solve_ivp(rhs, (0.0, float(t[-1])), [1 - rho0, r0], method="DOP853", t_eval=t, rtol=rtol, atol=atol)
    return EquiangularSolution(t, 1 - sol.y[0], sol.y[1], sol.y[0])


def asymptotics(beta: float, kind: str = "sa", norm: str = "post") -> tuple[str, float]:
    """How 1 - rho(t) -> 0 (module docstring): ("exponential", c) for 1-rho ~ C e^{-c t}, or
    ("polynomial", p) for 1-rho ~ C t^{-p}."""
    _check(2, beta, kind, norm)
    scheme = NORMALIZATIONS[norm]
    if scheme is PRE:
        return "polynomial", 2.0
    if scheme is POST and kind == "usa":
        return "exponential", 2 * math.exp(beta)
    return "exponential", 2.0


def clustering_time(n: int, beta: float, rho0: float, threshold: float = 0.999, kind: str = "sa",
                    norm: str = "post") -> float:
    """First time t with rho(t) >= threshold, from rho(0) = rho0 (an event of the ODE (E1)-(E3)).

    The survey's prediction curve for the (t, beta) phase diagram of clustering (rho0 = 0:
    random tokens in high dimension are nearly orthogonal). Returns 0 if rho0 >= threshold, inf if
    not reached by t = 1e15.
    """
    _check(n, beta, kind, norm)
    check(math.isfinite(threshold) and rho0 < 1 and threshold < 1, "threshold", threshold,
          "a number < 1 (and rho0 < 1)")
    if rho0 >= threshold:
        return 0.0

    def rhs(_, y):
        drho, dr = rate(y[0], n, beta, kind, norm, y[1])
        return [drho, dr]

    def reached(_, y):
        return y[0] - threshold

    reached.terminal = True
    horizon = 1.0
    while horizon < 1e15:
        sol = solve_ivp(rhs, (0.0, horizon), [rho0, 1.0], method="DOP853", events=reached, rtol=1e-10, atol=1e-12)
        if sol.t_events[0].size:
            return float(sol.t_events[0][0])
        horizon *= 16
    return math.inf
