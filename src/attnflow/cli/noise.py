"""`attnflow noise`: thresholds and the bifurcation diagram of the noisy dynamics at one (beta, d)
(docs/science.md §6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from . import app, console


@app.command(epilog="Examples:\n\n  attnflow noise --beta 4 --dim 2\n\n"
                    "  attnflow noise --beta 1 --dim 3 --plot s2.png --data s2_branch.nc")
def noise(
    beta: float = typer.Option(..., help="Inverse temperature beta > 0."),
    dim: int = typer.Option(2, help="Ambient dimension d >= 2 (tokens on S^{d-1})."),
    plot: Path = typer.Option(None, help="PNG path of the bifurcation diagram (default noise_beta<B>_d<D>.png)."),
    data: Path = typer.Option(None, help="Write the branch of stationary states as .nc/.zarr (optional)."),
    overwrite: bool = typer.Option(False, help="Replace --data if attnflow wrote it."),
):
    """USA with noise D: the threshold D_#, beta_*, the kind of transition, D_c, and the stationary branch."""
    from .. import io, plots
    from ..errors import check_positive
    from ..plots.noise import bifurcation_diagram
    from ..theory import noise as theory
    from ..theory.stationary import first_order_diffusion, stationary_branch

    check_positive("beta", beta)
    plot = Path(f"noise_beta{beta:g}_d{dim}.png") if plot is None else plot
    plots.check_figure_path(plot, "plot")
    threshold = theory.critical_diffusion(beta, dim)
    star, kind = theory.transition_beta(dim), theory.transition_kind(beta, dim)
    branch = stationary_branch(beta, dim)
    first_order = first_order_diffusion(beta, dim)
    console.print(f"D_# = lambda_1 = {threshold:.10g}: the uniform state is linearly stable for D > D_#\n"
                  f"beta_* = {star:.10g} for d = {dim}: the transition at beta = {beta:g} is {kind}\n"
                  f"D_c = {first_order:.10g} = {first_order / threshold:.6g} D_# (clustered and uniform states "
                  f"have equal free energy); the branch reaches D = "
                  f"{float(branch.diffusion.max()) / threshold:.6g} D_#",
                  highlight=False)
    table = Table(title="stationary branch (every 5th point)")
    for column in ("D / D_#", "|m_1|", "(F - F_uniform) / D_#", "stable"):
        table.add_column(column)
    for point in range(0, branch.sizes["point"], 5):
        c = branch.isel(point=point)
        table.add_row(f"{float(c.diffusion) / threshold:.5f}", f"{float(c.order_parameter):.5f}",
                      f"{float(c.free_energy) / threshold:.3e}", "yes" if bool(c.stable) else "no")
    console.print(table)
    plots.save(bifurcation_diagram(branch, first_order), plot)
    console.print(f"plot: {plot}", highlight=False)
    if data is not None:
        io.save(branch.assign_attrs(first_order_diffusion=first_order, transition_beta=star, transition_kind=kind),
                data, overwrite=overwrite)
        console.print(f"data: {data}", highlight=False)
