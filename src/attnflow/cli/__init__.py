"""The `attnflow` command line: thin Typer commands that parse, call the library, and report.

Each command lives in its own module and registers itself on `app`; bad input
(any `AttnflowError`) becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

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


def main() -> None:
    """Entry point of the `attnflow` script."""
    try:
        app()
    except AttnflowError as error:
        console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)


from . import simulate  # noqa: E402,F401  (commands register themselves on `app`)
from . import sweep  # noqa: E402,F401
