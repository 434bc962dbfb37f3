"""The space the densities live on (docs/science.md §2, §8): every geometric fact the PDE solvers use.

A geometry holds the grid and its quadrature weights, the mass and the mode amplitudes of a density, the
validation of an initial density, and the spatial coordinates of the Dataset `solve` returns:
`Circle` (d = 2, density against dtheta), `Sphere` (S^2, density against the area element dA), `Zonal`
(S^{d-1}, any d: densities of t = <x, e>, against the uniform probability measure sigma, at Gauss–Jacobi nodes)
and `ZonalCells` (the same densities as cell averages, for finite volumes).
`geometry_for(model, zonal, method)` picks one, and each solver names the geometries it solves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..errors import check
from ..model import Model
from . import cells, gegenbauer
from .kernels import Kernel

MASS_TOLERANCE = 1e-8  # |mass - 1| allowed of an initial density
MIN_POINTS = 8  # the fewest grid points of a density


def _validated(density0, shape_ok, shape: str, mass) -> np.ndarray:
    """density0 as float64 after the checks of a spectral solver's density: its shape (shape_ok(rho), described
    by `shape`), finite values, mass(rho) = 1."""
    rho = np.asarray(density0, dtype=np.float64)
    check(shape_ok(rho), "density0", f"array of shape {rho.shape}", shape)
    check(bool(np.isfinite(rho).all()), "density0", "array with non-finite entries", "finite values")
    total = float(mass(rho))
    check(abs(total - 1) <= MASS_TOLERANCE, "density0", f"density of mass {total:.12g}",
          "mass 1 under the grid's quadrature (the helpers in attnflow.pde.initial normalise)")
    return rho


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
    def from_density(cls, density0, method: str = "spectral", dim: int = 2) -> tuple[Circle, np.ndarray]:
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
    def weights(self) -> np.ndarray:
        """The quadrature weight of each grid point (all 2 pi / N)."""
        return np.full(self.n, self.weight)

    @property
    def max_modes(self) -> int:
        """The most mode amplitudes the grid resolves: N / 2."""
        return self.n // 2

    def describe(self) -> dict:
        """The grid as Dataset attributes."""
        return {"n_grid": self.n}

    def resolved(self, density: np.ndarray) -> np.ndarray:
        """The values of a density at the points where they are determined in floating point: all."""
        return density

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


@dataclass(frozen=True)
class Sphere:
    """S^2 on the nlat x nlon Legendre–Gauss grid: colatitudes theta_i with cos theta_i the Gauss–Legendre nodes
    (north to south), longitudes phi_j = 2 pi j / nlon; a density against the area element dA (4 pi in all),
    integrals by the Gauss weights times 2 pi / nlon, exact for harmonics of degree < 2 nlat and order < nlon.
    It resolves degrees l <= L = min(nlat - 1, (nlon - 1) // 2) (`max_modes`)."""

    nlat: int
    nlon: int
    name: ClassVar[str] = "sphere"
    dims: ClassVar[tuple[str, ...]] = ("lat", "lon")

    @classmethod
    def from_density(cls, density0, method: str = "sht", dim: int = 3) -> tuple[Sphere, np.ndarray]:
        """(the geometry of density0, the validated density): an (nlat, nlon) array, nlat >= 4, nlon >= 2 nlat - 1,
        of mass 1 (may dip below zero: the solver is spectral)."""
        shape = np.shape(density0)
        ok = len(shape) == 2 and shape[0] >= 4 and shape[1] >= 2 * shape[0] - 1
        geometry = cls(*shape) if ok else None
        rho = _validated(density0, lambda rho: ok, "an (nlat, nlon) array of values on the Legendre–Gauss grid, "
                         "nlat >= 4 and nlon >= 2 nlat - 1 (attnflow.pde.initial makes them)",
                         lambda rho: geometry.mass(rho))
        return geometry, rho

    @property
    def colatitudes(self) -> np.ndarray:
        """theta_i in (0, pi), ascending (north to south)."""
        return np.arccos(np.polynomial.legendre.leggauss(self.nlat)[0][::-1])

    @property
    def longitudes(self) -> np.ndarray:
        """phi_j = 2 pi j / nlon."""
        return np.arange(self.nlon) * (2 * np.pi / self.nlon)

    @property
    def points(self) -> np.ndarray:
        """The grid points as unit vectors, shape (nlat, nlon, 3)."""
        theta, phi = np.meshgrid(self.colatitudes, self.longitudes, indexing="ij")
        return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=-1)

    @property
    def weights(self) -> np.ndarray:
        """The quadrature weights (nlat, nlon): Gauss–Legendre weight of the colatitude times 2 pi / nlon."""
        gauss = np.polynomial.legendre.leggauss(self.nlat)[1][::-1]
        return np.repeat(gauss[:, None] * (2 * np.pi / self.nlon), self.nlon, axis=1)

    @property
    def max_modes(self) -> int:
        """L = min(nlat - 1, (nlon - 1) // 2): the highest degree the grid resolves."""
        return min(self.nlat - 1, (self.nlon - 1) // 2)

    @property
    def coords(self) -> dict[str, tuple]:
        """The Dataset's coordinates: latitude 90 - theta and longitude phi, in degrees."""
        return {"lat": ("lat", 90 - np.degrees(self.colatitudes), {"units": "degrees_north"}),
                "lon": ("lon", np.degrees(self.longitudes), {"units": "degrees_east"})}

    def describe(self) -> dict:
        """The grid as Dataset attributes."""
        return {"n_lat": self.nlat, "n_lon": self.nlon, "degree_max": self.max_modes}

    def resolved(self, density: np.ndarray) -> np.ndarray:
        """The values of a density at the points where they are determined in floating point: all."""
        return density

    def mass(self, density: np.ndarray):
        """∫ rho dA over the last two axes."""
        return np.sum(density * self.weights, axis=(-2, -1))

    def coefficients(self, density: np.ndarray):
        """The coefficients rho_lm, l, m <= L (`sht`), over the last two axes, as a float64 torch tensor."""
        from .sht import transforms
        return transforms(self.nlat, self.nlon, self.max_modes + 1).forward(torch.as_tensor(density))

    def mode_amplitudes(self, density: np.ndarray, kmax: int) -> np.ndarray:
        """sqrt(S_l), l = 1..kmax: S_l the Gegenbauer power of docs/science.md §3 (`sht.power`), the same as
        `observables.gegenbauer_power` of particles; it grows like e^{2 gamma_l t} in the linear phase."""
        from .sht import power
        return np.sqrt(power(self.coefficients(density))[..., 1:kmax + 1])


class _ZonalValues:
    """What the two zonal geometries share: n values of a density of t = <x, e> against sigma (at nodes, or cell
    averages) at the points t_j with weights w_j (`points`, `weights` of each)."""

    name: ClassVar[str] = "zonal"
    dims: ClassVar[tuple[str, ...]] = ("t",)

    @property
    def max_modes(self) -> int:
        """n - 1: the highest degree n values resolve."""
        return self.n - 1

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """The Dataset's coordinate: t = <x, e> at the points."""
        return {"t": self.points}

    def describe(self) -> dict:
        """The grid as Dataset attributes."""
        return {"n_grid": self.n, "zonal": 1}

    def mass(self, density: np.ndarray):
        """sum_j w_j rho_j over the last axis."""
        return np.asarray(density) @ self.weights


@dataclass(frozen=True)
class Zonal(_ZonalValues):
    """S^{d-1}, densities of t = <x, e> only, against the uniform probability measure sigma (uniform: 1), given by
    their values at the n Gauss–Jacobi nodes t_j of the weight (1 - t^2)^{(d-3)/2} (`gegenbauer.nodes`);
    integrals by the Gauss weights w_j (sum 1), exact for polynomials of degree <= 2n - 1 in t. The n values
    determine the degrees l <= n - 1."""

    n: int
    dim: int

    @classmethod
    def from_density(cls, density0, method: str = "gegenbauer", dim: int = 3) -> tuple[Zonal, np.ndarray]:
        """(the geometry of density0, the validated density): a 1-d array of >= MIN_POINTS node values of
        mass sum_j w_j rho_j = 1 (may dip below zero: the solver is spectral)."""
        size = np.size(density0)
        geometry = cls(size, dim)
        rho = _validated(density0, lambda rho: rho.ndim == 1 and rho.size >= MIN_POINTS,
                         f"a 1-d array of at least {MIN_POINTS} values at the Gauss–Jacobi nodes",
                         geometry.mass)
        return geometry, rho

    @property
    def points(self) -> np.ndarray:
        """The nodes t_j, ascending."""
        return gegenbauer.nodes(self.n, self.dim)[0]

    @property
    def weights(self) -> np.ndarray:
        """The Gauss weights w_j (sum 1)."""
        return gegenbauer.nodes(self.n, self.dim)[1]

    def resolved(self, density: np.ndarray) -> np.ndarray:
        """The values at the nodes where coefficients known to rounding (1e-16) fix the density to 1e-6:
        eps sum_l |phi_l(t_j)| <= 1e-6. In high d the outer nodes lie far in the tail of sigma (weights below
        1e-50 at d = 1024), where phi_l(t_j) reaches 1e16 and a density's value there is not determined."""
        phi, _ = gegenbauer.basis(self.max_modes, self.dim, self.points)
        return np.asarray(density)[..., np.finfo(np.float64).eps * np.abs(phi).sum(0) <= 1e-6]

    def mode_amplitudes(self, density: np.ndarray, kmax: int) -> np.ndarray:
        """|m_l| = |∫ P_l(t) rho dsigma|, l = 1..kmax, P_l = phi_l / sqrt(N_l) the Gegenbauer polynomial with
        P_l(1) = 1: sqrt(S_l) of docs/science.md §3 for a zonal density (|mu_k| on the circle)."""
        phi, _ = gegenbauer.basis(kmax, self.dim, self.points)
        moments = (np.asarray(density) * self.weights) @ phi[1:].T
        return np.abs(moments) * np.exp(-0.5 * gegenbauer.log_dimension(np.arange(1, kmax + 1), self.dim))


@dataclass(frozen=True)
class ZonalCells(_ZonalValues):
    """S^{d-1}, densities of t = <x, e> only, against sigma, given by their averages rho_j over n cells uniform in
    the angle psi = arccos(-t) from -e (`cells`: faces psi_f = f pi / n, ascending in t), for finite volumes. The
    cell measures V_j = sigma(cell j) are the quadrature weights (mass sum_j V_j rho_j), kept as logarithms; the
    few cells next to the poles that sigma gives less than float64's smallest normal number (d >~ 250 at n = 64)
    report their density against that number instead (`weights`), so that densities stay finite while
    V_j rho_j is still the cell's mass, and `resolved` leaves them out."""

    n: int
    dim: int

    @classmethod
    def from_density(cls, density0, method: str = "fv", dim: int = 3) -> tuple[ZonalCells, np.ndarray]:
        """(the geometry of density0, the validated density): a 1-d array of >= MIN_POINTS non-negative cell
        averages of mass sum_j V_j rho_j = 1."""
        size = np.size(density0)
        geometry = cls(size, dim)
        rho = _validated(density0, lambda rho: rho.ndim == 1 and rho.size >= MIN_POINTS,
                         f"a 1-d array of at least {MIN_POINTS} cell averages", geometry.mass)
        check(bool((rho >= 0).all()), "density0", f"density with minimum {rho.min():.3g}",
              f"non-negative cell averages with method={method!r}")
        return geometry, rho

    @property
    def points(self) -> np.ndarray:
        """t at the cells' centres in psi, ascending."""
        return -np.cos((np.arange(self.n) + 0.5) * (np.pi / self.n))

    @property
    def weights(self) -> np.ndarray:
        """V_j = sigma(cell j) (sum 1), at least float64's smallest normal number."""
        return np.maximum(np.exp(cells.log_measures(self.n, self.dim)), np.finfo(np.float64).tiny)

    def resolved(self, density: np.ndarray) -> np.ndarray:
        """The averages of the cells whose measure float64 represents (all but a few next to the poles in high d)."""
        return np.asarray(density)[..., cells.log_measures(self.n, self.dim) >= np.log(np.finfo(np.float64).tiny)]

    def mode_amplitudes(self, density: np.ndarray, kmax: int) -> np.ndarray:
        """|m_l| = |∫ P_l(t) rho dsigma|, l = 1..kmax, exactly for the piecewise-constant density (the cell integrals
        of `cells.harmonic_averages`); as `Zonal.mode_amplitudes`."""
        moments = (np.asarray(density) * self.weights) @ cells.harmonic_averages(kmax, self.dim, self.n)[1:].T
        return np.abs(moments) * np.exp(-0.5 * gegenbauer.log_dimension(np.arange(1, kmax + 1), self.dim))


GEOMETRIES = {2: Circle, 3: Sphere}  # model.dim -> the geometry of its densities (zonal: any dim)


def geometry_for(model: Model, zonal: bool = False,
                 method: str | None = None) -> type[Circle] | type[Sphere] | type[Zonal] | type[ZonalCells]:
    """The geometry of model's densities: with zonal=True (any dim) `ZonalCells` for method "fv" (cell averages)
    and `Zonal` otherwise (node values), else `Circle` for dim = 2 and `Sphere` for dim = 3; other dimensions are
    refused (their densities are solved zonally)."""
    if zonal:
        return ZonalCells if method == "fv" else Zonal
    check(model.dim in GEOMETRIES, "dim", model.dim,
          "2 (the circle) or 3 (the sphere S^2); any dim >= 2 with zonal=True (densities of <x, e>)")
    return GEOMETRIES[model.dim]
