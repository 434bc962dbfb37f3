"""`attnflow noise`: thresholds and the bifurcation diagram of the noisy dynamics at one (beta, d)
(docs/science.md §6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from . import app, console


@app.command(epilog="Examples:\n\n  attnflow noise --beta 4 --dim 2\n\n"
                    "  attnflow noise --beta 1 --dim 3 --plot s2.png --data s2_branch.nc\n\n"
                    "  attnflow noise --beta 30 --kind sa")
def noise(
    beta: float = typer.Option(..., help="Inverse temperature beta > 0."),
    dim: int = typer.Option(2, help="Ambient dimension d >= 2 (tokens on S^{d-1})."),
    kind: str = typer.Option("usa", help="Attention: usa (the gradient flow: D_c and free energies) or sa."),
    born_from: int = typer.Option(1, help="Follow the branch born from the degree-k harmonic (k >= 2: the "
                                          "unstable k-fold patterns)."),
    plot: Path = typer.Option(None, help="PNG path of the bifurcation diagram "
                                         "(default noise_<kind>_beta<B>_d<D>.png)."),
    data: Path = typer.Option(None, help="Write the branch of stationary states as .nc/.zarr (optional)."),
    overwrite: bool = typer.Option(False, help="Replace --data if attnflow wrote it."),
):
    """Noise D: the threshold D_#, beta_*, the kind of transition, D_c (USA), and the stationary branch."""
    from .. import io, plots
    from ..errors import check_choice, check_positive
    from ..model import KINDS
    from ..plots.noise import bifurcation_diagram
    from ..theory import noise as theory
    from ..theory.stationary import first_order_diffusion, stationary_branch

    check_positive("beta", beta)
    check_choice("kind", kind, KINDS)
    plot = Path(f"noise_{kind}_beta{beta:g}_d{dim}" + (f"_mode{born_from}" if born_from > 1 else "") + ".png") \
        if plot is None else plot
    plots.check_figure_path(plot, "plot")
    threshold = theory.critical_diffusion(beta, dim, kind)
    branch = stationary_branch(beta, dim, kind=kind, born_from=born_from)
    reach = float(branch.diffusion.max()) / threshold
    console.print(f"D_# = {'lambda_1' if kind == 'usa' else 'lambda_1 / Z_0'} = {threshold:.10g}: the uniform state "
                  "is linearly stable for D > D_#", highlight=False)
    first_order = None
    if kind == "usa":
        first_order = first_order_diffusion(beta, dim)
        console.print(f"beta_* = {theory.transition_beta(dim):.10g} for d = {dim}: the transition at beta = {beta:g} "
                      f"is {theory.transition_kind(beta, dim)}\n"
                      f"D_c = {first_order:.10g} = {first_order / threshold:.6g} D_# (clustered and uniform states "
                      "have equal free energy)", highlight=False)
    console.print(f"the branch born from degree {born_from} at D = "
                  f"{branch.attrs['bifurcation_diffusion'] / threshold:.6g} D_# reaches D = {reach:.6g} D_#",
                  highlight=False)
    table = Table(title=f"stationary branch, {kind.upper()} (every 5th point)")
    columns = ("D / D_#", f"|m_{born_from}|") + (("(F - F_uniform) / D_#",) if kind == "usa" else ()) + ("stable",)
    for column in columns:
        table.add_column(column)
    for point in range(0, branch.sizes["point"], 5):
        c = branch.isel(point=point)
        energy = (f"{float(c.free_energy) / threshold:.3e}",) if kind == "usa" else ()
        table.add_row(f"{float(c.diffusion) / threshold:.5f}", f"{float(c.order_parameter):.5f}", *energy,
                      "yes" if bool(c.stable) else "no")
    console.print(table)
    plots.save(bifurcation_diagram(branch, first_order), plot)
    console.print(f"plot: {plot}", highlight=False)
    if data is not None:
        attrs = {} if kind == "sa" else {"first_order_diffusion": first_order,
                                         "transition_beta": theory.transition_beta(dim),
                                         "transition_kind": theory.transition_kind(beta, dim)}
        io.save(branch.assign_attrs(attrs), data, overwrite=overwrite)
        console.print(f"data: {data}", highlight=False)
