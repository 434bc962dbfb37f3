"""Experiment `noisy_transitions`: the phase transition of the noisy USA dynamics below and above beta_*
(docs/science.md §6).

For each (beta, d): the threshold D_#, beta_*(d), the transition kind, the branch of zonal stationary states
(`theory.stationary`, continuation in D) with its stability, the first-order threshold D_c and the fold. On
the circle above beta_*, the PDE with noise D = r D_# run to T from two starts — the clustered stationary
state at D = 0.9 D_# and a near-uniform density 1 + 0.05 cos theta — gives |m_1(T)| over r:
between D_# and the fold both stay where they started (the hysteresis loop of a first-order transition).
Results: `noisy_transitions.nc` (over `case`), `noisy_transitions_pde.nc` (start x ratio) and one
`noisy_transitions_beta<B>_d<D>.nc` per branch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .. import plots
from ..model import Model
from ..pde import solve
from ..plots.experiments import noisy_transitions as figures
from ..theory import noise
from ..theory.stationary import first_order_diffusion, stationary_branch
from . import Section, experiment, quiet, save_datasets, steps

CLUSTERED_AT = 0.9  # the clustered start: the stable state at D = 0.9 D_# (smooth enough for the grid)

SIZES = {"quick": {"cases": ((1.5, 2), (4.0, 2), (1.2, 3), (4.0, 3)), "pde_beta": 4.0,
                   "ratios": (0.9, 1.03, 1.1), "grid": 32, "t_end": 8.0},
         "full": {"cases": ((1.5, 2), (2.3, 2), (2.6, 2), (4.0, 2), (1.2, 3), (1.7, 3), (1.95, 3), (4.0, 3),
                            (1.0, 8), (3.0, 8)),
                  "pde_beta": 4.0, "ratios": tuple(np.round(np.linspace(0.8, 1.12, 17), 3)), "grid": 64,
                  "t_end": 60.0}}


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


def pde_points(branch: xr.Dataset, ratios, grid: int, t_end: float, progress) -> xr.Dataset:
    """|m_1| at t_end of the circle PDE with D = r D_# from the clustered and the near-uniform start."""
    beta, threshold = branch.attrs["beta"], branch.attrs["critical_diffusion"]
    theta = (np.arange(grid) + 0.5) * 2 * np.pi / grid
    uniform = (1 + 0.05 * np.cos(theta)) / (2 * np.pi)
    clustered = branch.stable.values & (branch.order_parameter.values > 0.5)
    point = int(np.argmin(np.where(clustered, np.abs(branch.diffusion.values / threshold - CLUSTERED_AT), np.inf)))
    starts = {"clustered": circle_density(branch, point, grid), "uniform": uniform}
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
    pde = pde_points(branches[stem(size["pde_beta"], 2)], size["ratios"], size["grid"], size["t_end"], progress)
    return {"noisy_transitions": cases, "noisy_transitions_pde": pde, **branches}


def summary(cases: xr.Dataset, pde: xr.Dataset) -> list[dict]:
    rows = [{key: (str(cases[key].values[i]) if key == "transition_kind" else float(cases[key].values[i]))
             for key in cases.data_vars} for i in range(cases.sizes["case"])]
    return rows + [{"pde_beta": float(pde.attrs["beta"]), "ratio": pde.ratio.values.tolist(),
                    **{f"order_parameter_{start}": pde.order_parameter.sel(start=start).values.tolist()
                       for start in pde.start.values}}]


def markdown(cases: xr.Dataset, pde: xr.Dataset) -> str:
    table = ["| β | d | β_* | transition | D_# | D_c / D_# | fold / D_# |", "|---|---|---|---|---|---|---|"]
    for i in range(cases.sizes["case"]):
        c = cases.isel(case=i)
        threshold = float(c.critical_diffusion)
        table.append(f"| {float(c.beta):g} | {int(c.dim)} | {float(c.transition_beta):.4f} | "
                     f"{str(c.transition_kind.values)} | {threshold:.5g} | "
                     f"{float(c.first_order_diffusion) / threshold:.4f} | "
                     f"{float(c.fold_diffusion) / threshold:.4f} |")
    loop = ["| D / D_# | " + " | ".join(f"{r:g}" for r in pde.ratio.values) + " |",
            "|---|" + "---|" * pde.sizes["ratio"]]
    loop += [f"| from {start} | " + " | ".join(f"{v:.3f}" for v in pde.order_parameter.sel(start=start).values) + " |"
             for start in pde.start.values]
    return ("USA with noise D (docs/science.md §6). $D_\\# = \\lambda_1$: the uniform state is linearly stable "
            "above it. $\\beta_*$: the root of $I_{d/2+1}/I_{d/2} = 1/d$. The branch of zonal stationary states born "
            "at $D_\\#$ is "
            "followed by continuation; above $\\beta_*$ it bends to $D > D_\\#$ (unstable) and folds back (stable), "
            "and $D_c$ is where the stable clustered state's free energy equals the uniform state's.\n\n"
            + "\n".join(table) + "\n\n"
            f"The hysteresis loop on the circle, β = {float(pde.attrs['beta']):g}: |m₁| at "
            f"t = {float(pde.attrs['t_end']):g} "
            f"of the PDE (N = {int(pde.attrs['grid'])}, spectral) from the clustered state and from 1 + 0.05 cos θ. "
            "Where both starts stay where they began, the uniform and the clustered states are both stable. "
            "Particles and the PDE on S² are not yet part of this experiment.\n\n"
            + "\n".join(loop) + "\n\n![The branches of stationary states (solid: stable, dashed: unstable; dotted: "
            "$D_c$) and the PDE's |m₁| at its final time from the two starts.](noisy_transitions.png)\n")


@experiment("noisy_transitions", order=400)
def run(out: Path, scale: str, progress=quiet) -> Section:
    datasets = save_datasets(out, "noisy_transitions", scale, results(scale, progress))
    cases, pde = datasets["noisy_transitions"], datasets["noisy_transitions_pde"]
    branches = [datasets[stem(float(c), int(d))] for c, d in zip(cases.beta.values, cases.dim.values)]
    plots.save(figures.figure(cases, branches, pde), out / "noisy_transitions.png")
    return Section("Noise: continuous and discontinuous transitions", markdown(cases, pde), ["noisy_transitions.png"],
                   {"noisy_transitions": summary(cases, pde)}, datasets)
