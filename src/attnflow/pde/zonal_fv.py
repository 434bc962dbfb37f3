"""Finite-volume fluxes of the mean-field equation for zonal densities on S^{d-1} (docs/science.md §8).

For rho a function of t = <x, e> alone, in the angle psi = arccos(-t) from -e (`cells`), with
d sigma = A(psi) d psi and A = c_d sin^{d-2} psi, the equation d_t rho + div_S(rho grad Phi) = D Delta_S rho is
  d_t rho + (1/A) d_psi(A rho u) = D (1/A) d_psi(A d_psi rho),    u = d_psi Phi = sqrt(1 - t^2) Phi'(t),
u the speed toward e along the meridians (USA; SA divides it by w[rho]). Phi = sum_l lambda_l a_l phi_l
(Funk–Hecke, `kernels.HarmonicKernel`) with a_l = ∫ rho phi_l dsigma exact for the piecewise-constant density
(`cells.harmonic_averages`), so u at the faces is the exact velocity of that density, for degrees
l <= `spectrum.velocity_degree(beta, d)` (beyond it no probability density has a velocity part above 1e-17).
The state is the cell masses M_j = V_j rho_j; integrating over cell j,
  dM_j/dt = -(F_{j+1} - F_j),   F_f = A_f (u_f^+ rho^L_f + u_f^- rho^R_f) - D A_f (rho_j - rho_{j-1}) / dpsi
at the interior faces, F = 0 at the poles (A = 0 there for d >= 3; u and d_psi rho vanish by symmetry for d = 2):
the masses telescope, so the mass is exact to rounding. rho^L, rho^R are the face values of the monotonised-central
(MC) reconstruction of rho (`finite_volume.mc_slopes`), written as ratios to the cell's average, rho_j (1 +/- r_j/2)
with r_j in [-2, 2], and the flux as u (A_f / V_j) M_j (1 +/- r_j/2): only ratios of neighbouring rho's and the
face-to-cell ratios A_f / V_j enter, finite in every d (V_j itself leaves float64 near the poles in high d).
Positivity: the outflow of cell j in a forward-Euler step h is at most
  h M_j [2 max(A_{j+1} u_{j+1}^+, A_j u_j^-) + D (A_j + A_{j+1}) / dpsi] / V_j
(the two face values sum to 2 rho_j), so h times the largest bracket over V_j (`rate`'s limit) at most 1 keeps
every M_j >= 0; the bracket is of order (d - 1) |Phi'| near the poles, the physical compression rate of sigma's
density there. Per step the cost is O(n L), independent of d; only the precomputations see d.
"""

from __future__ import annotations

import numpy as np

from . import cells
from .geometry import ZonalCells
from .kernels import HarmonicKernel
from ..spectrum import velocity_degree

RATIO_CAP = 4.0  # neighbour ratios rho_{j+-1} / rho_j beyond this no longer change the MC slope
NEGLIGIBLE = 1e-290  # cell masses left out of the moments a_l: they change none within rounding, and their
# products with the cell integrals would be subnormal numbers (a 20-fold slower matrix product in high d)


def mc_ratio(down: np.ndarray, up: np.ndarray) -> np.ndarray:
    """r = sigma_j / rho_j for the MC slope sigma_j = minmod(2 backward, central, 2 forward) of rho, from the ratios
    down = rho_{j-1} / rho_j and up = rho_{j+1} / rho_j (each capped at RATIO_CAP: the minmod is then unchanged)."""
    backward, forward = 1 - down, up - 1
    magnitude = np.minimum(np.minimum(2 * np.abs(forward), 2 * np.abs(backward)), 0.5 * np.abs(forward + backward))
    return np.where(forward * backward > 0, np.sign(forward) * magnitude, 0.0)


class ZonalFluxes:
    """The zonal finite-volume operator on `ZonalCells`: rate(M) -> (dM/dt, positivity limit)."""

    def __init__(self, model, geometry: ZonalCells):
        n, dim = geometry.n, geometry.dim
        degree = velocity_degree(model.beta, dim)
        kernel = HarmonicKernel.build(model.kind, model.beta, dim, degree)
        self.kind, self.diffusion, self.spacing = model.kind, model.diffusion, np.pi / n
        self.log_measures = cells.log_measures(n, dim)
        self.left, self.right = cells.face_ratios(n, dim)  # A_j / V_j, A_{j+1} / V_j
        self.averages = cells.harmonic_averages(degree, dim, n)
        phi, derivative = cells.face_derivatives(degree, dim, n)
        self.slope = kernel.potential[:, None] * derivative[:, 1:-1]  # u at the interior faces = a @ slope
        self.weight = kernel.weight[:, None] * phi[:, 1:-1]  # SA: w at the interior faces = a @ weight
        self.measures = np.asarray(geometry.weights)

    def state(self, density: np.ndarray) -> np.ndarray:
        """The cell masses M_j = V_j rho_j."""
        return density * self.measures

    def density(self, masses: np.ndarray) -> np.ndarray:
        """The cell averages rho_j = M_j / V_j (V_j at least float64's smallest normal: `ZonalCells.weights`)."""
        return masses / self.measures

    def face_velocity(self, masses: np.ndarray) -> np.ndarray:
        """u at the n - 1 interior faces, exact for the piecewise-constant density."""
        a = self.averages @ np.where(masses > NEGLIGIBLE, masses, 0.0)
        u = a @ self.slope
        return u if self.kind == "usa" else u / (a @ self.weight)

    def slope_ratios(self, masses: np.ndarray) -> np.ndarray:
        """r_j = sigma_j / rho_j (`mc_ratio`; 0 at the polar cells, whose mirror images are themselves, and in empty
        cells), from log rho_j = log M_j - log V_j."""
        occupied = masses > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            log_rho = np.where(occupied, np.log(np.where(occupied, masses, 1.0)), -np.inf) - self.log_measures
            step = np.minimum(np.diff(log_rho), np.log(RATIO_CAP))  # log rho_{j+1} / rho_j, capped
            back = np.minimum(-np.diff(log_rho), np.log(RATIO_CAP))  # log rho_j / rho_{j+1}, capped
            ratios = mc_ratio(np.exp(back[:-1]), np.exp(step[1:]))
        inner = np.where(occupied[1:-1] & np.isfinite(ratios), ratios, 0.0)
        return np.concatenate([[0.0], inner, [0.0]])

    def rate(self, masses: np.ndarray) -> tuple[np.ndarray, float]:
        """(dM_j/dt, the positivity limit: the largest bracket over V_j of the module docstring, occupied cells)."""
        u = self.face_velocity(masses)
        r = self.slope_ratios(masses)
        outgoing_right = self.right[:-1] * masses[:-1]  # A_f M_j / V_j of the cell left of face f
        outgoing_left = self.left[1:] * masses[1:]  # A_f M_{j+1} / V_{j+1} of the cell right of face f
        flux = (np.maximum(u, 0) * outgoing_right * (1 + r[:-1] / 2)
                + np.minimum(u, 0) * outgoing_left * (1 - r[1:] / 2))
        if self.diffusion:
            flux -= self.diffusion / self.spacing * (outgoing_left - outgoing_right)
        flux = np.concatenate([[0.0], flux, [0.0]])
        speed_right = np.concatenate([np.maximum(u, 0), [0.0]]) * self.right
        speed_left = np.concatenate([[0.0], np.maximum(-u, 0)]) * self.left
        bound = 2 * np.maximum(speed_right, speed_left) + self.diffusion / self.spacing * (self.left + self.right)
        return -np.diff(flux), float(bound[masses > 0].max(initial=0.0))
