"""The bifurcation diagram of the noisy dynamics (docs/science.md §6), from a `theory.stationary` branch."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr


def _pieces(stable: np.ndarray):
    """Index ranges of consecutive points of equal stability (each overlapping the next by one point)."""
    edges = np.flatnonzero(np.diff(stable.astype(int))) + 1
    bounds = [0, *edges, len(stable)]
    return [(start, min(stop + 1, len(stable)), bool(stable[start])) for start, stop in zip(bounds, bounds[1:])]


def branch_plot(branch: xr.Dataset, first_order: float | None, values: np.ndarray, ax, label: str):
    """`values` along the branch against D / D_#: stable states solid, unstable dashed; the uniform state at 0
    (stable for D > D_#); D_c dotted (where given)."""
    threshold = branch.attrs["critical_diffusion"]
    d = branch.diffusion.values / threshold
    for start, stop, stable in _pieces(branch.stable.values):
        ax.plot(d[start:stop], values[start:stop], "C0", ls="-" if stable else "--")
    low, high = min(d.min(), 0.9), max(d.max(), 1.0) * 1.05
    ax.plot([low, 1], [0, 0], "k--", lw=1)
    ax.plot([1, high], [0, 0], "k-", lw=1, label="uniform state")
    if first_order is not None:
        ax.axvline(first_order / threshold, color="tab:red", ls=":", label=f"D_c = {first_order / threshold:.4g} D_#")
    ax.set(xlabel="D / D_#", ylabel=label)
    return ax


def bifurcation_diagram(branch: xr.Dataset, first_order: float | None):
    """|m_1| and (USA) the free energy relative to the uniform state against D / D_# (`branch_plot`); D_c
    dotted where given."""
    usa = "free_energy" in branch
    figure, axes = plt.subplots(1, 1 + usa, figsize=(6 + 6 * usa, 4), squeeze=False)
    branch_plot(branch, first_order, branch.order_parameter.values, axes[0, 0], f"|m_{branch.attrs['born_from']}|")
    if usa:
        branch_plot(branch, first_order, branch.free_energy.values / branch.attrs["critical_diffusion"], axes[0, 1],
                    "(F − F_uniform) / D_#")
    axes[0, 0].legend(fontsize=8)
    figure.suptitle(f"Zonal stationary states, {branch.attrs['kind'].upper()}, β = {branch.attrs['beta']:g}, "
                    f"d = {branch.attrs['dim']} (solid: stable, dashed: unstable)")
    return figure
