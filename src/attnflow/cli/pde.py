"""`attnflow pde`: solve the mean-field equation on the circle and save the densities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from ..io import check_path, save
from ..model import KINDS, Model
from ..outputs import check_target, check_writable_parent
from ..pde import solve
from ..pde.geometry import MIN_POINTS
from ..pde.solve import SOLVERS
from ..plots import check_figure_path
from ..provenance import recording
from ..rerun import DENSITY_INITS, initial_density
from . import app, choices, command_line, console, fail, progress_bar, reporting_interrupts

Kind, Method, Init = choices("Kind", KINDS), choices("PdeMethod", SOLVERS), choices("PdeInit", DENSITY_INITS)


@app.command(epilog="Examples:\n\n"
                    "  attnflow pde --beta 5 --t-end 0.5 --grid 1024 --method fv --out pde.nc --figures figs\n\n"
                    "  attnflow pde --beta 7 --t-end 0.05 --method spectral --grid 512 --init modes "
                    "--amplitudes 1e-3,1e-3,1e-3,1e-3")
def pde(
    beta: float = typer.Option(5.0, help="Inverse temperature beta >= 0."),
    kind: Kind = typer.Option("usa", help="Dynamics (docs/science.md §2)."),
    diffusion: float = typer.Option(0.0, help="Diffusion D >= 0 (adds D d^2 rho / d theta^2)."),
    method: Method = typer.Option("fv", help="fv (finite volumes), spectral, or lax-friedrichs (the seed's)."),
    grid: int = typer.Option(1024, help="Number N of grid points (cells) on the circle."),
    init: Init = typer.Option("noise", help="Initial density: noise (1/2pi + sigma white noise) or modes."),
    sigma: float = typer.Option(0.01, help="White-noise amplitude for --init noise."),
    noise_points: int = typer.Option(None, help="Draw the noise on this many points (same function on any grid)."),
    amplitudes: str = typer.Option("1e-3,1e-3,1e-3", help="|mu_k| for k = 1, 2, ... for --init modes."),
    seed: int = typer.Option(0, help="Seed of the white noise."),
    t_end: float = typer.Option(0.5, help="Final time."),
    save_every: float = typer.Option(None, help="Time between saved densities (default t_end/50)."),
    observe_every: float = typer.Option(None, help="Time between mass and |mu_k| (default save_every/10)."),
    kmax: int = typer.Option(None, help="Number of recorded modes |mu_k| (default min(10, grid/2))."),
    rtol: float = typer.Option(None, help="Relative tolerance (spectral; default 1e-8)."),
    atol: float = typer.Option(None, help="Absolute tolerance (spectral; default 1e-10)."),
    cfl: float = typer.Option(None, help="CFL number in (0, 1] (fv; default 0.8)."),
    courant: float = typer.Option(None, help="dt / dx (lax-friedrichs; default 0.02 as in the seed)."),
    out: Path = typer.Option(None, help="Output file, .nc or .zarr."),
    overwrite: bool = typer.Option(False, help="Replace an earlier attnflow result at --out."),
    figures: Path = typer.Option(None, help="Folder for pde_snapshots.png and pde_spacetime.png."),
):
    """Solve the mean-field PDE on the circle from a noisy or modal uniform density."""
    if out is not None:
        check_target(check_path(out), "out", "pde-run", overwrite)
    if figures is not None:
        _check_figures(figures)
    model = Model(kind=kind.value, beta=beta, dim=2, diffusion=diffusion)
    if grid < MIN_POINTS:
        fail(f"--grid={grid} is not allowed: an integer >= {MIN_POINTS}")
    rho0, how = initial_density(init.value, grid, sigma, seed, noise_points, amplitudes)
    options = {"spectral": {"rtol": rtol, "atol": atol}, "fv": {"cfl": cfl},
               "lax-friedrichs": {"courant": courant}}[method.value]
    with reporting_interrupts(), progress_bar("pde t") as update, recording(command_line(), **how):
        ds = solve(model, rho0, t_end, method=method.value, save_every=save_every, observe_every=observe_every,
                   kmax=kmax, progress=update, **{k: v for k, v in options.items() if v is not None})
    if out is not None:
        save(ds, out, overwrite=overwrite)
    if figures is not None:
        _figures(ds, figures)
    _summarise(ds, out, figures)


FIGURES = ("pde_snapshots.png", "pde_spacetime.png")


def _check_figures(folder: Path) -> None:
    """Before the run: the folder can be made or written, and holds no file of ours' names we did not write."""
    if folder.exists() and not folder.is_dir():
        fail(f"--figures={str(folder)!r} is not allowed: a folder (it is an existing file)")
    if not folder.exists():
        check_writable_parent(folder, "figures")
        return
    for name in FIGURES:
        check_figure_path(folder / name, "figures")


def _figures(ds, folder: Path) -> None:
    from .. import plots as figures
    from ..plots import pde as plots
    folder.mkdir(parents=True, exist_ok=True)
    for name, draw in zip(FIGURES, (plots.snapshots, plots.spacetime)):
        ax = draw(ds)
        ax.set_title(f"{ds.attrs['kind']}, β = {ds.attrs['beta']:g}, {ds.attrs['method']}, N = {ds.attrs['n_grid']}")
        figures.save(ax.figure, folder / name)


def _summarise(ds, out, figures) -> None:
    table = Table(title="mean-field PDE on the circle", show_header=False)
    table.add_row("model", f"{ds.attrs['kind']}, beta={ds.attrs['beta']:g}, D={ds.attrs['diffusion']:g}")
    table.add_row("method / grid", f"{ds.attrs['method']} / N = {ds.attrs['n_grid']}")
    table.add_row("steps", f"{ds.attrs['steps']} ({ds.attrs['rejected_steps']} rejected)")
    table.add_row("wall time", f"{ds.attrs['wall_time']:.2f} s")
    table.add_row("mass error (max)", f"{float(np.abs(ds.mass.values - 1).max()):.2e}")
    table.add_row("min density", f"{ds.attrs['min_density']:.3g}")
    final = ds.mode_amplitude.isel(obs_time=-1).values
    table.add_row("dominant mode at t_end", f"k = {int(np.argmax(final)) + 1} (|mu_k| = {final.max():.3f})")
    table.add_row("max density at t_end", f"{float(ds.density.isel(time=-1).max()):.3g}")
    for label, path in (("saved to", out), ("figures in", figures)):
        if path is not None:
            table.add_row(label, str(path))
    console.print(table)
