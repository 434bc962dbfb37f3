"""Zonal harmonics on S^{d-1}: functions of t = <x, e> (docs/science.md §8).

Under the uniform probability measure sigma on S^{d-1}, t has the density proportional to (1 - t^2)^{(d-3)/2}
on [-1, 1]. The degree-l zonal harmonic is the Gegenbauer polynomial C_l^{(d-2)/2}(t); here it is used
orthonormal, phi_l = sqrt(N_l) P_l with P_l = C_l^{(d-2)/2} / C_l^{(d-2)/2}(1) and N_l the dimension of the
degree-l harmonics, so that  ∫ phi_l phi_k dsigma = delta_lk.  The phi_l obey the three-term recurrence of
the symmetric Jacobi weight,
  t phi_l = b_{l+1} phi_{l+1} + b_l phi_{l-1},   b_1^2 = 1/d,   b_l^2 = l (l + d - 3) / ((2l + d - 4)(2l + d - 2)),
which stays finite for every d (P_l and N_l separately under- and overflow at d = 1024), and its derivative
  t phi_l' + phi_l = b_{l+1} phi_{l+1}' + b_l phi_{l-1}'.
Integrals against sigma are Gauss–Jacobi sums with the weight (1 - t^2)^{(d-3)/2} (`nodes`): exact for
polynomials of degree <= 2n - 1 in t.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import gammaln, roots_jacobi


@lru_cache(maxsize=32)
def nodes(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(t_j, w_j), j = 0..n-1: the Gauss–Jacobi nodes of (1 - t^2)^{(d-3)/2}, ascending, and weights with
    sum_j w_j = 1, so that sum_j w_j f(t_j) = ∫ f(<x, e>) dsigma(x) for polynomials f of degree <= 2n - 1."""
    alpha = (dim - 3) / 2
    t, w = roots_jacobi(n, alpha, alpha)
    return t, w / w.sum()


def recurrence(lmax: int, dim: int) -> np.ndarray:
    """b_1..b_{lmax+1} of the orthonormal recurrence (module docstring); b_0 = 0 in front."""
    l = np.arange(2, lmax + 2, dtype=np.float64)
    b = np.zeros(lmax + 2)
    b[1] = np.sqrt(1 / dim)
    b[2:] = np.sqrt(l * (l + dim - 3) / ((2 * l + dim - 4) * (2 * l + dim - 2)))
    return b


def basis(lmax: int, dim: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(phi, phi'): the orthonormal zonal harmonics phi_l(t) and their derivatives, l = 0..lmax, shape
    (lmax + 1, len(t)), by the recurrence of the module docstring."""
    t = np.asarray(t, dtype=np.float64)
    b = recurrence(lmax, dim)
    phi, dphi = np.zeros((lmax + 1, t.size)), np.zeros((lmax + 1, t.size))
    phi[0] = 1.0
    for l in range(lmax):
        previous, d_previous = (phi[l - 1], dphi[l - 1]) if l > 0 else (0.0, 0.0)
        phi[l + 1] = (t * phi[l] - b[l] * previous) / b[l + 1]
        dphi[l + 1] = (t * dphi[l] + phi[l] - b[l] * d_previous) / b[l + 1]
    return phi, dphi


def log_dimension(l: np.ndarray, dim: int) -> np.ndarray:
    """log N_l, N_l = (2l + d - 2) (l + d - 3)! / (l! (d - 2)!) the dimension of the degree-l harmonics on
    S^{d-1} (N_0 = 1; 2 for every l >= 1 on the circle)."""
    l = np.asarray(l, dtype=np.float64)
    if dim == 2:
        return np.where(l == 0, 0.0, np.log(2.0))
    return np.log((2 * l + dim - 2) / (dim - 2)) + gammaln(l + dim - 2) - gammaln(l + 1) - gammaln(dim - 2)


def laplacian(lmax: int, dim: int) -> np.ndarray:
    """The eigenvalues l (l + d - 2), l = 0..lmax, of -Delta_S on degree-l harmonics."""
    l = np.arange(lmax + 1, dtype=np.float64)
    return l * (l + dim - 2)
