"""The mean-field equation on the circle (docs/science.md §2): densities instead of particles.

* `solve(model, density0, t_end, method="fv" | "spectral" | "lax-friedrichs")` -> xarray.Dataset
* `initial`: uniform plus white noise or chosen modes, a density from an array or a function,
  a kernel estimate from particles, and sampling particles from a density
* `wasserstein1`: W1 on the circle between particles and densities
* figures of a run: `attnflow.plots.pde` (density snapshots, the space–time map)
"""

from . import initial
from .distance import wasserstein1
from .kernels import Kernel, grid
from .solve import SOLVERS, UnderResolvedError, UnderResolvedWarning, mass, mode_amplitudes, solve

__all__ = ["Kernel", "SOLVERS", "UnderResolvedError", "UnderResolvedWarning", "grid", "initial", "mass", "mode_amplitudes",
           "solve", "wasserstein1"]
