"""`attnflow pde`: solve the mean-field equation on the circle, on S^2 (`--dim 3`) or for zonal densities on S^{d-1}
(`--zonal --dim D`), and save the densities."""

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
from ..pde.solve import DEFAULT_METHOD, SOLVERS
from ..plots import check_figure_path
from ..provenance import recording
from ..spectrum import kernel_degree
from ..rerun import DENSITY_INITS, initial_density, parse_amplitudes
from . import app, choices, command_line, console, fail, progress_bar, reporting_interrupts

Kind, Method, Init = choices("Kind", KINDS), choices("PdeMethod", SOLVERS), choices("PdeInit", DENSITY_INITS)


@app.command(epilog="Examples:\n\n"
                    "  attnflow pde --beta 5 --t-end 0.5 --grid 1024 --method fv --out pde.nc --figures figs\n\n"
                    "  attnflow pde --beta 7 --t-end 0.05 --method spectral --grid 512 --init modes "
                    "--amplitudes 1e-3,1e-3,1e-3,1e-3\n\n"
                    "  attnflow pde --dim 3 --beta 6 --t-end 0.3 --grid 32 --sigma 0.01 --figures figs\n\n"
                    "  attnflow pde --zonal --dim 128 --beta 4 --t-end 2 --grid 48 --init modes --amplitudes 1e-3\n\n"
                    "  attnflow pde --zonal --dim 1024 --beta 4 --t-end 8 --method fv --grid 256 --amplitudes 5e-4")
def pde(
    beta: float = typer.Option(5.0, help="Inverse temperature beta >= 0."),
    kind: Kind = typer.Option("usa", help="Dynamics (docs/science.md §2)."),
    diffusion: float = typer.Option(0.0, help="Diffusion D >= 0 (adds D d^2 rho / d theta^2)."),
    dim: int = typer.Option(2, help="Dimension d: 2 (the circle), 3 (the sphere S^2), any d >= 2 with --zonal."),
    zonal: bool = typer.Option(False, help="Densities of t = <x, e> on S^{d-1} (any --dim; Gegenbauer solver, or "
                                           "finite volumes with --method fv)."),
    method: Method = typer.Option(None, help="Circle: fv (default), spectral or lax-friedrichs (the seed's); "
                                             "S^2: sht; zonal: gegenbauer (default) or fv."),
    grid: int = typer.Option(None, help="Circle: N cells (default 1024); S^2: nlat latitudes of the nlat x 2 nlat "
                                        "Legendre–Gauss grid; zonal: nodes in t (cells in arccos t with fv). "
                                        "Default on S^2 and zonal: every degree the kernel couples at this beta, at "
                                        "least 32 and 64; zonal fv: 256 cells."),
    init: Init = typer.Option(None, help="Initial density: noise (uniform + sigma white noise; default) or modes "
                                         "(zonal: modes only, the default)."),
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
    device: str = typer.Option(None, help="cpu or cuda (sht; default cpu)."),
    interpolate: bool = typer.Option(False, help="spectral, sht, gegenbauer: observe through the steps' dense "
                                                 "output instead of landing on every observation time (fewer "
                                                 "steps; accurate to the tolerances of the whole density)."),
    out: Path = typer.Option(None, help="Output file, .nc or .zarr."),
    overwrite: bool = typer.Option(False, help="Replace an earlier attnflow result at --out."),
    figures: Path = typer.Option(None, help="Folder for pde_snapshots.png and pde_spacetime.png."),
):
    """Solve the mean-field PDE on the circle, on S^2 or for zonal densities, from a noisy or modal uniform density."""
    if dim < 2 or (dim > 3 and not zonal):
        fail(f"--dim={dim} is not allowed: 2 (the circle), 3 (the sphere S^2), or any d >= 2 with --zonal")
    space = "zonal" if zonal else {2: "circle", 3: "sphere"}[dim]
    if out is not None:
        check_target(check_path(out), "out", "pde-run", overwrite)
    if figures is not None:
        _check_figures(figures, space)
    model = Model(kind=kind.value, beta=beta, dim=dim, diffusion=diffusion)
    method = DEFAULT_METHOD[space] if method is None else method.value
    init = ("modes" if zonal else "noise") if init is None else init.value
    data_degree = len(parse_amplitudes(amplitudes)) if init == "modes" else 0
    grid = default_grid(space, beta, dim, method, data_degree) if grid is None else grid
    smallest = 4 if space == "sphere" else MIN_POINTS
    if grid < smallest:
        fail(f"--grid={grid} is not allowed: an integer >= {smallest}")
    rho0, how = initial_density(init, grid, sigma, seed, noise_points, amplitudes, dim, zonal, method)
    options = {"spectral": {"rtol": rtol, "atol": atol}, "fv": {"cfl": cfl},
               "lax-friedrichs": {"courant": courant}, "sht": {"rtol": rtol, "atol": atol, "device": device},
               "gegenbauer": {"rtol": rtol, "atol": atol}}[method]
    with reporting_interrupts(), progress_bar("pde t") as update, recording(command_line(), **how):
        ds = solve(model, rho0, t_end, method=method, save_every=save_every, observe_every=observe_every,
                   kmax=kmax, progress=update, zonal=zonal, interpolate=interpolate,
                   **{k: v for k, v in options.items() if v is not None})
    if out is not None:
        save(ds, out, overwrite=overwrite)
    if figures is not None:
        _figures(ds, figures)
    _summarise(ds, out, figures)


