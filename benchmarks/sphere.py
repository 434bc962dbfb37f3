"""The PDE on S^2 (attnflow.pde, method "sht"; docs/science.md §8): time per DOPRI5 step against the band limit
L = nlat - 1 (the padded grid has ceil((3L + 1)/2) x 2 ceil((3L + 1)/2) points), and the beta = 6 pattern run
of the experiment `pde_sphere` (USA, uniform plus low harmonics, to t = 0.06; landing on each observation time and
through dense output), on this machine's CPU; the zonal
solver's time per step for d = 3 and 1024 at the same band limit, Gegenbauer and finite volumes (`zonal_fv`).

    python benchmarks/run.py sphere
"""

from __future__ import annotations

import time

import attnflow as af
from attnflow import pde
from attnflow.experiments.pde_sphere import PATTERN_AMPLITUDES, modal_density
from attnflow.pde import initial
from attnflow.pde.sphere import padded_latitudes

BAND_LIMITS = (15, 31, 63)


def per_step(nlat: int) -> tuple[float, int]:
    """Seconds per accepted step (wall time / steps) of a short USA run at beta = 4 from noise, and the steps."""
    rho0 = initial.sphere_noise(nlat, 0.002, seed=0)
    ds = pde.solve(af.Model("usa", 4.0, 3), rho0, 0.002, save_every=0.002)
    return ds.attrs["wall_time"] / ds.attrs["steps"], ds.attrs["steps"]


def main() -> None:
    print("| band limit L | grid | padded grid | steps | ms per step |\n|---|---|---|---|---|")
    for degree in BAND_LIMITS:
        seconds, count = per_step(degree + 1)
        padded = padded_latitudes(degree)
        print(f"| {degree} | {degree + 1} x {2 * degree + 2} | {padded} x {2 * padded} | {count} "
              f"| {1e3 * seconds:.2f} |")
    print("\nβ = 6 pattern run (the experiment's), to t = 0.06, default observations (every 1.2e-4):\n")
    print("| grid | observations | steps | wall time |\n|---|---|---|---|")
    for nlat in (24, 48):
        rho0 = initial.sphere_function(nlat, lambda x: modal_density(PATTERN_AMPLITUDES, x))
        for interpolate in (False, True):
            started = time.perf_counter()
            ds = pde.solve(af.Model("usa", 6.0, 3), rho0, 0.06, underresolved="warn", interpolate=interpolate)
            how = "dense output (interpolate=True)" if interpolate else "steps land on each"
            print(f"| {nlat} x {2 * nlat} | {how} | {ds.attrs['steps']} | {time.perf_counter() - started:.2f} s |")
    print("\n| zonal, L = 63 | ms per step |\n|---|---|")
    for dim in (3, 1024):
        amplitudes = [0, 1e-6]
        started = time.perf_counter()
        ds = pde.solve(af.Model("usa", 4.0, dim), initial.zonal_modes(64, dim, amplitudes), 0.05, zonal=True)
        print(f"| d = {dim} | {1e3 * (time.perf_counter() - started) / ds.attrs['steps']:.3f} |")
    zonal_finite_volumes()


def zonal_finite_volumes() -> None:
    """ms per SSP-RK3 step of the zonal finite volumes (USA, beta = 4, from 1 + 5e-4 N_1 P_1 through the clustering
    phase to 8 / gamma_1): the same for d = 3 and 1024; only the number of steps (the positivity CFL) differs."""
    print("\n| zonal fv, cells | d | steps | ms per step | wall time | min density | mass error |")
    print("|---|---|---|---|---|---|---|")
    for cells in (256, 1024):
        for dim in (3, 1024):
            model = af.Model("usa", 4.0, dim)
            rho0 = initial.zonal_cell_modes(cells, dim, [5e-4])
            t_end = 8 / af.theory.growth_rates(4.0, dim, 1)[0]
            started = time.perf_counter()
            ds = pde.solve(model, rho0, t_end, zonal=True, method="fv")
            seconds = time.perf_counter() - started
            print(f"| {cells} | {dim} | {ds.attrs['steps']} | {1e3 * seconds / ds.attrs['steps']:.3f} "
                  f"| {seconds:.2f} s | {ds.attrs['min_density']:.2g} | {float(abs(ds.mass - 1).max()):.1e} |")


if __name__ == "__main__":
    main()
