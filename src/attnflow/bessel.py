"""log I_nu(x) e^{-x} for any order: the modified Bessel functions behind every kernel coefficient.

The Funk–Hecke factors lambda_k(beta, d) (docs/science.md §3) need I_{k+d/2-1}(beta) at orders
far beyond where SciPy's `ive` underflows (d = 10^5, or k in the thousands). There the uniform
asymptotic (Debye) expansion, with nu z = x, p = 1/sqrt(1+z^2) and
  eta = sqrt(1+z^2) + log(z / (1 + sqrt(1+z^2))),
  I_nu(nu z) ~ e^{nu eta} / (sqrt(2 pi nu) (1+z^2)^{1/4}) (1 + u_1(p)/nu + u_2(p)/nu^2 + u_3(p)/nu^3)
(Abramowitz–Stegun 9.7.7), is accurate to O(nu^-4): below 1e-12 relative wherever it is used, except at
x so small that x^2 < 4e-16 (nu + 1) (subnormal x, where x / nu underflows): there the power series' first term
(x/2)^nu / Gamma(nu + 1) is exact to rounding.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, ive

TINY = 1e-280  # below this, ive's result is replaced by the Debye expansion


def _debye_log_iv(nu: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = x / nu
    root = np.sqrt(1 + z**2)
    p = 1 / root
    eta = root + np.log(z / (1 + root))
    u1 = (3 * p - 5 * p**3) / 24
    u2 = (81 * p**2 - 462 * p**4 + 385 * p**6) / 1152
    u3 = (30375 * p**3 - 369603 * p**5 + 765765 * p**7 - 425425 * p**9) / 414720
    series = 1 + u1 / nu + u2 / nu**2 + u3 / nu**3
    return nu * eta - 0.5 * np.log(2 * np.pi * nu) - 0.5 * np.log(root) + np.log(series)


def log_ive(nu, x):
    """log(I_nu(x) e^{-x}) for nu >= 0, x > 0, finite where `scipy.special.ive` underflows."""
    nu, x = np.broadcast_arrays(np.asarray(nu, dtype=np.float64), np.asarray(x, dtype=np.float64))
    value = ive(nu, x)
    with np.errstate(divide="ignore"):
        out = np.log(value)
    small = value < TINY
    leading = small & (x * x < 4e-16 * (nu + 1))  # I_nu(x) = (x/2)^nu / Gamma(nu + 1) (1 + x^2 / (4 (nu + 1)) + ...)
    debye = small & ~leading
    if debye.any():
        out = np.where(debye, _debye_log_iv(np.where(debye, nu, 1.0), np.where(debye, x, 1.0)) - x, out)
    if leading.any():
        out = np.where(leading, nu * (np.log(np.where(leading, x, 1.0)) - np.log(2)) - gammaln(nu + 1) - x, out)
    return out
