"""The mean-field equation (docs/science.md §2, §8): densities instead of particles, on the circle, on S^2, and
for zonal densities on S^{d-1} in any d.

* `solve(model, density0, t_end, method=..., zonal=False)` -> xarray.Dataset; circle: "fv" | "spectral" |
  "lax-friedrichs"; S^2 (dim=3): "sht" (torch-harmonics, the `sphere` extra); zonal: "gegenbauer" | "fv"
* `geometry`: the space of the densities (`Circle`, `Sphere`, `Zonal`, `ZonalCells`: grid, quadrature weights, mass,
  mode amplitudes, density validation, the Dataset's coordinates), picked by `geometry_for(model, zonal, method)`
* `initial`: uniform plus white noise or chosen modes, a density from an array or a function,
  a kernel estimate from particles, and sampling particles from a density (circle, S^2, zonal)
* `wasserstein1`: W1 on the circle between particles and densities
* figures of a run: `attnflow.plots.pde` (density snapshots, the space–time map)
"""

from . import initial
from .distance import wasserstein1
from .geometry import Circle, Sphere, Zonal, ZonalCells, geometry_for, grid
from .kernels import Kernel
from .solve import SOLVERS, UnderResolvedError, UnderResolvedWarning, solve

__all__ = ["Circle", "Kernel", "SOLVERS", "Sphere", "UnderResolvedError", "UnderResolvedWarning", "Zonal",
           "ZonalCells", "geometry_for", "grid", "initial", "solve", "wasserstein1"]
