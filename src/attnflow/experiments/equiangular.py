"""Experiment `equiangular`: rho(t) of particle runs against the equiangular ODE (docs/science.md §4).

Particle runs (dense engine, adaptive Dormand–Prince at rtol 1e-12) start from exact
equiangular configurations and are overlaid on the ODE (E1)-(E3) of theory/equiangular.py
(scipy DOP853) for SA and USA with post-LN, Pre-LN and nGPT-style normalisation; the
asymptotic laws (exponential vs polynomial) are shown on a long ODE run; random tokens in
high dimension (d >= n: nearly orthogonal, rho_ij ~ 0 +- d^{-1/2}) follow the ODE from their
mean initial inner product, ever more closely as d grows (integrated in an orthonormal basis
of their span, which the dynamics never leave: exact, and the cost does not grow with d).

The results are one Dataset (`equiangular.nc`): per model (`case`: kind, norm) the particles' mean
rho and the ODE on the saved times, the ODE on a fine grid and its long tail 1 - rho, the largest
errors and the asymptotic law; per dimension `dim` of the random tokens their mean, range and ODE.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .. import init, plots
from ..integrate import simulate
from ..model import Model
from ..plots.experiments import equiangular as figures
from ..theory import equiangular as eq
from . import Section, experiment, quiet, save_datasets, steps

CASES = [(kind, norm) for norm in ("post", "pre", "ngpt") for kind in ("sa", "usa")]
SIZES = {"quick": {"n": 6, "random_n": 16, "dims": (64, 1024)},
         "full": {"n": 12, "random_n": 32, "dims": (32, 128, 1024, 4096)}}
BETA, RHO0, T_END = 1.0, 0.1, 5.0
RTOL, ATOL = 1e-12, 1e-14
FINE, TAIL = 200, 300  # points of the ODE's fine curve and of its long tail


def pairwise(x: np.ndarray) -> np.ndarray:
    """Off-diagonal inner products of the directions x_i/|x_i|, per saved time: (time, n(n-1))."""
    theta = x / np.linalg.norm(x, axis=-1, keepdims=True)
    gram = np.einsum("tid,tjd->tij", theta, theta)
    return gram[:, ~np.eye(x.shape[1], dtype=bool)]


def particle_run(kind: str, norm: str, x0, beta: float = BETA, t_end: float = T_END):
    """Dense-engine run at rtol RTOL: (times, off-diagonal inner products, norms |x_i|)."""
    ds = simulate(Model(kind=kind, beta=beta, dim=x0.shape[1], norm=norm), x0, t_end=t_end, method="dopri5",
                  rtol=RTOL, atol=ATOL, save_every=t_end / 20, observables=())
    return ds.time.values, pairwise(ds.x.values), np.linalg.norm(ds.x.values, axis=-1)


def model_case(kind: str, norm: str, x0, n: int) -> dict:
    """One model from the equiangular start: particles against the ODE, and the ODE's long tail."""
    t, inner, r = particle_run(kind, norm, x0)
    sol = eq.solve(n, BETA, RHO0, t, kind, norm)
    fine = eq.solve(n, BETA, RHO0, np.linspace(0, T_END, FINE), kind, norm)
    law, rate = eq.asymptotics(BETA, kind, norm)
    long = np.geomspace(1e-2, 1e4 if law == "polynomial" else 70 / rate, TAIL)  # to 1 - rho ~ 1e-30
    tail = eq.solve(n, BETA, RHO0, np.concatenate([[0], long]), kind, norm)
    return {"time": t, "rho_particles": inner.mean(1), "rho_ode_fine": fine.rho,
            "max_rho_error": float(np.abs(inner - sol.rho[:, None]).max()),
            "max_r_error": float(np.abs(r - sol.r[:, None]).max()), "law": law, "rate": rate,
            "tail_time": long, "gap_ode": tail.gap[1:]}


def random_case(dim: int, m: int) -> dict:
    """m random tokens in dimension `dim` (SA, post-LN) against the ODE from their mean initial inner product."""
    x = init.uniform(m, dim, seed=1)
    x = x @ np.linalg.qr(x.T)[0]  # the same Gram matrix in the m-dimensional span (dynamics stay in it)
    t, inner, _ = particle_run("sa", "post", x, beta=BETA, t_end=T_END)
    sol = eq.solve(m, BETA, float(inner[0].mean()), t, "sa", "post")
    return {"random_rho_mean": inner.mean(1), "random_rho_min": inner.min(1), "random_rho_max": inner.max(1),
            "random_rho_ode": sol.rho, "max_mean_deviation": float(np.abs(inner.mean(1) - sol.rho).max()),
            "max_spread": float((inner.max(1) - inner.min(1)).max())}


