"""Figure of the experiment `antipodal_counterexample` (docs/science.md §4), drawn from its Dataset."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ...theory.rates import antipodal_split_rate


def figure(ds: xr.Dataset):
    """Left: the spread of the cluster at pi over time, per beta; right: the fitted split rate against the
    derived lambda(beta), the final mass near pi, and beta_c."""
    mass, beta_c = ds.attrs["mass"], ds.attrs["beta_c"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for beta in ds.beta.values:
        axes[0].semilogy(ds.time, ds.spread.sel(beta=beta), lw=1, label=f"β={beta:g}")
    axes[0].set(xlabel="t", ylabel="spread of the cluster at π", title="mirror-symmetric start, USA")
    axes[0].legend(fontsize=7)
    grid = np.linspace(0, float(ds.beta.max()) * 1.05, 200)
    axes[1].plot(grid, antipodal_split_rate(grid, mass, "usa"), "k-", lw=1, label="λ(β) derived (R2)")
    axes[1].plot(ds.beta, ds.split_rate, "o", mfc="none", label="fitted")
    axes[1].plot(ds.beta, ds.final_mass_near_pi, "s", color="C3", label="final mass near π")
    axes[1].axvline(beta_c, color="grey", ls=":", label=f"β_c = ½ log(m/(1−m)) = {beta_c:.3f}")
    axes[1].axhline(0, color="grey", lw=0.5)
    axes[1].set(xlabel="β", title=f"m = {mass:g}: split rate and the mass left at π")
    axes[1].legend(fontsize=7)
    return fig
