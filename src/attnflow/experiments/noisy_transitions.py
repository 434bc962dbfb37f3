"""Experiment `noisy_transitions`: the phase transition of the noisy USA dynamics below and above beta_*
(docs/science.md §6).

For each (beta, d): the threshold D_#, beta_*(d), the transition kind, the branch of zonal stationary states
(`theory.stationary`, continuation in D) with its stability, the first-order threshold D_c and the fold. At
`loop_beta` > beta_* on the circle and on S^2, the PDE with noise D = r D_# run to T from two starts — the
clustered stationary state at D = 0.9 D_# and a near-uniform density (m_1 = 0.05) — gives |m_1(T)| over r:
between D_# and the fold both stay where they started (the hysteresis loop of a first-order transition). The
circle's PDE is the Fourier spectral one, S^2's the zonal (Gegenbauer) one: both starts are axially symmetric.
The same loop by particles: n tokens drawn from the same two densities, several seeds (one ensemble per start
and D), Euler–Maruyama to T; |m_1|(t) per seed and the escape time, the first time |m_1| crosses half the
clustered start's value (downwards from the clustered start, upwards from the uniform one), censored at T.
Results: `noisy_transitions.nc` (over `case`), `noisy_transitions_pde.nc` (dim x start x ratio),
`noisy_transitions_particles_d<D>.nc` (start x ratio x seed [x obs_time]) and one
`noisy_transitions_beta<B>_d<D>.nc` per branch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr

from .. import plots
from ..integrate import simulate
from ..model import Model
from ..pde import initial, solve
from ..pde.geometry import Zonal as ZonalGrid
from ..plots.experiments import noisy_transitions as figures
from ..theory import noise
from ..theory.stationary import Zonal, first_order_diffusion, legendre_values, stationary_branch
from . import Section, experiment, quiet, save_datasets, steps

CLUSTERED_AT = 0.9  # the clustered start: the stable state at D = 0.9 D_# (smooth enough for the grid)
NEAR_UNIFORM = 0.05  # m_1 of the near-uniform start of the PDE

SIZES = {"quick": {"cases": ((1.5, 2), (4.0, 2), (1.2, 3), (4.0, 3)), "loop_beta": 4.0,
                   "ratios": (0.9, 1.03, 1.1, 1.3), "grid": {2: 32, 3: 24}, "t_end": 8.0,
                   "particles": {2: {"n": 1000, "seeds": 4, "dt": 2e-3, "observations": 100}}},
         "full": {"cases": ((1.5, 2), (2.3, 2), (2.6, 2), (4.0, 2), (1.2, 3), (1.7, 3), (1.95, 3), (4.0, 3),
                            (1.0, 8), (3.0, 8)),
                  "loop_beta": 4.0, "ratios": tuple(np.round(np.linspace(0.8, 1.36, 15), 3)),
                  "grid": {2: 64, 3: 48}, "t_end": 30.0,
                  "particles": {2: {"n": 5000, "seeds": 10, "dt": 2e-3, "observations": 300},
                                3: {"n": 1000, "seeds": 4, "dt": 5e-3, "observations": 300}}}}


def stem(beta: float, dim: int) -> str:
    return f"noisy_transitions_beta{beta:g}_d{dim}"


def profile(branch: xr.Dataset, point: int, t: np.ndarray) -> np.ndarray:
    """The branch's state at `point` as a function of t = <x, e>, up to a constant factor: e^{sum_k s_k m_k
    P_k(t) / D} (`theory.stationary`), scaled to the maximum 1 over t."""
    m, diffusion = branch.moment.values[point], float(branch.diffusion[point])
    zonal = Zonal(branch.attrs["beta"], branch.attrs["dim"], len(m))
    exponent = (zonal.strength * m) @ legendre_values(len(m), branch.attrs["dim"], np.asarray(t, dtype=float))
    return np.exp((exponent - exponent.max()) / diffusion)


def circle_density(branch: xr.Dataset, point: int, grid: int) -> np.ndarray:
    """The branch's state at `point` on the circle grid theta_j = (j + 1/2) 2 pi / grid, against d theta."""
    theta = (np.arange(grid) + 0.5) * 2 * np.pi / grid
    rho = profile(branch, point, np.cos(theta))
    return rho / (rho.sum() * 2 * np.pi / grid)


