"""Named, reproducible experiments (the papers' figures), run by `attnflow reproduce`.

An experiment is a function `run(out: Path, scale: str) -> Section` registered with
`@experiment(name, order)`: it computes, writes its figures (PNG) and data into `out`,
and returns the report section and its numbers for `summary.json`. `scale` is
"quick" (the default of `make demo`, about a minute in all) or "full" (the papers' sizes).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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
    run: Callable[[Path, str], Section]


REGISTRY: dict[str, Experiment] = {}

# Modules that define experiments; each registers itself on import.
MODULES: tuple[str, ...] = ("equiangular", "clustering_rates", "counterexample", "long_context", "kuramoto",
                            "phase_diagram", "metastability", "metastability_stats",
                            "pde_circle")


def experiment(name: str, order: int = 100):
    """Register `run(out, scale) -> Section` under `name`; reports list experiments by `order`."""

    def register(run):
        REGISTRY[name] = Experiment(name, order, run)
        return run

    return register


def available() -> list[Experiment]:
    """All registered experiments, in report order."""
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return sorted(REGISTRY.values(), key=lambda e: e.order)
