"""Experiment `long_context`: one attention layer at beta_n = gamma log n on equiangular tokens (docs/science.md §4).

For rho = 1/2 (gamma_c = 1/(1-rho) = 2) and gamma below, at and above gamma_c, the output
inner product of one SA layer (h = 1) is computed by `attnflow.layer.attention` on actual
tokens (n up to a few thousand, dim n + 1) and by the exact Gram formula (L1) of
theory/long_context.py for n = 10^2..10^5; the n -> infinity limits are read off the data
by fitting L + C n^{-p} and compared with (L2).

The results are one Dataset (`long_context.nc`) over (kind, gamma, n): the Gram formula's output
inner product, the limit and exponent read off and the derived limit; for SA the layer on actual
tokens and the Gram formula at its sizes (`layer_n`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from scipy.optimize import curve_fit

from .. import layer, plots
from ..plots.experiments import long_context as figures
from ..theory import long_context as lc
from . import Section, experiment, quiet, save_datasets, steps

RHO = 0.5
GAMMAS = (1.0, 2.0, 3.0)
KINDS = ("sa", "usa")
SIZES = {"quick": {"layer_n": (100, 300, 1000)}, "full": {"layer_n": (100, 300, 1000, 3000)}}


def equiangular_tokens(n: int, rho: float) -> np.ndarray:
    """x_i = sqrt(rho) u + sqrt(1-rho) e_i in R^{n+1}: <x_i, x_j> = rho exactly, |x_i| = 1."""
    x = np.sqrt(1 - rho) * np.eye(n + 1)[1:]
    x[:, 0] = np.sqrt(rho)
    return x


def layer_inner_product(n: int, rho: float, beta: float, kind: str = "sa") -> float:
    """Mean off-diagonal inner product of the outputs of `attnflow.layer.attention` on equiangular tokens."""
    y = layer.attention(equiangular_tokens(n, rho), beta, kind=kind, norm="pre")
    gram = y @ y.T
    return float((gram.sum() - np.trace(gram)) / (n * (n - 1)))


def read_off_limit(n: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """(L, p) of the least-squares fit values ~ L + C n^{-p}."""
    model = lambda m, limit, c, p: limit + c * m ** (-p)  # noqa: E731
    (limit, _, p), _ = curve_fit(model, n, values, p0=(values[-1], values[0] - values[-1], 0.5), maxfev=20000)
    return float(limit), float(p)


def results(scale: str, progress=quiet) -> xr.Dataset:
    """The Gram formula over n for each (kind, gamma) with its limits; the SA layer on actual tokens."""
    n_grid = np.unique(np.round(np.logspace(2, 5, 13)))
    layer_n = SIZES[scale]["layer_n"]
    values, fits, derived, layers, exact = [], [], [], [], []
    for kind in steps(progress, KINDS, str.upper):
        values.append([lc.long_context_inner_product(n_grid, RHO, gamma, kind) for gamma in GAMMAS])
        fits.append([read_off_limit(n_grid, v) for v in values[-1]])
        derived.append([lc.limit(RHO, gamma, kind) for gamma in GAMMAS])
    for gamma in GAMMAS:
        layers.append([layer_inner_product(n, RHO, gamma * np.log(n)) for n in layer_n])
        exact.append([lc.layer_inner_product(n, RHO, gamma * np.log(n)) for n in layer_n])
    fits = np.array(fits)
    return xr.Dataset(
        {"rho_out": (("kind", "gamma", "n"), np.array(values)), "fitted_limit": (("kind", "gamma"), fits[..., 0]),
         "fitted_exponent": (("kind", "gamma"), fits[..., 1]), "derived_limit": (("kind", "gamma"), np.array(derived)),
         "regime": ("gamma", [lc.regime(RHO, gamma) for gamma in GAMMAS]),
         "layer_rho": (("gamma", "layer_n"), np.array(layers)),
         "layer_rho_exact": (("gamma", "layer_n"), np.array(exact))},
        coords={"kind": list(KINDS), "gamma": list(GAMMAS), "n": n_grid, "layer_n": list(layer_n)},
        attrs={"rho": RHO, "critical_gamma": lc.critical_gamma(RHO), "layer_kind": "sa"})


def summary(ds: xr.Dataset) -> list[dict]:
    """The rows of summary.json, one per (kind, gamma); SA rows carry the layer's values by n."""
    rows = []
    for kind in ds.kind.values:
        for gamma in ds.gamma.values:
            r = ds.sel(kind=kind, gamma=gamma)
            row = {"kind": str(kind), "gamma": float(gamma), "regime": str(r.regime.item()),
                   "rho_out_1e5": float(r.rho_out[-1]), "fitted_limit": float(r.fitted_limit),
                   "fitted_exponent": float(r.fitted_exponent), "derived_limit": float(r.derived_limit)}
            if kind == ds.attrs["layer_kind"]:
                row["layer"] = {int(n): float(v) for n, v in zip(ds.layer_n.values, r.layer_rho.values)}
            rows.append(row)
    return rows


def markdown(ds: xr.Dataset) -> str:
    """The section's text and table, every number from `ds`."""
    rho, gamma_c = ds.attrs["rho"], ds.attrs["critical_gamma"]
    table = [f"| kind | γ | regime | ρ_out at n = {ds.n.values[-1]:,.0f} | limit read off (fit L + C n^−p) | p "
             "| derived limit |", "|---|---|---|---|---|---|---|"]
    table += [f"| {r['kind'].upper()} | {r['gamma']:g} | {r['regime']} | {r['rho_out_1e5']:.5f} | "
              f"{r['fitted_limit']:.5f} | {r['fitted_exponent']:.2f} | {r['derived_limit']:.5f} |" for r in summary(ds)]
    worst = float(np.abs(ds.layer_rho - ds.layer_rho_exact).max())
    sa = ds.derived_limit.sel(kind="sa")
    below, critical = float(sa.sel(gamma=ds.gamma[0])), float(sa.sel(gamma=gamma_c))
    return (
        f"Equiangular tokens with ρ = {rho:g} go through one attention layer (h = 1, Pre-LN, output directions) "
        f"with β_n = γ log n; the critical γ is 1/(1 − ρ) = {gamma_c:g}. Lines: the exact Gram "
        "formula (theory/long_context.py, L1); circles: `attnflow.layer.attention` on actual tokens "
        f"(largest difference {worst:.1e}); dotted: the derived limits (L2). Three distinct limits for SA: "
        f"averaging below (4ρ/(1 + 3ρ) = {below:g}: every token moves half-way to the mean), a critical sparse "
        f"regime at γ_c (16ρ/(9 + 7ρ) = {critical:g}: the self-weight and the rest weigh half each), and "
        "identity-like above (ρ: each token attends to itself). For USA the unnormalised output swamps the "
        "residual and the limits are 1, 4ρ/(1 + 3ρ) and ρ. The approach is a power law $n^{-|\\gamma(1-\\rho)-1|}$ "
        "off criticality and 1/n at it.\n\n"
        + "\n".join(table) + "\n\n![One attention layer at $\\beta = \\gamma \\log n$ on equiangular tokens: the output inner product against $n$ for SA and USA and three values of $\\gamma$, with the three limits.](long_context.png)\n")


@experiment("long_context", order=330)
def run(out: Path, scale: str, progress=quiet) -> Section:
    ds = results(scale, progress)
    datasets = save_datasets(out, "long_context", scale, {"long_context": ds})
    plots.save(figures.figure(ds), out / "long_context.png")
    return Section("Long context: one layer at β = γ log n", markdown(ds), ["long_context.png"],
                   {"long_context": summary(ds)}, datasets)
