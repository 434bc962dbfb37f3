"""Linear theory around the uniform measure (SCIENCE.md §3, Bruno–Pasqualotto–Agazzi 2024).

Funk–Hecke factor of the kernel e^{beta<x,y>}/beta on degree-k harmonics:
  lambda_k(beta, d) = Gamma(d/2) (2/beta)^{d/2-1} I_{k+d/2-1}(beta) / beta,
USA growth rate gamma_k = k (k + d - 2) lambda_k; SA divides by
  Z_0(beta, d) = Gamma(d/2) (2/beta)^{d/2-1} I_{d/2-1}(beta).
Everything is computed in logarithms with exponentially scaled Bessel functions
(ive = I e^{-beta}), so it stays finite for beta up to 10^3 and beyond.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, ive

from ..errors import check
from ..model import KINDS


def _check(beta, dim, kmax=1):
    check(np.isfinite(beta) and beta >= 0, "beta", beta, "a finite number >= 0")
    check(isinstance(dim, (int, np.integer)) and not isinstance(dim, bool) and dim >= 2, "dim", dim,
          "an integer >= 2")
    check(isinstance(kmax, (int, np.integer)) and not isinstance(kmax, bool) and kmax >= 1, "kmax", kmax,
          "an integer >= 1")


def _log_scaled_bessel_ratio(k: np.ndarray, beta: float, dim: int) -> np.ndarray:
    """log( Gamma(d/2) (2/beta)^{d/2-1} ive(k + d/2 - 1, beta) / beta ) = log(lambda_k e^{-beta})."""
    nu = k + dim / 2 - 1
    with np.errstate(divide="ignore"):
        return gammaln(dim / 2) + (dim / 2 - 1) * np.log(2 / beta) + np.log(ive(nu, beta)) - np.log(beta)


def growth_rates(beta: float, dim: int, kmax: int, kind: str = "usa", scaled: bool = False) -> np.ndarray:
    """gamma_k(beta, d) for k = 1..kmax (SCIENCE.md §3); numpy array of length kmax.

    kind "usa": gamma_k = k (k+d-2) lambda_k(beta, d); "sa": gamma_k / Z_0(beta, d).
    scaled=True returns the USA rates times e^{-beta} (finite past beta ~ 700); SA rates
    need no scaling. At beta = 0 only gamma_1 is non-zero: (d-1)/d.
    """
    _check(beta, dim, kmax)
    check(kind in KINDS, "kind", kind, f"one of {', '.join(KINDS)}")
    k = np.arange(1, kmax + 1, dtype=np.float64)
    laplacian = k * (k + dim - 2)
    if beta == 0:
        rates = np.where(k == 1, (dim - 1) / dim, 0.0)
        return rates
    log_lambda = _log_scaled_bessel_ratio(k, float(beta), dim)
    if kind == "sa":
        log_z0 = _log_scaled_bessel_ratio(np.zeros(1), float(beta), dim)[0] + np.log(beta)
        return laplacian * np.exp(log_lambda - log_z0)
    return laplacian * np.exp(log_lambda + (0.0 if scaled else float(beta)))


def dominant_mode(beta: float, dim: int) -> int:
    """k* = argmax_k gamma_k(beta, d) (the same for SA and USA)."""
    _check(beta, dim)
    kmax = int(8 + 4 * np.sqrt(beta + 1))  # k* grows like sqrt(beta)
    return int(np.argmax(growth_rates(beta, dim, kmax, kind="sa"))) + 1
