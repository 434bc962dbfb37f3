"""The space the densities live on (docs/science.md §2): every geometric fact the PDE solvers use.

A geometry holds the grid and its quadrature weight, the mass and the mode amplitudes of a density, the
kernel of the velocity on its grid, the validation of an initial density, and the spatial coordinate of
the Dataset `solve` returns. The circle is the only one so far (the sphere S^2 comes next):
`geometry_for(model)` picks it from model.dim, and each solver names the geometries it solves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import check
from ..model import Model
from .kernels import Kernel

MASS_TOLERANCE = 1e-8  # |mass - 1| allowed of an initial density
MIN_POINTS = 8  # the fewest grid points of a density


def grid(n: int) -> np.ndarray:
    """Cell centres theta_j = (j + 1/2) 2 pi / n, j = 0..n-1."""
    return (np.arange(n) + 0.5) * (2 * np.pi / n)


@dataclass(frozen=True)
class Circle:
    """The circle on N cells [j, j+1) 2 pi / N, a density given by its values at the centres
    theta_j = (j + 1/2) 2 pi / N (`grid`); integrals by the rectangle rule, weight 2 pi / N per point."""

    n: int
    name: ClassVar[str] = "circle"
    dims: ClassVar[tuple[str, ...]] = ("angle",)  # the Dataset's spatial dimension

    @classmethod
    def from_density(cls, density0, method: str = "spectral") -> tuple[Circle, np.ndarray]:
        """(the geometry of density0, the validated density): a finite 1-d array of >= MIN_POINTS values of
        mass 1, non-negative unless `method` is "spectral" (which may dip below zero)."""
        rho = np.asarray(density0, dtype=np.float64)
        check(rho.ndim == 1 and rho.size >= MIN_POINTS, "density0", f"array of shape {rho.shape}",
              f"a 1-d array of at least {MIN_POINTS} grid values")
        check(bool(np.isfinite(rho).all()), "density0", "array with non-finite entries", "finite values")
        geometry = cls(rho.size)
        total = float(geometry.mass(rho))
        check(abs(total - 1) <= MASS_TOLERANCE, "density0", f"density of mass {total:.12g}",
              "mass sum_j rho_j 2 pi / N = 1 (the helpers in attnflow.pde.initial normalise)")
        if method != "spectral":
            check(bool((rho >= 0).all()), "density0", f"density with minimum {rho.min():.3g}",
                  f"non-negative values with method={method!r}")
        return geometry, rho

    @property
    def points(self) -> np.ndarray:
        """The grid points theta_j."""
        return grid(self.n)

    @property
    def weight(self) -> float:
        """The quadrature weight of every grid point (the cell size dx = 2 pi / N)."""
        return 2 * np.pi / self.n

    @property
    def max_modes(self) -> int:
        """The most mode amplitudes the grid resolves: N / 2."""
        return self.n // 2

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """The Dataset's spatial coordinate: the angles theta_j."""
        return {"angle": self.points}

    def mass(self, density: np.ndarray):
        """sum_j rho_j 2 pi / N over the last axis: the total mass (1 for a probability density)."""
        return np.sum(density, axis=-1) * self.weight

    def mode_amplitudes(self, density: np.ndarray, kmax: int) -> np.ndarray:
        """|mu_k| = |∫ e^{-ik theta} rho(theta) dtheta|, k = 1..kmax, by the rectangle rule on the grid.

        The same |mu_k| as `observables.mode_amplitudes` for particles (whose empirical measure has
        mu_k = (1/n) sum_j e^{-ik theta_j}); it grows like e^{gamma_k t} in the linear phase.
        """
        return np.abs(np.fft.rfft(density, axis=-1)[..., 1:kmax + 1]) * self.weight

    def kernel(self, kind: str, beta: float, n: int | None = None) -> Kernel:
        """The velocity's Fourier multipliers (`kernels.Kernel`) on this grid, or on an n-point grid (a
        solver's padded one)."""
        return Kernel.build(kind, beta, self.n if n is None else n)


GEOMETRIES = {2: Circle}  # model.dim -> the geometry of its densities


def geometry_for(model: Model) -> type[Circle]:
    """The geometry of model's densities: `Circle` for dim = 2; other dimensions are refused."""
    check(model.dim in GEOMETRIES, "dim", model.dim,
          "2: the circle is the only geometry of the PDE solvers so far (the sphere S^2 comes next)")
    return GEOMETRIES[model.dim]
