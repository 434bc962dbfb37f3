"""Figures of the metastable-clustering analysis (matplotlib, Agg backend).

Each helper draws on a given `Axes` (or a new figure when none is given) and returns the Axes,
so experiments can compose panels:
* `trajectories`: angles of a subsample of tokens against time, predicted sites as dashed lines
  (the seed notebook's figure; SCIENCE.md §3, "where the clusters form");
* `angle_histogram`: histogram of the angles at one time;
* `growth_rate_plot`: gamma_k against k with k* marked;
* `mode_amplitudes`: |mu_k(t)| (sqrt S_k in any d) on a log scale with the predicted slopes
  A_k(0) e^{gamma_k t} as dashed lines.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _axes(ax, size=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def trajectories(time, angles, sites=None, ax=None, tokens: int = 400, seed: int = 0):
    """Angles (time, token) of `tokens` randomly chosen tokens as dots against time; `sites` (angles)
    as horizontal dashed lines."""
    ax = _axes(ax)
    angles = np.asarray(angles)
    chosen = np.random.default_rng(seed).choice(angles.shape[1], min(tokens, angles.shape[1]), replace=False)
    t = np.repeat(np.asarray(time)[:, None], len(chosen), axis=1)
    ax.scatter(t.ravel(), angles[:, chosen].ravel(), s=0.4, c="k", alpha=0.5, linewidths=0)
    for site in [] if sites is None else np.mod(sites, 2 * np.pi):
        ax.axhline(site, color="tab:red", ls="--", lw=1)
    ax.set(xlabel="t", ylabel="θ", ylim=(0, 2 * np.pi), xlim=(time[0], time[-1]))
    return ax


def angle_histogram(angles, sites=None, ax=None, bins: int = 200, label: str | None = None):
    """Density histogram of angles in [0, 2 pi), with `sites` as dashed vertical lines."""
    ax = _axes(ax)
    ax.hist(np.mod(angles, 2 * np.pi), bins=bins, range=(0, 2 * np.pi), density=True, color="tab:blue")
    for site in [] if sites is None else np.mod(sites, 2 * np.pi):
        ax.axvline(site, color="tab:red", ls="--", lw=1)
    ax.axhline(1 / (2 * np.pi), color="0.5", lw=0.8)
    ax.set(xlabel="θ", ylabel="density", xlim=(0, 2 * np.pi), title=label)
    return ax


def growth_rate_plot(rates, k_star: int | None = None, ax=None, label: str | None = None):
    """gamma_k against k = 1..len(rates), k* marked."""
    ax = _axes(ax)
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
    ax = _axes(ax)
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


def save(figure, path) -> None:
    """Write `figure` as PNG (tight layout, 110 dpi) and close it."""
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