def results(scale: str, progress=quiet) -> xr.Dataset:
    """The six models from the equiangular start and the random tokens of each dimension, as one Dataset."""
    size = SIZES[scale]
    n, m = size["n"], size["random_n"]
    x0 = init.equiangular(n, RHO0, dim=n + 1, seed=0)
    cases = [model_case(kind, norm, x0, n)
             for kind, norm in steps(progress, CASES, lambda case: f"{case[0].upper()} {case[1]}")]
    randoms = [random_case(dim, m) for dim in size["dims"]]

    def stack(rows, key, dims):
        return dims, np.array([row[key] for row in rows])

    case = ("case",)
    return xr.Dataset(
        {"rho_particles": stack(cases, "rho_particles", ("case", "time")),
         "rho_ode_fine": stack(cases, "rho_ode_fine", ("case", "fine_time")),
         "max_rho_error": stack(cases, "max_rho_error", case), "max_r_error": stack(cases, "max_r_error", case),
         "law": stack(cases, "law", case), "rate": stack(cases, "rate", case),
         "tail_time": stack(cases, "tail_time", ("case", "tail")), "gap_ode": stack(cases, "gap_ode", ("case", "tail")),
         **{key: stack(randoms, key, ("dim", "time")) for key in
            ("random_rho_mean", "random_rho_min", "random_rho_max", "random_rho_ode")},
         "max_mean_deviation": stack(randoms, "max_mean_deviation", ("dim",)),
         "max_spread": stack(randoms, "max_spread", ("dim",))},
        coords={"case": np.arange(len(CASES)), "kind": ("case", [k for k, _ in CASES]),
                "norm": ("case", [v for _, v in CASES]), "time": cases[0]["time"],
                "fine_time": np.linspace(0, T_END, FINE), "dim": list(size["dims"])},
        attrs={"n": n, "random_n": m, "beta": BETA, "rho0": RHO0, "t_end": T_END, "rtol": RTOL})


def summary(ds: xr.Dataset) -> list[dict]:
    """The rows of summary.json: one per model, then one per dimension of the random tokens."""
    rows = [{"kind": c.kind.item(), "norm": c.norm.item(), "max_rho_error": float(c.max_rho_error),
             "max_r_error": float(c.max_r_error), "law": c.law.item(), "rate": float(c.rate)}
            for c in (ds.isel(case=i) for i in range(ds.sizes["case"]))]
    return rows + [{"dim": int(r.dim), "n": int(ds.attrs["random_n"]), "max_mean_deviation": float(r.max_mean_deviation),
                    "max_spread": float(r.max_spread)} for r in (ds.isel(dim=i) for i in range(ds.sizes["dim"]))]


def markdown(ds: xr.Dataset) -> str:
    """The section's text and tables, every number from `ds`."""
    a = ds.attrs
    table = [f"| kind | norm | max error of ρ on [0, {a['t_end']:g}] | max error of r | 1 − ρ as t → ∞ |",
             "|---|---|---|---|---|"]
    table += [f"| {c.kind.item().upper()} | {c.norm.item()} | {float(c.max_rho_error):.1e} | {float(c.max_r_error):.1e} | "
              + (f"e^(−{float(c.rate):.4g} t)" if c.law.item() == "exponential" else f"C t^−{float(c.rate):g}") + " |"
              for c in (ds.isel(case=i) for i in range(ds.sizes["case"]))]
    random_table = ["| d | max deviation of mean ρ_ij from the ODE | max spread of ρ_ij |", "|---|---|---|"]
    random_table += [f"| {int(r.dim)} | {float(r.max_mean_deviation):.2e} | {float(r.max_spread):.2e} |"
                     for r in (ds.isel(dim=i) for i in range(ds.sizes["dim"]))]
    worst = float(max(ds.max_rho_error.max(), ds.max_r_error.max()))
    return (
        f"Exact equiangular starts (n = {a['n']}, ρ(0) = {a['rho0']:g}, β = {a['beta']:g}) integrated as particle "
        f"systems (dense engine, dopri5 at rtol {a['rtol']:g}) against the ODE for ρ (and the norm r, Pre-LN) of "
        f"theory/equiangular.py (E1–E3, scipy DOP853): largest deviation over t ∈ [0, {a['t_end']:g}] and all "
        f"{ds.sizes['case']} models: {worst:.1e}. Post-LN: $1 - \\rho \\sim e^{{-2t}}$ (SA), $e^{{-2e^\\beta t}}$ (USA); "
        "nGPT-style normalisation of the attention output: $e^{-2t}$ for both; Pre-LN: the norm grows linearly and "
        "the rate becomes polynomial, $1 - \\rho \\sim C t^{-2}$, for both SA and USA. Random tokens in dimension "
        f"d ≥ n (n = {a['random_n']}) start nearly orthogonal and follow the ODE from their mean inner product; the "
        "spread of the $\\rho_{ij}$ shrinks like $d^{-1/2}$.\n\n"
        + "\n".join(table) + "\n\n" + "\n".join(random_table) + "\n\n![Left: $\\rho(t)$ of the six models from the equiangular start, particles (markers) on the ODE (lines; coinciding laws share a curve, told apart by style). Middle: $1 - \\rho(t)$ of the ODE to $10^{-30}$, with its asymptotic law. Right: random tokens, mean and range of $\\rho_{ij}$ against the ODE.](equiangular.png)\n")


@experiment("equiangular", order=300)
def run(out: Path, scale: str, progress=quiet) -> Section:
    ds = results(scale, progress)
    datasets = save_datasets(out, "equiangular", scale, {"equiangular": ds})
    plots.save(figures.figure(ds), out / "equiangular.png")
    return Section("Equiangular model: ρ(t) for SA, USA, Pre-LN and nGPT", markdown(ds), ["equiangular.png"],
                   {"equiangular": summary(ds)}, datasets)
