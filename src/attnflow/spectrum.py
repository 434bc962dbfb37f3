"""The harmonic coefficients of the attention kernel e^{beta<x,y>} (docs/science.md §1, §3).

On the circle (docs/science.md §1, "Exact interaction on the circle"), the Fourier–Bessel series
  e^{beta cos phi} = I_0(beta) + 2 sum_k I_k(beta) cos k phi,
  -e^{beta cos phi} sin phi = -(2/beta) sum_k k I_k(beta) sin k phi   (differentiate the first line),
cut at M modes, where the terms fall below `TRUNCATION` relative to the largest one (M = 26 at beta = 5).
On S^{d-1} (docs/science.md §3, Funk–Hecke), e^{beta<x,y>}/beta acts on degree-k harmonics as
  lambda_k(beta, d) = Gamma(d/2) (2/beta)^{d/2-1} I_{k+d/2-1}(beta) / beta,
and the flow linearised at the uniform measure grows degree k at
  gamma_k = k (k+d-2) lambda_k  (USA),   gamma_k / Z_0 with Z_0 = beta lambda_0  (SA).
Everything is computed with exponentially scaled Bessel functions (ive = I e^{-beta}, `bessel.log_ive`),
so it stays finite for beta up to 10^3 and beyond. The engines, the PDE, the theory and the
observables read the kernel from here.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import gammaln, ive

from .bessel import log_ive
from .errors import ParameterError, check, check_choice, check_integer, check_real
from .model import KINDS

TRUNCATION = 1e-17
MAX_MODES = 2**14  # I_k(beta) e^{-beta} ~ e^{-k^2 / 2 beta}: enough up to beta ~ 3 10^6
MAX_EXP = math.log(np.finfo(np.float64).max)  # e^beta overflows float64 beyond beta = 709.78


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
        if k[-1] >= MAX_MODES:
            raise ParameterError("beta", beta, f"a value whose Fourier–Bessel series converges within {MAX_MODES} "
                                               "modes (beta up to about 10^6) for the circle engine; use "
                                               "engine='dense'")
        k = np.arange(1, min(2 * k[-1], MAX_MODES) + 1)


def _log_scaled_factor(k: np.ndarray, beta: float, dim: int) -> np.ndarray:
    """log( Gamma(d/2) (2/beta)^{d/2-1} ive(k + d/2 - 1, beta) / beta ) = log(lambda_k e^{-beta})."""
    nu = k + dim / 2 - 1
    return gammaln(dim / 2) + (dim / 2 - 1) * (np.log(2) - np.log(beta)) + log_ive(nu, beta) - np.log(beta)


def kernel_degree(beta: float, dim: int) -> int:
    """L: the largest degree whose velocity multiplier l (l + d - 2) lambda_l(beta, d) is at least TRUNCATION
    times the largest one. The kernel couples no degree beyond L, so a spectral grid of band limit L represents
    the velocity field exactly (the density may still sharpen beyond it: the PDE solvers detect that)."""
    check_real("beta", beta, 0.0)
    check_integer("dim", dim, 2)
    if beta == 0:
        return 1
    k = np.arange(1, MAX_MODES + 1, dtype=np.float64)
    log_size = np.log(k * (k + dim - 2)) + _log_scaled_factor(k, float(beta), dim)
    kept = np.flatnonzero(log_size >= log_size.max() + math.log(TRUNCATION))
    check(kept[-1] < len(k) - 1, "beta", beta, f"a value whose kernel couples fewer than {MAX_MODES} degrees")
    return int(kept[-1]) + 1


def velocity_degree(beta: float, dim: int) -> int:
    """L: the largest degree whose part of the velocity can reach TRUNCATION times the largest part, for any
    probability density. Its degree-l part is lambda_l a_l phi_l' with |a_l| <= sup|phi_l| = sqrt(N_l) and
    sup|phi_l'| = sqrt(N_l) l (l + d - 2) / (d - 1) (at t = 1; phi_l the orthonormal zonal harmonics of
    docs/science.md §8, N_l their multiplicity), so the bound is lambda_l N_l l (l + d - 2) / (d - 1): the Taylor
    coefficients of e^{beta t} in high d, hence about the same L for every d (35 at beta = 5), where
    `kernel_degree` (the multipliers alone) falls to 8 at d = 1024 and misses a point mass's velocity."""
    check_real("beta", beta, 0.0)
    check_integer("dim", dim, 2)
    if beta == 0:
        return 1
    k = np.arange(1, MAX_MODES + 1, dtype=np.float64)
    log_multiplicity = (np.full_like(k, math.log(2)) if dim == 2 else np.log((2 * k + dim - 2) / (dim - 2))
                        + gammaln(k + dim - 2) - gammaln(k + 1) - gammaln(dim - 2))
    log_size = np.log(k * (k + dim - 2) / (dim - 1)) + log_multiplicity + _log_scaled_factor(k, float(beta), dim)
    kept = np.flatnonzero(log_size >= log_size.max() + math.log(TRUNCATION))
    check(kept[-1] < len(k) - 1, "beta", beta, f"a value whose kernel couples fewer than {MAX_MODES} degrees")
    return int(kept[-1]) + 1


