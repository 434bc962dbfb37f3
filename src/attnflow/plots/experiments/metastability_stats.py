"""Figure of the experiment `metastability_statistics` (docs/science.md §3), drawn from its Dataset."""

from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr


def figure(ds: xr.Dataset):
    """Over beta, one line per n: the fraction of runs whose count is k*, the basin count (dashed: the
    finite-n mode), and whose basin sites are right (dashed: the finite-n mode's sites)."""
    tolerance = ds.attrs["site_tolerance"]
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.2), sharey=True)
    panels = (("fraction_k_star", "count = k*"), ("fraction_basins", "count = basin count (dashed: finite-n mode)"),
              ("fraction_basin_sites_ok", f"basin sites within {tolerance:g} rad (dashed: finite-n mode)"))
    dashed = {"fraction_basins": "fraction_finite_n", "fraction_basin_sites_ok": "fraction_sites_ok"}
    for n in ds.n.values:
        part = ds.sel(n=n).where(ds.seeds.sel(n=n) > 0, drop=True)
        for ax, (key, _) in zip(axes, panels):
            line, = ax.plot(part.beta, part[key], "o-", label=f"n = {n}")
            if key in dashed:
                ax.plot(part.beta, part[dashed[key]], "s--", color=line.get_color(), alpha=0.6)
    betas = ds.beta.values
    for ax, (_, title) in zip(axes, panels):
        ax.set(xlabel="β", ylim=(-0.03, 1.03), title=title)
        ax.set_xscale("log")
        ax.set_xticks(betas, [f"{b:g}" for b in betas], minor=False)
        ax.set_xticks([], minor=True)
        ax.title.set_fontsize(9)
    axes[0].set_ylabel("fraction of runs (first metastable state)")
    axes[0].legend(fontsize=8)
    return figure
