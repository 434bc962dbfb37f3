"""Figure of the experiment `kuramoto` (docs/science.md §1–2), drawn from its Dataset."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr


def figure(ds: xr.Dataset):
    """Left: r(t) of the exact reduction, the PDE and the particles; right: 1 - r on a log scale with guide
    lines of slope e^{-t} (density) and e^{-2t} (particles)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    t = ds.t_exact.values
    axes[0].plot(t, ds.r_exact, "k-", lw=1, label="mean field, exact (K1–K2)")
    axes[0].plot(ds.t_pde, ds.r_pde, "C0--", lw=1, label=f"PDE, finite volumes, N = {ds.attrs['grid']}")
    axes[0].plot(ds.t_particles, 1 - ds.gap_particles, "C1:", lw=1.5, label=f"particles, n = {ds.attrs['n']}")
    axes[0].set(xlabel="t", ylabel="r(t) = |μ̂₁|", title="Kuramoto (β = 0): order parameter")
    axes[0].legend(fontsize=8)
    axes[1].semilogy(t, 1 - ds.r_exact, "k-", lw=1, label="mean field, exact")
    axes[1].semilogy(ds.t_pde, 1 - ds.r_pde, "C0--", lw=1, label="PDE")
    axes[1].semilogy(ds.t_particles, ds.gap_particles, "C1:", lw=1.5, label="particles (1 − r = W₂²/2)")
    axes[1].semilogy(t, 0.5 * np.exp(-(t - 8)), "k:", lw=0.7, label=r"$\propto e^{-t}$")
    axes[1].semilogy(t, 1e-4 * np.exp(-2 * (t - 10)), "k-.", lw=0.7, label=r"$\propto e^{-2t}$")
    axes[1].set(xlabel="t", ylabel="1 − r", ylim=(1e-20, 2), title="approach to synchrony")
    axes[1].legend(fontsize=8)
    return fig
