"""Figures of the experiment `pde_sphere` (docs/science.md §3, §8), drawn from its Datasets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..pde import sphere_density


def figure(ds: xr.Dataset, run: xr.Dataset, particles: xr.Dataset):
    """The PDE density on a Mollweide map, the particles on the same map, the fitted rates against gamma_l,
    and the particle–PDE distance against n."""
    fig = plt.figure(figsize=(12, 8))
    sphere_density(run, ax=fig.add_subplot(2, 2, 1, projection="mollweide"))
    ax = fig.add_subplot(2, 2, 2, projection="mollweide")
    x = particles.x.values[-1]
    ax.scatter(np.arctan2(x[:, 1], x[:, 0]), np.arcsin(np.clip(x[:, 2], -1, 1)), s=1, color="black", alpha=0.4)
    ax.set_title(f"particles, n = {particles.sizes['token']:,}, time {float(particles.time[-1]):.3g}", fontsize=9)
    ax.set_xticklabels([])
    ax = fig.add_subplot(2, 2, 3)
    for beta in ds.beta.values:
        line, = ax.plot(ds.degree, ds.gamma.sel(beta=beta), "--", lw=0.8)
        ax.plot(ds.degree, ds.fitted_gamma.sel(beta=beta), "o", color=line.get_color(), label=f"β = {beta:g}")
    ax.set(xlabel="degree l", ylabel="rate", title="fitted (dots) and γ_l(β, 3) (dashed)")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(2, 2, 4)
    n = ds.n.values
    ax.loglog(n, ds.smoothed_l2, "o-", label="smoothed L2")
    ax.loglog(n, ds.smoothed_l2.values[0] * np.sqrt(n[0] / n), "k--", lw=0.8, label="n^(-1/2)")
    ax.set(xlabel="n", ylabel="distance", title="particles against the PDE")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
