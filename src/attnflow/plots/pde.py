"""Figures of a PDE run (`attnflow.pde.solve`): density snapshots, the space–time map, mode growth (the circle and
zonal densities, against theta or t = <x, e>), and the density on S^2 on an equal-area (Mollweide) map.

Each helper draws on a given `Axes` (a new figure when none is given) and returns the Axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from .axes import axes_or_new


def _space(ds) -> tuple[np.ndarray, str, tuple | None]:
    """The spatial coordinate of a circle or zonal run, its label and its range."""
    if "angle" in ds.coords:
        return ds.angle.values, "θ", (0, 2 * np.pi)
    return ds.t.values, "t = ⟨x, e⟩", (-1, 1)


def snapshots(ds, times=None, sites=None, ax=None, log: bool = True):
    """rho(theta, t) (or rho(t) of a zonal run) at a few saved times (default: 5 spread over the run); `sites`
    (angles, e.g. the predicted k* cluster sites of docs/science.md §3) as dashed vertical lines."""
    ax = axes_or_new(ax)
    available = ds.time.values
    times = available[np.linspace(0, len(available) - 1, min(5, len(available))).astype(int)] \
        if times is None else times
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(times)))
    for t, colour in zip(times, colours):
        rho = ds.density.sel(time=t, method="nearest")
        ax.plot(_space(ds)[0], rho.values, color=colour, lw=1, label=f"time {float(rho.time):.3g}")
    for site in [] if sites is None else sites:
        ax.axvline(np.mod(site, 2 * np.pi), color="grey", ls="--", lw=0.8)
    if log:
        ax.set_yscale("log")
    _, label, limits = _space(ds)
    ax.set(xlabel=label, ylabel="ρ", xlim=limits)
    ax.legend(fontsize=7)
    return ax


def spacetime(ds, ax=None, log: bool = True):
    """The density as a heat map over (theta, t)."""
    ax = axes_or_new(ax)
    rho = ds.density.values
    norm = LogNorm(vmin=max(rho[rho > 0].min(), rho.max() * 1e-4), vmax=rho.max()) if log and (rho > 0).any() \
        else None
    mesh = ax.pcolormesh(_space(ds)[0], ds.time.values, np.where(rho > 0, rho, np.nan) if norm else rho,
                         shading="nearest", cmap="magma", norm=norm)
    ax.figure.colorbar(mesh, ax=ax, label="ρ")
    ax.set(xlabel=_space(ds)[1], ylabel="time")
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


def sphere_density(ds, time=None, ax=None, points=None):
    """The density of an S^2 run at `time` (default the last saved) on a Mollweide map (equal area), longitude
    in (-180, 180]; `points` (n, 3) unit vectors (tokens) drawn on top as dots."""
    if ax is None:
        ax = plt.figure(figsize=(7, 3.8)).add_subplot(projection="mollweide")
    rho = ds.density.isel(time=-1) if time is None else ds.density.sel(time=time, method="nearest")
    lon = np.radians(np.mod(ds.lon.values + 180, 360) - 180)
    order = np.argsort(lon)
    mesh = ax.pcolormesh(lon[order], np.radians(ds.lat.values), rho.values[:, order], shading="gouraud",
                         cmap="magma")
    if points is not None:
        x = np.asarray(points)
        ax.scatter(np.arctan2(x[:, 1], x[:, 0]), np.arcsin(np.clip(x[:, 2], -1, 1)), s=1, color="cyan", alpha=0.4)
    ax.figure.colorbar(mesh, ax=ax, orientation="horizontal", fraction=0.05, label="ρ (against dA)")
    ax.set_title(f"time {float(rho.time):.3g}", fontsize=9)
    ax.set_xticklabels([])
    return ax
