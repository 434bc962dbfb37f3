"""`attnflow simulate`: run the particle dynamics and save the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from .._array import DTYPES
from ..integrate import METHODS
from ..integrate import simulate as run_simulation
from ..interaction import ENGINES
from ..io import check_path
from ..model import KINDS, MASKS, Model
from ..normalization import NORMALIZATIONS, NORMS
from ..provenance import recording
from ..rerun import TOKEN_INITS, initial_tokens
from . import app, choices, command_line, console, progress_bar, reporting_interrupts

Kind, Norm, Init = choices("Kind", KINDS), choices("Norm", NORMS), choices("Init", TOKEN_INITS)
Mask = choices("Mask", MASKS)
Method, Engine, Dtype = choices("Method", METHODS), choices("Engine", ENGINES), choices("Dtype", DTYPES)
NORM_HELP = "Normalisation (docs/science.md §1): " + "; ".join(
    f"{name}: {scheme.summary}" for name, scheme in NORMALIZATIONS.items()) + "."


@app.command(epilog="Examples:\n\n  attnflow simulate --beta 5 --n 20000 --t-end 0.6 --dt 1e-4 --method euler --out run.nc\n\n"
                    "  attnflow simulate --kind sa --dim 3 --beta 6 --n 3000 --t-end 1 --method dopri5 --out s2.zarr"
                    "\n\n"
                    "  attnflow simulate --kind sa --mask causal --beta 64 --n 200 --t-end 100 --dt 0.1 "
                    "--out causal.nc")
def simulate(
    beta: float = typer.Option(5.0, help="Inverse temperature beta >= 0."),
    dim: int = typer.Option(2, help="Ambient dimension d >= 2 (tokens on S^{d-1})."),
    n: int = typer.Option(2000, help="Number of tokens."),
    kind: Kind = typer.Option("usa", help="Dynamics (docs/science.md §1)."),
    norm: Norm = typer.Option("post", help=NORM_HELP),
    diffusion: float = typer.Option(0.0, help="Noise strength D >= 0 (needs --method euler)."),
    mask: Mask = typer.Option("none", help="Attention mask: none, or causal (token i sees j <= i; docs/science.md)."),
    init: Init = typer.Option("uniform", help="Initial tokens."),
    clusters: int = typer.Option(3, help="Number of groups for --init clusters."),
    spread: float = typer.Option(0.1, help="Angular spread (rad) for --init clusters."),
    rho: float = typer.Option(0.0, help="Common inner product for --init equiangular (needs dim >= n)."),
    t_end: float = typer.Option(1.0, help="Final time."),
    dt: float = typer.Option(None, help="Time step (required by euler, rk4) or first step (dopri5)."),
    method: Method = typer.Option("rk4", help="Time stepper (dopri5: adaptive)."),
    rtol: float = typer.Option(1e-6, help="Relative tolerance of dopri5."),
    atol: float = typer.Option(1e-9, help="Absolute tolerance of dopri5."),
    engine: Engine = typer.Option(None, help="Velocity engine (default: the fastest exact one)."),
    seed: int = typer.Option(0, help="Seed of the initial tokens and of the noise."),
    save_every: float = typer.Option(None, help="Time between saved positions (default t_end/50)."),
    observe_every: float = typer.Option(None, help="Time between observables (default save_every/10)."),
    out: Path = typer.Option(None, help="Output file, .nc or .zarr (streamed to <stem>.partial.zarr as the run goes)."),
    overwrite: bool = typer.Option(False, help="Replace an earlier attnflow result or interrupted run at --out."),
    resume: bool = typer.Option(False, help="Finish the interrupted run bound for --out (same parameters)."),
    device: str = typer.Option("cpu", help="cpu, cuda or cuda:N."),
    dtype: Dtype = typer.Option("float64", help="Floating-point type."),
):
    """Simulate the tokens of an attention model and save positions and observables."""
    if out is not None:
        check_path(out)
    model = Model(kind=kind.value, beta=beta, dim=dim, norm=norm.value, diffusion=diffusion, mask=mask.value)
    x0, how = initial_tokens(init.value, n, dim, seed, clusters, spread, rho)
    with reporting_interrupts(), progress_bar("simulate t") as update, recording(command_line(), **how):
        ds = run_simulation(model, x0, t_end, dt=dt, method=method.value, save_every=save_every,
                            observe_every=observe_every, engine=engine and engine.value, rtol=rtol, atol=atol,
                            seed=seed, out=out, device=device, dtype=dtype.value, progress=update,
                            overwrite=overwrite, resume=resume)
    _summarise(ds, out)


def _summarise(ds, out) -> None:
    table = Table(title="simulation", show_header=False)
    table.add_row("model", f"{ds.attrs['kind']}, beta={ds.attrs['beta']:g}, dim={ds.attrs['dim']}, "
                           f"norm={ds.attrs['norm']}, mask={ds.attrs['mask']}")
    table.add_row("tokens", str(ds.attrs["n"]))
    table.add_row("engine / method", f"{ds.attrs['engine']} / {ds.attrs['method']}")
    table.add_row("steps", f"{ds.attrs['steps']} ({ds.attrs['rejected_steps']} rejected)")
    table.add_row("wall time", f"{ds.attrs['wall_time']:.2f} s")
    if "mode_amplitude" in ds and (ds.attrs["n"] < 2 or ds["mode_amplitude"].values[0].max() >= 0.5):
        table.add_row("dominant mode", "none: the start is not near uniform (a mode already has |mu_k| >= 0.5)")
    elif "mode_amplitude" in ds:
        amplitude = ds["mode_amplitude"].values
        grown = np.nonzero(amplitude.max(axis=1) >= 0.5)[0]
        when = grown[0] if len(grown) else -1  # the first time a mode reaches 1/2, else the end
        k = int(np.argmax(amplitude[when])) + 1
        table.add_row("dominant mode", f"k = {k} (first to reach |mu_k| = 0.5, at t = "
                                       f"{float(ds['obs_time'][when]):.4g})" if len(grown) else
                      f"k = {k} at t_end (no mode reached |mu_k| = 0.5)")
    _add_cluster_row(table, ds)
    if out is not None:
        table.add_row("saved to", str(out))
    console.print(table)


def _add_cluster_row(table, ds) -> None:
    from ..clusters import find_clusters  # the detector lives in clusters.py
    found = find_clusters(ds["x"].isel(time=-1).values)
    table.add_row("clusters at t_end", f"{found.count} (masses {', '.join(f'{m:.2f}' for m in found.masses[:8])})"
                  if found.count else "none yet (no concentration of tokens found)")
