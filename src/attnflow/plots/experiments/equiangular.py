"""Figure of the experiment `equiangular` (docs/science.md §4), drawn from its Dataset."""

from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr

# cases with the same law coincide (nGPT SA and USA, ...): each its own line style and marker
STYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))


def figure(ds: xr.Dataset):
    """Left: particles' mean rho (markers) on the ODE (lines) per model; middle: the ODE's 1 - rho to its
    asymptotic law; right: random tokens' mean and range of rho_ij against the ODE, per dimension."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    a = ds.attrs
    for i, style, marker in zip(range(ds.sizes["case"]), STYLES, "os^vDx"):
        case, color = ds.isel(case=i), f"C{i}"
        name = f"{case.kind.item().upper()} {case.norm.item()}"
        axes[0].plot(ds.fine_time, case.rho_ode_fine, linestyle=style, color=color, lw=1.4, label=name)
        axes[0].plot(ds.time, case.rho_particles, marker, color=color, mfc="none", ms=4 + 0.8 * i)
        law = (f"e^(−{float(case.rate):.3g} t)" if case.law.item() == "exponential" else f"t^−{float(case.rate):g}")
        axes[1].loglog(case.tail_time, case.gap_ode, color=color, lw=1.4, linestyle=style, label=f"{name}: {law}")
    axes[0].set(xlabel="t", ylabel="ρ(t)", title=f"equiangular start, n = {a['n']}, β = {a['beta']:g}: particles "
                                                  "(markers), ODE (lines)")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="t", ylabel="1 − ρ(t)", ylim=(1e-30, 2), title="asymptotic laws (ODE)")
    axes[1].legend(fontsize=7)
    for j, color, marker, style in zip(range(ds.sizes["dim"]), ("C0", "C1", "C2", "C3"), "os^D", ("-", "--", ":", "-.")):
        r = ds.isel(dim=j)
        axes[2].fill_between(ds.time, r.random_rho_min, r.random_rho_max, color=color, alpha=0.2)
        axes[2].plot(ds.time, r.random_rho_mean, marker, color=color, mfc="none", ms=4,
                     label=f"d = {int(r.dim)} (mean, min–max)")
        axes[2].plot(ds.time, r.random_rho_ode, linestyle=style, color=color, lw=1)
    axes[2].set(xlabel="t", ylabel="pairwise inner products",
                title=f"random tokens, n = {a['random_n']}, SA β = {a['beta']:g}: particles vs ODE")
    axes[2].legend(fontsize=7)
    return fig
