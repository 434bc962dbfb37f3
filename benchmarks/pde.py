"""Mean-field PDE benchmark (issue 4): the paper's beta = 5, T = 0.5 run with each solver.

Start: 1/2pi + white noise sigma = 0.01 drawn on the paper's 10^4 points (seed 0), Fourier-interpolated
to each grid (a grid of N < 10^4 points keeps the modes |k| < N/2). USA, no diffusion.
Accuracy: distance at T to a reference computed here (finite volumes, N = 16384):
  W1 on the circle, and the L1 distance of the masses of 256 equal cells.
The Lax–Friedrichs baseline (the seed's scheme: dt = 0.02 dx, direct O(N^2) velocity) at N = 10^4
needs 39 789 steps (~10 hours in the seed's setting); it is timed over a few steps and
extrapolated per step, and its accuracy is that of the same scheme run to T with the same
discrete convolution done by FFT (equal to the direct sum to rounding; tests/test_pde.py checks it).
Second table: convergence under refinement in the smooth phase (beta = 5, t = 0.08, start
1/2pi (1 + 2 sum_k eps_k cos k(theta - phi_k)) with modes 1..4; reference: spectral, N = 1024, rtol 1e-11),
with the observed orders; Lax–Friedrichs there with dt = 0.2 dx (at the seed's 0.02 dx its numerical
diffusion 25 dx keeps it pre-asymptotic on these grids).
Third table: two of the runs on the machine as it is and with every core kept busy (`load.py`).
Prints Markdown tables; takes about 4 minutes on 2 quiet cores (the reference run is a third of it).
"""

from __future__ import annotations

import math
import time

import numpy as np

import attnflow as af
from attnflow import pde
from attnflow.pde import initial
from attnflow.pde.geometry import Circle
from attnflow.pde.lax_friedrichs import LaxFriedrichsSolver

import load

BETA, T_END, SIGMA, NOISE_POINTS, SEED = 5.0, 0.5, 0.01, 10_000, 0
REFERENCE_GRID, SEED_GRID, COARSE_CELLS = 16384, 10_000, 256


def start(n: int) -> np.ndarray:
    return initial.uniform_noise(n, SIGMA, seed=SEED, noise_points=NOISE_POINTS)


def run(method: str, n: int, repeats: int = 1, **options):
    """(final density, dataset, median wall time of `repeats`)."""
    times, ds = [], None
    for _ in range(repeats):
        ds = pde.solve(af.Model("usa", BETA, 2), start(n), T_END, method=method, save_every=T_END,
                       observe_every=T_END / 50, underresolved="warn", **options)  # the table shows min rho
        times.append(ds.attrs["wall_time"])
    return ds.density.values[-1], ds, float(np.median(times))


def quiet_and_busy() -> None:
    """Wall time of two runs (median of 3) on the machine as it is and with every core kept busy."""
    cases = (("finite volumes", "fv", 1024, {}), ("spectral, rtol 1e-6", "spectral", 2048,
                                                  {"rtol": 1e-6, "atol": 1e-8}))
    quiet, busy = load.quiet_and_busy(lambda: [run(method, n, 3, **options)[2] for _, method, n, options in cases])
    print(f"\n## Quiet and busy machine ({load.DESCRIPTION}; median of 3 runs)\n")
    print("| solver | N | quiet | busy | busy / quiet |\n|---|---|---|---|---|")
    for (name, _, n, _), low, high in zip(cases, quiet, busy):
        print(f"| {name} | {n} | {low:.2f} s | {high:.2f} s | {high / low:.2f} |")


def cell_masses(rho: np.ndarray, cells: int = COARSE_CELLS) -> np.ndarray:
    """Masses of `cells` equal arcs, from the piecewise-constant density."""
    n = len(rho)
    cumulative = np.concatenate([[0.0], np.cumsum(rho) * (2 * np.pi / n)])
    return np.diff(np.interp(np.linspace(0, 1, cells + 1), np.linspace(0, 1, n + 1), cumulative))


