"""Figures of particle runs: tokens over time and on S², angles, growth rates, mode amplitudes.

Each helper draws on a given `Axes` (or a new figure when none is given) and returns the Axes,
so experiments can compose panels:
* `trajectories`: angles of a subsample of tokens against time, predicted sites as dashed lines
  (the seed notebook's figure; docs/science.md §3, "where the clusters form");
* `sphere_map`: tokens on S^2 in an equal-area map over a background field, predicted sites as stars;
* `angle_histogram`: histogram of the angles at one time;
* `growth_rate_plot`: gamma_k against k with k* marked;
* `mode_amplitudes`: |mu_k(t)| (sqrt S_k in any d) on a log scale with the predicted slopes
  A_k(0) e^{gamma_k t} as dashed lines.
"""

from __future__ import annotations

import numpy as np

from .axes import axes_or_new


def trajectories(time, angles, sites=None, ax=None, tokens: int = 300, seed: int = 0):
    """Angles (time, token) of `tokens` randomly chosen tokens as thin lines against time (broken where they
    wrap around 2 pi); `sites` (angles) as horizontal dashed lines."""
    ax = axes_or_new(ax)
    angles = np.asarray(angles, dtype=np.float64)
    chosen = np.random.default_rng(seed).choice(angles.shape[1], min(tokens, angles.shape[1]), replace=False)
    paths = angles[:, chosen].copy()
    paths[1:][np.abs(np.diff(paths, axis=0)) > np.pi] = np.nan  # no vertical jumps across the wrap
    ax.plot(time, paths, color="k", lw=0.3, alpha=0.5)
    for number, site in enumerate([] if sites is None else np.mod(sites, 2 * np.pi)):
        ax.axhline(site, color="tab:red", ls="--", lw=1, label="predicted sites" if number == 0 else None)
    if sites is not None and len(sites):
        ax.legend(fontsize=7, loc="upper right")
    ax.set(xlabel="t", ylabel="θ", ylim=(0, 2 * np.pi), xlim=(time[0], time[-1]))
    return ax


def sphere_map(x, sites=None, field=None, ax=None, label: str | None = None):
    """Tokens x (n, 3) on S^2 in the equal-area cylindrical map (azimuth, z); `field(points) -> values`
    drawn as a colour background (e.g. the degree-k* component of the initial tokens); `sites` as red stars."""
    ax = axes_or_new(ax)
    if field is not None:
        azimuth, z = np.meshgrid(np.linspace(-np.pi, np.pi, 181), np.linspace(-1, 1, 91))
        r = np.sqrt(1 - z**2)
        grid = np.stack([r * np.cos(azimuth), r * np.sin(azimuth), z], axis=-1).reshape(-1, 3)
        ax.pcolormesh(azimuth, z, np.asarray(field(grid)).reshape(z.shape), cmap="RdBu_r", shading="auto")
    x = np.asarray(x)
    ax.scatter(np.arctan2(x[:, 1], x[:, 0]), x[:, 2], s=0.5, c="k", alpha=0.5, linewidths=0)
    if sites is not None and len(sites):
        sites = np.asarray(sites)
        ax.scatter(np.arctan2(sites[:, 1], sites[:, 0]), sites[:, 2], s=90, marker="*", c="gold",
                   edgecolors="k", linewidths=0.7, label="predicted sites")
        ax.legend(fontsize=7, loc="upper right")
    ax.set(xlabel="azimuth", ylabel="z", xlim=(-np.pi, np.pi), ylim=(-1, 1), title=label)
    return ax


def angle_histogram(angles, sites=None, ax=None, bins: int = 200, label: str | None = None):
    """Density histogram of angles in [0, 2 pi), with `sites` as dashed vertical lines."""
    ax = axes_or_new(ax)
    ax.hist(np.mod(angles, 2 * np.pi), bins=bins, range=(0, 2 * np.pi), density=True, color="tab:blue",
            label="tokens")
    for number, site in enumerate([] if sites is None else np.mod(sites, 2 * np.pi)):
        ax.axvline(site, color="tab:red", ls="--", lw=1, label="predicted sites" if number == 0 else None)
    ax.axhline(1 / (2 * np.pi), color="0.5", lw=0.8, label="uniform density 1/(2π)")
    ax.set(xlabel="θ", ylabel="density", xlim=(0, 2 * np.pi), title=label)
    ax.legend(fontsize=7, loc="upper right")
    return ax


def growth_rate_plot(rates, k_star: int | None = None, ax=None, label: str | None = None):
    """gamma_k against k = 1..len(rates), k* marked."""
    ax = axes_or_new(ax)
    k = np.arange(1, len(rates) + 1)
    ax.plot(k, rates, "o-", color="tab:blue")
    if k_star is not None:
        ax.plot([k_star], [rates[k_star - 1]], "*", ms=16, color="tab:red", label=f"k* = {k_star}")
        ax.legend()
    ax.set(xlabel="k", ylabel="γ_k", title=label)
    ax.set_xticks(k)
    return ax


def mode_amplitudes(time, amplitudes, rates=None, modes=None, window_end: float | None = None, ax=None,
                    label: str | None = None):
    """Amplitudes (obs_time, mode) of the chosen `modes` (1-based, default all) on a log scale; with `rates`,
    the predicted lines A_k(0) e^{gamma_k t} dashed in the same colour; `window_end` marks the fit window."""
    ax = axes_or_new(ax)
    time = np.asarray(time)
    amplitudes = np.asarray(amplitudes)
    modes = range(1, amplitudes.shape[1] + 1) if modes is None else modes
    for k in modes:
        line, = ax.semilogy(time, amplitudes[:, k - 1], lw=1.5, label=f"k = {k}")
        if rates is not None:
            ax.semilogy(time, amplitudes[0, k - 1] * np.exp(rates[k - 1] * time), ls="--", lw=1,
                        color=line.get_color())
    if window_end is not None:
        ax.axvline(window_end, color="0.5", ls=":", lw=1)
    ax.set(xlabel="t", ylabel="mode amplitude", title=label,
           ylim=(max(amplitudes[:, [k - 1 for k in modes]].min() / 2, 1e-6), 2))
    ax.legend(fontsize=7, ncol=2)
    return ax
