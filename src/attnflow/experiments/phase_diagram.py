"""Experiment `phase_diagram`: the (t, beta) phase diagram of clustering (docs/science.md §4–5, the survey's figure).

n = 32 tokens i.i.d. uniform on S^{d-1}, SA with identity parameters, d in {8, 128, 1024}:
the fraction of runs in which every pairwise inner product exceeds 0.999 at time t, with
the equiangular prediction t*(beta) (theory/equiangular.py: rho(0) = 0, the inner product of
random tokens as d -> infinity, reaching 0.999) drawn over it. The transition sharpens onto
the curve as d grows, because the initial inner products concentrate at 0 (spread ~ d^{-1/2}).

`--quick` integrates all runs of one d at once in-process (`attnflow.simulate` of the ensemble of runs
and betas, RK4, dt = 0.1; for d > n the tokens are first written in an orthonormal basis of their span, which
the dynamics never leave, so the cost does not depend on d). `--full` runs the grid through
the sweep engine (`attnflow.sweep`, task `phase_diagram`, adaptive dopri5) on a local Dask cluster.

The results are one Dataset (`phase_diagram.nc`): the fraction over (dim, beta, time), the equiangular
t*(beta), and per dim the width and offset of the transition.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from .. import init, plots
from ..integrate import simulate
from ..model import Model
from ..plots.experiments import phase_diagram as figures
from ..saveat import SaveAt
from ..theory import equiangular as eq
from . import Section, experiment, quiet, save_datasets
from .metastability import single_thread

N, THRESHOLD, DIMS = 32, 0.999, (8, 128, 1024)
SIZES = {"quick": {"betas": np.linspace(0, 6, 7), "seeds": 8, "t_end": 20.0, "observations": 41},
         "full": {"betas": np.linspace(0, 8, 17), "seeds": 16, "t_end": 20.0, "observations": 81}}


def min_inner_product(t: float, x: torch.Tensor) -> torch.Tensor:
    """The observable min_{i,j} <x_i, x_j> of tokens x (n, d): above THRESHOLD, one cluster."""
    return (x @ x.T).min()


def min_inner_products(betas, dim: int, seeds: int, t_end: float, observations: int, n: int = N,
                       dt: float = 0.1) -> np.ndarray:
    """min_{i,j} <x_i(t), x_j(t)>, shape (beta, seed, time), times linspace(0, t_end, observations).

    Seed s gives the tokens `attnflow.init.uniform(n, dim, seed=s)` for every beta; for dim > n they are
    written in an orthonormal basis of their span (inner products unchanged). One `attnflow.simulate` of the
    ensemble (seeds x betas, SA, RK4 with steps of at most dt that land on the observation times) records
    `min_inner_product`. The tensors are tiny, so torch runs on one thread here (a thread pool costs far
    more than it saves).
    """
    starts = []
    for seed in range(seeds):
        x = torch.as_tensor(init.uniform(n, dim, seed=seed))
        if dim > n:  # coordinates in an orthonormal basis of the span: inner products are unchanged
            basis, _ = torch.linalg.qr(x.T)
            x = x @ basis
        starts.append(x)
    x0 = torch.stack(starts).repeat(len(betas), 1, 1)
    every = t_end / (observations - 1)
    h = every / max(1, math.ceil(every / dt - 1e-9))
    systems = [Model("sa", float(beta), x0.shape[-1]) for beta in betas for _ in range(seeds)]
    with single_thread():
        ds = simulate(systems, x0, t_end, dt=h, method="rk4", saveat=SaveAt(ts=[0.0], observe_every=every),
                      observables={"min_inner_product": min_inner_product})
    return ds.min_inner_product.values.T.reshape(len(betas), seeds, observations)


def _fractions_in_process(size) -> dict[int, np.ndarray]:
    return {dim: (min_inner_products(size["betas"], dim, size["seeds"], size["t_end"], size["observations"])
                  > THRESHOLD).mean(axis=1) for dim in DIMS}


def _fractions_sweep(size, out: Path) -> dict[int, np.ndarray]:
    from ..sweep import run_sweep  # the sweep engine (Dask), only for --full

    spec = {"task": "phase_diagram", "fixed": {"kind": "sa", "n": N, "t_end": size["t_end"],
                                                "observations": size["observations"], "threshold": THRESHOLD},
            "grid": {"beta": [float(b) for b in size["betas"]], "dim": list(DIMS)}, "seeds": size["seeds"]}
    store = out / "phase_diagram.zarr"
    run_sweep(spec, out=str(store), workers=2, overwrite=True)

    ds = xr.open_zarr(store)
    fraction = ds["clustered"].mean([d for d in ds["clustered"].dims if d not in ("beta", "dim", "time")])
    return {dim: fraction.sel(dim=dim).transpose("beta", "time").values for dim in DIMS}


def transition(times: np.ndarray, fraction: np.ndarray) -> tuple[float, float, float]:
    """(t_10, t_50, t_90): first times the fraction reaches 0.1, 0.5, 0.9 (nan if never)."""
    def first(level):
        hit = np.nonzero(fraction >= level)[0]
        return float(times[hit[0]]) if hit.size else float("nan")
    return first(0.1), first(0.5), first(0.9)


def results(scale: str, progress=quiet, out: Path | None = None) -> xr.Dataset:
    """The fraction of runs in one cluster over (dim, beta, time), the equiangular t*(beta), and per dim the
    transition's mean width t_90 - t_10 and mean distance of t_50 from t* over the resolved betas."""
    size = SIZES[scale]
    progress(f"{len(size['betas'])} β × {len(DIMS)} dimensions ({scale})")
    fractions = _fractions_in_process(size) if scale == "quick" else _fractions_sweep(size, out)
    times = np.linspace(0, size["t_end"], size["observations"])
    betas = size["betas"]
    fine = np.linspace(0, betas[-1], 81)
    predicted = np.array([eq.clustering_time(N, b, 0.0, THRESHOLD) for b in betas])
    widths, offsets, resolved_counts = [], [], []
    for dim in DIMS:
        marks = np.array([transition(times, f) for f in fractions[dim]])
        resolved = np.isfinite(marks).all(axis=1) & (predicted < size["t_end"])
        widths.append(float(np.mean(marks[resolved, 2] - marks[resolved, 0])))
        offsets.append(float(np.mean(np.abs(marks[resolved, 1] - predicted[resolved]))))
        resolved_counts.append(int(resolved.sum()))
    return xr.Dataset(
        {"fraction": (("dim", "beta", "time"), np.array([fractions[dim] for dim in DIMS])),
         "predicted_t": ("beta", predicted),
         "predicted_t_fine": ("fine_beta", [eq.clustering_time(N, b, 0.0, THRESHOLD) for b in fine]),
         "mean_width": ("dim", widths), "mean_offset": ("dim", offsets), "betas_resolved": ("dim", resolved_counts)},
        coords={"dim": list(DIMS), "beta": betas, "time": times, "fine_beta": fine},
        attrs={"n": N, "threshold": THRESHOLD, "seeds": size["seeds"], "t_end": size["t_end"],
               "method": "in-process, batched RK4" if scale == "quick" else "through the sweep engine (Dask, dopri5)"})


