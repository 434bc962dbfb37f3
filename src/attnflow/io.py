"""The Dataset conventions of a run, saving/loading, and streaming long runs to disk.

A particle run is an `xarray.Dataset` with
  x               ("time", "token", "component")   token positions at the saved times
  angle           ("time", "token")                in [0, 2 pi), only when dim == 2
  mode_amplitude  ("obs_time", "mode")             observables on their own, finer time grid
  energy, ...     ("obs_time",)
  <name>          ("obs_time", "<name>_index")     a user's observable f(t, x) (observe.py)
A run of an ensemble (a batch of B independent systems) has a `system` dimension after the time:
x ("time", "system", "token", "component"), observables ("obs_time", "system", ...), `beta` a coordinate on
`system` where it varies, and per system its events' record and `stop_time` (events.py).
and every model, solver and seed parameter in `attrs`, with `attnflow_output` (what the file
holds, see `outputs.py`), `complete`, and the provenance and CF attributes of `provenance.py`
(`Conventions`, `history`: when and by which command or call, `source`: version and git commit);
`token` and `component` are integer coordinates, and every variable has `long_name` and `units`.
Files are NetCDF (`.nc`) or Zarr (`.zarr`) by extension.

A run with an output path streams into `<stem>.partial.zarr` beside the target: every snapshot
is on disk at most `flush_seconds` after it is taken, together with the attributes (`complete = 0`,
`saved_time`: how far the run got) and a checkpoint of the solver state at that snapshot (the
integrator's state, step counters and random-generator state, in the group `checkpoint`). Once
the run has finished, the complete result is renamed (Zarr) or converted (NetCDF) to the target,
and `complete = 1`. `RunRecorder.resume` reopens such a store and continues the run from its
checkpoint to the same bits as an uninterrupted run.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from . import provenance
from .errors import ParameterError, is_real
from .observe import dimensions
from .outputs import MARK, check_target, check_writable_parent, publish, remove, written_by_attnflow
from .provenance import VARIABLES, annotate
from .provenance import attr_value as _attr_value

FORMATS = (".nc", ".zarr")
RUN = "particle-run"


def check_path(path, parameter: str = "out") -> Path:
    """An output path ending in .nc or .zarr, in an existing writable folder."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ParameterError(parameter, str(path), "a path ending in .nc (NetCDF) or .zarr (Zarr)")
    check_writable_parent(path, parameter)
    return path


def partial_path(path) -> Path:
    """Where a run bound for `path` streams until it is complete: `<stem>.partial.zarr`."""
    path = Path(path)
    return path.with_name(path.stem + ".partial.zarr")


def save(ds: xr.Dataset, path, overwrite: bool = False) -> Path:
    """Write `ds` to NetCDF or Zarr according to the extension, under a temporary name renamed into
    place when complete. An existing path is replaced only if attnflow wrote it and `overwrite`.
    Provenance attributes `ds` lacks are added (`provenance.attributes`), with the attributes of an
    enclosing `provenance.recording` block, and `long_name`/`units` on the variables attnflow knows."""
    path = check_path(path)
    kind = ds.attrs.get(MARK, "dataset")
    check_target(path, "out", kind, overwrite)
    ds = annotate(ds.copy())
    added = {**provenance.recorded_attrs(), **provenance.attributes(f"attnflow.io.save(<Dataset>, {str(path)!r})")}
    ds.attrs = {**{k: _attr_value(v) for k, v in added.items()}, **ds.attrs, MARK: kind}
    temporary = path.with_name(f".{path.name}.writing")
    leftover = written_by_attnflow(temporary)  # an earlier save that was interrupted
    if leftover is not None:
        remove(temporary, leftover)
    try:
        if path.suffix == ".nc":
            ds.to_netcdf(temporary, engine="h5netcdf")
        else:
            ds.to_zarr(temporary, mode="w-", zarr_format=2, consolidated=True)
    except OSError as error:
        raise ParameterError("out", str(path), f"a writable location ({error.strerror or error})") from None
    publish(temporary, path, kind)
    return path


