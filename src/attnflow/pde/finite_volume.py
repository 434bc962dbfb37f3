"""Finite-volume solver of the mean-field equation on the circle (docs/science.md §2) and for zonal densities on
S^{d-1} (§8; the fluxes of `zonal_fv`, on `geometry.ZonalCells`).

Cell averages rho_j on the cells [j, j+1) dx, dx = 2 pi / N, evolve by
  d rho_j/dt = -(F_{j+1/2} - F_{j-1/2}) / dx,
  F_{j+1/2} = max(v, 0) rho^L + min(v, 0) rho^R - D (rho_{j+1} - rho_j) / dx,
with v = v_{j+1/2} the exact velocity of the piecewise-constant density at the face
(the circle's `kernels.Kernel`, by FFT) and rho^L, rho^R the face values of a piecewise-linear
reconstruction with the monotonised-central (MC) limiter: second order where rho is
smooth, first order at extrema, and never outside the neighbouring averages.
Time stepping (both geometries): the strong-stability-preserving RK3 of Shu and Osher, with
  dt = cfl / limit,   limit = 2 max|v| / dx + 2 D / dx^2 on the circle        (cfl <= 1),
the condition under which a forward-Euler stage keeps rho >= 0; the SSP-RK3 step is a convex combination of
three such stages, and a step whose later stages' velocities break the condition (dt limit > 1) is halved
(counted as rejected), so rho >= 0 holds after every step.
Mass is conserved exactly (the fluxes telescope); positivity holds through the
clustering phase, where the density sharpens toward point masses.
`max_step` additionally bounds dt while v is small (the linear phase), for accuracy.
"""

from __future__ import annotations

import numpy as np

from .geometry import Circle, ZonalCells
from .zonal_fv import ZonalFluxes


def mc_slopes(rho: np.ndarray) -> np.ndarray:
    """Limited slopes times dx: minmod(2 backward, central, 2 forward) differences (periodic)."""
    forward = np.roll(rho, -1) - rho
    backward = rho - np.roll(rho, 1)
    central = 0.5 * (forward + backward)
    magnitude = np.minimum(np.minimum(2 * np.abs(forward), 2 * np.abs(backward)), np.abs(central))
    return np.where(forward * backward > 0, np.sign(central) * magnitude, 0.0)


class CircleFluxes:
    """The circle's finite-volume operator: rate(rho) -> (d rho/dt, positivity limit); the state is rho itself."""

    def __init__(self, model, geometry: Circle):
        self.dx, self.diffusion = geometry.weight, model.diffusion
        self.kernel = geometry.kernel(model.kind, model.beta)

    def state(self, density: np.ndarray) -> np.ndarray:
        return np.array(density, dtype=np.float64)

    def density(self, rho: np.ndarray) -> np.ndarray:
        return rho.copy()

    def face_velocity(self, rho: np.ndarray) -> np.ndarray:
        """v at the faces (j + 1) dx, exact for the piecewise-constant density."""
        return self.kernel.field(rho, shift=self.dx / 2, cell_averages=True)

    def rate(self, rho: np.ndarray) -> tuple[np.ndarray, float]:
        v = self.face_velocity(rho)
        slopes = mc_slopes(rho)
        left = rho + 0.5 * slopes                       # rho^L at face j+1/2, from cell j
        right = np.roll(rho - 0.5 * slopes, -1)         # rho^R at face j+1/2, from cell j+1
        flux = np.maximum(v, 0) * left + np.minimum(v, 0) * right
        if self.diffusion:
            flux -= self.diffusion * (np.roll(rho, -1) - rho) / self.dx
        limit = 2 * np.abs(v).max() / self.dx + 2 * self.diffusion / self.dx**2
        return -(flux - np.roll(flux, 1)) / self.dx, float(limit)


class FiniteVolumeSolver:
    """SSP-RK3 under a positivity CFL over a geometry's fluxes (`CircleFluxes`, `zonal_fv.ZonalFluxes`)."""

    name = "fv"
    geometries = ("circle", "zonal")

    def __init__(self, model, geometry: Circle | ZonalCells, density0: np.ndarray, cfl: float = 0.8,
                 max_step: float | None = None):
        self.fluxes = ZonalFluxes(model, geometry) if geometry.name == "zonal" else CircleFluxes(model, geometry)
        self.cfl = cfl
        self.max_step = np.inf if max_step is None else max_step
        self.state = self.fluxes.state(density0)
        self.t, self.steps, self.rejected = 0.0, 0, 0

    def advance(self, t_target: float) -> None:
        """One SSP-RK3 step under the positivity CFL, no further than t_target."""
        state = self.state
        rate, limit = self.fluxes.rate(state)
        h = min(self.cfl / limit if limit > 0 else np.inf, self.max_step, t_target - self.t)
        while True:
            stage1 = state + h * rate
            rate1, limit1 = self.fluxes.rate(stage1)
            stage2 = 0.75 * state + 0.25 * (stage1 + h * rate1)
            rate2, limit2 = self.fluxes.rate(stage2)
            if h * max(limit1, limit2) <= 1:
                break
            h, self.rejected = h / 2, self.rejected + 1
        self.state = state / 3 + (2 / 3) * (stage2 + h * rate2)
        self.t = t_target if h == t_target - self.t else self.t + h
        self.steps += 1

    def density(self) -> np.ndarray:
        """The cell averages rho_j."""
        return self.fluxes.density(self.state)
