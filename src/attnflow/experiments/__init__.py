"""Named, reproducible experiments (the papers' figures), run by `attnflow reproduce`.

An experiment is a function `run(out: Path, scale: str, progress=quiet) -> Section` registered
with `@experiment(name, order)`: it computes its results as xarray Datasets and writes them
(`<name>.nc` in `out`, with the provenance of `provenance.py`: `save_datasets`), draws its figures
from them (`attnflow.plots.experiments`), and returns the report section, whose Markdown and
`summary.json` entries are formatted from the Datasets' numbers. `scale` is
"quick" (the default of `make demo`, about a minute in all) or "full" (the papers' sizes).
`progress(text)` is told each step as it starts ("β = 5, n = 20000 (2/3)"); `attnflow reproduce`
shows it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import xarray as xr

SCALES = ("quick", "full")


@dataclass
class Section:
    """One experiment's part of the report.

    title     section heading
    markdown  body in Markdown; figures referenced by paths relative to the output folder
    figures   those relative paths (embedded in report.html)
    summary   entries for summary.json: each key's list is concatenated across experiments
              (the metastability experiments fill "experiments")
    datasets  the results the section is made from: file stem -> Dataset (written as <stem>.nc)
    """

    title: str
    markdown: str
    figures: list[str] = field(default_factory=list)
    summary: dict[str, list] = field(default_factory=dict)
    datasets: dict[str, xr.Dataset] = field(default_factory=dict)


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


def save_datasets(out: Path, experiment: str, scale: str, datasets: dict[str, xr.Dataset]) -> dict[str, xr.Dataset]:
    """Write each Dataset to `out/<stem>.nc` (`attnflow.io.save`, replacing the file of an earlier run) with
    the provenance of `experiment`'s run at `scale`; returns `datasets`."""
    from .. import io, provenance

    call = provenance.python_call(f"attnflow.experiments {experiment}.run", {"out": str(out), "scale": scale})
    for stem, ds in datasets.items():
        attrs = {**provenance.attributes(call), "experiment": experiment, "scale": scale,
                 "attnflow_output": "experiment-result"}
        io.save(ds.assign_attrs({**attrs, **ds.attrs}), Path(out) / f"{stem}.nc", overwrite=True)
    return datasets


REGISTRY: dict[str, Experiment] = {}

# Modules that define experiments; each registers itself on import.
MODULES: tuple[str, ...] = ("equiangular", "clustering_rates", "counterexample", "long_context", "kuramoto",
                            "phase_diagram", "metastability", "metastability_stats",
                            "pde_circle", "pde_sphere", "noisy_transitions", "causal")


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
