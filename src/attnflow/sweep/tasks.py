"""The registry of sweep tasks: what one grid point computes.

A task is a pure function of one grid point's parameters: `run(params, record)` returns a dict
of NumPy arrays, one per recorded output. It declares its parameters (type, default) so that a
spec is validated before anything runs, and the layout of its outputs (`outputs(params, record)`:
dims and shape per output) so that the Zarr store can be created before the first result arrives.
The registry is open: any module can call `register(Task(...))`; a spec names extra modules to
import (on the client and on every worker) under `import:`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import AttnflowError

REQUIRED = object()
TYPES = ("float", "int", "str", "bool")
BUILTIN_MODULES = ("simulation", "cluster_count", "phase_diagram")


@dataclass(frozen=True)
class Parameter:
    """A task parameter: `type` one of TYPES, `default` (REQUIRED if none), `optional` allows None,
    `choices` restricts strings, `help` documents it."""

    type: str
    default: Any = REQUIRED
    help: str = ""
    optional: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Output:
    """One recorded output of a task at one grid point: labelled `dims` of sizes `shape`.

    `coords` gives coordinate values for some of the dims (they must agree over the whole grid);
    dims without coordinates may differ in size between points and are padded with NaN to the
    largest size (for example the tokens of a final state when n varies)."""

    dims: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    coords: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """A sweep task: `run(params, record) -> {output: array}`; `outputs(params, record)` its layout;
    `check(params, record)` raises AttnflowError for a point that cannot run (called on every point
    before the sweep starts); `records` the outputs a spec may ask for, `default_record` those recorded
    when it asks for none."""

    name: str
    parameters: dict[str, Parameter]
    records: tuple[str, ...]
    default_record: tuple[str, ...]
    run: Callable[[dict, tuple[str, ...]], dict[str, np.ndarray]]
    outputs: Callable[[dict, tuple[str, ...]], dict[str, Output]]
    check: Callable[[dict, tuple[str, ...]], None] = lambda params, record: None
    help: str = ""


TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add `task` to the registry under `task.name` (replacing an earlier one of that name)."""
    TASKS[task.name] = task
    return task


def load_modules(modules=()) -> None:
    """Import the built-in task modules and `modules` (dotted names), which register their tasks."""
    for name in BUILTIN_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise AttnflowError(f"import: module {name!r} cannot be imported ({error})") from None


def get(name: str, modules=()) -> Task:
    """The registered task `name` (after importing the task modules)."""
    load_modules(modules)
    if name not in TASKS:
        raise AttnflowError(f"task={name!r} is not allowed: one of {', '.join(sorted(TASKS))}")
    return TASKS[name]
