"""Figures of the experiments `metastability_circle` and `metastability_sphere` (docs/science.md §3, §5),
drawn from their Datasets: the numbers at one beta and its main run."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from ...observables import inner_product_histogram
from ...theory import linear_potential
from ..particles import angle_histogram, growth_rate_plot, mode_amplitudes, sphere_map, trajectories


def figures(case: xr.Dataset, run: xr.Dataset) -> dict:
    """{"tokens": trajectories + angle histogram (circle) or tokens over the linear potential at three times
    (sphere), "modes": gamma_k and the mode amplitudes, "inner_products" (sphere): their histograms}."""
    beta, dim, k_star = float(case.beta), int(case.dim), int(case.k_star)
    label = f"β = {beta:g}, d = {dim}, n = {int(case.n)}"
    sites = case.predicted_site.values
    sites = sites[~np.isnan(sites).any(axis=1)]
    drawn = {}
    if dim == 2:
        angles = np.arctan2(sites[:, 1], sites[:, 0])
        figure, axes = plt.subplots(1, 2, figsize=(12, 4))
        trajectories(run["time"].values, run["angle"].values, angles, ax=axes[0])
        axes[0].set_title(f"{label}: trajectories, predicted sites (k* = {k_star}, {len(angles)} basins)")
        middle = run["snapshot_angle"].sel(snapshot_time=float(case.t_end) / 2, method="nearest")
        angle_histogram(middle.values, angles, ax=axes[1],
                        label=f"angles at t = {float(middle['snapshot_time']):.3g}")
    else:
        figure, axes = plt.subplots(1, 3, figsize=(15, 4))
        x0 = run["x"].isel(time=0).values
        potential = lambda points: linear_potential(x0, beta, float(case.linear_phase_end), points)  # noqa: E731
        for ax, t in zip(axes, snapshot_times(case)):
            snapshot = run["x"].sel(time=t, method="nearest")
            sphere_map(snapshot.values, sites, potential, ax=ax, label=f"t = {float(snapshot['time']):.3g}")
        figure.suptitle(f"{label}: tokens on S² over the linear potential of the initial tokens at the end of the "
                        "linear phase (red: high); stars: predicted sites (its basins' mean positions)")
    drawn["tokens"] = figure
    figure, axes = plt.subplots(1, 2, figsize=(12, 4))
    growth_rate_plot(case.gamma.values, k_star, ax=axes[0], label=f"γ_k, {label}")
    mode_amplitudes(run["obs_time"].values, run["mode_amplitude"].values, case.gamma.values,
                    modes=case.mode.values.tolist(), window_end=float(case.fit_window_end), ax=axes[1],
                    label=r"amplitudes; dashed: $A_k(0)\,e^{\gamma_k t}$; dotted: fit window end")
    drawn["modes"] = figure
    if dim > 2:
        figure, ax = plt.subplots(figsize=(6, 4))
        for t in snapshot_times(case):
            snapshot = run["x"].sel(time=t, method="nearest")
            density, edges = inner_product_histogram(snapshot.values, bins=80)
            ax.stairs(density, edges, label=f"t = {float(snapshot['time']):.3g}")
        ax.set(xlabel="⟨x_i, x_j⟩", ylabel="density", yscale="log", title=f"pairwise inner products, {label}")
        ax.legend()
        drawn["inner_products"] = figure
    return drawn


def snapshot_times(case: xr.Dataset) -> tuple[float, float, float]:
    """0, the predicted emergence time and T."""
    return 0.0, float(case.emergence_time_predicted), float(case.t_end)
