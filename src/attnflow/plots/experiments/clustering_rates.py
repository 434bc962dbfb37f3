"""Figure of the experiment `clustering_rates` (docs/science.md §4), drawn from its Dataset."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr


def figure(ds: xr.Dataset):
    """Left: W_2 to the nearest Dirac against c t for every run (SA solid, USA dashed); right: the fitted
    late-phase rate against beta per (kind, d), with the derived rates 1 (SA) and e^beta (USA) and the
    sufficient rate of Chen et al."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for kind in ds.kind.values:
        for beta in ds.beta.values:
            for dim in ds.dim.values:
                r = ds.sel(kind=kind, beta=beta, dim=dim)
                axes[0].semilogy(r.time * r.predicted, r.w2, "-" if kind == "sa" else "--", lw=1,
                                 label=f"{kind.upper()} β={beta:g} d={dim}")
    axes[0].set(xlabel="c·t (c = 1 for SA, e^β for USA)", ylabel="W₂(μ_t, δ)", ylim=(1e-14, 2),
                title="distance to the nearest Dirac mass")
    axes[0].legend(fontsize=6, ncol=2)
    for kind, marker in zip(ds.kind.values, "os"):
        for dim in ds.dim.values:
            axes[1].semilogy(ds.beta, ds.rate.sel(kind=kind, dim=dim), marker, mfc="none",
                             label=f"{kind.upper()} d={dim}")
    grid = np.linspace(0, float(ds.beta.max()), 100)
    axes[1].semilogy(grid, np.exp(grid), "k-", lw=1, label="e^β (USA, derived)")
    axes[1].semilogy(grid, np.ones_like(grid), "k--", lw=1, label="1 (SA, derived)")
    axes[1].axhline(ds.attrs["paper_rate"], color="grey", lw=1, ls=":",
                    label=f"{ds.attrs['paper_rate']:g} (Chen et al., sufficient)")
    axes[1].set(xlabel="β", ylabel="late-phase rate of W₂", title="fitted rate vs local rate at a point mass")
    axes[1].legend(fontsize=6, ncol=2)
    return fig