def summary(ds: xr.Dataset) -> list[dict]:
    """The rows of summary.json, one per dim."""
    return [{"dim": int(r.dim), "mean_width": float(r.mean_width), "mean_offset": float(r.mean_offset),
             "betas_resolved": int(r.betas_resolved)} for r in (ds.isel(dim=i) for i in range(ds.sizes["dim"]))]


def markdown(ds: xr.Dataset) -> str:
    """The section's text and table, every number from `ds`."""
    a = ds.attrs
    table = ["| d | mean width t₉₀ − t₁₀ | mean distance of t₅₀ from the ODE's t* | β resolved |",
             "|---|---|---|---|"]
    table += [f"| {r['dim']} | {r['mean_width']:.2f} | {r['mean_offset']:.2f} | {r['betas_resolved']} |"
              for r in summary(ds)]
    dims = ", ".join(str(d) for d in ds.dim.values)
    return (
        f"n = {a['n']} tokens, i.i.d. uniform on S^(d−1), SA; {a['seeds']} runs per (β, d), {a['method']}. "
        f"Colour: the fraction of runs with every pairwise inner product above {a['threshold']:g} at time t. "
        "Cyan: the time t*(β) at which the equiangular ODE (theory/equiangular.py, E1) started at ρ = 0 — "
        f"the inner product of random tokens as d → ∞ — reaches {a['threshold']:g}. The transition (t₁₀ to t₉₀, over "
        "the β whose t* falls inside the window) narrows and moves onto the equiangular curve as d grows, "
        "because the initial inner products concentrate at 0 (spread $\\sim d^{-1/2}$); at "
        f"d = {int(ds.dim[0])} < n the tokens are far from equiangular and the spread of collapse times is wide.\n\n"
        + "\n".join(table) + f"\n\n![Fraction of seeds in one cluster over $(t, \\beta)$ for $d$ = {dims}, with the "
        "equiangular curve.](phase_diagram.png)\n")


@experiment("phase_diagram", order=350)
def run(out: Path, scale: str, progress=quiet) -> Section:
    ds = results(scale, progress, out)
    datasets = save_datasets(out, "phase_diagram", scale, {"phase_diagram": ds})
    plots.save(figures.figure(ds), out / "phase_diagram.png")
    return Section("Phase diagram of clustering in (t, β)", markdown(ds), ["phase_diagram.png"],
                   {"phase_diagram": summary(ds)}, datasets)
