"""Figure of the experiment `noisy_transitions` (docs/science.md §6), drawn from its Datasets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr

from ..noise import branch_plot

MARKERS = {"clustered": ("o", "tab:orange"), "uniform": ("s", "tab:green")}


def figure(cases: xr.Dataset, branches: list[xr.Dataset], pde: xr.Dataset | None):
    """One panel per case: |m_1| of the stationary branch against D / D_#, and on the circle the PDE's |m_1| at
    its final time from a clustered and from a near-uniform start (the hysteresis loop)."""
    columns = len(branches)
    drawn, axes = plt.subplots(1, columns, figsize=(4.5 * columns, 4), squeeze=False)
    for ax, case, branch in zip(axes[0], (cases.isel(case=i) for i in range(cases.sizes["case"])), branches):
        branch_plot(branch, float(case.first_order_diffusion), branch.order_parameter.values, ax, "|m₁|")
        if pde is not None and float(case.beta) == float(pde.attrs["beta"]) and int(case.dim) == 2:
            for start in pde.start.values:
                marker, colour = MARKERS[str(start)]
                ax.plot(pde.ratio.values, pde.order_parameter.sel(start=start).values, marker, color=colour,
                        ls="none", label=f"PDE from {start} start, t = {pde.attrs['t_end']:g}")
        ax.set_title(f"β = {float(case.beta):g}, d = {int(case.dim)}: {str(case.transition_kind.values)}")
        ax.legend(fontsize=7)
    return drawn
