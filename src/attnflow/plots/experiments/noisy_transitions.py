"""Figure of the experiment `noisy_transitions` (docs/science.md §6), drawn from its Datasets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr

from ..noise import branch_plot

MARKERS = {"clustered": ("o", "tab:orange"), "uniform": ("s", "tab:green")}


def loop_points(ax, pde: xr.Dataset, particles: xr.Dataset | None) -> None:
    """The PDE's |m_1| at its final time from each start, and the particles' (median, bars to min and max)."""
    for start in pde.start.values:
        marker, colour = MARKERS[str(start)]
        ax.plot(pde.ratio.values, pde.order_parameter.sel(start=start).values, marker, color=colour, ls="none",
                label=f"PDE from {start} start, t = {pde.attrs['t_end']:g}")
        if particles is None:
            continue
        values = particles.order_parameter.isel(obs_time=-1).sel(start=start)
        median = values.median("seed").values
        ax.errorbar(particles.ratio.values, median, yerr=[median - values.min("seed").values,
                                                          values.max("seed").values - median],
                    fmt=marker, mfc="none", color=colour, capsize=3,
                    label=f"n = {particles.attrs['n']} particles from {start} start")


def trajectories(ax, particles: xr.Dataset) -> None:
    """|m_1|(t) of the particles per start and D: the median over seeds, the range shaded."""
    for j, ratio in enumerate(particles.ratio.values):
        for start in particles.start.values:
            order = particles.order_parameter.sel(start=start, ratio=ratio)
            time = particles.obs_time.values
            ax.plot(time, order.median("seed"), color=f"C{j}", ls="-" if start == "clustered" else "--",
                    label=f"D = {ratio:g} D_#, {start} start")
            ax.fill_between(time, order.min("seed"), order.max("seed"), color=f"C{j}", alpha=0.15, lw=0)
    ax.axhline(particles.attrs["escape_level"], color="k", lw=0.8, ls=":", label="escape level")
    ax.set(xlabel="t", ylabel="|m₁|", title=f"particles, β = {particles.attrs['beta']:g}, d = {particles.attrs['dim']}")
    ax.legend(fontsize=6)


def figure(cases: xr.Dataset, branches: list[xr.Dataset], loops: dict):
    """One panel per case: |m_1| of the stationary branch against D / D_#, and where a hysteresis loop was run
    (loops: dim -> (PDE, particles or None)) the PDE's and the particles' |m_1| at the final time from a
    clustered and from a near-uniform start; then one panel per particle loop with its |m_1|(t)."""
    particle_loops = [particles for _, particles in loops.values() if particles is not None]
    columns = len(branches) + len(particle_loops)
    drawn, axes = plt.subplots(1, columns, figsize=(4.5 * columns, 4), squeeze=False)
    for ax, case, branch in zip(axes[0], (cases.isel(case=i) for i in range(cases.sizes["case"])), branches):
        branch_plot(branch, float(case.first_order_diffusion), branch.order_parameter.values, ax, "|m₁|")
        loop = loops.get(int(case.dim))
        if loop is not None and float(case.beta) == float(loop[0].attrs["beta"]):
            loop_points(ax, *loop)
        ax.set_title(f"β = {float(case.beta):g}, d = {int(case.dim)}: {str(case.transition_kind.values)}")
        ax.legend(fontsize=7)
    for ax, particles in zip(axes[0, len(branches):], particle_loops):
        trajectories(ax, particles)
    return drawn
