"""The `attnflow` command line: thin Typer commands that parse, call the library, and report.

Each command lives in its own module and registers itself on `app`; bad input (any
`AttnflowError`, and a value outside an option's choices) becomes one line on stderr and exit
status 2. Choice options are enums, so `--help` lists their values.
"""

from __future__ import annotations

import shlex
import signal
import sys
from contextlib import contextmanager
from enum import Enum

import typer
from rich.console import Console

from ..errors import AttnflowError
from ..progress import Progress
from ..provenance import VERSION, commit

try:  # typer >= 0.25 vendors click as typer._click; earlier versions use click itself
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError
    from click.globals import get_current_context

app = typer.Typer(help="attnflow: tokens of a transformer as interacting particles on the sphere.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)
_ARGV: list[str] | None = None  # the arguments of the `attnflow` script, as typed (set by `main`)


def choices(name: str, values) -> type[Enum]:
    """A str Enum of `values` for a Typer option: `--help` lists them, another value exits 2."""
    return Enum(name, {value: value for value in values}, type=str)


def _version(value: bool) -> None:
    if value:
        head = commit()
        console.print(f"attnflow {VERSION}" + ("" if head == "unknown" else f" (git {head})"), highlight=False)
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version (and git commit) and exit.")) -> None:
    """Simulate attention dynamics, solve the mean-field PDE, compare with the theory."""


def command_line() -> str:
    """The command line of this invocation: as typed when run as the `attnflow` script, else (Typer's
    test runner) rebuilt from the parsed options, every one explicit."""
    if _ARGV is not None:
        return shlex.join(["attnflow", *_ARGV])
    ctx = get_current_context()
    words = ["attnflow", ctx.info_name]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or param.name in ("help",):
            continue
        if param.param_type_name == "argument":
            words.append(str(value))
        elif getattr(param, "is_flag", False):
            flag = param.opts[0] if value else (param.secondary_opts or [None])[0]
            words += [flag] if flag else []
        else:
            for item in value if isinstance(value, (list, tuple)) else [value]:
                words += [param.opts[0], str(item.value if isinstance(item, Enum) else item)]
    return shlex.join(words)


def fail(message: str) -> None:
    """Print one error line and exit with status 2."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def progress_bar(label: str) -> Progress:
    """The progress of a run on stderr: a bar on a terminal, a plain line every 10 s (or 10%) in a log."""
    return Progress(label, console=console)


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
    global _ARGV
    signal.signal(signal.SIGTERM, _terminate)
    _ARGV = sys.argv[1:]
    try:
        status = _run()
    finally:
        _ARGV = None  # a later in-process call (tests, notebooks) records its own command line
    sys.exit(status)


def _run() -> int:
    """Run the app; the exit status, with bad input as one line and status 2."""
    try:
        status = app(standalone_mode=False)
    except AttnflowError as error:
        console.print(f"[bold red]error:[/] {error}{_partial(error)}", highlight=False, soft_wrap=True)
        return 2
    except NoArgsIsHelpError as error:
        error.show()
        return error.exit_code
    except ClickException as error:  # a value outside an option's choices, an unknown option, ...
        message = error.format_message().replace("Value error, ", "")  # Typer's choice check words it so
        console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        return 2
    except typer.Abort:
        return 130
    return status if isinstance(status, int) else 0

from . import simulate  # noqa: E402,F401  (commands register themselves on `app`)
from . import sweep  # noqa: E402,F401
from . import pde  # noqa: E402,F401
from . import noise, predict, reproduce, rerun  # noqa: E402,F401
