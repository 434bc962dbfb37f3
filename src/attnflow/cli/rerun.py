"""`attnflow rerun`: make a saved particle or PDE run again from the parameters in its file."""

from __future__ import annotations

from pathlib import Path

import typer

from . import app, command_line, console, progress_bar, reporting_interrupts


@app.command(epilog="Examples:\n\n  attnflow rerun run.nc --out again.nc\n\n  attnflow rerun pde.zarr --out pde-again.zarr")
def rerun(
    path: Path = typer.Argument(..., help="A run written by attnflow simulate or attnflow pde (.nc or .zarr)."),
    out: Path = typer.Option(None, help="Where to save the new run (.nc or .zarr); default: compare only."),
    overwrite: bool = typer.Option(False, help="Replace an earlier attnflow result at --out."),
):
    """Run PATH again from its attributes and compare: a CLI-made run gives the same bits (same machine and
    device); a run started in Python from an array restarts from its first snapshot."""
    import numpy as np

    from ..io import check_path, load
    from ..provenance import recording
    from ..rerun import rerun as run_again

    if out is not None:
        check_path(out)
    original = load(path)
    with reporting_interrupts(), progress_bar("rerun t") as update, recording(command_line()):
        again = run_again(path, out=out, overwrite=overwrite, progress=update)
    name = "x" if "x" in original else "density"
    same = np.array_equal(original[name].values, again[name].values)
    console.print(f"{name}: {'the same bits as' if same else 'differs from'} {path} "
                  f"(largest difference {float(np.abs(original[name].values - again[name].values).max()):.3g})"
                  + (f"; saved to {out}" if out is not None else ""), highlight=False)
