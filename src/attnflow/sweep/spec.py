"""The sweep description: which task, the parameter grid, the seeds, what to record, where.

A spec is a YAML (`.yaml`, `.yml`) or TOML (`.toml`) file, or the same mapping in Python:

    task: cluster_count            # a registered task (attnflow.sweep.TASKS)
    import: [mypackage.tasks]      # optional: modules that register more tasks
    fixed: {kind: usa}             # parameters shared by every point
    grid:                          # product of axes, one labelled dimension each
      beta: [3, 5, 7]
      n: {range: [100, 400, 100]}  # start, stop (exclusive), step  (or {linspace: [a, b, num]})
    zip:                           # optional: lists of equal length that vary together,
      - {n: [64, 256], dt: [0.01, 0.005]}   # one dimension named "n_dt" with coordinates n and dt
    seeds: 8                       # shorthand for a last axis seed = 0..7 (or a list / range)
    record: [cluster_count]        # optional: outputs to record (default: the task's)
    store: clusters.zarr           # optional: the output store (--out overrides)

Every problem (unknown key or parameter, empty grid, wrong type, missing required parameter)
raises `SpecError` with one line naming the place in the spec and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ..errors import AttnflowError
from .tasks import REQUIRED, Parameter, get

KEYS = ("task", "import", "fixed", "grid", "zip", "seeds", "record", "store")


class SpecError(AttnflowError):
    """A sweep spec that cannot run; the message names the spec entry and what is allowed."""


@dataclass(frozen=True)
class Axis:
    """One labelled dimension of the grid: `values[parameter]` lists the parameter's values along it
    (one parameter for a product axis, several that vary together for a zip axis)."""

    dim: str
    values: dict[str, list]

    @property
    def size(self) -> int:
        return len(next(iter(self.values.values())))


@dataclass(frozen=True)
class Spec:
    """A validated sweep: every grid point is `fixed` plus one value along each of `axes` (C order)."""

    task: str
    imports: tuple[str, ...]
    fixed: dict
    axes: tuple[Axis, ...]
    record: tuple[str, ...]
    store: Path | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(axis.size for axis in self.axes)

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(axis.dim for axis in self.axes)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def point(self, index: int) -> dict:
        """The parameters of grid point `index` (flat, C order)."""
        params = dict(self.fixed)
        for axis, i in zip(self.axes, np.unravel_index(index, self.shape)):
            params.update({name: values[i] for name, values in axis.values.items()})
        return params

    def points(self) -> list[dict]:
        return [self.point(index) for index in range(self.size)]

    def canonical(self) -> dict:
        """Everything that determines the results (not the store path), as plain JSON values."""
        return {"task": self.task, "import": list(self.imports), "fixed": self.fixed,
                "axes": [[axis.dim, axis.values] for axis in self.axes], "record": list(self.record)}

    def digest(self) -> str:
        """SHA-256 of the canonical spec: a store written for another digest is another sweep."""
        return hashlib.sha256(json.dumps(self.canonical(), sort_keys=True).encode()).hexdigest()


def load_spec(source) -> Spec:
    """A `Spec` from a YAML/TOML path, a mapping, or a `Spec` (returned as is)."""
    if isinstance(source, Spec):
        return source
    if isinstance(source, dict):
        return parse_spec(source)
    path = Path(source)
    if not path.is_file():
        raise SpecError(f"spec={str(path)!r} is not allowed: an existing .yaml, .yml or .toml file")
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise SpecError(f"spec={str(path)!r} is not allowed: a file ending in .yaml, .yml or .toml")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as error:
        raise SpecError(f"{path}: not valid {path.suffix[1:].upper()}: {' '.join(str(error).split())}") from None
    return parse_spec(data, origin=str(path))


def parse_spec(data, origin: str = "spec") -> Spec:
    """Validate a spec mapping against its task's parameters and build the `Spec`."""
    def fail(message):
        raise SpecError(f"{origin}: {message}")

    if not isinstance(data, dict):
        fail("must be a mapping with keys " + ", ".join(KEYS))
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        fail(f"unknown key {unknown[0]!r}; allowed: {', '.join(KEYS)}")
    if not isinstance(data.get("task"), str):
        fail("task: required, the name of a registered task")
    imports = data.get("import", [])
    if isinstance(imports, str):
        imports = [imports]
    if not (isinstance(imports, list) and all(isinstance(name, str) for name in imports)):
        fail("import: a list of module names")
    try:
        task = get(data["task"], imports)
    except AttnflowError as error:
        fail(str(error))

    def coerce(where, name, value):
        if name not in task.parameters:
            fail(f"{where}: unknown parameter {name!r} of task {task.name}; allowed: {', '.join(task.parameters)}")
        try:
            return _coerce(task.parameters[name], value)
        except ValueError as error:
            fail(f"{where}: {error}")

    fixed_in = data.get("fixed", {}) or {}
    if not isinstance(fixed_in, dict):
        fail("fixed: a mapping parameter: value")
    fixed = {name: coerce(f"fixed.{name}", name, value) for name, value in fixed_in.items()}

    axes, seen = [], set(fixed)

    def add_axis(dim, values):
        for name in values:
            if name in seen:
                fail(f"parameter {name!r} is given twice (fixed, grid, zip or seeds)")
            seen.add(name)
        axes.append(Axis(dim, values))

    grid = data.get("grid", {}) or {}
    if not isinstance(grid, dict):
        fail("grid: a mapping parameter: list of values")
    for name, values in grid.items():
        listed = _values(f"grid.{name}", values, fail)
        add_axis(name, {name: [coerce(f"grid.{name}", name, value) for value in listed]})
    zips = data.get("zip", []) or []
    if isinstance(zips, dict):
        zips = [zips]
    if not isinstance(zips, list):
        fail("zip: a list of mappings parameter: list of values (equal lengths)")
    for number, group in enumerate(zips):
        if not isinstance(group, dict) or not group:
            fail(f"zip[{number}]: a non-empty mapping parameter: list of values")
        lists = {name: _values(f"zip[{number}].{name}", values, fail) for name, values in group.items()}
        if len({len(values) for values in lists.values()}) > 1:
            fail(f"zip[{number}]: lists of different lengths " +
                 ", ".join(f"{name}: {len(values)}" for name, values in lists.items()))
        add_axis("_".join(lists), {name: [coerce(f"zip[{number}].{name}", name, value) for value in values]
                                   for name, values in lists.items()})
    if "seeds" in data:
        seeds = data["seeds"]
        listed = list(range(seeds)) if isinstance(seeds, int) and not isinstance(seeds, bool) and seeds > 0 \
            else _values("seeds", seeds, fail)
        add_axis("seed", {"seed": [coerce("seeds", "seed", value) for value in listed]})
    if not axes:
        fail("empty grid: give at least one parameter with values under grid, zip or seeds")

    missing = [name for name, p in task.parameters.items() if p.default is REQUIRED and name not in seen]
    if missing:
        fail(f"task {task.name} needs parameter {missing[0]!r} (under fixed or grid)")
    for name, p in task.parameters.items():
        if name not in seen:
            fixed[name] = p.default

    record = data.get("record", list(task.default_record))
    if isinstance(record, str):
        record = [record]
    if not isinstance(record, list) or not record:
        fail(f"record: a non-empty list; allowed: {', '.join(task.records)}")
    for name in record:
        if name not in task.records:
            fail(f"record: {name!r} is not an output of task {task.name}; allowed: {', '.join(task.records)}")
    store = data.get("store")
    if store is not None and not isinstance(store, str):
        fail("store: a path ending in .zarr")
    return Spec(task.name, tuple(imports), fixed, tuple(axes), tuple(dict.fromkeys(record)),
                None if store is None else Path(store))


