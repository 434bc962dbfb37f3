"""The mean-field equation (docs/science.md §2): densities instead of particles, on the circle so far.

* `solve(model, density0, t_end, method="fv" | "spectral" | "lax-friedrichs")` -> xarray.Dataset
* `geometry`: the space of the densities (`Circle`: grid, quadrature weight, mass, mode amplitudes, kernel,
  density validation, the Dataset's coordinate), picked by `geometry_for(model)`
* `initial`: uniform plus white noise or chosen modes, a density from an array or a function,
  a kernel estimate from particles, and sampling particles from a density
* `wasserstein1`: W1 on the circle between particles and densities
* figures of a run: `attnflow.plots.pde` (density snapshots, the space–time map)
"""

from . import initial
from .distance import wasserstein1
from .geometry import Circle, geometry_for, grid
from .kernels import Kernel
from .solve import SOLVERS, UnderResolvedError, UnderResolvedWarning, solve

__all__ = ["Circle", "Kernel", "SOLVERS", "UnderResolvedError", "UnderResolvedWarning", "geometry_for", "grid",
           "initial", "solve", "wasserstein1"]
