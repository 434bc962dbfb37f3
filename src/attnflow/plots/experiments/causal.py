"""Figures of the experiment `causal` (docs/science.md §7), drawn from its Datasets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr


def picture(scene: xr.Dataset):
    """The paper's picture: one panel per saved time, token i drawn at angle theta_i and radius 1 + i/(4n) (a
    cluster shows as a ray), Rényi centres in black, strong Rényi centres in red."""
    times = scene.time.values
    fig, axes = plt.subplots(1, len(times), figsize=(3.2 * len(times), 3.4))
    n = scene.sizes["token"]
    radius = 1 + np.arange(n) / (4 * n)
    circle = np.linspace(0, 2 * np.pi, 200)
    for ax, t in zip(np.atleast_1d(axes), range(len(times))):
        frame = scene.isel(time=t)
        theta = frame.angle.values
        ax.plot(np.cos(circle), np.sin(circle), color="0.85", lw=0.8)
        ax.scatter(radius * np.cos(theta), radius * np.sin(theta), s=6, color="C0", alpha=0.6, lw=0)
        for flag, colour, size, label in (("renyi", "k", 28, "Rényi centre"), ("strong_renyi", "C3", 14, "strong")):
            chosen = frame[flag].values
            ax.scatter(radius[chosen] * np.cos(theta[chosen]), radius[chosen] * np.sin(theta[chosen]), s=size,
                       color=colour, label=f"{label} ({int(chosen.sum())})")
        ax.set(aspect="equal", xticks=[], yticks=[], xlim=(-1.35, 1.35), ylim=(-1.35, 1.35),
               title=f"t = {times[t]:g}")
        ax.legend(fontsize=6, loc="lower right")
    fig.suptitle(f"causal SA, n = {scene.attrs['n']}, d = 2, β = {scene.attrs['beta']:g}, "
                 f"δ = 4β^(-1/2) = {scene.attrs['delta']:.2f}", fontsize=10)
    return fig


def counts(ds: xr.Dataset, fall: xr.Dataset):
    """Left: mean cluster count at the metastable time against the mean Rényi count of the start, per (beta, n);
    middle: mean counts over time at the largest n; right: the collapse onto the first token."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    meta = ds.sel(time=ds.attrs["metastable_time"]).clusters.mean("seed")
    start = ds.isel(time=0).renyi.mean("seed")
    for marker, n in zip("osD^v", ds.n.values):
        axes[0].plot(start.sel(n=n), meta.sel(n=n), marker, mfc="none", label=f"n = {n}")
    top = float(max(meta.max(), start.max())) + 1
    axes[0].plot([0, top], [0, top], "k-", lw=0.8, label="equal")
    axes[0].set(xlabel="Rényi centres of the start (mean)", title="metastable clusters vs Rényi centres",
                ylabel=f"clusters at t = {ds.attrs['metastable_time']:g} (mean)")
    axes[0].legend(fontsize=7)
    largest = ds.sel(n=ds.n.max())
    times = ds.time.values
    later = times > 0
    for colour, beta in enumerate(ds.beta.values):
        case = largest.sel(beta=beta).mean("seed")
        axes[1].semilogx(times[later], case.clusters[later], "-o", color=f"C{colour}", ms=3, label=f"β = {beta:g}")
        axes[1].semilogx(times[later], case.strong_renyi[later], ":", color=f"C{colour}")
        axes[1].axhline(float(case.renyi[0]), color=f"C{colour}", ls="--", lw=0.8)
    axes[1].set(xlabel="t", ylabel="mean count", title=f"n = {int(ds.n.max())}: clusters (solid), Rényi at t = 0 "
                "(dashed), strong Rényi (dotted)")
    axes[1].title.set_fontsize(8)
    axes[1].legend(fontsize=7)
    for colour, beta in enumerate(fall.beta.values):
        distance = fall.distance.sel(beta=beta)
        for seed in fall.seed.values:
            axes[2].semilogy(fall.time, distance.sel(seed=seed), color=f"C{colour}", lw=0.6, alpha=0.6,
                             label=f"β = {beta:g}" if seed == 0 else None)
    first = fall.distance.isel(beta=0, seed=0).values
    if (first < fall.attrs["window"][1]).any():  # the slope -1/2 through where the first run enters the window
        t0 = float(fall.time[np.argmax(first < fall.attrs["window"][1])])
        t = np.linspace(t0, t0 + 40, 2)
        axes[2].semilogy(t, 10 * fall.attrs["window"][1] * np.exp(-0.5 * (t - t0)), "k--", lw=1,
                         label="slope −1/2 (R3)")
    axes[2].set(xlabel="t", ylabel="max_i |x_i − x_1|", ylim=(1e-16, 3), title="collapse onto the first token (SA)")
    axes[2].legend(fontsize=7)
    return fig