def errors(rho: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    return pde.wasserstein1(rho, reference), float(np.abs(cell_masses(rho) - cell_masses(reference)).sum())


def lax_friedrichs_step_time(n: int, steps: int = 3) -> float:
    solver = LaxFriedrichsSolver(af.Model("usa", BETA, 2), Circle(n), start(n))
    times = []
    for _ in range(steps):
        begin = time.perf_counter()
        solver.advance(math.inf)
        times.append(time.perf_counter() - begin)
    return float(np.median(times))


def smooth_final(method: str, n: int, t_end: float, **options) -> np.ndarray:
    rho0 = initial.uniform_modes(n, [0.05, 0.1, 0.1, 0.05], phases=[0.3, 1.0, 2.0, 0.5])
    return pde.solve(af.Model("usa", BETA, 2), rho0, t_end, method=method, save_every=t_end,
                     underresolved="warn", **options).density.values[-1]  # the coarsest grids dip below 0


def convergence(t_end: float = 0.08) -> None:
    """Errors and observed orders under refinement while the density is smooth."""
    reference = smooth_final("spectral", 1024, t_end, rtol=1e-11, atol=1e-13)
    exact_cells = np.fft.irfft(np.fft.rfft(reference) * np.sinc(np.arange(513) / 1024), 1024)  # cell averages

    def point_error(rho):  # max error at the grid points, against the trigonometric interpolant
        m, n = len(reference), len(rho)
        c = np.fft.rfft(reference) / m * np.exp(-1j * np.pi * np.arange(m // 2 + 1) / m)
        k = np.arange(1, m // 2)
        theta = pde.grid(n)
        exact = c[0].real + 2 * np.real(c[1:m // 2, None] * np.exp(1j * k[:, None] * theta[None, :])).sum(0)
        return float(np.abs(rho - exact).max())

    def cell_error(rho):  # L1 error of the cell averages
        factor = len(exact_cells) // len(rho)
        return float(np.abs(rho - exact_cells.reshape(-1, factor).mean(1)).sum() * 2 * np.pi / len(rho))

    schemes = [("spectral (max error at the points)", "spectral", (16, 32, 64, 128, 256), point_error,
                {"rtol": 1e-11, "atol": 1e-13}),
               ("finite volumes (L1 of cell averages)", "fv", (64, 128, 256, 512, 1024), cell_error, {}),
               ("Lax–Friedrichs, dt = 0.2 dx (L1)", "lax-friedrichs", (128, 256, 512, 1024), cell_error,
                {"courant": 0.2})]
    print(f"\n## Convergence under refinement, smooth phase (β = {BETA:g}, t = {t_end:g})\n")
    print("| scheme | N | error | observed order |")
    print("|---|---|---|---|")
    for name, method, grids, error, options in schemes:
        previous = None
        for n in grids:
            e = error(smooth_final(method, n, t_end, **options))
            order = "" if previous is None else f"{math.log2(previous / e):.2f}"
            print(f"| {name} | {n} | {e:.2e} | {order} |")
            previous = e


def main() -> None:
    reference, ref_ds, ref_time = run("fv", REFERENCE_GRID)
    rows = []
    for n in (128, 256, 512, 1024, 2048, 4096, 8192):
        rho, ds, wall = run("fv", n, repeats=3 if n <= 1024 else 1)
        rows.append(("finite volumes (MUSCL–MC, SSP-RK3)", n, ds, wall, *errors(rho, reference), ""))
    for n in (2048, 4096):
        rho, ds, wall = run("spectral", n, rtol=1e-6, atol=1e-8)
        rows.append(("spectral (DOPRI5, rtol 1e-6)", n, ds, wall, *errors(rho, reference), ""))
    rho, lf_ds, _ = run("lax-friedrichs", SEED_GRID, convolution="fft")
    lf_steps = lf_ds.attrs["steps"]
    per_step = lax_friedrichs_step_time(SEED_GRID)
    lf_time = per_step * lf_steps
    lf_w1, lf_l1 = errors(rho, reference)
    rows.append(("Lax–Friedrichs, direct O(N²) (seed)", SEED_GRID, lf_ds, lf_time, lf_w1, lf_l1,
                 f" (extrapolated: {per_step:.3f} s/step × {lf_steps} steps)"))

    print(f"## Mean-field PDE on the circle: β = {BETA:g}, T = {T_END:g}, uniform + white noise σ = {SIGMA:g}\n")
    print(f"Reference: finite volumes, N = {REFERENCE_GRID} ({ref_ds.attrs['steps']} steps, {ref_time:.1f} s). "
          "Errors at T: W1 on the circle and L1 of the masses of 256 equal cells.\n")
    print("| solver | N | steps | wall time | W1 error | L1 error (256 cells) | min ρ | mass error "
          "| time ratio LF / this | W1 ratio LF / this |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, n, ds, wall, w1, l1, note in rows:
        mass_error = float(np.abs(ds.mass.values - 1).max())
        print(f"| {name} | {n} | {ds.attrs['steps']} | {wall:.2f} s{note} | {w1:.2e} | {l1:.2e} | "
              f"{ds.attrs['min_density']:.2e} | {mass_error:.1e} | {lf_time / wall:.0f} | "
              f"{lf_w1 / max(w1, 1e-300):.1f} |")
    matched = [(wall, n) for name, n, ds, wall, w1, l1, note in rows if name.startswith("finite") and w1 <= lf_w1]
    if matched:
        wall, n = min(matched)
        print(f"\nAt matched accuracy (W1 at most Lax–Friedrichs' {lf_w1:.2e} at N = {SEED_GRID}): finite volumes "
              f"with N = {n} in {wall:.2f} s, {lf_time / wall:.0f}× faster than the extrapolated "
              f"{lf_time / 3600:.1f} h of the baseline.")
    convergence()
    quiet_and_busy()


if __name__ == "__main__":
    main()
