"""`attnflow reproduce`: rerun the registered experiments and write the report (`make demo`)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from ..progress import Progress
from ..provenance import recording
from . import app, command_line, console, fail

FOLDER_MARK = ".attnflow-reproduce"  # a folder holding it was made by `attnflow reproduce`


@app.command(epilog="Examples:\n\n  attnflow reproduce --quick --out results/reproduce\n\n"
                    "  attnflow reproduce --full --out results/full\n\n"
                    "  attnflow reproduce --only metastability_circle --only metastability_sphere")
def reproduce(
    quick: bool = typer.Option(True, "--quick/--full", help="Quick scale (about a minute per group of "
                                                            "experiments) or the papers' sizes."),
    out: Path = typer.Option(Path("results/reproduce"), help="Output folder (created; figures, report.md, "
                                                              "report.html, summary.json)."),
    only: list[str] = typer.Option(None, "--only", help="Run only this experiment (repeatable); see "
                                                        "--list."),
    list_: bool = typer.Option(False, "--list", help="List the experiments and exit."),
):
    """Rerun the papers' experiments and write report.md, report.html (figures embedded) and summary.json."""
    from ..experiments import available
    from ..experiments.report import write_report

    experiments = available()
    names = [e.name for e in experiments]
    if list_:
        for name in names:
            console.print(name, highlight=False)
        return
    unknown = [name for name in only or [] if name not in names]
    if unknown:
        fail(f"--only={unknown[0]!r} is not allowed: one of {', '.join(names)}")
    chosen = [e for e in experiments if not only or e.name in only]
    if out.exists() and not out.is_dir():
        fail(f"--out={str(out)!r} is not allowed: a folder (it is an existing file)")
    if out.is_dir() and any(out.iterdir()) and not (out / FOLDER_MARK).exists():
        fail(f"--out={str(out)!r} is not allowed: a new or empty folder, or one that attnflow reproduce wrote "
             "(this one holds files attnflow did not write, and attnflow never overwrites them)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / FOLDER_MARK).write_text("written by attnflow reproduce: it may replace the files in this folder\n")
    except OSError as error:
        fail(f"--out={str(out)!r} is not allowed: a writable folder ({error.strerror or error})")
    scale = "quick" if quick else "full"
    for stale in ("report.md", "report.html", "summary.json"):  # no old report passes for this run's
        (out / stale).unlink(missing_ok=True)
    sections = []
    with recording(command_line()):
        for experiment in chosen:
            started = time.perf_counter()
            with Progress(f"{experiment.name} ({scale})", console=console) as progress:
                progress.step("starting")
                section = experiment.run(out, scale, progress.step)
            seconds = time.perf_counter() - started
            console.print(f"[green]done[/] {experiment.name} in {seconds:.1f} s", highlight=False)
            sections.append((experiment.name, section, seconds))
        summary = write_report(sections, out, scale)
    table = Table(title=f"reproduce ({scale}) -> {out}")
    for column in ("β", "d", "n", "k*", "clusters found", "site error max"):
        table.add_column(column)
    for row in summary["experiments"]:
        cells = [row.get(key) for key in ("beta", "dim", "n", "k_star", "clusters_found", "site_error_max")]
        table.add_row(*("-" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)
                        for value in cells))
    console.print(table)
    console.print(f"report: {out / 'report.html'}", highlight=False)


