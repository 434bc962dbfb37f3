"""Figures of the experiment `pde_circle` (docs/science.md §2–3, §5), drawn from its Datasets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ..particles import trajectories
from ..pde import mode_growth, snapshots, spacetime


def run_figure(numbers: xr.Dataset, run: xr.Dataset, particles: xr.Dataset):
    """One beta: PDE density snapshots with the predicted sites, the space–time map, the mode amplitudes
    against |mu_k(0)| e^{gamma_k t}, and the particle run of the same beta. `numbers` is `pde_circle`
    at that beta."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    snapshots(run, sites=run.predicted_site.values, ax=axes[0, 0])
    axes[0, 0].set_title(f"PDE density, β = {float(numbers.beta):g} (dashed: predicted sites, "
                         f"k = {int(numbers.k_linear)})")
    spacetime(run, ax=axes[0, 1])
    axes[0, 1].set_title(f"finite volumes, N = {run.sizes['angle']}")
    mode_growth(run, numbers.gamma.values, ax=axes[1, 0])
    axes[1, 0].set_title(r"$|\mu_k(t)|$, dashed: $|\mu_k(0)|\,e^{\gamma_k t}$")
    trajectories(particles.time.values, particles.angle.values, ax=axes[1, 1])
    axes[1, 1].set_title(f"particles, n = {particles.sizes['token']} i.i.d. uniform (same β)")
    return fig


def w1_figure(ds: xr.Dataset):
    """W1 of the particle measure to the PDE density against n, with the slope n^{-1/2}."""
    fig, ax = plt.subplots(figsize=(5, 4))
    n = ds.w1_n.values.astype(float)
    ax.loglog(n, ds.w1, "o-", label="W1(particles, PDE)")
    ax.loglog(n, float(ds.w1[0]) * np.sqrt(n[0] / n), "k--", lw=0.8, label=r"$\propto n^{-1/2}$")
    ax.set(xlabel="n", ylabel="W1", title=f"β = {ds.attrs['w1_beta']:g}, t = {ds.attrs['w1_time']:g}")
    ax.legend()
    return fig
