"""Named, reproducible experiments (the papers' figures), run by `attnflow reproduce`.

An experiment is a function `run(out: Path, scale: str, progress=quiet) -> Section` registered
with `@experiment(name, order)`: it computes, writes its figures (PNG) and data into `out`,
and returns the report section and its numbers for `summary.json`. `scale` is
"quick" (the default of `make demo`, about a minute in all) or "full" (the papers' sizes).
`progress(text)` is told each step as it starts ("β = 5, n = 20000 (2/3)"); `attnflow reproduce`
shows it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Iterable

SCALES = ("quick", "full")


@dataclass
class Section:
    """One experiment's part of the report.

    title     section heading
    markdown  body in Markdown; figures referenced by paths relative to the output folder
    figures   those relative paths (embedded in report.html)
    summary   entries for summary.json: each key's list is concatenated across experiments
              (the metastability experiments fill "experiments")
    """

    title: str
    markdown: str
    figures: list[str] = field(default_factory=list)
    summary: dict[str, list] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    name: str
    order: int
    run: Callable[..., Section]  # run(out: Path, scale: str, progress) -> Section


def quiet(step: str) -> None:
    """The progress of an experiment run without a listener: nothing is reported."""


def steps(progress: Callable[[str], None], items: Iterable, label: Callable[..., str]):
    """Yield `items`, telling `progress` "<label(item)> (i/total)" before each."""
    items = list(items)
    for number, item in enumerate(items, 1):
        progress(f"{label(item)} ({number}/{len(items)})")
        yield item


REGISTRY: dict[str, Experiment] = {}

# Modules that define experiments; each registers itself on import.
MODULES: tuple[str, ...] = ("equiangular", "clustering_rates", "counterexample", "long_context", "kuramoto",
                            "phase_diagram", "metastability", "metastability_stats",
                            "pde_circle")


def experiment(name: str, order: int = 100):
    """Register `run(out, scale, progress) -> Section` under `name`; reports list experiments by `order`."""

    def register(run):
        REGISTRY[name] = Experiment(name, order, run)
        return run

    return register


def available() -> list[Experiment]:
    """All registered experiments, in report order."""
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return sorted(REGISTRY.values(), key=lambda e: e.order)