def clustered_start(branch: xr.Dataset) -> int:
    """The branch point of the clustered start: the stable clustered state nearest D = CLUSTERED_AT D_#."""
    threshold = branch.attrs["critical_diffusion"]
    clustered = branch.stable.values & (branch.order_parameter.values > 0.5)
    return int(np.argmin(np.where(clustered, np.abs(branch.diffusion.values / threshold - CLUSTERED_AT), np.inf)))


def _pde_starts(branch: xr.Dataset, grid: int) -> tuple[dict, callable]:
    """The two starts on the PDE's grid (circle: N angles; S^{d-1}: N zonal nodes) and |m_1| of a density."""
    dim, point = branch.attrs["dim"], clustered_start(branch)
    if dim == 2:
        theta = (np.arange(grid) + 0.5) * 2 * np.pi / grid
        uniform = (1 + 2 * NEAR_UNIFORM * np.cos(theta)) / (2 * np.pi)
        return ({"clustered": circle_density(branch, point, grid), "uniform": uniform},
                lambda rho: float(abs(np.sum(rho * np.exp(1j * theta)) * 2 * np.pi / grid)))
    nodes = ZonalGrid(grid, dim)
    return ({"clustered": initial.zonal_function(grid, dim, lambda t: profile(branch, point, t)),
             "uniform": initial.zonal_modes(grid, dim, [NEAR_UNIFORM])},
            lambda rho: abs(float(np.sum(nodes.weights * rho * nodes.points))))


def pde_points(branch: xr.Dataset, ratios, grid: int, t_end: float, progress) -> xr.Dataset:
    """|m_1| at t_end of the PDE with D = r D_# from the clustered and the near-uniform start: on the circle
    the spectral solver, on S^{d-1} the zonal one."""
    beta, dim, threshold = branch.attrs["beta"], branch.attrs["dim"], branch.attrs["critical_diffusion"]
    starts, order_parameter = _pde_starts(branch, grid)
    values = np.empty((2, len(ratios)))
    for i, name in enumerate(starts):
        for j, ratio in enumerate(steps(progress, ratios, lambda r: f"PDE, d = {dim}, {name} start, D = {r:g} D_#")):
            model = Model("usa", beta, dim, diffusion=ratio * threshold)
            run = (solve(model, starts[name], t_end, method="spectral", kmax=1) if dim == 2
                   else solve(model, starts[name], t_end, zonal=True, kmax=1))
            values[i, j] = order_parameter(run.density.isel(time=-1).values)
    return xr.Dataset({"order_parameter": (("start", "ratio"), values)},
                      coords={"start": list(starts), "ratio": np.asarray(ratios, dtype=float)},
                      attrs={"beta": beta, "dim": dim, "t_end": t_end, "grid": grid,
                             "critical_diffusion": threshold})


def sampled_tokens(branch: xr.Dataset, n: int, seeds: int) -> dict[str, np.ndarray]:
    """(seeds, n, d) tokens per start. Clustered: the angle theta to e = e_1 by stratified inverse-CDF samples
    of its density rho(cos theta) sin^{d-2} theta (a fine grid), the direction about e uniform (on the circle
    alternating sides); uniform: independent uniform tokens. Seed s draws from numpy's generator seeded s."""
    dim, grid = branch.attrs["dim"], 4096
    edges = np.linspace(0, np.pi, grid + 1)
    middle = (edges[1:] + edges[:-1]) / 2
    mass = profile(branch, clustered_start(branch), np.cos(middle)) * np.sin(middle) ** (dim - 2)
    cdf = np.concatenate([[0.0], np.cumsum(mass)]) / mass.sum()
    tokens = {"clustered": [], "uniform": []}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        theta = np.interp((np.arange(n) + rng.random(n)) / n, cdf, edges)
        if dim == 2:
            around = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)[:, None]
        else:
            around = rng.standard_normal((n, dim - 1))
            around /= np.linalg.norm(around, axis=1, keepdims=True)
        tokens["clustered"].append(np.column_stack([np.cos(theta), np.sin(theta)[:, None] * around]))
        uniform = rng.standard_normal((n, dim))
        tokens["uniform"].append(uniform / np.linalg.norm(uniform, axis=1, keepdims=True))
    return {start: np.array(values) for start, values in tokens.items()}


