"""`attnflow predict`: the linear theory at one (beta, d) (docs/science.md §3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from . import app, console


@app.command(epilog="Examples:\n\n  attnflow predict --beta 5 --dim 2\n\n"
                    "  attnflow predict --beta 6 --dim 3 --n 3000 --kind sa --plot gamma_s2.png\n\n"
                    "  attnflow predict --beta 5 --tokens run.nc   # clusters predicted from the run's initial tokens")
def predict(
    beta: float = typer.Option(..., help="Inverse temperature beta > 0."),
    dim: int = typer.Option(2, help="Ambient dimension d >= 2 (tokens on S^{d-1})."),
    kind: str = typer.Option("usa", help="Dynamics: usa or sa (SA rates are the USA ones divided by Z_0)."),
    n: int = typer.Option(20000, help="Number of i.i.d. tokens, for the emergence time."),
    kmax: int = typer.Option(None, help="Largest degree k shown (default 2 k* + 4)."),
    plot: Path = typer.Option(None, help="PNG path for the plot of gamma_k against k "
                                         "(default gamma_k_beta<B>_d<D>.png)."),
    tokens: Path = typer.Option(None, help="Initial tokens to predict the first metastable clusters from: a saved "
                                           "run (.nc/.zarr, its first snapshot) or a .npy array (n, d)."),
):
    """Growth rates gamma_k, the dominant mode k*, where k* changes, the emergence time, and the gamma_k plot."""
    import matplotlib.pyplot as plt

    from .. import plots
    from ..errors import check, check_integer, check_positive
    from ..spectrum import MAX_EXP
    from ..theory import dominant_mode, emergence_time, growth_rates, mode_transition

    check_positive("beta", beta)
    check_integer("n", n, 2)
    if kmax is not None:
        check_integer("kmax", kmax, 1)
    plot = Path(f"gamma_k_beta{beta:g}_d{dim}.png") if plot is None else plot
    plots.check_figure_path(plot, "plot")
    x0 = None if tokens is None else _initial_tokens(tokens, dim)
    k_star = dominant_mode(beta, dim)
    kmax = 2 * k_star + 4 if kmax is None else kmax
    check(kmax >= k_star, "kmax", kmax, f"an integer >= k* = {k_star} (the plot marks k*)")
    scaled = growth_rates(beta, dim, kmax, kind=kind, scaled=True) if kind == "usa" else None
    rates = growth_rates(beta, dim, kmax, kind=kind) if kind == "sa" or beta <= MAX_EXP - 50 else None
    table = Table(title=f"linear theory: {kind}, beta = {beta:g}, d = {dim}")
    table.add_column("k")
    if rates is not None:
        table.add_column("gamma_k")
    if scaled is not None:
        table.add_column("gamma_k e^-beta")
    for k in range(1, kmax + 1):
        mark = " *" if k == k_star else ""
        cells = [f"{k}{mark}"] + [f"{column[k - 1]:.6g}" for column in (rates, scaled) if column is not None]
        table.add_row(*cells)
    console.print(table)
    steps = {k: mode_transition(k, dim, beta) for k in range(max(1, k_star - 4), k_star + 4)}
    start = steps.get(k_star - 1, 0.0)
    console.print(f"k* = {k_star} for {start:.6g} <= beta < {steps[k_star]:.6g}", highlight=False)
    console.print("k* changes at: " + ", ".join(f"{k} -> {k + 1} at beta = {b:.6g}" for k, b in steps.items()),
                  highlight=False)
    rate = growth_rates(beta, dim, k_star, kind=kind, scaled=kind == "usa")[-1]
    check(rate > 0, "dim", dim, f"a dimension where gamma_k* is positive in float64 at beta={beta:g}")
    scaled_time = 0.5 * np.log(n) / rate  # USA: the time in units of e^{-beta}, finite for any beta
    if kind == "usa" and beta > MAX_EXP - 50:
        console.print(f"emergence time for n = {n}: log(sqrt(n)) / gamma_k* = {scaled_time:.6g} e^-beta", highlight=False)
    else:
        console.print(f"emergence time for n = {n}: log(sqrt(n)) / gamma_k* = {emergence_time(beta, dim, n, kind):.6g}"
                      + (f" (= {scaled_time:.6g} e^-beta)" if kind == "usa" else ""), highlight=False)
    figure, ax = plt.subplots(figsize=(6, 4))
    plots.growth_rate_plot(scaled if rates is None else rates, k_star, ax=ax,
                           label=f"γ_k{' e^-β' if rates is None else ''} ({kind}), β = {beta:g}, d = {dim}")
    plots.save(figure, plot)
    console.print(f"plot: {plot}", highlight=False)
    if x0 is not None:
        _predict_clusters(x0, tokens, beta, dim, kind)


def _initial_tokens(path: Path, dim: int) -> np.ndarray:
    """(n, d) tokens from a .npy array or the first snapshot of a saved run."""
    from ..errors import ParameterError, check
    from ..io import load

    if not path.exists() or path.suffix not in (".npy", ".nc", ".zarr"):
        raise ParameterError("tokens", str(path), "an existing .npy, .nc or .zarr file")
    if path.suffix == ".npy":
        try:
            x0 = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ParameterError("tokens", str(path), f"a readable .npy array ({error})") from None
    else:
        run = load(path, parameter="tokens")
        check("x" in run and "time" in run["x"].dims, "tokens", str(path), "a saved particle run (variable x over time)")
        x0 = run["x"].isel(time=0).values
    check(x0.ndim == 2 and x0.shape[1] == dim, "tokens", f"array of shape {x0.shape}", f"(n, {dim}) tokens (--dim)")
    check(np.issubdtype(x0.dtype, np.number) and bool(np.isfinite(x0).all()), "tokens", str(path), "finite numbers")
    check(len(x0) >= 2, "tokens", f"{len(x0)} token(s)", "at least 2 tokens")
    return x0


def _predict_clusters(x0: np.ndarray, path: Path, beta: float, dim: int, kind: str) -> None:
    """The finite-n predictions of `theory.basins` and `finite_n_mode` for the tokens x0 read from `path`."""
    from ..theory import finite_n_mode, predicted_clusters

    result = predicted_clusters(x0, beta, kind=kind)
    console.print(f"from {path} (n = {len(x0)}): the mode reaching O(1) first is k = {finite_n_mode(x0, beta, kind)}; "
                  f"the linear phase ends at t = {result.time:.6g}", highlight=False)
    console.print(f"predicted first metastable clusters: {result.count} (basins of the linear potential)",
                  highlight=False)
    table = Table()
    for column in ("mass", "site (unit vector)") + (("angle",) if dim == 2 else ()):
        table.add_column(column)
    for mass, site in zip(result.masses, result.sites):
        cells = [f"{mass:.3f}", np.array2string(site, precision=4)]
        table.add_row(*cells + ([f"{np.mod(np.arctan2(site[1], site[0]), 2 * np.pi):.4f}"] if dim == 2 else []))
    console.print(table)
