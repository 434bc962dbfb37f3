"""Figures of a PDE run (`attnflow.pde.solve`): density snapshots, the space–time map, mode growth.

Each helper draws on a given `Axes` (a new figure when none is given) and returns the Axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from .axes import axes_or_new


def snapshots(ds, times=None, sites=None, ax=None, log: bool = True):
    """rho(theta, t) at a few saved times (default: 5 spread over the run); `sites` (angles, e.g. the
    predicted k* cluster sites of docs/science.md §3) as dashed vertical lines."""
    ax = axes_or_new(ax)
    available = ds.time.values
    times = available[np.linspace(0, len(available) - 1, min(5, len(available))).astype(int)] \
        if times is None else times
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(times)))
    for t, colour in zip(times, colours):
        rho = ds.density.sel(time=t, method="nearest")
        ax.plot(ds.angle.values, rho.values, color=colour, lw=1, label=f"t = {float(rho.time):.3g}")
    for site in [] if sites is None else sites:
        ax.axvline(np.mod(site, 2 * np.pi), color="grey", ls="--", lw=0.8)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="θ", ylabel="ρ(θ, t)", xlim=(0, 2 * np.pi))
    ax.legend(fontsize=7)
    return ax


def spacetime(ds, ax=None, log: bool = True):
    """The density as a heat map over (theta, t)."""
    ax = axes_or_new(ax)
    rho = ds.density.values
    norm = LogNorm(vmin=max(rho[rho > 0].min(), rho.max() * 1e-4), vmax=rho.max()) if log and (rho > 0).any() \
        else None
    mesh = ax.pcolormesh(ds.angle.values, ds.time.values, np.where(rho > 0, rho, np.nan) if norm else rho,
                         shading="nearest", cmap="magma", norm=norm)
    ax.figure.colorbar(mesh, ax=ax, label="ρ")
    ax.set(xlabel="θ", ylabel="t")
    return ax


def mode_growth(ds, rates, modes=None, ax=None):
    """|mu_k(t)| on a log scale with the linear prediction |mu_k(0)| e^{gamma_k t} dashed."""
    ax = axes_or_new(ax)
    modes = ds.mode.values if modes is None else modes
    t = ds.obs_time.values
    for k in modes:
        a = ds.mode_amplitude.sel(mode=k).values
        line, = ax.semilogy(t, a, lw=1.2, label=f"k = {k}")
        ax.semilogy(t, a[0] * np.exp(rates[k - 1] * t), ls="--", lw=0.8, color=line.get_color())
    ax.set(xlabel="t", ylabel="|μ_k(t)|", ylim=(None, 2))
    ax.legend(fontsize=7, ncol=2)
    return ax