def _check_unscaled(beta: float, scaled: bool) -> None:
    check(scaled or beta <= MAX_EXP - 50, "beta", beta,
          f"at most {MAX_EXP - 50:.4g} for unscaled USA rates in float64 (they carry e^beta): use scaled=True for "
          "e^(-beta) gamma_k")


def funk_hecke_factor(beta: float, dim: int, kmax: int, scaled: bool = False, kmin: int = 1) -> np.ndarray:
    """lambda_k(beta, d) = Gamma(d/2) (2/beta)^{d/2-1} I_{k+d/2-1}(beta) / beta, k = kmin..kmax (docs/science.md
    §3): the eigenvalue of f -> integral of e^{beta<x,y>}/beta f(y) against the uniform probability measure on
    degree-k harmonics (beta lambda_0 = Z_0). scaled=True returns lambda_k e^{-beta}. beta must be > 0."""
    check_real("beta", beta, 0.0)
    check_integer("dim", dim, 2)
    check_integer("kmin", kmin, 0)
    check_integer("kmax", kmax, max(kmin, 1))
    check(beta > 0, "beta", beta, "a finite number > 0")
    _check_unscaled(beta, scaled)
    k = np.arange(kmin, kmax + 1, dtype=np.float64)
    return np.exp(_log_scaled_factor(k, float(beta), dim) + (0.0 if scaled else float(beta)))


def growth_rates(beta: float, dim: int, kmax: int, kind: str = "usa", scaled: bool = False) -> np.ndarray:
    """gamma_k(beta, d) for k = 1..kmax (docs/science.md §3); numpy array of length kmax.

    kind "usa": gamma_k = k (k+d-2) lambda_k(beta, d); "sa": gamma_k / Z_0(beta, d).
    scaled=True returns the USA rates times e^{-beta} (finite past beta ~ 700); SA rates
    need no scaling. At beta = 0 only gamma_1 is non-zero: (d-1)/d.
    """
    check_real("beta", beta, 0.0)
    check_integer("dim", dim, 2)
    check_integer("kmax", kmax, 1)
    check_choice("kind", kind, KINDS)
    k = np.arange(1, kmax + 1, dtype=np.float64)
    laplacian = k * (k + dim - 2)
    if beta == 0:
        return np.where(k == 1, (dim - 1) / dim, 0.0)
    log_lambda = _log_scaled_factor(k, float(beta), dim)
    if kind == "sa":
        log_z0 = _log_scaled_factor(np.zeros(1), float(beta), dim)[0] + np.log(beta)
        return laplacian * np.exp(log_lambda - log_z0)
    _check_unscaled(beta, scaled)
    return laplacian * np.exp(log_lambda + (0.0 if scaled else float(beta)))