def load(path, parameter: str = "path") -> xr.Dataset:
    """Open a saved run (NetCDF or Zarr), lazily; an unreadable file is an error naming `parameter`."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ParameterError(parameter, str(path), "a path ending in .nc or .zarr")
    if not path.exists():
        raise ParameterError(parameter, str(path), "an existing .nc file or .zarr store")
    try:
        if path.suffix == ".zarr":
            return xr.open_zarr(path)
        return xr.open_dataset(path, engine="h5netcdf")
    except Exception as error:  # h5py, zarr and xarray raise many kinds on a damaged file
        raise ParameterError(parameter, str(path), f"a readable attnflow .nc/.zarr result ({type(error).__name__}: "
                                                   f"{error})") from None



class RunRecorder:
    """Collects snapshots and observations of a particle run; optionally streams them to `path`.

    `snapshot(t, x, checkpoint)` takes a position snapshot and, with an output path, the solver state
    that restarts the run from it (a dict of arrays and numbers)."""

    def __init__(self, attrs: dict, dim: int, path=None, flush_seconds: float = 5.0, overwrite: bool = False,
                 observables: dict | None = None, systems: int | None = None, beta=None):
        recorded = provenance.recorded_attrs()
        shape = f"{attrs.get('n')} x {dim}" if systems is None else f"{systems} x {attrs.get('n')} x {dim}"
        call = provenance.python_call("attnflow.simulate", {"x0": f"<{shape} array: the first snapshot>", **attrs})
        self.attrs = {key: _attr_value(value)
                      for key, value in {**attrs, **recorded, **provenance.attributes(call)}.items()}
        self.attrs[MARK] = RUN
        self.dim = dim
        self.recorded = observables or {}
        self.system = () if systems is None else ("system",)  # the ensemble's dimension, if any
        self.system_coords = {} if systems is None else {"system": np.arange(systems)}
        if beta is not None and not np.isscalar(beta):
            self.system_coords["beta"] = ("system", np.asarray(beta, dtype=np.float64))
        self.names = {"system": ("index of the system of the ensemble", "1"),  # long_name and units of variables
                      "beta": ("inverse temperature of each system", "1"),  # that VARIABLES does not name
                      "stop_time": ("time at which the system stopped (its state frozen from then on)", "1")}
        self.times, self.positions = [], []
        self.obs_times, self.observations = [], {}
        self.checkpoint = None
        self.path = None if path is None else check_path(path)
        self.store = None if path is None else partial_path(self.path)
        self.overwrite = overwrite
        self.flush_seconds, self._last_flush = flush_seconds, time.monotonic()
        self._flushed_snapshots = self._flushed_observations = 0
        self._rewrite_observations = False

    def check_targets(self) -> None:
        """Before any work: the target may be written and no interrupted run of it would be lost."""
        if self.path is None:
            return
        check_target(self.path, "out", RUN, self.overwrite)
        if self.store.exists() or self.store.is_symlink():
            if written_by_attnflow(self.store) != RUN:
                raise ParameterError("out", str(self.path), f"a path whose partial store {self.store} is free: "
                                                            "something attnflow did not write is there")
            if not self.overwrite:
                raise ParameterError("out", str(self.path), f"a path with no interrupted run: {self.store} holds one; "
                                                            "pass --resume to finish it or --overwrite to start again")
            remove(self.store, RUN)

    @classmethod
    def resume(cls, attrs: dict, dim: int, path, flush_seconds: float = 5.0, observables: dict | None = None,
               systems: int | None = None, beta=None) -> "RunRecorder":
        """Reopen the interrupted run bound for `path`; its parameters must equal `attrs`."""
        recorder = cls(attrs, dim, path, flush_seconds, observables=observables, systems=systems, beta=beta)
        store = recorder.store
        if written_by_attnflow(store) != RUN:
            raise ParameterError("resume", str(path), f"a run with an interrupted store ({store} is not one)")
        group = zarr.open_group(str(store), mode="r")
        stored = dict(group.attrs)
        differing = sorted(key for key, value in recorder.attrs.items()
                           if key not in provenance.KEYS and _comparable(stored.get(key)) != _comparable(value))
        if differing:
            key = differing[0]
            raise ParameterError(key, recorder.attrs[key], f"the value of the interrupted run in {store}: "
                                                           f"{stored.get(key)!r} (resume with the same parameters)")
        if "checkpoint" not in group or int(stored.get("saved_snapshots", 0)) == 0:
            raise ParameterError("resume", str(path), f"an interrupted run with a checkpoint ({store} has none yet: "
                                                      "start again with --overwrite)")
        resumed_by = recorder.attrs["history"].split(": ", 1)[1]
        recorder.attrs["history"] = f"{stored.get('history', '')}\n{provenance.now()}: resumed by {resumed_by}".strip()
        count, observed = int(stored["saved_snapshots"]), int(stored["saved_observations"])
        recorder.times = [float(t) for t in group["time"][:count]]
        recorder.positions = list(group["x"][:count])
        saved_time = recorder.times[-1]
        obs_times = np.asarray(group["obs_time"][:observed]) if observed else np.zeros(0)
        kept = int(np.searchsorted(obs_times, saved_time, side="right"))
        recorder.obs_times = [float(t) for t in obs_times[:kept]]
        for name in stored.get("observed_variables", []):
            recorder.observations[name] = list(group[name][:kept])
        checkpoint = group["checkpoint"]
        recorder.checkpoint = {**{name: checkpoint[name][...] for name in checkpoint.array_keys()},
                               **dict(checkpoint.attrs)}
        recorder._flushed_snapshots, recorder._flushed_observations = count, kept
        recorder._rewrite_observations = kept < observed
        return recorder

    def snapshot(self, t: float, x: np.ndarray, checkpoint: dict | None = None) -> None:
        self.times.append(float(t))
        self.positions.append(np.asarray(x))
        self.checkpoint = checkpoint
        if self.store is not None and time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def observe(self, t: float, values: dict) -> None:
        self.obs_times.append(float(t))
        for name, value in values.items():
            self.observations.setdefault(name, []).append(np.asarray(value))

    def _positions(self, start: int) -> xr.Dataset:
        x = np.stack(self.positions[start:])
        data = {"x": (("time", *self.system, "token", "component"), x)}
        if self.dim == 2:
            data["angle"] = (("time", *self.system, "token"), np.mod(np.arctan2(x[..., 1], x[..., 0]), 2 * np.pi))
        coords = {"time": self.times[start:], **self.system_coords, "token": np.arange(x.shape[-2]),
                  "component": np.arange(x.shape[-1])}
        return annotate(xr.Dataset(data, coords=coords), self.names)

    def _observables(self, start: int, stop: int | None = None) -> xr.Dataset:
        """Observations as variables on obs_time; an array observable's further dimensions are named as in
        observe.dimensions (coordinate 1, 2, ... for "mode", 0, 1, ... for the others)."""
        data, coords = {}, {"obs_time": self.obs_times[start:stop], **self.system_coords}
        for name, values in self.observations.items():
            stacked = np.stack(values[start:stop])
            dims = dimensions(name, self.recorded.get(name), stacked.ndim - 1 - len(self.system))
            data[name] = (("obs_time", *self.system, *dims), stacked)
            for dim, size in zip(dims, stacked.shape[1 + len(self.system):]):
                coords[dim] = np.arange(1, size + 1) if dim == "mode" else np.arange(size)
            self.names.update({key: value for key, value in {name: (f"observable {name}", "1"),
                                                             **{dim: (f"index of {name}", "1") for dim in dims}}.items()
                               if key not in VARIABLES})
        return annotate(xr.Dataset(data, coords=coords), self.names)

    def flush(self, extra_attrs: dict | None = None) -> None:
        """Write what is not on disk yet: snapshots, observations up to the last snapshot, the
        checkpoint, then the attributes (which say how far the store goes). Ctrl-C and SIGTERM wait
        until the write is complete, so an interrupt never leaves a half-written store."""
        self._last_flush = time.monotonic()
        if self.store is None or not self.times:
            return
        with signals_deferred():
            self._write(extra_attrs)

    def _write(self, extra_attrs: dict | None) -> None:
        if self._flushed_snapshots < len(self.times):
            positions = self._positions(self._flushed_snapshots)
            if self._flushed_snapshots == 0:
                positions.to_zarr(self.store, mode="w-", zarr_format=2, consolidated=False)
            else:
                positions.drop_vars([name for name in positions.coords if name != "time"]).to_zarr(
                    self.store, append_dim="time", zarr_format=2, consolidated=False)
            self._flushed_snapshots = len(self.times)
        self._flush_observations()
        group = zarr.open_group(str(self.store), mode="a", zarr_format=2)
        if self.checkpoint is not None:
            self._write_checkpoint(group.require_group("checkpoint"))
        group.attrs.clear()
        group.attrs.update({**self.attrs, **{k: _attr_value(v) for k, v in (extra_attrs or {}).items()},
                            "complete": 0, "saved_snapshots": self._flushed_snapshots,
                            "saved_observations": self._flushed_observations, "saved_time": self.times[-1],
                            "observed_variables": sorted(self.observations)})
        zarr.consolidate_metadata(str(self.store))

    def _flush_observations(self) -> None:
        if self._rewrite_observations:  # a resumed run drops observations past its checkpoint
            group = zarr.open_group(str(self.store), mode="a", zarr_format=2)
            for name in ["obs_time", *self.observations]:
                group[name].resize((self._flushed_observations, *group[name].shape[1:]))
            self._rewrite_observations = False
        stop = len(self.obs_times)
        if stop > self._flushed_observations:
            observables = self._observables(self._flushed_observations, stop)
            if self._flushed_observations == 0:
                observables.to_zarr(self.store, mode="a", zarr_format=2, consolidated=False)
            else:
                observables.drop_vars([name for name in observables.coords if name != "obs_time"]).to_zarr(
                    self.store, append_dim="obs_time", zarr_format=2, consolidated=False)
            self._flushed_observations = stop

    def _write_checkpoint(self, group) -> None:
        scalars = {}
        for name, value in self.checkpoint.items():
            if isinstance(value, np.ndarray):
                group.create_array(name, data=value, overwrite=True)
            else:
                scalars[name] = _attr_value(value)
        group.attrs.clear()
        group.attrs.update(scalars)

    def finish(self, extra_attrs: dict | None = None, system_variables: dict | None = None) -> xr.Dataset:
        """The whole run as a Dataset, with an ensemble's `system_variables` {name: (systems,) array}; a streamed
        run is completed and moved to its target."""
        per_system = xr.Dataset({name: ("system", value) for name, value in (system_variables or {}).items()})
        self.names.update({name: (name.replace("_", " "), "1") for name in per_system.data_vars
                           if name not in self.names})
        ds = annotate(xr.merge([self._positions(0), self._observables(0), per_system], combine_attrs="drop"),
                      self.names)
        ds.attrs = {**self.attrs, **{k: _attr_value(v) for k, v in (extra_attrs or {}).items()}, "complete": 1}
        if self.store is None:
            return ds
        if self.path.suffix == ".zarr":
            self.flush(extra_attrs)
            if per_system.data_vars:
                annotate(per_system.drop_vars(list(per_system.coords)), self.names).to_zarr(
                    self.store, mode="a", zarr_format=2, consolidated=False)
            group = zarr.open_group(str(self.store), mode="a", zarr_format=2)
            if "checkpoint" in group:
                del group["checkpoint"]
            group.attrs.clear()
            group.attrs.update(ds.attrs)
            zarr.consolidate_metadata(str(self.store))
            publish(self.store, self.path, RUN)
        else:
            temporary = self.path.with_name(f".{self.path.name}.writing")
            ds.to_netcdf(temporary, engine="h5netcdf")
            publish(temporary, self.path, RUN)
            if self.store.exists():
                remove(self.store, RUN)
        return ds

    def abandon(self, reason: str) -> Path | None:
        """An interrupted or failed run: write what is finished, say why it stopped; the store's path."""
        if self.store is None or not self.times:
            return None
        self.flush({"stopped": reason})
        return self.store


@contextmanager
def signals_deferred():
    """Hold SIGINT and SIGTERM while the block runs; they are delivered after it, to the handlers in place
    before. (Python-level handlers rather than a signal mask: zarr writes from its own I/O threads, and a
    signal the kernel delivers to one of them would still interrupt the main thread mid-write.)"""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are handled in the main thread only
        return
    received = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in received:
            signal.raise_signal(number)


def _comparable(value):
    """Attribute values as they read back from JSON (tuples as lists, numbers as floats)."""
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if is_real(value):
        return float(value)
    return value


def checkpoint_arrays(values: dict) -> dict:
    """Tensors and generator states as NumPy arrays, numbers as they are (a checkpoint for `snapshot`)."""
    out = {}
    for name, value in values.items():
        if hasattr(value, "detach"):
            out[name] = value.detach().cpu().numpy().copy()
        else:
            out[name] = value
    return out

