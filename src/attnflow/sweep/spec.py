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

`SpecFile` describes these keys and `parameter_model(task)` a task's parameters, both as pydantic
models; every problem (unknown key or parameter, empty grid, wrong type, missing required
parameter) raises `SpecError` with one line naming the place in the spec and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import numpy as np
import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, StrictFloat,
                      StrictInt, Tag, ValidationError, create_model)

from ..errors import AttnflowError, is_integer
from .tasks import REQUIRED, Parameter, Task, get

STRICT = ConfigDict(extra="forbid", strict=True)
Number = StrictInt | StrictFloat
Listed = BeforeValidator(lambda value: [] if value is None else value if isinstance(value, list) else [value])  # x: [x]
NullIsEmpty = BeforeValidator(lambda value: {} if value is None else value)  # an empty entry (`fixed:`) is {}


class SpecError(AttnflowError):
    """A sweep spec that cannot run; the message names the spec entry and what is allowed."""


class Range(BaseModel):
    """`{range: [start, stop, step]}`: Python's range (start 0, step 1 if left out), also for floats."""

    model_config = STRICT
    range: Annotated[list[Number], Listed, Field(min_length=1, max_length=3)] = Field(
        description="[stop], [start, stop] or [start, stop, step] (numbers)")

    def values(self) -> list:
        start, stop, step = (0, self.range[0], 1) if len(self.range) == 1 else (*self.range, 1)[:3]
        if step == 0:
            raise ValueError("range step must be non-zero")
        count = max(0, math.ceil((stop - start) / step - 1e-9))
        integer = all(map(is_integer, (start, stop, step)))
        return [start + i * step if integer else float(start + i * step) for i in range(count)]


class Linspace(BaseModel):
    """`{linspace: [start, stop, num]}`: NumPy's linspace (stop included)."""

    model_config = STRICT
    linspace: tuple[Number, Number, Annotated[StrictInt, Field(ge=1)]] = Field(
        strict=False, description="[start, stop, num] (numbers, num an integer >= 1)")

    def values(self) -> list:
        return [float(v) for v in np.linspace(*self.linspace)]


FORMS = {"range": Range, "linspace": Linspace}


def _form(value) -> str | None:
    """The form of a list of values: "list", "range" or "linspace" (None: none of them)."""
    if isinstance(value, dict) and len(value) == 1:
        return next((form for form in FORMS if form in value), None)
    return "list" if isinstance(value, list) else None


def _expanded(values) -> list:
    """The values of a list, Range or Linspace; at least one."""
    values = values if isinstance(values, list) else values.values()
    if not values:
        raise ValueError("empty list of values; give at least one")
    return values


def _equal_lengths(group: dict) -> dict:
    """A zip group: its lists vary together."""
    if len({len(values) for values in group.values()}) > 1:
        raise ValueError("lists of different lengths " + ", ".join(f"{n}: {len(v)}" for n, v in group.items()))
    return group


Values = Annotated[Annotated[list, Tag("list")] | Annotated[Range, Tag("range")] | Annotated[Linspace, Tag("linspace")],
                   Discriminator(_form, custom_error_type="values", custom_error_message="a list of values, "
                                 "{range: [start, stop, step]} or {linspace: [start, stop, num]}"),
                   AfterValidator(_expanded)]


class SpecFile(BaseModel):
    """The keys of a spec (module docstring); each list of values comes expanded from its range or linspace."""

    model_config = STRICT
    task: str = Field(description="required, the name of a registered task")
    imports: Annotated[list[str], Listed] = Field([], alias="import", description="a module name or a list of them")
    fixed: Annotated[dict[str, Any], NullIsEmpty] = Field({}, description="a mapping parameter: value")
    grid: Annotated[dict[str, Values], NullIsEmpty] = Field({}, description="a mapping parameter: list of values")
    zip: Annotated[list[Annotated[dict[str, Values], Field(min_length=1), AfterValidator(_equal_lengths)]], Listed] \
        = Field([], description="a non-empty mapping parameter: list of values (equal lengths), or a list of them")
    seeds: Optional[Annotated[Values, BeforeValidator(lambda n: {"range": [n]} if is_integer(n) else n)]] = Field(
        None, description="a number of seeds (0, 1, ...), a list or a {range: ...}")
    record: Optional[Annotated[list[str], Listed, Field(min_length=1)]] = Field(
        None, description="an output name or a non-empty list of them")
    store: Optional[str] = Field(None, description="a path ending in .zarr")


FIELDS = {field.alias or name: field for name, field in SpecFile.model_fields.items()}
KEYS = ", ".join(FIELDS)
READERS = {".yaml": yaml.safe_load, ".yml": yaml.safe_load, ".toml": tomllib.loads}


def _yaml_float(value):
    """YAML 1.1 reads 1e-3 (no dot) as a string: a string that Python reads as a number is that number."""
    try:
        return float(value) if isinstance(value, str) else value
    except ValueError:
        return value


