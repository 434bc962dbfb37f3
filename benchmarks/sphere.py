"""The PDE on S^2 (attnflow.pde, method "sht"; docs/science.md §8): time per DOPRI5 step against the band limit
L = nlat - 1 (the padded grid has ceil((3L + 1)/2) x 2 ceil((3L + 1)/2) points), and the beta = 6 pattern run
of the experiment `pde_sphere` (USA, uniform plus low harmonics, to t = 0.06; landing on each observation time and
through dense output), on this machine's CPU; the zonal solver's time per step for d = 3 and 1024 at the same band
limit, Gegenbauer and finite volumes (`zonal_fv`). Every figure is measured on the machine as it is and with the
busy load of `load.py` (one busy loop per core), in the same run.

    python benchmarks/run.py sphere
"""

from __future__ import annotations

import time

import load

import attnflow as af
from attnflow import pde
from attnflow.experiments.pde_sphere import PATTERN_AMPLITUDES, modal_density
from attnflow.pde import initial
from attnflow.pde.sphere import padded_latitudes

BAND_LIMITS = (15, 31, 63)
PATTERN_GRIDS = (24, 48)
ZONAL_DIMS = (3, 1024)
CELLS = (256, 1024)


def per_step(nlat: int) -> tuple[float, int]:
    """Seconds per accepted step (wall time / steps) of a short USA run at beta = 4 from noise, and the steps."""
    rho0 = initial.sphere_noise(nlat, 0.002, seed=0)
    ds = pde.solve(af.Model("usa", 4.0, 3), rho0, 0.002, save_every=0.002)
    return ds.attrs["wall_time"] / ds.attrs["steps"], ds.attrs["steps"]


def pattern_run(nlat: int, interpolate: bool) -> tuple[float, int]:
    """Wall seconds and steps of the beta = 6 pattern run on an nlat x 2 nlat grid."""
    rho0 = initial.sphere_function(nlat, lambda x: modal_density(PATTERN_AMPLITUDES, x))
    started = time.perf_counter()
    ds = pde.solve(af.Model("usa", 6.0, 3), rho0, 0.06, underresolved="warn", interpolate=interpolate)
    return time.perf_counter() - started, ds.attrs["steps"]


def zonal_per_step(dim: int) -> float:
    """Seconds per step of the zonal Gegenbauer solver at L = 63, USA, beta = 4."""
    started = time.perf_counter()
    ds = pde.solve(af.Model("usa", 4.0, dim), initial.zonal_modes(64, dim, [0, 1e-6]), 0.05, zonal=True)
    return (time.perf_counter() - started) / ds.attrs["steps"]


def zonal_finite_volumes(cells: int, dim: int) -> tuple[float, int, float, float]:
    """Wall seconds, steps, min density and mass error of the zonal finite volumes (USA, beta = 4, from
    1 + 5e-4 N_1 P_1 through the clustering phase to 8 / gamma_1): only the number of steps (the positivity CFL)
    differs between d = 3 and 1024."""
    rho0 = initial.zonal_cell_modes(cells, dim, [5e-4])
    t_end = 8 / af.theory.growth_rates(4.0, dim, 1)[0]
    started = time.perf_counter()
    ds = pde.solve(af.Model("usa", 4.0, dim), rho0, t_end, zonal=True, method="fv")
    return (time.perf_counter() - started, ds.attrs["steps"], ds.attrs["min_density"],
            float(abs(ds.mass - 1).max()))


def measure() -> dict:
    return {"sht": {degree: per_step(degree + 1) for degree in BAND_LIMITS},
            "pattern": {(nlat, interpolate): pattern_run(nlat, interpolate) for nlat in PATTERN_GRIDS
                        for interpolate in (False, True)},
            "zonal": {dim: zonal_per_step(dim) for dim in ZONAL_DIMS},
            "fv": {(cells, dim): zonal_finite_volumes(cells, dim) for cells in CELLS for dim in ZONAL_DIMS}}


def main() -> None:
    quiet, busy = load.quiet_and_busy(measure)
    print(f"Quiet: the machine as it is; {load.DESCRIPTION}.\n")
    print("| band limit L | grid | padded grid | steps | ms per step, quiet | busy | busy / quiet |")
    print("|---|---|---|---|---|---|---|")
    for degree in BAND_LIMITS:
        (low, count), (high, _) = quiet["sht"][degree], busy["sht"][degree]
        padded = padded_latitudes(degree)
        print(f"| {degree} | {degree + 1} x {2 * degree + 2} | {padded} x {2 * padded} | {count} "
              f"| {1e3 * low:.2f} | {1e3 * high:.2f} | {high / low:.2f} |")
    print("\nβ = 6 pattern run (the experiment's), to t = 0.06, default observations (every 1.2e-4):\n")
    print("| grid | observations | steps | wall time, quiet | busy | busy / quiet |\n|---|---|---|---|---|---|")
    for (nlat, interpolate), (low, count) in quiet["pattern"].items():
        high = busy["pattern"][nlat, interpolate][0]
        how = "dense output (interpolate=True)" if interpolate else "steps land on each"
        print(f"| {nlat} x {2 * nlat} | {how} | {count} | {low:.2f} s | {high:.2f} s | {high / low:.2f} |")
    print("\n| zonal, L = 63 | ms per step, quiet | busy | busy / quiet |\n|---|---|---|---|")
    for dim in ZONAL_DIMS:
        low, high = quiet["zonal"][dim], busy["zonal"][dim]
        print(f"| d = {dim} | {1e3 * low:.3f} | {1e3 * high:.3f} | {high / low:.2f} |")
    print("\n| zonal fv, cells | d | steps | ms per step, quiet | busy | busy / quiet | wall time, quiet | min density "
          "| mass error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (cells, dim), (low, steps, low_density, mass_error) in quiet["fv"].items():
        high = busy["fv"][cells, dim][0]
        print(f"| {cells} | {dim} | {steps} | {1e3 * low / steps:.3f} | {1e3 * high / steps:.3f} | {high / low:.2f} "
              f"| {low:.2f} s | {low_density:.2g} | {mass_error:.1e} |")


if __name__ == "__main__":
    main()
