"""Figures from sweep stores (`attnflow.sweep`): they read only the store, so they work on
a finished sweep, a resumed one, or one still running (points not done yet are NaN and skipped)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..errors import AttnflowError
from ..sweep.store import DONE
from .files import check_figure_path, save


def open_sweep(store) -> xr.Dataset:
    """The sweep store as a Dataset, with points not done masked to NaN."""
    path = Path(store)
    if not (path / ".zattrs").exists() and not (path / "zarr.json").exists():
        raise AttnflowError(f"store={str(path)!r} is not a Zarr store")
    ds = xr.open_zarr(path)
    if "sweep_task" not in ds.attrs:
        raise AttnflowError(f"store={str(path)!r} is not a sweep store (no sweep_task attribute)")
    done = ds["status"] == DONE
    return ds.assign({name: ds[name].where(done) for name in ds.attrs["sweep_record"]})


def cluster_counts(ds: xr.Dataset):
    """Mean number of clusters against beta, one line per n, with error bars of one standard deviation
    over the seeds (the spread of single runs), and the predicted k*(beta) = argmax_k gamma_k
    (docs/science.md §3) as a step function whose steps sit at the exact transitions
    `theory.mode_transition` (from `theory.dominant_mode_table`)."""
    from ..theory import dominant_mode_table

    counts = ds["cluster_count"]
    others = [d for d in counts.dims if d not in ("beta", "n")]
    mean, spread = counts.mean(others), counts.std(others)
    seeds = int(np.prod([counts.sizes[d] for d in others])) if others else 1
    figure, ax = plt.subplots(figsize=(6, 4))
    markers = "osD^v<>"
    for number, n in enumerate(ds["n"].values if "n" in counts.dims else [None]):
        m = mean.sel(n=n) if n is not None else mean
        s = spread.sel(n=n) if n is not None else spread
        ax.errorbar(ds["beta"].values, m.values, yerr=s.values, marker=markers[number % len(markers)], capsize=3,
                    label=(f"n = {n}, " if n is not None else "") + f"mean ± 1 s.d. over {seeds} runs")
    if "dominant_mode" in ds:
        beta = ds["beta"].values
        rows = dominant_mode_table(float(beta.max()), 2, beta_min=float(beta.min()))  # the task is on the circle
        edges = [float(beta.min())] + [row.beta_end for row in rows[:-1]] + [float(beta.max())]
        ax.stairs([row.k for row in rows], edges, color="black", lw=1.2, baseline=None,
                  label="k* (linear theory), steps at " + ", ".join(f"β = {row.beta_end:.4g}" for row in rows[:-1]))
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel("clusters at the first metastable time")
    ax.legend(fontsize=7)
    figure.tight_layout()
    return figure


def phase_diagram(ds: xr.Dataset):
    """Fraction of seeds with all pairwise inner products above the threshold, over (beta, t);
    one panel per dim."""
    fraction = ds["clustered"].mean([d for d in ds["clustered"].dims if d not in ("beta", "dim", "time")])
    dims = list(ds["dim"].values) if "dim" in fraction.dims else [ds.attrs.get("dim")]
    figure, axes = plt.subplots(1, len(dims), figsize=(3.6 * len(dims) + 1, 3.6), squeeze=False, sharey=True,
                             layout="constrained")
    for ax, dim in zip(axes[0], dims):
        panel = fraction.sel(dim=dim) if "dim" in fraction.dims else fraction
        image = ax.pcolormesh(ds["beta"].values, ds["time"].values, panel.transpose("time", "beta").values,
                              vmin=0, vmax=1, cmap="magma", shading="nearest")
        ax.set_title(f"d = {dim}")
        ax.set_xlabel(r"$\beta$")
    axes[0][0].set_ylabel("t")
    figure.colorbar(image, ax=axes[0].tolist(), label="fraction in one cluster")
    return figure


def final_values(ds: xr.Dataset):
    """Each recorded scalar series of a `simulate` sweep at its last time, against the first grid dim
    (one line per value of the second, mean over the rest)."""
    grid = [d for d in ds["status"].dims]
    names = [n for n in ds.attrs["sweep_record"] if set(ds[n].dims) - set(grid) <= {"time"}]
    if not names:
        raise AttnflowError("no scalar output to plot (record energy or order_parameter)")
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = ds[name].isel(time=-1) if "time" in ds[name].dims else ds[name]
        values = values.mean(grid[2:]) if len(grid) > 2 else values
        for label in ds[grid[1]].values if len(grid) > 1 else [None]:
            line = values.sel({grid[1]: label}) if label is not None else values
            ax.plot(ds[grid[0]].values, line.values, marker="o",
                    label=None if label is None else f"{grid[1]} = {label}")
        ax.set_xlabel(grid[0])
        ax.set_ylabel(f"{name} at t_end")
        if len(grid) > 1:
            ax.legend()
    figure.tight_layout()
    return figure


FIGURES = {"cluster_count": cluster_counts, "phase_diagram": phase_diagram, "simulate": final_values}


def plot_store(store, out) -> Path:
    """Draw the figure of a sweep store (chosen by its task) into the image file `out` (checked first:
    a known extension, a writable folder, nothing there that attnflow did not write)."""
    check_figure_path(out, "out")
    ds = open_sweep(store)
    task = ds.attrs["sweep_task"]
    if task not in FIGURES:
        raise AttnflowError(f"no figure for task {task!r}; figures exist for {', '.join(FIGURES)}")
    figure = FIGURES[task](ds)
    save(figure, out)
    return Path(out)
