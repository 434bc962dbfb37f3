"""Figure of the experiment `long_context` (docs/science.md §4), drawn from its Dataset."""

from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr


def figure(ds: xr.Dataset):
    """The SA output inner product against n per gamma: the Gram formula (lines), the layer on actual tokens
    (circles) and the derived limit (dotted)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sa = ds.sel(kind=ds.attrs["layer_kind"])
    for gamma, color in zip(ds.gamma.values, ("C0", "C1", "C2")):
        r = sa.sel(gamma=gamma)
        ax.semilogx(ds.n, r.rho_out, "-", color=color, label=f"γ = {gamma:g} ({r.regime.item()})")
        ax.semilogx(ds.layer_n, r.layer_rho, "o", color=color, mfc="none")
        ax.axhline(float(r.derived_limit), color=color, ls=":", lw=1)
    ax.set(xlabel="n (context length)", ylabel="output inner product",
           title=f"one SA layer, β = γ log n, equiangular ρ = {ds.attrs['rho']:g} "
                 f"(γ_c = {ds.attrs['critical_gamma']:g})")
    ax.legend(fontsize=8)
    return fig