FIGURES = ("pde_snapshots.png", "pde_spacetime.png")  # the circle and zonal densities
SPHERE_FIGURES = ("pde_map.png",)  # S^2: the final density on a Mollweide map


def _check_figures(folder: Path, space: str) -> None:
    """Before the run: the folder can be made or written, and holds no file of ours' names we did not write."""
    if folder.exists() and not folder.is_dir():
        fail(f"--figures={str(folder)!r} is not allowed: a folder (it is an existing file)")
    if not folder.exists():
        check_writable_parent(folder, "figures")
        return
    for name in SPHERE_FIGURES if space == "sphere" else FIGURES:
        check_figure_path(folder / name, "figures")


def _figures(ds, folder: Path) -> None:
    from .. import plots as figures
    from ..plots import pde as plots
    folder.mkdir(parents=True, exist_ok=True)
    title = f"{ds.attrs['kind']}, β = {ds.attrs['beta']:g}, {ds.attrs['method']}, {_grid(ds)}"
    if ds.attrs["geometry"] == "sphere":
        ax = plots.sphere_density(ds)
        ax.figure.suptitle(title, fontsize=10)
        figures.save(ax.figure, folder / SPHERE_FIGURES[0])
        return
    for name, draw in zip(FIGURES, (plots.snapshots, plots.spacetime)):
        ax = draw(ds)
        ax.set_title(title)
        figures.save(ax.figure, folder / name)


def default_grid(space: str, beta: float, dim: int, method: str | None = None, data_degree: int = 0) -> int:
    """The grid when --grid is not given: 1024 cells on the circle, 256 zonal cells (method fv: 512 cells per 2 pi
    of the angle arccos t, as the circle's); on S^2 and zonally the band limit from beta and the data: the larger of
    `spectrum.kernel_degree(beta, d)` (the kernel couples no higher degree) and the initial density's highest degree
    `data_degree` (--init modes: the number of amplitudes), plus one, at least 32 and 64 points."""
    if space == "circle":
        return 1024
    if method == "fv":
        return 256
    return max({"sphere": 32, "zonal": 64}[space], kernel_degree(beta, dim) + 1, data_degree + 1)


def _grid(ds) -> str:
    if ds.attrs["geometry"] == "sphere":
        return f"{ds.attrs['n_lat']} x {ds.attrs['n_lon']} (degrees <= {ds.attrs['degree_max']})"
    points = "cells" if ds.attrs["method"] == "fv" else "nodes"
    zonal = f" {points}, d = {ds.attrs['dim']}" if ds.attrs["geometry"] == "zonal" else ""
    return f"N = {ds.attrs['n_grid']}{zonal}"


def _summarise(ds, out, figures) -> None:
    where = {"circle": "the circle", "sphere": "S^2", "zonal": f"S^{ds.attrs['dim'] - 1}, zonal"}[ds.attrs["geometry"]]
    table = Table(title=f"mean-field PDE on {where}", show_header=False)
    table.add_row("model", f"{ds.attrs['kind']}, beta={ds.attrs['beta']:g}, D={ds.attrs['diffusion']:g}")
    table.add_row("method / grid", f"{ds.attrs['method']} / {_grid(ds)}")
    table.add_row("steps", f"{ds.attrs['steps']} ({ds.attrs['rejected_steps']} rejected)")
    table.add_row("wall time", f"{ds.attrs['wall_time']:.2f} s")
    table.add_row("mass error (max)", f"{float(np.abs(ds.mass.values - 1).max()):.2e}")
    table.add_row("min density", f"{ds.attrs['min_density']:.3g}")
    final = ds.mode_amplitude.isel(obs_time=-1).values
    table.add_row("dominant mode at t_end", f"k = {int(np.argmax(final)) + 1} (amplitude {final.max():.3g})")
    table.add_row("max density at t_end", f"{float(ds.density.isel(time=-1).max()):.3g}")
    for label, path in (("saved to", out), ("figures in", figures)):
        if path is not None:
            table.add_row(label, str(path))
    console.print(table)