def escape_times(order: np.ndarray, time: np.ndarray, level: float, upwards: bool) -> tuple[np.ndarray, np.ndarray]:
    """(escaped, time) per seed of order (obs_time, seed): the first observation where |m_1| crosses `level`
    (upwards or downwards), and t_end where it never does (a censored time; escaped False)."""
    crossed = order > level if upwards else order < level
    escaped = crossed.any(axis=0)
    return escaped, np.where(escaped, time[np.argmax(crossed, axis=0)], time[-1])


def particle_points(branch: xr.Dataset, ratios, t_end: float, n: int, seeds: int, dt: float, observations: int,
                    progress) -> xr.Dataset:
    """The hysteresis loop by particles: |m_1|(t) = |mean x|(t) of n noisy USA tokens on S^{d-1}
    (Euler–Maruyama, `seeds` systems in one ensemble) from the two starts of `sampled_tokens`, for D = r D_#,
    and the escape times."""
    beta, dim, threshold = branch.attrs["beta"], branch.attrs["dim"], branch.attrs["critical_diffusion"]
    tokens = sampled_tokens(branch, n, seeds)
    level = 0.5 * float(branch.order_parameter[clustered_start(branch)])
    order = np.empty((2, len(ratios), observations + 1, seeds))
    escaped, escape = np.empty((2, len(ratios), seeds), dtype=bool), np.empty((2, len(ratios), seeds))
    for i, start in enumerate(tokens):
        for j, ratio in enumerate(steps(progress, ratios,
                                        lambda r: f"particles, d = {dim}, {start} start, D = {r:g} D_#")):
            run = simulate(Model("usa", beta, dim, diffusion=ratio * threshold), torch.from_numpy(tokens[start]),
                           t_end, dt=dt, method="euler", observe_every=t_end / observations, save_every=t_end,
                           observables=("order_parameter",), seed=j)
            order[i, j] = run.order_parameter.transpose("obs_time", "system").values
            escaped[i, j], escape[i, j] = escape_times(order[i, j], run.obs_time.values, level, start == "uniform")
    return xr.Dataset({"order_parameter": (("start", "ratio", "obs_time", "seed"), order),
                       "escaped": (("start", "ratio", "seed"), escaped),
                       "escape_time": (("start", "ratio", "seed"), escape)},
                      coords={"start": list(tokens), "ratio": np.asarray(ratios, dtype=float),
                              "obs_time": run.obs_time.values, "seed": np.arange(seeds)},
                      attrs={"beta": beta, "dim": dim, "t_end": t_end, "n": n, "dt": dt, "escape_level": level,
                             "critical_diffusion": threshold})


def results(scale: str, progress=quiet) -> dict[str, xr.Dataset]:
    size = SIZES[scale]
    branches, rows = {}, []
    for beta, dim in steps(progress, size["cases"], lambda c: f"β = {c[0]:g}, d = {c[1]}: stationary branch"):
        branch = stationary_branch(beta, dim)
        branches[stem(beta, dim)] = branch
        rows.append({"beta": beta, "dim": dim, "critical_diffusion": branch.attrs["critical_diffusion"],
                     "transition_beta": noise.transition_beta(dim), "transition_kind": noise.transition_kind(beta, dim),
                     "first_order_diffusion": first_order_diffusion(beta, dim),
                     "fold_diffusion": float(branch.diffusion.max())})
    cases = xr.Dataset({key: ("case", [row[key] for row in rows]) for key in rows[0]},
                       coords={"case": np.arange(len(rows))})
    loops = {}
    for dim, grid in size["grid"].items():
        loop = branches[stem(size["loop_beta"], dim)]
        loops[f"noisy_transitions_pde_d{dim}"] = pde_points(loop, size["ratios"], grid, size["t_end"], progress)
    for dim, particles in size["particles"].items():
        loop = branches[stem(size["loop_beta"], dim)]
        loops[f"noisy_transitions_particles_d{dim}"] = particle_points(loop, size["ratios"], size["t_end"],
                                                                       **particles, progress=progress)
    return {"noisy_transitions": cases, **loops, **branches}


