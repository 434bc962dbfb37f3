"""The Zarr store of a sweep: one labelled array per recorded output, written point by point.

Layout (readable with `xarray.open_zarr` at any time, also while the sweep runs):
  <output>  (<grid dims>..., <output dims>...)  float64, NaN where not (yet) computed
  status    (<grid dims>...)  int8: 0 pending, 1 done, 2 failed (CF `flag_values`, `flag_meanings`)
  error     (<grid dims>...)  the error of a failed point ("" otherwise), variable-length text
Grid dims carry their parameter values as coordinates (a zip axis carries one coordinate per
parameter), each with `long_name` (the task's help) and `units`; `attrs` hold the task, the fixed
parameters, the canonical spec and its SHA-256 digest, and the provenance attributes
(`attnflow.provenance`: Conventions, history, source). Chunks span several grid points (up to
CHUNK_BYTES; status and error one chunk): each finished point is one write of its data, then one
write of its status, and every chunk write replaces the chunk file atomically (zarr writes a
temporary file and renames it), so a point counts as done only once both are on disk, which is
what makes resuming safe. Nothing run-dependent (times, hosts, worker counts) is stored beyond the
creation line in `history`, so a resumed sweep gives the same bytes as an uninterrupted one apart
from that attribute.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from .. import provenance
from ..errors import AttnflowError, ParameterError
from ..io import signals_deferred
from ..outputs import MARK
from .spec import Spec, SpecError
from .tasks import Output, get

PENDING, DONE, FAILED = 0, 1, 2
CHUNK_BYTES = 2 ** 20  # the largest chunk of an output array
# long_name and units of the built-in tasks' outputs (others: "<name>, output of task <task>")
OUTPUTS = {"cluster_count": ("number of clusters found at the first metastable time", "1"),
           "dominant_mode": ("dominant mode k* = argmax_k gamma_k of the linear theory (docs/science.md §3)", "1"),
           "t_observed": ("time at which the clusters were counted", "1"),
           "clustered": ("1 where every pairwise inner product is above the threshold, else 0", "1"),
           "min_inner_product": ("smallest pairwise inner product of the tokens", "1"),
           "modes": provenance.VARIABLES["mode_amplitude"], "final_state": ("token positions at t_end", "1"),
           "energy": provenance.VARIABLES["energy"], "order_parameter": provenance.VARIABLES["order_parameter"]}


def plan(spec: Spec) -> dict[str, Output]:
    """Check every grid point with its task and merge the points' output layouts into the store's.

    Raises SpecError naming the first point that cannot run, or an output whose labelled axis
    (coordinates) differs between points.
    """
    task = get(spec.task, spec.imports)
    merged: dict[str, Output] = {}
    for index in range(spec.size):
        params = spec.point(index)
        try:
            task.check(params, spec.record)
        except AttnflowError as error:
            raise SpecError(f"grid point {_label(spec, index)}: {error}") from None
        for name, out in task.outputs(params, spec.record).items():
            first = merged.setdefault(name, out)
            if first.dims != out.dims or any(not np.array_equal(first.coords.get(d), out.coords.get(d))
                                             for d in set(first.coords) | set(out.coords)):
                raise SpecError(f"output {name!r} has axes {first.dims} at {_label(spec, 0)} but another shape or "
                                f"coordinates at {_label(spec, index)}: keep its parameters fixed over the grid")
            merged[name] = Output(out.dims, tuple(map(max, first.shape, out.shape)), first.coords)
    clash = (set(merged) | {d for out in merged.values() for d in out.dims}) & (
        set(spec.dims) | {p for axis in spec.axes for p in axis.values} | {"status", "error"})
    if clash:
        raise SpecError(f"name {sorted(clash)[0]!r} is both a grid parameter or dimension and an output or output axis")
    return merged


def _label(spec: Spec, index: int) -> str:
    point = spec.point(index)
    return ", ".join(f"{name}={point[name]!r}" for axis in spec.axes for name in axis.values)


def check_store_path(path) -> Path:
    """A .zarr path whose directory exists and can be written (checked before any task starts)."""
    path = Path(path)
    if path.suffix != ".zarr":
        raise ParameterError("out", str(path), "a path ending in .zarr")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise ParameterError("out", str(path), f"a path in an existing directory ({parent} does not exist)")
    target = path if path.exists() else parent
    if not os.access(target, os.W_OK | os.X_OK):
        raise ParameterError("out", str(path), f"a writable location ({target} is not writable)")
    return path


class SweepStore:
    """The store of one sweep at `path`: create or reopen it, list pending points, write results."""

    def __init__(self, path: Path, spec: Spec, layout: dict[str, Output]):
        self.path, self.spec, self.layout = path, spec, layout
        self.group = zarr.open_group(str(path), mode="r+")

    @classmethod
    def prepare(cls, path, spec: Spec, layout: dict[str, Output], overwrite: bool = False) -> "SweepStore":
        """Reopen the store of this same spec (to resume), or create it. A store of another spec is
        refused unless `overwrite` (which deletes it first); anything that is not a sweep store is
        refused always: attnflow never deletes what it did not write."""
        path = check_store_path(path)
        if path.exists() or path.is_symlink():
            digest = _digest(path)
            if digest is None:
                raise AttnflowError(f"out={str(path)!r} exists and is not a sweep store: attnflow never deletes or "
                                    "overwrites what it did not write; choose a new path")
            if digest == spec.digest() and not overwrite:
                return cls(path, spec, layout)
            if not overwrite:
                raise AttnflowError(f"out={str(path)!r} holds a sweep of a different spec; rerun with the original "
                                    "spec to resume it, or pass --overwrite to start again")
            shutil.rmtree(path)
        _create(path, spec, layout)
        return cls(path, spec, layout)

    def status(self) -> np.ndarray:
        return self.group["status"][...]

    def pending(self) -> list[int]:
        """Flat indices of the points not done (never run, interrupted, or failed before)."""
        return [int(i) for i in np.flatnonzero(self.status().ravel() != DONE)]

    def write(self, index: int, outputs: dict[str, np.ndarray]) -> None:
        """Store the outputs of point `index`, then mark it done (Ctrl-C waits until both are written)."""
        where = np.unravel_index(index, self.spec.shape)
        if set(outputs) != set(self.layout):
            raise AttnflowError(f"task returned outputs {sorted(outputs)}, expected {sorted(self.layout)}")
        for name, out in self.layout.items():
            value = np.asarray(outputs[name], dtype=np.float64)
            if value.ndim != len(out.shape) or any(s > m for s, m in zip(value.shape, out.shape)):
                raise AttnflowError(f"output {name!r} has shape {value.shape}, expected at most {out.shape}")
            outputs = {**outputs, name: value}
        with signals_deferred():
            for name, out in self.layout.items():
                padded = np.full(out.shape, np.nan)
                padded[tuple(slice(0, s) for s in np.shape(outputs[name]))] = outputs[name]
                self.group[name][where] = padded
            if self.group["status"][where] == FAILED:
                self.group["error"][where] = ""
            self.group["status"][where] = DONE

    def fail(self, index: int, message: str) -> None:
        """Record that point `index` raised `message`."""
        where = np.unravel_index(index, self.spec.shape)
        with signals_deferred():
            self.group["error"][where] = message
            self.group["status"][where] = FAILED


def _digest(path: Path) -> str | None:
    if not path.is_dir():
        return None
    try:
        return zarr.open_group(str(path), mode="r").attrs.get("sweep_digest")
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError, OSError):
        return None


def _attr(value):
    return "none" if value is None else int(value) if isinstance(value, bool) else value


def grid_chunks(shape: tuple[int, ...], point_bytes: int) -> tuple[int, ...]:
    """Chunks over the grid holding at most CHUNK_BYTES (at least one point), whole trailing dims first."""
    budget, chunks = max(1, CHUNK_BYTES // max(point_bytes, 1)), []
    for size in reversed(shape):
        take = max(1, min(size, budget))
        chunks.append(take)
        budget //= take
    return tuple(reversed(chunks))


def _create(path: Path, spec: Spec, layout: dict[str, Output]) -> None:
    task = get(spec.task, spec.imports)
    coords = {}
    for axis in spec.axes:
        for name, values in axis.values.items():
            help_text = task.parameters[name].help if name in task.parameters else ""
            numeric = task.parameters[name].type in ("float", "int") if name in task.parameters else False
            coords[name] = ((axis.dim,), np.asarray(["none" if v is None else v for v in values]),
                            {"long_name": help_text or name, **({"units": "1"} if numeric else {})})
    status_attrs = {"long_name": "state of the grid point", "flag_values": [PENDING, DONE, FAILED],
                    "flag_meanings": "pending done failed"}
    data = {"status": (spec.dims, da.zeros(spec.shape, dtype=np.int8, chunks=spec.shape), status_attrs),
            "error": (spec.dims, np.full(spec.shape, "", dtype=object),
                      {"long_name": "error of a failed grid point (empty otherwise)"})}
    for name, out in layout.items():
        coords.update({dim: ((dim,), values, dict(zip(("long_name", "units"), provenance.VARIABLES[dim])))
                       if dim in provenance.VARIABLES else ((dim,), values) for dim, values in out.coords.items()})
        chunks = grid_chunks(spec.shape, 8 * int(np.prod(out.shape, dtype=np.int64))) + out.shape
        long_name, units = OUTPUTS.get(name, (f"{name}, output of task {spec.task}", "1"))
        data[name] = (spec.dims + out.dims, da.full(spec.shape + out.shape, np.nan, chunks=chunks),
                      {"long_name": long_name, "units": units})
    call = provenance.python_call("attnflow.sweep.run_sweep", {"spec": f"<task {spec.task}, {spec.size} points>",
                                                               "out": str(path)})
    attrs = {MARK: "sweep", "sweep_task": spec.task, "sweep_spec": json.dumps(spec.canonical(), sort_keys=True),
             "sweep_digest": spec.digest(), "sweep_points": spec.size, "sweep_record": list(spec.record),
             **{name: _attr(value) for name, value in spec.fixed.items()}, **provenance.attributes(call)}
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    encoding = {"status": {"_FillValue": None}, "error": {"_FillValue": None}}
    try:
        ds.to_zarr(str(path), mode="w", compute=False, zarr_format=2, consolidated=True, encoding=encoding)
    except OSError as error:
        raise ParameterError("out", str(path), f"a writable location ({error.strerror or error})") from None
