"""One attention layer on equiangular tokens, and the long-context limit beta_n = gamma log n (docs/science.md §4).

Tokens with <x_i, x_j> = rho (i != j) go through one layer (attnflow.layer, norm "pre" or
"post", identical on unit vectors): y_i = x_i + h A_i with A_i = a x_i + b sum_{j != i} x_j,

  SA:  a = 1 / (1 + (n-1) e^{-beta(1-rho)}),   b = e^{-beta(1-rho)} a;     USA: a = e^beta/n, b = e^{beta rho}/n.

So y_i = sum_j c_ij x_j with c_ii = alpha = 1 + h a, c_ij = h b, and against the Gram matrix
(1-rho) I + rho 11^T the output inner product is (s = alpha + (n-1) h b)

  rho_out = [(1-rho)(2 alpha h b + (n-2) h^2 b^2) + rho s^2] / [(1-rho)(alpha^2 + (n-1) h^2 b^2) + rho s^2]. (L1)

With beta_n = gamma log n, the self-weight against the rest is
a / ((n-1) b) = n^{gamma(1-rho)} / (n-1) -> 0, 1 or infinity as gamma(1-rho) <, = or > 1:
the critical gamma is 1/(1-rho). For SA, a -> a_inf = 0, 1/2, 1 and (n-1) b -> 1 - a_inf while
b -> 0, so (L1) tends to

  rho_inf = rho (1+h)^2 / [(1-rho)(1 + h a_inf)^2 + rho (1+h)^2]                          (L2)

  below (averaging: every token moves to the mean):   4 rho / (1 + 3 rho)        (h = 1)
  at (critical, self and rest weigh half each):        16 rho / (9 + 7 rho)      (h = 1)
  above (identity-like: every token attends to itself): rho.
For USA the attention output grows without bound (e^beta/n = n^{gamma-1}, (n-1) b ~ n^{gamma rho})
and swamps the residual, so the limits are 1, 4 rho / (1 + 3 rho) and rho (rho > 0).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import check, check_choice, check_positive, is_real
from ..model import KINDS

REGIMES = ("below", "critical", "above")


def _check(rho, kind, h):
    check(is_real(rho) and 0 < rho < 1, "rho", rho, "a number in (0, 1)")
    check_choice("kind", kind, KINDS)
    check_positive("h", h)


def critical_gamma(rho: float) -> float:
    """gamma_c = 1 / (1 - rho): the three regimes of beta_n = gamma log n meet there."""
    _check(rho, "sa", 1.0)
    return 1.0 / (1.0 - rho)


def layer_inner_product(n, rho: float, beta, kind: str = "sa", h: float = 1.0):
    """rho_out of equation (L1): the inner product of two output tokens of one layer (exact, any n)."""
    _check(rho, kind, h)
    n = np.asarray(n, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    check(bool(np.all(n >= 2)), "n", n, "integers >= 2")
    check(bool(np.all(np.isfinite(beta)) and np.all(beta >= 0)), "beta", beta, "finite numbers >= 0")
    if kind == "sa":
        gap = np.exp(-beta * (1 - rho))
        a = 1 / (1 + (n - 1) * gap)
        b = gap * a
    else:  # USA: divide c by e^{beta rho}/n (directions are scale-free) to stay finite
        a = np.exp(beta * (1 - rho))
        b = np.ones_like(a)
        h_scaled = h * np.exp(beta * rho) / n
        return _inner(n, rho, 1 / h_scaled + a, b)
    return _inner(n, rho, 1 + h * a, h * b)


def _inner(n, rho, alpha, hb):
    s = alpha + (n - 1) * hb
    cross = 2 * alpha * hb + (n - 2) * hb**2
    square = alpha**2 + (n - 1) * hb**2
    return ((1 - rho) * cross + rho * s**2) / ((1 - rho) * square + rho * s**2)


def long_context_inner_product(n, rho: float, gamma: float, kind: str = "sa", h: float = 1.0):
    """rho_out of (L1) at beta_n = gamma log n."""
    return layer_inner_product(n, rho, gamma * np.log(np.asarray(n, dtype=np.float64)), kind, h)


def regime(rho: float, gamma: float) -> str:
    """"below", "critical" or "above" gamma_c = 1/(1-rho)."""
    g = gamma * (1 - rho)
    return "critical" if math.isclose(g, 1.0, rel_tol=1e-12) else ("below" if g < 1 else "above")


def limit(rho: float, gamma: float, kind: str = "sa", h: float = 1.0) -> float:
    """lim_{n -> inf} rho_out at beta_n = gamma log n, equation (L2) (module docstring)."""
    _check(rho, kind, h)
    where = regime(rho, gamma)
    if kind == "usa":
        return {"below": 1.0, "critical": 4 * rho / (1 + 3 * rho), "above": rho}[where]
    a_inf = {"below": 0.0, "critical": 0.5, "above": 1.0}[where]
    return rho * (1 + h) ** 2 / ((1 - rho) * (1 + h * a_inf) ** 2 + rho * (1 + h) ** 2)