def loops_of(datasets: dict[str, xr.Dataset]) -> dict[int, tuple[xr.Dataset, xr.Dataset | None]]:
    """dim -> (the PDE's loop, the particles' loop or None) among an experiment's datasets."""
    return {int(ds.attrs["dim"]): (ds, datasets.get(f"noisy_transitions_particles_d{int(ds.attrs['dim'])}"))
            for name, ds in datasets.items() if name.startswith("noisy_transitions_pde_d")}


def summary(cases: xr.Dataset, loops: dict) -> list[dict]:
    rows = [{key: (str(cases[key].values[i]) if key == "transition_kind" else float(cases[key].values[i]))
             for key in cases.data_vars} for i in range(cases.sizes["case"])]
    for dim, (pde, particles) in loops.items():
        row = {"loop_dim": dim, "loop_beta": float(pde.attrs["beta"]), "ratio": pde.ratio.values.tolist(),
               **{f"pde_order_parameter_{start}": pde.order_parameter.sel(start=start).values.tolist()
                  for start in pde.start.values}}
        if particles is not None:
            final = particles.order_parameter.isel(obs_time=-1)
            for start in particles.start.values:
                row[f"particles_median_order_parameter_{start}"] = final.sel(start=start).median("seed").values.tolist()
                row[f"particles_escaped_{start}"] = particles.escaped.sel(start=start).sum("seed").values.tolist()
        rows.append(row)
    return rows


def escape_cell(particles: xr.Dataset, start: str, ratio: float) -> str:
    """"k/S, median t = ..." over the seeds that escaped, or "0/S"."""
    point = particles.sel(start=start, ratio=ratio)
    escaped = point.escaped.values
    cell = f"{int(escaped.sum())}/{escaped.size}"
    return cell + (f", median t = {np.median(point.escape_time.values[escaped]):.3g}" if escaped.any() else "")


def loop_table(cases: xr.Dataset, pde: xr.Dataset, particles: xr.Dataset | None) -> str:
    """The hysteresis loop at one d: |m_1| at T of the PDE and of the particles from each start, and what the
    particles say of the window between D_# and the fold."""
    dim, threshold = int(pde.attrs["dim"]), pde.attrs["critical_diffusion"]
    fold = float(cases.fold_diffusion.where((cases.beta == pde.attrs["beta"]) & (cases.dim == dim)).max()) / threshold
    solver = "Fourier spectral, N" if dim == 2 else "zonal Gegenbauer, nodes"
    lines = [f"**d = {dim}** (β = {float(pde.attrs['beta']):g}, fold at {fold:.4f} D_#; PDE: {solver} = "
             f"{int(pde.attrs['grid'])}, t = {float(pde.attrs['t_end']):g}"
             + (f"; particles: n = {int(particles.attrs['n'])}, dt = {particles.attrs['dt']:g}, "
                f"{particles.sizes['seed']} seeds" if particles is not None else "; particles: full scale only")
             + ")\n", "| D / D_# | " + " | ".join(f"{r:g}" for r in pde.ratio.values) + " |",
             "|---|" + "---|" * pde.sizes["ratio"]]
    for start in pde.start.values:
        lines.append(f"| PDE from {start} | "
                     + " | ".join(f"{v:.3f}" for v in pde.order_parameter.sel(start=start).values) + " |")
        if particles is None:
            continue
        values = particles.order_parameter.isel(obs_time=-1).sel(start=start)
        lines.append(f"| particles from {start}, median [min, max] | " + " | ".join(
            f"{float(values.sel(ratio=r).median()):.3f} [{float(values.sel(ratio=r).min()):.2f}, "
            f"{float(values.sel(ratio=r).max()):.2f}]" for r in particles.ratio.values) + " |")
        lines.append(f"| particles from {start}, escaped | "
                     + " | ".join(escape_cell(particles, start, r) for r in particles.ratio.values) + " |")
    if particles is not None:
        window = particles.sel(ratio=(particles.ratio > 1) & (particles.ratio < fold))
        lines.append(f"\nBetween D_# and the fold (D / D_# in {{{', '.join(f'{r:g}' for r in window.ratio.values)}}}"
                     f") {int(window.escaped.sum())} of {window.escaped.size} particle runs escaped by "
                     f"t = {float(particles.attrs['t_end']):g} (escape level |m₁| = "
                     f"{particles.attrs['escape_level']:.3f}).")
    return "\n".join(lines) + "\n"


