"""Zonal stationary states of the noisy SA dynamics on S^{d-1}, solved on quadrature nodes (docs/science.md §6).

SA moves tokens along grad log Phi / beta, Phi(x) = integral e^{beta<x,y>} rho(y) dsigma(y), so its stationary
states are rho proportional to Phi[rho]^{1/(beta D)}. For a zonal rho (a function of t = <x, e>) Phi is zonal:
  Phi(t) = integral K(t, s) rho(s) dmu(s),   K(t, s) = e^{beta t s} Gamma(nu+1) (2 / (beta r))^nu I_nu(beta r),
r = sqrt((1 - t^2)(1 - s^2)), nu = (d - 3)/2 (the mean of e^{beta<x,y>} over the (d-2)-sphere of y at fixed
s; cosh(beta r) on the circle), mu the marginal of sigma in t. Across a cluster's sphere Phi spans e^{-2 beta}
to 1, more than a harmonic series of it resolves, so the unknowns are u = log rho at the Gauss–Jacobi nodes of
mu and everything is a log-sum-exp: with a = log Phi[e^u] / (beta D),
  G(u) = u - a + log <e^a>_mu = 0,   dG/du = I - (I - 1 q^T) A,   A_ij = mu_j rho_j K_ij / (beta D Phi_i),
q = mu e^a / <e^a>_mu. A state is called stable when every eigenvalue of (I - 1 q^T) A - I has negative real
part: exact at the uniform state (eigenvalues lambda_k / (Z_0 D) - 1, the signs of the PDE's rates), and
along a branch it changes only where dG/du is singular, where the PDE's linearisation is singular too, or at a
Hopf bifurcation, which it cannot see (SA is not a gradient flow of a known free energy).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy.special import gammaln, logsumexp, roots_jacobi

from ..bessel import log_ive
from ..threads import one_blas_thread
from .continuation import follow

NODES = 256  # Gauss–Jacobi nodes in t


class ZonalSA:
    """The nodes, weights and log-kernel of zonal SA states on S^{dim-1} at inverse temperature beta."""

    def __init__(self, beta: float, dim: int, nodes: int = NODES):
        self.beta, self.dim = beta, dim
        alpha = (dim - 3) / 2
        t, w = roots_jacobi(nodes, alpha, alpha)
        self.t, self.log_weights = t, np.log(w / w.sum())
        nu = (dim - 3) / 2
        r = np.sqrt(np.outer(1 - t**2, 1 - t**2))
        self.log_kernel = (beta * np.outer(t, t) + gammaln(nu + 1) + nu * np.log(2 / (beta * r))
                           + log_ive(nu, beta * r) + beta * r)

    def log_potential(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log Phi at the nodes, and P_ij = mu_j rho_j K_ij / Phi_i."""
        terms = self.log_kernel + self.log_weights + u
        log_phi = logsumexp(terms, axis=1)
        return log_phi, np.exp(terms - log_phi[:, None])

    def equations(self, u: np.ndarray, diffusion: float):
        """G(u), dG/du, dG/dD and the fixed-point map's Jacobian (I - 1 q^T) A (module docstring)."""
        log_phi, p = self.log_potential(u)
        a = log_phi / (self.beta * diffusion)
        q = np.exp(self.log_weights + a - logsumexp(self.log_weights + a))
        g = u - a + logsumexp(self.log_weights + a)
        centred = np.eye(len(u)) - q[None, :]  # (I - 1 q^T)
        fixed_point = centred @ (p / (self.beta * diffusion))
        return g, np.eye(len(u)) - fixed_point, centred @ a / diffusion, fixed_point

    def stable(self, fixed_point: np.ndarray) -> bool:
        return bool(np.linalg.eigvals(fixed_point - np.eye(len(fixed_point))).real.max() < 0)


def sa_branch(beta: float, dim: int, threshold: float, legendre, step: float, max_points: int, born_from: int,
              birth: float, end: float) -> tuple[np.ndarray, ...]:
    """Along the SA branch born from the degree-k harmonic (k = born_from) at D = birth D_# (D_# = `threshold`),
    continued in (u, D / D_#) until D < end D_#: D, the moments <legendre(t)> (legendre: nodes -> (modes,
    nodes)), stability, the nodes t and log rho there."""
    zonal = ZonalSA(beta, dim)
    values = legendre(zonal.t)
    harmonic = values[born_from - 1]
    scale = math.sqrt(len(harmonic)) / threshold  # log rho spans ~1/D: steps in the rms of D_# log rho

    def equations(point):  # G in units of 1/D_# too, so that its tolerance is relative to log rho's span
        u, diffusion = point[:-1] * scale, point[-1] * threshold
        g, jacobian_u, jacobian_d, fixed_point = zonal.equations(u, diffusion)
        return (g * threshold, np.column_stack([jacobian_u * scale, jacobian_d * threshold]) * threshold,
                fixed_point)

    start = np.append(np.zeros(len(harmonic)), birth)
    tangent = np.append(harmonic / np.linalg.norm(harmonic), 0.0)
    points = follow(equations, start, tangent, lambda point: point[-1] >= end, step, max_points,
                    lambda point: point[-1] > 0)
    weights = np.exp(zonal.log_weights)
    diffusion = np.array([point[-1] * threshold for point, _ in points])
    log_density = np.array([point[:-1] * scale for point, _ in points])
    moments = np.exp(log_density) @ (weights[:, None] * values.T)
    with one_blas_thread():
        stable = np.array([zonal.stable(fixed_point) for _, fixed_point in points])
    return diffusion, moments, stable, zonal.t, log_density


__all__ = ["ZonalSA", "sa_branch"]