ANNOTATIONS = {"float": (Annotated[float, BeforeValidator(_yaml_float), Field(allow_inf_nan=False)], "a finite number"),
         "int": (int, "an integer"), "bool": (bool, "true or false"), "str": (str, "a string")}


def parameter_model(task: Task) -> type[BaseModel]:
    """The task's parameters as a pydantic model: each field lists a parameter's values along its axis
    (one value when fixed); a parameter with a default may be left out."""
    def field(p: Parameter):
        kind, allowed = (Literal[p.choices], f"one of {', '.join(p.choices)}") if p.choices else ANNOTATIONS[p.type]
        return (list[Optional[kind] if p.optional else kind],
                Field(... if p.default is REQUIRED else [p.default], description=allowed))
    return create_model(f"{task.name}_parameters", __config__=ConfigDict(**STRICT, protected_namespaces=()),
                        **{name: field(p) for name, p in task.parameters.items()})


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
    if not path.is_file() or path.suffix not in READERS:
        raise SpecError(f"spec={str(path)!r} is not allowed: an existing .yaml, .yml or .toml file")
    try:
        data = READERS[path.suffix](path.read_text())
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as error:
        raise SpecError(f"{path}: not valid {path.suffix[1:].upper()}: {' '.join(str(error).split())}") from None
    return parse_spec(data, origin=str(path))


def parse_spec(data, origin: str = "spec") -> Spec:
    """Validate a spec mapping against its task's parameters and build the `Spec`."""
    def fail(message):
        raise SpecError(f"{origin}: {message}")

    try:
        spec = SpecFile.model_validate(data)
    except ValidationError as error:
        fail(_structure_error(error.errors()[0]))
    try:
        task = get(spec.task, spec.imports)
    except AttnflowError as error:
        fail(str(error))

    given = [(f"fixed.{name}", name, [value]) for name, value in spec.fixed.items()]
    given += [(f"grid.{name}", name, values) for name, values in spec.grid.items()]
    given += [(f"zip[{number}].{name}", name, values) for number, group in enumerate(spec.zip)
              for name, values in group.items()]
    given += [("seeds", "seed", spec.seeds)] if spec.seeds is not None else []
    places = {}
    for place, name, _ in given:
        if places.setdefault(name, place) != place:
            fail(f"parameter {name!r} is given twice (fixed, grid, zip or seeds)")
    if len(given) == len(spec.fixed):
        fail("empty grid: give at least one parameter with values under grid, zip or seeds")
    model = parameter_model(task)
    try:
        columns = model.model_validate({name: values for _, name, values in given}).model_dump()
    except ValidationError as error:
        problem = min(error.errors(), key=lambda e: e["type"] == "missing")  # a wrong value before a missing one
        name = problem["loc"][0]
        if problem["type"] == "missing":
            fail(f"task {task.name} needs parameter {name!r} (under fixed or grid)")
        if problem["type"] == "extra_forbidden":
            fail(f"{places[name]}: unknown parameter {name!r} of task {task.name}; "
                 f"allowed: {', '.join(task.parameters)}")
        fail(f"{places[name]}: {problem['input']!r} is not allowed: {model.model_fields[name].description}")

    axes = [Axis(name, {name: columns[name]}) for name in spec.grid]
    axes += [Axis("_".join(group), {name: columns[name] for name in group}) for group in spec.zip]
    axes += [Axis("seed", {"seed": columns["seed"]})] if spec.seeds is not None else []
    fixed = {name: columns[name][0] for name in spec.fixed}
    fixed.update({name: columns[name][0] for name in task.parameters if name not in places})
    record = task.default_record if spec.record is None else spec.record
    for name in record:
        if name not in task.records:
            fail(f"record: {name!r} is not an output of task {task.name}; allowed: {', '.join(task.records)}")
    return Spec(task.name, tuple(spec.imports), fixed, tuple(axes), tuple(dict.fromkeys(record)),
                None if spec.store is None else Path(spec.store))


def _structure_error(error: dict) -> str:
    """A pydantic error of `SpecFile` as "place: what is allowed" (grid.NAME, zip[I].NAME, their range/linspace)."""
    loc, kind = error["loc"], error["type"]
    if not loc:
        return f"must be a mapping with keys {KEYS}"
    if kind == "extra_forbidden" and len(loc) == 1:
        return f"unknown key {loc[0]!r}; allowed: {KEYS}"
    top, rest = loc[0], loc[1:]
    depth = {"grid": 1, "zip": 2}.get(top, 0)
    form = rest[depth] if len(rest) > depth and rest[depth] in FORMS else None
    place = top + "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in rest[:depth])
    place += f".{form}" if form else ""
    if kind in ("value_error", "values"):  # the message of a check above
        return f"{place}: {error['msg'].removeprefix('Value error, ')}"
    return f"{place}: {(FORMS[form].model_fields[form] if form else FIELDS[top]).description}"
