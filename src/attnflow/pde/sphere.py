"""Pseudo-spectral solver of the mean-field equation on S^2 with spherical harmonics (docs/science.md §8).

A density rho against the area element dA, rho = sum_lm rho_lm Y_lm with l <= L (the grid's `max_modes`).
Funk–Hecke makes the potential diagonal: Phi[rho](x) = (1/beta) ∫ e^{beta<x,y>} rho(y) dA(y) has the
coefficients 4 pi lambda_l(beta, 3) rho_lm (`kernels.HarmonicKernel`, against sigma = dA / 4 pi), and the
particle velocity P_x ∫ e^{beta<x,y>} y dmu(y) is grad_S Phi (USA; SA: grad_S Phi / w, w = beta Phi). So
  d rho_lm/dt = l (l + 1) S_lm - D l (l + 1) rho_lm,
S_lm the spheroidal coefficients of the flux rho grad_S Phi (div_S of a field with spheroidal part S is
-l (l + 1) S: `sht`). The transforms are torch-harmonics' on a padded Legendre–Gauss grid of
ceil((3L + 1)/2) x 2 ceil((3L + 1)/2) points: rho grad_S Phi . grad_S Y_lm is a spherical polynomial of
degree <= 3L, integrated exactly there (USA has no aliasing error: the 3/2 rule; SA's quotient is sampled).
Mass is sqrt(4 pi) rho_00, whose rate is exactly zero. Time stepping: adaptive Dormand–Prince 5(4)
(`adaptive.Dopri5Solver`), error in the L2(dA) norm. Positivity is not enforced: `solve` detects when the
density dips below zero on the grid (clusters sharper than degree L).
"""

from __future__ import annotations

import numpy as np
import torch

from .adaptive import Dopri5Solver
from .geometry import Sphere
from .kernels import HarmonicKernel
from .sht import transforms


# below this many padded grid points a CPU run keeps torch on one thread (`solve`, `threads.torch_threads`): torch's
# FFTs of a few thousand numbers each open a parallel region, ~10 ms on a busy 2-core machine against 0.02 ms
SERIAL_POINTS = 2**15


def padded_latitudes(degree: int) -> int:
    """ceil((3L + 1) / 2): the Gauss latitudes that integrate degree-3L polynomials exactly."""
    return (3 * degree + 2) // 2


class SphereSolver(Dopri5Solver):
    """Adaptive DOPRI5 in time, spherical harmonics (torch-harmonics) in space; state: rho_lm, l, m <= L."""

    name = "sht"
    geometries = ("sphere",)

    def __init__(self, model, geometry: Sphere, density0: np.ndarray, rtol: float = 1e-8, atol: float = 1e-10,
                 first_step: float | None = None, device: str = "cpu"):
        degree = geometry.max_modes
        self.kind, self.rtol, self.atol, self.h = model.kind, rtol, atol, first_step
        nlat = padded_latitudes(degree)
        self.padded = transforms(nlat, 2 * nlat, degree + 1, device)
        self.grid = transforms(geometry.nlat, geometry.nlon, degree + 1, device)
        kernel = HarmonicKernel.build(model.kind, model.beta, 3, degree)
        as_column = lambda values: torch.as_tensor(values, dtype=torch.float64, device=device)[:, None]  # noqa: E731
        l = np.arange(degree + 1, dtype=np.float64)
        self.potential = as_column(4 * np.pi * kernel.potential)
        self.weight = as_column(4 * np.pi * kernel.weight)
        self.laplacian = as_column(l * (l + 1))
        self.diffusion = model.diffusion
        self.threads = 1 if torch.device(device).type == "cpu" and 2 * nlat**2 < SERIAL_POINTS else None
        self.state = self.grid.forward(torch.as_tensor(density0, dtype=torch.float64, device=device))

    def rate(self, c: torch.Tensor) -> torch.Tensor:
        """d rho_lm/dt: the dealiased flux divergence plus diffusion."""
        rho = self.padded.inverse(c)
        potential = self.potential * c
        grad = self.padded.vector_inverse(torch.stack([potential, torch.zeros_like(potential)]))
        if self.kind == "sa":
            grad = grad / self.padded.inverse(self.weight * c)
        spheroidal = self.padded.vector_forward(rho * grad)[0]
        return self.laplacian * (spheroidal - self.diffusion * c)

    def norm(self, c: torch.Tensor) -> float:
        """The L2(dA) norm of the density (Parseval): sqrt(sum_l |c_l0|^2 + 2 sum_{m>0} |c_lm|^2)."""
        squared = c.abs() ** 2
        return float(torch.sqrt(squared[:, 0].sum() + 2 * squared[:, 1:].sum()))

    def density(self, state: torch.Tensor | None = None) -> np.ndarray:
        """rho on the geometry's grid (nlat, nlon), of the current coefficients or of `state`."""
        return self.grid.inverse(self.state if state is None else state).cpu().numpy()
