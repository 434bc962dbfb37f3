"""Figure of the experiment `phase_diagram` (docs/science.md §4–5), drawn from its Dataset."""

from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr


def figure(ds: xr.Dataset):
    """One panel per d: the fraction of runs in one cluster over (beta, t), with the equiangular t*(beta)."""
    fig, axes = plt.subplots(1, ds.sizes["dim"], figsize=(4 * ds.sizes["dim"] + 1, 3.8), sharey=True,
                             layout="constrained")
    for ax, dim in zip(axes, ds.dim.values):
        image = ax.pcolormesh(ds.beta, ds.time, ds.fraction.sel(dim=dim).transpose("time", "beta"), vmin=0, vmax=1,
                              cmap="magma", shading="nearest")
        ax.plot(ds.fine_beta, ds.predicted_t_fine, "c-", lw=1.5, label="equiangular ODE, ρ(0) = 0")
        ax.set(title=f"d = {dim}", xlabel="β", ylim=(0, ds.attrs["t_end"]))
    axes[0].set_ylabel("t")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.colorbar(image, ax=list(axes), label=f"fraction of runs with all ⟨x_i, x_j⟩ > {ds.attrs['threshold']:g}")
    return fig
