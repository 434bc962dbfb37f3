"""Experiment `noisy_transitions`: the phase transition of the noisy USA dynamics below and above beta_*
(docs/science.md §6).

For each (beta, d): the threshold D_#, beta_*(d), the transition kind, the branch of zonal stationary states
(`theory.stationary`, continuation in D) with its stability, the first-order threshold D_c and the fold. On
the circle above beta_*, the PDE with noise D = r D_# run to T from two starts — the clustered stationary
state at D = 0.9 D_# and a near-uniform density 1 + 0.05 cos theta — gives |m_1(T)| over r:
between D_# and the fold both stay where they started (the hysteresis loop of a first-order transition).
The same loop by particles: n tokens drawn from the same two densities, several seeds (one ensemble per start
and D), Euler–Maruyama to T; |m_1|(t) per seed and the escape time, the first time |m_1| crosses half the
clustered start's value (downwards from the clustered start, upwards from the uniform one), censored at T.
Results: `noisy_transitions.nc` (over `case`), `noisy_transitions_pde.nc` and `noisy_transitions_particles.nc`
(start x ratio [x seed x obs_time]) and one `noisy_transitions_beta<B>_d<D>.nc` per branch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr

from .. import plots
from ..integrate import simulate
from ..model import Model
from ..pde import solve
from ..plots.experiments import noisy_transitions as figures
from ..theory import noise
from ..theory.stationary import first_order_diffusion, stationary_branch
from . import Section, experiment, quiet, save_datasets, steps

CLUSTERED_AT = 0.9  # the clustered start: the stable state at D = 0.9 D_# (smooth enough for the grid)

SIZES = {"quick": {"cases": ((1.5, 2), (4.0, 2), (1.2, 3), (4.0, 3)), "pde_beta": 4.0,
                   "ratios": (0.9, 1.03, 1.1), "grid": 32, "t_end": 8.0,
                   "particles": {"n": 1000, "seeds": 4, "dt": 2e-3, "observations": 100}},
         "full": {"cases": ((1.5, 2), (2.3, 2), (2.6, 2), (4.0, 2), (1.2, 3), (1.7, 3), (1.95, 3), (4.0, 3),
                            (1.0, 8), (3.0, 8)),
                  "pde_beta": 4.0, "ratios": tuple(np.round(np.linspace(0.8, 1.12, 17), 3)), "grid": 64,
                  "t_end": 60.0, "particles": {"n": 5000, "seeds": 20, "dt": 1e-3, "observations": 300}}}


def stem(beta: float, dim: int) -> str:
    return f"noisy_transitions_beta{beta:g}_d{dim}"


def circle_density(branch: xr.Dataset, point: int, grid: int) -> np.ndarray:
    """The branch's state at `point` on the circle grid theta_j = (j + 1/2) 2 pi / grid, against d theta."""
    from ..spectrum import funk_hecke_factor

    m, diffusion = branch.moment.values[point], float(branch.diffusion[point])
    theta = (np.arange(grid) + 0.5) * 2 * np.pi / grid
    k = np.arange(1, len(m) + 1)
    exponent = (2 * funk_hecke_factor(branch.attrs["beta"], 2, len(m)) * m) @ np.cos(np.outer(k, theta)) / diffusion
    rho = np.exp(exponent - exponent.max())
    return rho / (rho.sum() * 2 * np.pi / grid)


def clustered_start(branch: xr.Dataset) -> int:
    """The branch point of the clustered start: the stable clustered state nearest D = CLUSTERED_AT D_#."""
    threshold = branch.attrs["critical_diffusion"]
    clustered = branch.stable.values & (branch.order_parameter.values > 0.5)
    return int(np.argmin(np.where(clustered, np.abs(branch.diffusion.values / threshold - CLUSTERED_AT), np.inf)))


def pde_points(branch: xr.Dataset, ratios, grid: int, t_end: float, progress) -> xr.Dataset:
    """|m_1| at t_end of the circle PDE with D = r D_# from the clustered and the near-uniform start."""
    beta, threshold = branch.attrs["beta"], branch.attrs["critical_diffusion"]
    theta = (np.arange(grid) + 0.5) * 2 * np.pi / grid
    uniform = (1 + 0.05 * np.cos(theta)) / (2 * np.pi)
    starts = {"clustered": circle_density(branch, clustered_start(branch), grid), "uniform": uniform}
    values = np.empty((2, len(ratios)))
    for i, name in enumerate(starts):
        for j, ratio in enumerate(steps(progress, ratios, lambda r: f"PDE, {name} start, D = {r:g} D_#")):
            run = solve(Model("usa", beta, 2, diffusion=ratio * threshold), starts[name], t_end, method="spectral",
                        kmax=1)
            values[i, j] = float(run.mode_amplitude.isel(obs_time=-1, mode=0))
    return xr.Dataset({"order_parameter": (("start", "ratio"), values)},
                      coords={"start": list(starts), "ratio": np.asarray(ratios, dtype=float)},
                      attrs={"beta": beta, "dim": 2, "t_end": t_end, "grid": grid,
                             "critical_diffusion": threshold})


