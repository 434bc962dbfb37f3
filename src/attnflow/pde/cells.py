"""Cells in the colatitude on S^{d-1}: the sigma-measure of each cell, the area of each face, and the exact cell
integrals of the zonal harmonics (docs/science.md §8, "finite volumes").

A zonal density is a function of t = <x, e>. The cells are uniform in the angle psi = arccos(-t) from -e:
faces psi_f = f pi / n (t_f = -cos psi_f, ascending), f = 0..n. Under the uniform probability measure sigma,
  d sigma = A(psi) d psi,   A(psi) = c_d sin^{d-2} psi,   c_d = Gamma(d/2) / (sqrt(pi) Gamma((d - 1)/2)),
A(psi_f) being the "area" of face f (the measure of the (d-2)-sphere of latitude psi_f, relative to sigma), and
  sigma(psi <= p) = I_x((d - 1)/2, (d - 1)/2),   x = sin^2(p/2)       (regularised incomplete beta function).
In high d these numbers leave float64 near the poles (sin^{1022}(pi/64) ~ 1e-1338): everything is kept as
logarithms, through the series DLMF 8.17.8 where scipy's betainc underflows, and the solver only uses the
ratios A_f / V_j of neighbouring faces and cells, which stay of order (d - 1) n.
The cell integrals of the orthonormal zonal harmonics phi_l are exact by the divergence theorem:
Delta_S phi_l = -l (l + d - 2) phi_l, so
  ∫_cell j phi_l dsigma = -(A_{j+1} d_psi phi_l(psi_{j+1}) - A_j d_psi phi_l(psi_j)) / (l (l + d - 2)),
with d_psi phi_l = sin psi phi_l'(t) (`gegenbauer.basis`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import betainc, betaln, gammaln

from . import gegenbauer

LOG_SMALLEST = np.log(1e-280)  # below this, betainc's value is replaced by the series
SERIES_TERMS = 100_000  # a bound on the series' length (it converges like (2x)^k, x <= 1/2)


def faces(n: int) -> np.ndarray:
    """psi_f = f pi / n, f = 0..n: the faces' angle from -e."""
    return np.arange(n + 1) * (np.pi / n)


def sin_faces(n: int) -> np.ndarray:
    """sin psi_f, exactly zero at both poles and symmetric about the equator."""
    f = np.arange(n + 1)
    return np.sin(np.minimum(f, n - f) * (np.pi / n))


def log_cap(psi: np.ndarray, dim: int) -> np.ndarray:
    """log sigma(psi' <= psi) for psi in [0, pi/2]: log I_x(a, a), a = (d - 1)/2, x = sin^2(psi/2); by scipy's betainc
    where it is above 1e-280, else by I_x(a, a) = x^a (1 - x)^a / (a B(a, a)) sum_k (2a)_k / (a + 1)_k x^k (DLMF 8.17.8)
    in logarithms."""
    a = (dim - 1) / 2
    x = np.sin(np.asarray(psi, dtype=np.float64) / 2) ** 2
    with np.errstate(divide="ignore"):
        result = np.log(betainc(a, a, x))
    small = np.flatnonzero((result < LOG_SMALLEST) & (x > 0))
    if small.size:
        y = x[small]
        term, total = np.ones_like(y), np.ones_like(y)
        for k in range(SERIES_TERMS):
            term *= (2 * a + k) * y / (a + 1 + k)
            total += term
            if (term <= 1e-17 * total).all():
                break
        result[small] = a * np.log(y) + a * np.log1p(-y) - np.log(a) - betaln(a, a) + np.log(total)
    return result


@lru_cache(maxsize=32)
def log_measures(n: int, dim: int) -> np.ndarray:
    """log V_j, V_j = sigma(cell j), j = 0..n-1: differences of `log_cap` in the southern half (psi <= pi/2), the
    middle cell of an odd n as the rest, the northern half by symmetry."""
    half = n // 2
    caps = log_cap(faces(n)[:half + 1], dim)
    lower = caps[1:] + np.log(-np.expm1(caps[:-1] - caps[1:]))
    middle = [np.log(-np.expm1(np.log(2) + caps[-1]))] if n % 2 else []
    result = np.concatenate([lower, middle, lower[::-1]])
    result.flags.writeable = False
    return result


@lru_cache(maxsize=32)
def log_face_areas(n: int, dim: int) -> np.ndarray:
    """log A(psi_f), f = 0..n: log c_d + (d - 2) log sin psi_f (-inf at the poles for d >= 3; constant for d = 2)."""
    log_c = gammaln(dim / 2) - 0.5 * np.log(np.pi) - gammaln((dim - 1) / 2)
    with np.errstate(divide="ignore"):
        result = log_c + (dim - 2) * np.log(sin_faces(n)) if dim > 2 else np.full(n + 1, log_c)
    result.flags.writeable = False
    return result


@lru_cache(maxsize=32)
def face_ratios(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(A_j / V_j, A_{j+1} / V_j), j = 0..n-1: each cell's left (toward -e) and right face area over its measure."""
    log_v, log_a = log_measures(n, dim), log_face_areas(n, dim)
    return np.exp(log_a[:-1] - log_v), np.exp(log_a[1:] - log_v)


def face_derivatives(lmax: int, dim: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(phi_l(t_f), d_psi phi_l(t_f) = sin psi_f phi_l'(t_f)), l = 0..lmax, f = 0..n, each (lmax + 1, n + 1)."""
    phi, dphi = gegenbauer.basis(lmax, dim, -np.cos(faces(n)))
    return phi, dphi * sin_faces(n)


@lru_cache(maxsize=32)
def harmonic_averages(lmax: int, dim: int, n: int) -> np.ndarray:
    """(1/V_j) ∫_cell j phi_l dsigma, l = 0..lmax, j = 0..n-1 (module docstring: exact), shape (lmax + 1, n); the
    moments of cell masses M_j are a_l = ∫ rho phi_l dsigma = sum_j M_j (this)_lj."""
    left, right = face_ratios(n, dim)
    derivative = face_derivatives(lmax, dim, n)[1]
    l = np.arange(1, lmax + 1)[:, None]
    averages = np.ones((lmax + 1, n))
    averages[1:] = -(right * derivative[1:, 1:] - left * derivative[1:, :-1]) / (l * (l + dim - 2))
    averages.flags.writeable = False
    return averages
