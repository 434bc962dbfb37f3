"""`attnflow predict`: the linear theory at one (beta, d) (SCIENCE.md §3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from . import app, console


@app.command(epilog="Examples:\n\n  attnflow predict --beta 5 --dim 2\n\n"
                    "  attnflow predict --beta 6 --dim 3 --n 3000 --kind sa --plot gamma_s2.png")
def predict(
    beta: float = typer.Option(..., help="Inverse temperature beta > 0."),
    dim: int = typer.Option(2, help="Ambient dimension d >= 2 (tokens on S^{d-1})."),
    kind: str = typer.Option("usa", help="Dynamics: usa or sa (SA rates are the USA ones divided by Z_0)."),
    n: int = typer.Option(20000, help="Number of i.i.d. tokens, for the emergence time."),
    kmax: int = typer.Option(None, help="Largest degree k shown (default 2 k* + 4)."),
    plot: Path = typer.Option(None, help="PNG path for the plot of gamma_k against k "
                                         "(default gamma_k_beta<B>_d<D>.png)."),
):
    """Growth rates gamma_k, the dominant mode k*, where k* changes, the emergence time, and the gamma_k plot."""
    import matplotlib.pyplot as plt

    from .. import plots
    from ..errors import check
    from ..theory import dominant_mode, dominant_mode_table, emergence_time, growth_rates

    check(np.isfinite(beta) and beta > 0, "beta", beta, "a finite number > 0")
    k_star = dominant_mode(beta, dim)
    kmax = 2 * k_star + 4 if kmax is None else kmax
    rates = growth_rates(beta, dim, kmax, kind=kind)
    scaled = growth_rates(beta, dim, kmax, kind=kind, scaled=True) if kind == "usa" else None
    table = Table(title=f"linear theory: {kind}, beta = {beta:g}, d = {dim}")
    table.add_column("k")
    table.add_column("gamma_k")
    if scaled is not None:
        table.add_column("gamma_k e^-beta")
    for k in range(1, kmax + 1):
        mark = " *" if k == k_star else ""
        cells = [f"{k}{mark}", f"{rates[k - 1]:.6g}"] + ([f"{scaled[k - 1]:.6g}"] if scaled is not None else [])
        table.add_row(*cells)
    console.print(table)
    rows = dominant_mode_table(2 * beta + 10, dim)
    here = next(r for r in rows if r.beta_start <= beta < r.beta_end)
    console.print(f"k* = {k_star} for {here.beta_start:.6g} <= beta < {here.beta_end:.6g}", highlight=False)
    index = rows.index(here)
    nearby = list(zip(rows, rows[1:]))[max(0, index - 4):index + 4]
    console.print("k* changes at: " + ", ".join(f"{a.k} -> {b.k} at beta = {a.beta_end:.6g}" for a, b in nearby),
                  highlight=False)
    rate = growth_rates(beta, dim, k_star, kind=kind, scaled=kind == "usa")[-1]
    scaled_time = 0.5 * np.log(n) / rate  # USA: the time in units of e^{-beta}, finite for any beta
    console.print(f"emergence time for n = {n}: log(sqrt(n)) / gamma_k* = {emergence_time(beta, dim, n, kind):.6g}"
                  + (f" (= {scaled_time:.6g} e^-beta)" if kind == "usa" else ""), highlight=False)
    plot = Path(f"gamma_k_beta{beta:g}_d{dim}.png") if plot is None else plot
    figure, ax = plt.subplots(figsize=(6, 4))
    plots.growth_rate_plot(rates, k_star, ax=ax, label=f"γ_k ({kind}), β = {beta:g}, d = {dim}")
    plots.save(figure, plot)
    console.print(f"plot: {plot}", highlight=False)