def markdown(cases: xr.Dataset, loops: dict) -> str:
    table = ["| β | d | β_* | transition | D_# | D_c / D_# | fold / D_# |", "|---|---|---|---|---|---|---|"]
    for i in range(cases.sizes["case"]):
        c = cases.isel(case=i)
        threshold = float(c.critical_diffusion)
        table.append(f"| {float(c.beta):g} | {int(c.dim)} | {float(c.transition_beta):.4f} | "
                     f"{str(c.transition_kind.values)} | {threshold:.5g} | "
                     f"{float(c.first_order_diffusion) / threshold:.4f} | "
                     f"{float(c.fold_diffusion) / threshold:.4f} |")
    return ("USA with noise D (docs/science.md §6). $D_\\# = \\lambda_1$: the uniform state is linearly stable "
            "above it. $\\beta_*$: the root of $I_{d/2+1}/I_{d/2} = 1/d$. The branch of zonal stationary states "
            "born at $D_\\#$ is "
            "followed by continuation; above $\\beta_*$ it bends to $D > D_\\#$ (unstable) and folds back (stable), "
            "and $D_c$ is where the stable clustered state's free energy equals the uniform state's.\n\n"
            + "\n".join(table) + "\n\n"
            "The hysteresis loop: |m₁| at the final time of the PDE from the clustered stationary state at "
            f"{CLUSTERED_AT:g} D_# and from a near-uniform density (m₁ = {NEAR_UNIFORM:g}), and of particles drawn "
            "from the same clustered state and uniformly. A particle run *escapes* when its |m₁| crosses half the "
            "clustered start's, away from its start. Where both starts stay where they began, the uniform and the "
            "clustered states are both stable; below D_# the uniform start leaves, above the fold the clustered "
            "start decays. At finite n a metastable state is left only by a rare fluctuation (at a rate falling "
            "like exp(−n ΔF / D)), while near D_# the uniform start's O(1/√n) fluctuations are amplified by "
            "(1 − D_# / D)^(−1/2).\n\n"
            + "\n".join(loop_table(cases, *loops[dim]) for dim in sorted(loops))
            + "\n![The branches of stationary states (solid: stable, dashed: unstable; dotted: $D_c$) with the "
            "PDE's and the particles' |m₁| at the final time from the two starts; the particles' |m₁|(t), median "
            "and range over seeds.](noisy_transitions.png)\n")


@experiment("noisy_transitions", order=400)
def run(out: Path, scale: str, progress=quiet) -> Section:
    datasets = save_datasets(out, "noisy_transitions", scale, results(scale, progress))
    cases, loops = datasets["noisy_transitions"], loops_of(datasets)
    branches = [datasets[stem(float(c), int(d))] for c, d in zip(cases.beta.values, cases.dim.values)]
    plots.save(figures.figure(cases, branches, loops), out / "noisy_transitions.png")
    return Section("Noise: continuous and discontinuous transitions", markdown(cases, loops),
                   ["noisy_transitions.png"], {"noisy_transitions": summary(cases, loops)}, datasets)
