"""Progress of a long computation, wherever its output goes.

`Progress(label)` is a callback `progress(done, total)` (the `progress=` of `simulate`, `pde.solve`
and `run_sweep`) and `progress.step(text)` names the current step of a multi-step computation
(`attnflow reproduce`). On a terminal or in a Jupyter notebook it draws a rich progress bar (rich
renders in notebooks); when the stream is a file or a pipe (batch jobs, CI, nohup) it prints a
plain line with done / total and the elapsed time every `every_seconds` (10 s), or sooner at each
further `every_fraction` (10%) of the total, and a last line when the work is done; a computation
shorter than `every_seconds` prints nothing (so an error found at once prints alone):

    simulate t: 0.3 / 1 (30%), 12 s elapsed

    with Progress("simulate t") as progress:
        ds = af.simulate(model, x0, t_end=1, dt=1e-3, method="euler", progress=progress)
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress


def _elapsed(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class Progress:
    """A progress callback `(done, total)` that draws a bar on a terminal or notebook and prints plain
    lines elsewhere. `console` (default: stderr) chooses the stream; `interactive` forces one mode.
    It starts showing at the first update (errors raised before any work print alone), and stops at
    `close()`, at the end of a `with` block, or once `done >= total`."""

    def __init__(self, label: str, console: Console | None = None, interactive: bool | None = None,
                 every_seconds: float = 10.0, every_fraction: float = 0.1):
        self.label = label
        self.console = console or Console(stderr=True)
        self.interactive = (self.console.is_terminal or self.console.is_jupyter) if interactive is None else interactive
        self.every_seconds, self.every_fraction = every_seconds, every_fraction
        self.started = time.monotonic()
        self._bar = self._task = None
        self._last_line, self._last_fraction, self._finished, self._printed = self.started, 0.0, False, False

    def __call__(self, done: float, total: float) -> None:
        if self._finished:
            return
        fraction = min(1.0, done / total) if total > 0 else 1.0
        at = f"{done:.4g} / {total:.4g}"
        if self.interactive:
            if self._bar is None:
                self._bar = RichProgress(TextColumn(f"[bold]{self.label}"), BarColumn(), TextColumn("{task.fields[at]}"),
                                         TimeElapsedColumn(), TimeRemainingColumn(), console=self.console)
                self._bar.start()
                self._task = self._bar.add_task(self.label, total=max(total, 1e-300), at="")
            self._bar.update(self._task, completed=done, total=max(total, 1e-300), at=at)
        else:
            now = time.monotonic()
            late = now - self.started >= self.every_seconds
            due = (now - self._last_line >= self.every_seconds
                   or (late and fraction >= self._last_fraction + self.every_fraction)
                   or (fraction >= 1 and self._printed))
            if due:
                self._line(f"{at} ({100 * fraction:.0f}%)")
                self._last_line, self._last_fraction = now, fraction
        if fraction >= 1:
            self.close()

    def step(self, text: str) -> None:
        """Name the current step (plain mode: a line at most every `every_seconds`)."""
        now = time.monotonic()
        if self.interactive:
            if self._bar is None:
                self._bar = RichProgress(TextColumn(f"[bold]{self.label}[/]: {{task.description}}"),
                                         TimeElapsedColumn(), console=self.console)
                self._bar.start()
                self._task = self._bar.add_task(text, total=None)
            self._bar.update(self._task, description=text)
        elif now - self._last_line >= self.every_seconds:
            self._line(text)
            self._last_line = now

    def _line(self, text: str) -> None:
        self._printed = True
        self.console.print(f"{self.label}: {text}, {_elapsed(time.monotonic() - self.started)} elapsed",
                           highlight=False, soft_wrap=True)

    def close(self) -> None:
        """Stop the bar (idempotent)."""
        self._finished = True
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def callback(progress, label: str):
    """`progress` as a callback: True gives a `Progress(label)`, None or False none, a callable itself."""
    if progress is True:
        return Progress(label)
    return progress or None