def _values(where, values, fail) -> list:
    """A list of values from a list, {range: [start, stop, step]} or {linspace: [start, stop, num]}."""
    if isinstance(values, dict) and len(values) == 1 and next(iter(values)) in ("range", "linspace"):
        (form, arguments), = values.items()
        numbers = arguments if isinstance(arguments, list) else [arguments]
        if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in numbers) or \
                not 1 <= len(numbers) <= 3 or (form == "linspace" and len(numbers) != 3):
            fail(f"{where}: {form} takes " + ("[stop], [start, stop] or [start, stop, step]" if form == "range"
                                              else "[start, stop, num]") + " (numbers)")
        if form == "linspace":
            start, stop, num = numbers
            if not (isinstance(num, int) and num >= 1):
                fail(f"{where}: linspace num must be an integer >= 1")
            values = [float(v) for v in np.linspace(start, stop, num)]
        else:
            start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (*numbers, 1)[:3]
            if step == 0:
                fail(f"{where}: range step must be non-zero")
            count = max(0, math.ceil((stop - start) / step - 1e-9))
            integer = all(isinstance(a, int) for a in (start, stop, step))
            values = [start + i * step if integer else float(start + i * step) for i in range(count)]
    if not isinstance(values, list):
        fail(f"{where}: a list of values, {{range: [start, stop, step]}} or {{linspace: [start, stop, num]}}")
    if not values:
        fail(f"{where}: empty list of values; give at least one")
    return values


def _coerce(parameter: Parameter, value):
    """`value` as the parameter's type, or ValueError naming what is allowed."""
    kind = parameter.type
    if value is None:
        if parameter.optional:
            return None
        raise ValueError(f"None is not allowed: a {kind}")
    if kind == "float":
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok:
            raise ValueError(f"{value!r} is not allowed: a finite number")
        return float(value)
    if kind == "int":
        if not (isinstance(value, int) and not isinstance(value, bool)):
            raise ValueError(f"{value!r} is not allowed: an integer")
        return int(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not allowed: true or false")
        return value
    if not isinstance(value, str) or (parameter.choices and value not in parameter.choices):
        allowed = f"one of {', '.join(parameter.choices)}" if parameter.choices else "a string"
        raise ValueError(f"{value!r} is not allowed: {allowed}")
    return value