def sampled_tokens(branch: xr.Dataset, n: int, seeds: int) -> dict[str, np.ndarray]:
    """(seeds, n, 2) tokens per start: stratified inverse-CDF samples of the clustered start's density (a fine grid)
    and independent uniform angles; seed s draws from numpy's generator seeded s."""
    grid = 4096
    density = circle_density(branch, clustered_start(branch), grid)
    cdf = np.concatenate([[0.0], np.cumsum(density) * 2 * np.pi / grid])
    edges = np.arange(grid + 1) * 2 * np.pi / grid
    angles = {"clustered": [], "uniform": []}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        angles["clustered"].append(np.interp((np.arange(n) + rng.random(n)) / n, cdf / cdf[-1], edges))
        angles["uniform"].append(rng.random(n) * 2 * np.pi)
    return {start: np.stack([np.cos(a), np.sin(a)], axis=-1) for start, a in
            ((start, np.array(a)) for start, a in angles.items())}


def escape_times(order: np.ndarray, time: np.ndarray, level: float, upwards: bool) -> tuple[np.ndarray, np.ndarray]:
    """(escaped, time) per seed of order (obs_time, seed): the first observation where |m_1| crosses `level`
    (upwards or downwards), and t_end where it never does (a censored time; escaped False)."""
    crossed = order > level if upwards else order < level
    escaped = crossed.any(axis=0)
    return escaped, np.where(escaped, time[np.argmax(crossed, axis=0)], time[-1])


