"""`attnflow sweep` (run a parameter sweep on Dask into a Zarr store) and `attnflow sweep-plot`."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from ..errors import AttnflowError
from ..provenance import recording
from . import app, command_line, console, fail, progress_bar

FAILURES_SHOWN = 20


@app.command(epilog="Examples:\n\n  attnflow sweep examples/cluster_count.yaml --out clusters.zarr\n\n"
                    "  attnflow sweep examples/phase_diagram.yaml --out phase.zarr --scheduler tcp://10.0.0.1:8786\n\n"
                    "Rerun the same command after an interruption to compute only the missing points.")
def sweep(
    spec: Path = typer.Argument(..., help="Sweep description (.yaml, .yml or .toml)."),
    out: Path = typer.Option(None, help="Output Zarr store (default: `store:` in the spec)."),
    scheduler: str = typer.Option(None, help="Address of a running Dask scheduler (tcp://host:port); "
                                             "default: a local cluster."),
    workers: int = typer.Option(None, help="Local workers (default: one per core); with --scheduler, "
                                           "wait for this many workers."),
    overwrite: bool = typer.Option(False, help="Replace an existing store instead of resuming it."),
):
    """Run every grid point of SPEC as a Dask task; results go into one Zarr store as they finish.

    Exit status: 0 done, 1 some points failed (see the store), 2 bad input, 130 interrupted (rerun).
    """
    from ..sweep import run_sweep

    started = time.perf_counter()
    with progress_bar("sweep points") as bar, recording(command_line()):
        try:
            report = run_sweep(spec, out=out, scheduler=scheduler, workers=workers, overwrite=overwrite, progress=bar)
        except AttnflowError as error:
            bar.close()
            fail(str(error))
        except KeyboardInterrupt:
            bar.close()
            console.print("[bold yellow]interrupted:[/] finished points are in the store; "
                          "rerun the same command to compute the rest")
            raise typer.Exit(130)
    table = Table(title="sweep", show_header=False)
    table.add_row("store", str(report.store))
    table.add_row("points", f"{report.total} ({report.already_done} done before, {report.computed} computed now)")
    table.add_row("failed", str(len(report.failures)))
    wall = time.perf_counter() - started
    table.add_row("time", f"{wall:.1f} s wall, {report.task_seconds:.1f} s CPU in tasks "
                          f"({report.task_seconds / wall:.2f} workers busy on average)")
    console.print(table)
    if report.failures:
        failures = Table(title="failed points")
        failures.add_column("parameters")
        failures.add_column("error")
        for failure in report.failures[:FAILURES_SHOWN]:
            failures.add_row(", ".join(f"{k}={v}" for k, v in failure.params.items()), failure.error)
        console.print(failures)
        if len(report.failures) > FAILURES_SHOWN:
            console.print(f"... and {len(report.failures) - FAILURES_SHOWN} more (see the store's `error` variable)")
        raise typer.Exit(1)


@app.command("sweep-plot", epilog="Example:\n\n  attnflow sweep-plot clusters.zarr --out clusters.png")
def sweep_plot(
    store: Path = typer.Argument(..., help="A sweep store written by `attnflow sweep`."),
    out: Path = typer.Option(..., help="Image file (.png, .pdf, .svg)."),
):
    """Draw the figure of a sweep store.

    Cluster counts against beta (cluster_count), the (t, beta) phase diagram (phase_diagram), or a
    simulate sweep's final observables."""
    from ..plots.sweep import plot_store

    try:
        plot_store(store, out)
    except AttnflowError as error:
        fail(str(error))
    console.print(f"figure written to {out}")
