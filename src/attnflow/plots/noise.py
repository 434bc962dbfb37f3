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


def bifurcation_diagram(branch: xr.Dataset, first_order: float):
    """|m_1| (left) and the free energy relative to the uniform state (right) against D / D_#: stable states
    solid, unstable dashed; the uniform state (stable for D > D_#); D_c dotted."""
    threshold = branch.attrs["critical_diffusion"]
    d = branch.diffusion.values / threshold
    figure, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, values, label in ((axes[0], branch.order_parameter.values, "|m₁|"),
                              (axes[1], branch.free_energy.values / threshold, "(F − F_uniform) / D_#")):
        for start, stop, stable in _pieces(branch.stable.values):
            ax.plot(d[start:stop], values[start:stop], "C0", ls="-" if stable else "--")
        low, high = min(d.min(), 0.9), max(d.max(), 1.0) * 1.05
        ax.plot([low, 1], [0, 0], "k--", lw=1)
        ax.plot([1, high], [0, 0], "k-", lw=1, label="uniform state")
        ax.axvline(first_order / threshold, color="tab:red", ls=":", label=f"D_c = {first_order / threshold:.4g} D_#")
        ax.set(xlabel="D / D_#", ylabel=label)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"Zonal stationary states, USA, β = {branch.attrs['beta']:g}, d = {branch.attrs['dim']} "
                    "(solid: stable, dashed: unstable)")
    return figure