def particle_points(branch: xr.Dataset, ratios, t_end: float, n: int, seeds: int, dt: float, observations: int,
                    progress) -> xr.Dataset:
    """The hysteresis loop by particles: |m_1|(t) of n noisy USA tokens on the circle (Euler–Maruyama, `seeds`
    systems in one ensemble) from the two starts of `pde_points`, for D = r D_#, and the escape times."""
    beta, threshold = branch.attrs["beta"], branch.attrs["critical_diffusion"]
    tokens = sampled_tokens(branch, n, seeds)
    level = 0.5 * float(branch.order_parameter[clustered_start(branch)])
    order = np.empty((2, len(ratios), observations + 1, seeds))
    escaped, escape = np.empty((2, len(ratios), seeds), dtype=bool), np.empty((2, len(ratios), seeds))
    for i, start in enumerate(tokens):
        for j, ratio in enumerate(steps(progress, ratios, lambda r: f"particles, {start} start, D = {r:g} D_#")):
            run = simulate(Model("usa", beta, 2, diffusion=ratio * threshold), torch.from_numpy(tokens[start]),
                           t_end, dt=dt, method="euler", observe_every=t_end / observations, save_every=t_end,
                           observables=("order_parameter",), seed=j)
            order[i, j] = run.order_parameter.transpose("obs_time", "system").values
            escaped[i, j], escape[i, j] = escape_times(order[i, j], run.obs_time.values, level, start == "uniform")
    return xr.Dataset({"order_parameter": (("start", "ratio", "obs_time", "seed"), order),
                       "escaped": (("start", "ratio", "seed"), escaped),
                       "escape_time": (("start", "ratio", "seed"), escape)},
                      coords={"start": list(tokens), "ratio": np.asarray(ratios, dtype=float),
                              "obs_time": run.obs_time.values, "seed": np.arange(seeds)},
                      attrs={"beta": beta, "dim": 2, "t_end": t_end, "n": n, "dt": dt, "escape_level": level,
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
    loop = branches[stem(size["pde_beta"], 2)]
    pde = pde_points(loop, size["ratios"], size["grid"], size["t_end"], progress)
    particles = particle_points(loop, size["ratios"], size["t_end"], **size["particles"], progress=progress)
    return {"noisy_transitions": cases, "noisy_transitions_pde": pde, "noisy_transitions_particles": particles,
            **branches}


def summary(cases: xr.Dataset, pde: xr.Dataset, particles: xr.Dataset) -> list[dict]:
    rows = [{key: (str(cases[key].values[i]) if key == "transition_kind" else float(cases[key].values[i]))
             for key in cases.data_vars} for i in range(cases.sizes["case"])]
    final = particles.order_parameter.isel(obs_time=-1)
    return rows + [{"pde_beta": float(pde.attrs["beta"]), "ratio": pde.ratio.values.tolist(),
                    **{f"order_parameter_{start}": pde.order_parameter.sel(start=start).values.tolist()
                       for start in pde.start.values},
                    **{f"particles_median_order_parameter_{start}":
                       final.sel(start=start).median("seed").values.tolist() for start in particles.start.values},
                    **{f"particles_escaped_{start}": particles.escaped.sel(start=start).sum("seed").values.tolist()
                       for start in particles.start.values}}]


def escape_cell(particles: xr.Dataset, start: str, ratio: float) -> str:
    """"k/S by t = median escape time" over the seeds that escaped, or "0/S"."""
    point = particles.sel(start=start, ratio=ratio)
    escaped = point.escaped.values
    cell = f"{int(escaped.sum())}/{escaped.size}"
    return cell + (f", median t = {np.median(point.escape_time.values[escaped]):.3g}" if escaped.any() else "")


def markdown(cases: xr.Dataset, pde: xr.Dataset, particles: xr.Dataset) -> str:
    table = ["| β | d | β_* | transition | D_# | D_c / D_# | fold / D_# |", "|---|---|---|---|---|---|---|"]
    for i in range(cases.sizes["case"]):
        c = cases.isel(case=i)
        threshold = float(c.critical_diffusion)
        table.append(f"| {float(c.beta):g} | {int(c.dim)} | {float(c.transition_beta):.4f} | "
                     f"{str(c.transition_kind.values)} | {threshold:.5g} | "
                     f"{float(c.first_order_diffusion) / threshold:.4f} | "
                     f"{float(c.fold_diffusion) / threshold:.4f} |")
    final = particles.order_parameter.isel(obs_time=-1)
    loop_case = (cases.beta == particles.attrs["beta"]) & (cases.dim == 2)
    fold = float(cases.fold_diffusion.where(loop_case).max()) / particles.attrs["critical_diffusion"]
    window = particles.sel(ratio=(particles.ratio > 1) & (particles.ratio < fold))
    loop = ["| D / D_# | " + " | ".join(f"{r:g}" for r in pde.ratio.values) + " |",
            "|---|" + "---|" * pde.sizes["ratio"]]
    for start in pde.start.values:
        loop.append(f"| PDE from {start} | "
                    + " | ".join(f"{v:.3f}" for v in pde.order_parameter.sel(start=start).values) + " |")
        values = final.sel(start=start)
        loop.append(f"| particles from {start}, median [min, max] | " + " | ".join(
            f"{float(values.sel(ratio=r).median()):.3f} [{float(values.sel(ratio=r).min()):.2f}, "
            f"{float(values.sel(ratio=r).max()):.2f}]" for r in particles.ratio.values) + " |")
        loop.append(f"| particles from {start}, escaped | "
                    + " | ".join(escape_cell(particles, start, r) for r in particles.ratio.values) + " |")
    return ("USA with noise D (docs/science.md §6). $D_\\# = \\lambda_1$: the uniform state is linearly stable "
            "above it. $\\beta_*$: the root of $I_{d/2+1}/I_{d/2} = 1/d$. The branch of zonal stationary states "
            "born at $D_\\#$ is "
            "followed by continuation; above $\\beta_*$ it bends to $D > D_\\#$ (unstable) and folds back (stable), "
            "and $D_c$ is where the stable clustered state's free energy equals the uniform state's.\n\n"
            + "\n".join(table) + "\n\n"
            f"The hysteresis loop on the circle, β = {float(pde.attrs['beta']):g}: |m₁| at "
            f"t = {float(pde.attrs['t_end']):g} "
            f"of the PDE (N = {int(pde.attrs['grid'])}, spectral) from the clustered state and from 1 + 0.05 cos θ, "
            f"and of n = {int(particles.attrs['n'])} particles (Euler–Maruyama, dt = {particles.attrs['dt']:g}, "
            f"{particles.sizes['seed']} seeds) drawn from the same clustered state and uniformly. A seed *escapes* "
            f"when its |m₁| crosses {particles.attrs['escape_level']:.3f} (half the clustered start's), away from its "
            "start. Where both starts stay where they began, the uniform and the clustered states are both stable; "
            "below D_# the uniform start escapes only after its O(1/√n) fluctuations have grown, above the fold "
            "the clustered start decays. At finite n a metastable state's escape is a rare event (its rate falls "
            "like exp(−n ΔF / D)): between D_# and the fold (D / D_# in "
            f"{{{', '.join(f'{r:g}' for r in window.ratio.values)}}} here) {int(window.escaped.sum())} of "
            f"{window.escaped.size} runs escaped by t = {float(particles.attrs['t_end']):g}. The PDE on S² is "
            "not yet part of this experiment.\n\n"
            + "\n".join(loop) + "\n\n![The branches of stationary states (solid: stable, dashed: unstable; dotted: "
            "$D_c$) with the PDE's and the particles' |m₁| at the final time from the two starts; the particles' "
            "|m₁|(t), median and range over seeds.](noisy_transitions.png)\n")


@experiment("noisy_transitions", order=400)
def run(out: Path, scale: str, progress=quiet) -> Section:
    datasets = save_datasets(out, "noisy_transitions", scale, results(scale, progress))
    cases, pde = datasets["noisy_transitions"], datasets["noisy_transitions_pde"]
    particles = datasets["noisy_transitions_particles"]
    branches = [datasets[stem(float(c), int(d))] for c, d in zip(cases.beta.values, cases.dim.values)]
    plots.save(figures.figure(cases, branches, pde, particles), out / "noisy_transitions.png")
    return Section("Noise: continuous and discontinuous transitions", markdown(cases, pde, particles),
                   ["noisy_transitions.png"], {"noisy_transitions": summary(cases, pde, particles)}, datasets)
