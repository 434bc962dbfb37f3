"""Experiment `clustering_rates`: the late-phase rate of W_2(mu_t, delta) (docs/science.md §4).

Tokens start in a cap (one open hemisphere, so they collapse to one cluster); W_2 to the
nearest Dirac is measured on the saved snapshots and its exponential rate fitted where
1e-10 < W_2 < 1e-3 (the late phase, where the linearisation of theory/rates.py (R1) holds).
The fitted rate is compared with the local rate at a point mass, c = 1 (SA) and e^beta
(USA), and with Chen et al.'s sufficient rate 1/100.

The results are one Dataset (`clustering_rates.nc`) over (kind, beta, dim): W_2 and the time at each
snapshot, R_0, the fitted and the predicted rate and their relative difference.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from .. import init, observables, plots
from ..growth import exponential_rate
from ..integrate import simulate
from ..model import Model
from ..plots.experiments import clustering_rates as figures
from ..theory.rates import point_mass_rate
from . import Section, experiment, quiet, save_datasets, steps

PAPER_RATE = 0.01  # Chen, Lin, Polyanskiy, Rigollet: W_2 <= C e^{-t/100} (small beta)
LATE_PHASE = (1e-10, 1e-3)
CAP = 0.5  # angular radius of the initial cap times sqrt(max(beta, 1) (d - 1))
SIZES = {"quick": {"n": 32, "betas": (1.0, 4.0), "dims": (2, 8)},
         "full": {"n": 64, "betas": (0.1, 0.5, 1.0, 2.0, 4.0, 8.0), "dims": (2, 3, 8, 32)}}


def late_phase_rate(t: np.ndarray, w2: np.ndarray, window=LATE_PHASE) -> float:
    """c in W_2 ~ C e^{-c t}: `exponential_rate` of W_2 where window[0] < W_2 < window[1] (nan with fewer
    than 3 such snapshots: the run never reached its late phase)."""
    late = (w2 > window[0]) & (w2 < window[1])
    return -exponential_rate(t, w2, late) if late.sum() >= 3 else math.nan


def measure(kind: str, beta: float, dim: int, n: int, seed: int = 0) -> xr.Dataset:
    """One run from a cap of angular radius ~CAP/sqrt(max(beta, 1)) (narrow enough that no metastable
    sub-clusters form first): R_0, W_2 at each snapshot, the fitted and the predicted rate."""
    c = point_mass_rate(beta, kind)
    x0 = init.clusters(n, dim, centers=1, spread=CAP / math.sqrt(max(beta, 1.0) * (dim - 1)), seed=seed)
    ds = simulate(Model(kind=kind, beta=beta, dim=dim), x0, t_end=30 / c, dt=0.05 / c, method="rk4",
                  save_every=0.25 / c, observables=())
    w2 = np.array([observables.w2_to_dirac(x) for x in ds.x.values])
    t = ds.time.values
    fitted = late_phase_rate(t, w2)
    return xr.Dataset({"time": ("snapshot", t), "w2": ("snapshot", w2), "R0": observables.r0(x0), "rate": fitted,
                       "predicted": c, "relative_error": abs(fitted / c - 1)},
                      coords={"kind": kind, "beta": beta, "dim": dim}, attrs={"n": n, "seed": seed})


def results(scale: str, progress=quiet) -> xr.Dataset:
    """`measure` over (kind, beta, dim) of the scale."""
    size = SIZES[scale]
    cases = [(kind, beta, dim) for kind in ("sa", "usa") for beta in size["betas"] for dim in size["dims"]]
    runs = [measure(kind, beta, dim, size["n"])
            for kind, beta, dim in steps(progress, cases, lambda c: f"{c[0].upper()}, β = {c[1]:g}, d = {c[2]}")]
    ds = xr.concat(runs, "case", coords="all").set_index(case=["kind", "beta", "dim"]).unstack("case")
    ds = ds.transpose("kind", "beta", "dim", ...)
    return ds.assign_attrs(n=size["n"], seed=0, late_phase=list(LATE_PHASE), paper_rate=PAPER_RATE, cap=CAP)


def rows(ds: xr.Dataset) -> list[xr.Dataset]:
    """The runs in the order kind, beta, dim."""
    return [ds.sel(kind=kind, beta=beta, dim=dim) for kind in ds.kind.values for beta in ds.beta.values
            for dim in ds.dim.values]


def summary(ds: xr.Dataset) -> list[dict]:
    """The rows of summary.json, one per run."""
    return [{"kind": str(r.kind.item()), "beta": float(r.beta), "dim": int(r.dim), "n": int(ds.attrs["n"]),
             "R0": float(r.R0), "rate": float(r.rate), "predicted": float(r.predicted),
             "relative_error": float(r.relative_error)} for r in rows(ds)]


def markdown(ds: xr.Dataset) -> str:
    """The section's text and table, every number from `ds`."""
    a = ds.attrs
    low, high = a["late_phase"]
    table = ["| kind | β | d | R₀ | fitted rate | derived rate | rel. error |", "|---|---|---|---|---|---|---|"]
    table += [f"| {r['kind'].upper()} | {r['beta']:g} | {r['dim']} | {r['R0']:.3f} | {r['rate']:.4g} | "
              f"{r['predicted']:.4g} | {r['relative_error']:.1e} |" for r in summary(ds)]
    return (
        f"Tokens (n = {a['n']}) start in a cap of angular radius about {a['cap']:g}/√max(β, 1) (one open hemisphere, "
        "so R₀ > 0 and they collapse to one cluster). W₂ to the nearest Dirac mass, "
        "$W_2^2 = 2 - 2|\\bar x|$ computed as $\\frac1n \\sum_j |x_j - \\bar x/|\\bar x||^2$, is fitted by $C e^{-ct}$ where "
        f"{low:g} < W₂ < {high:g}. Linearising the dynamics at a point mass "
        "(theory/rates.py, R1) gives $c = 1$ for SA, independent of $\\beta$ and $d$, and $c = e^\\beta$ for USA. "
        f"Largest relative deviation of the fitted rate from the derived one: {float(ds.relative_error.max()):.1e}. "
        f"Chen et al.'s theorem guarantees the (much smaller) rate {a['paper_rate']:g} for small β. (A wider cap at "
        "large β first forms several sub-clusters that merge only after a metastable phase; see the "
        "counterexample section.)\n\n"
        + "\n".join(table) + "\n\n![$W_2$ to the nearest Dirac mass against $ct$ (left: SA and USA, each $d$; the predicted slope is $-1$) and the fitted rate against the predicted one (right).](clustering_rates.png)\n")


@experiment("clustering_rates", order=310)
def run(out: Path, scale: str, progress=quiet) -> Section:
    ds = results(scale, progress)
    datasets = save_datasets(out, "clustering_rates", scale, {"clustering_rates": ds})
    plots.save(figures.figure(ds), out / "clustering_rates.png")
    return Section("Clustering rates: W₂ to the nearest Dirac mass", markdown(ds), ["clustering_rates.png"],
                   {"clustering_rates": summary(ds)}, datasets)
