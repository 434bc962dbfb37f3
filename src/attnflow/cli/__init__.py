"""The `attnflow` command line: thin Typer commands that parse, call the library, and report.

Each command lives in its own module and registers itself on `app`; bad input
(any `AttnflowError`) becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..errors import AttnflowError

app = typer.Typer(help="attnflow: tokens of a transformer as interacting particles on the sphere.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Simulate attention dynamics, solve the mean-field PDE, compare with the theory."""


def fail(message: str) -> None:
    """Print one error line and exit with status 2."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def progress_bar(label: str, total: float):
    """A rich progress bar over [0, total], shown from the first update on (so that input
    errors raised before any work print alone). Yields `update(done, total)`."""
    state = {}

    def update(done: float, _total: float = total) -> None:
        if not state:
            state["bar"] = Progress(TextColumn(f"[bold]{label}"), BarColumn(), TextColumn("{task.fields[at]}"),
                                    TimeElapsedColumn(), TimeRemainingColumn(), console=console)
            state["bar"].start()
            state["task"] = state["bar"].add_task(label, total=max(total, 1e-300), at="")
        state["bar"].update(state["task"], completed=done, at=f"{done:.4g} / {total:.4g}")

    try:
        yield update
    finally:
        if state:
            state["bar"].stop()


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a run like Ctrl-C: finished work is written first


def _partial(error: BaseException) -> str:
    where = getattr(error, "partial_result", None)
    return "" if where is None else f"; the finished part is in {where} (rerun with --resume to finish it)"


@contextmanager
def reporting_interrupts():
    """Ctrl-C or SIGTERM inside: one line saying where the finished part of the run is, exit 130."""
    try:
        yield
    except KeyboardInterrupt as error:
        console.print(f"[bold yellow]interrupted[/]{_partial(error) or ': no result was written'}",
                      highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None


def main() -> None:
    """Entry point of the `attnflow` script: bad input exits 2 with one line (SIGTERM is Ctrl-C)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except AttnflowError as error:
        console.print(f"[bold red]error:[/] {error}{_partial(error)}", highlight=False, soft_wrap=True)
        sys.exit(2)


from . import simulate  # noqa: E402,F401  (commands register themselves on `app`)
from . import sweep  # noqa: E402,F401
from . import pde  # noqa: E402,F401
from . import predict, reproduce  # noqa: E402,F401
