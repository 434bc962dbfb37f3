"""Gegenbauer spectral solver of the mean-field equation for zonal densities on S^{d-1} (docs/science.md §8).

A density of t = <x, e> alone (against sigma, the uniform probability measure) stays zonal. With
rho = sum_l a_l phi_l(t) in the orthonormal zonal harmonics (`gegenbauer`), Funk–Hecke makes the potential
diagonal, Phi[rho] = sum_l lambda_l(beta, d) a_l phi_l (`kernels.HarmonicKernel`), and for a zonal f,
grad_S f = f'(t) P_x e with |P_x e|^2 = 1 - t^2. Testing d_t rho + div_S(rho grad_S Phi) = D Delta_S rho
against phi_l (integration by parts on the sphere) gives, exactly,
  d a_l/dt = ∫ (1 - t^2) rho Phi'(t) phi_l'(t) dsigma - D l (l + d - 2) a_l       (USA),
SA dividing Phi' by w[rho] = sum_l beta lambda_l a_l phi_l. The degrees are l <= L = n - 1 for a density
given at n nodes. For USA the integrand is a polynomial of degree <= 3L, so Gauss–Jacobi quadrature with
Q >= (3L + 1)/2 nodes makes the Galerkin system exact (no aliasing: the 3/2 rule); SA's quotient is not a
polynomial and is sampled on the same nodes. Mass is a_0, whose rate is exactly zero (phi_0' = 0).
The cost depends on L only: d = 3, 8, 128 and 1024 cost the same.
Time stepping: adaptive Dormand–Prince 5(4) (`adaptive.Dopri5Solver`), error in the L2(sigma) norm
sqrt(sum_l a_l^2). Positivity is not enforced: `solve` detects when the density dips below zero.
"""

from __future__ import annotations

import numpy as np

from . import gegenbauer
from .adaptive import Dopri5Solver
from .geometry import Zonal
from .kernels import HarmonicKernel


class ZonalSolver(Dopri5Solver):
    """Adaptive DOPRI5 in time, Gegenbauer–Galerkin in t; state: the coefficients a_l, l = 0..L."""

    name = "gegenbauer"
    geometries = ("zonal",)

    def __init__(self, model, geometry: Zonal, density0: np.ndarray, rtol: float = 1e-8, atol: float = 1e-10,
                 first_step: float | None = None):
        degree, dim = geometry.max_modes, geometry.dim
        self.kind, self.rtol, self.atol, self.h = model.kind, rtol, atol, first_step
        self.kernel = HarmonicKernel.build(model.kind, model.beta, dim, degree)
        self.decay = model.diffusion * gegenbauer.laplacian(degree, dim)
        t, self.quadrature = gegenbauer.nodes((3 * degree + 2) // 2 + 1, dim)
        self.phi, self.dphi = gegenbauer.basis(degree, dim, t)
        self.dphi_weighted = self.dphi * (self.quadrature * (1 - t**2))  # phi_l'(t_q) w_q (1 - t_q^2)
        self.grid_phi = gegenbauer.basis(degree, dim, geometry.points)[0]
        self.state = self.grid_phi @ (geometry.weights * density0)  # a_l = ∫ rho phi_l dsigma, exact at n nodes

    def rate(self, a: np.ndarray) -> np.ndarray:
        """d a_l/dt: the transport term by exact quadrature, plus diffusion."""
        rho = a @ self.phi
        slope = (self.kernel.potential * a) @ self.dphi  # Phi'(t_q)
        if self.kind == "sa":
            slope = slope / ((self.kernel.weight * a) @ self.phi)
        return self.dphi_weighted @ (rho * slope) - self.decay * a

    def norm(self, a: np.ndarray) -> float:
        """The L2(sigma) norm of the density: sqrt(sum_l a_l^2) (Parseval)."""
        return float(np.sqrt(np.sum(a**2)))

    def density(self, state: np.ndarray | None = None) -> np.ndarray:
        """rho at the geometry's nodes t_j, of the current coefficients or of `state`."""
        return (self.state if state is None else state) @ self.grid_phi
