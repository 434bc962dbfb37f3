"""The Dataset conventions of a particle run, saving/loading, and streaming long runs to disk.

A particle run is an `xarray.Dataset` with
  x               ("time", "token", "component")   token positions at the saved times
  angle           ("time", "token")                in [0, 2 pi), only when dim == 2
  mode_amplitude  ("obs_time", "mode")             observables on their own, finer time grid
  energy, ...     ("obs_time",)
and every model, solver and seed parameter in `attrs`. Files are NetCDF (`.nc`) or
Zarr (`.zarr`) by extension. A streamed run appends each snapshot to a Zarr store
at most `flush_seconds` after it is taken (`<name>.partial.zarr` for a `.nc` target, converted at the
end), so an interrupted run keeps every finished snapshot; `attrs["complete"]` is 1
only once the run has finished.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from .errors import ParameterError

FORMATS = (".nc", ".zarr")


def check_path(path) -> Path:
    """A writable output path ending in .nc or .zarr."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ParameterError("out", str(path), "a path ending in .nc (NetCDF) or .zarr (Zarr)")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise ParameterError("out", str(path), f"a path in an existing directory ({parent} does not exist)")
    return path


def save(ds: xr.Dataset, path) -> Path:
    """Write `ds` to NetCDF or Zarr according to the extension."""
    path = check_path(path)
    if path.suffix == ".nc":
        ds.to_netcdf(path, engine="h5netcdf")
    else:
        ds.to_zarr(path, mode="w", zarr_format=2, consolidated=True)
    return path


def load(path) -> xr.Dataset:
    """Open a saved run (NetCDF or Zarr), lazily."""
    path = Path(path)
    if path.suffix == ".zarr":
        return xr.open_zarr(path)
    if path.suffix == ".nc":
        return xr.open_dataset(path, engine="h5netcdf")
    raise ParameterError("path", str(path), "a path ending in .nc or .zarr")


def _attr_value(value):
    if isinstance(value, bool):
        return int(value)
    if value is None:
        return "none"
    return value


class RunRecorder:
    """Collects snapshots and observations of a run; optionally streams them to `path`."""

    def __init__(self, attrs: dict, dim: int, path=None, flush_seconds: float = 5.0):
        self.attrs = {key: _attr_value(value) for key, value in attrs.items()}
        self.dim = dim
        self.times, self.positions = [], []
        self.obs_times, self.observations = [], {}
        self.path = None if path is None else check_path(path)
        self.store = None
        self.flush_seconds, self._last_flush = flush_seconds, -float("inf")
        self._flushed_snapshots = self._flushed_observations = 0
        if self.path is not None:
            self.store = self.path if self.path.suffix == ".zarr" else self.path.with_suffix(".partial.zarr")
            for stale in {self.store, self.path}:
                if stale.is_dir():
                    shutil.rmtree(stale)
                elif stale.exists():
                    stale.unlink()

    def snapshot(self, t: float, x: np.ndarray) -> None:
        self.times.append(float(t))
        self.positions.append(np.asarray(x))
        if self.store is not None and time.monotonic() - self._last_flush >= self.flush_seconds:
            self._flush()

    def observe(self, t: float, values: dict) -> None:
        self.obs_times.append(float(t))
        for name, value in values.items():
            self.observations.setdefault(name, []).append(np.asarray(value))

    def _positions(self, start: int) -> xr.Dataset:
        x = np.stack(self.positions[start:])
        data = {"x": (("time", "token", "component"), x)}
        if self.dim == 2:
            data["angle"] = (("time", "token"), np.mod(np.arctan2(x[..., 1], x[..., 0]), 2 * np.pi))
        return xr.Dataset(data, coords={"time": self.times[start:]})

    def _observables(self, start: int) -> xr.Dataset:
        data = {}
        for name, values in self.observations.items():
            stacked = np.stack(values[start:])
            dims = ("obs_time",) if stacked.ndim == 1 else ("obs_time", "mode")
            data[name] = (dims, stacked)
        coords = {"obs_time": self.obs_times[start:]}
        if any(np.ndim(v[0]) == 1 for v in self.observations.values()):
            width = max(len(v[0]) for v in self.observations.values() if np.ndim(v[0]) == 1)
            coords["mode"] = np.arange(1, width + 1)
        return xr.Dataset(data, coords=coords)

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        if self._flushed_snapshots == len(self.times):
            return
        first = self._flushed_snapshots == 0
        positions = self._positions(self._flushed_snapshots)
        if first:
            positions.attrs = {**self.attrs, "complete": 0}
            positions.to_zarr(self.store, mode="w", zarr_format=2, consolidated=True)
        else:
            positions.to_zarr(self.store, append_dim="time", zarr_format=2, consolidated=True)
        self._flushed_snapshots = len(self.times)
        if len(self.obs_times) > self._flushed_observations:
            observables = self._observables(self._flushed_observations)
            if self._flushed_observations == 0:
                observables.to_zarr(self.store, mode="a", zarr_format=2, consolidated=True)
            else:
                observables.drop_vars("mode", errors="ignore").to_zarr(
                    self.store, append_dim="obs_time", zarr_format=2, consolidated=True)
            self._flushed_observations = len(self.obs_times)

    def finish(self, extra_attrs: dict | None = None) -> xr.Dataset:
        """The whole run as a Dataset; a streamed run is completed on disk."""
        ds = xr.merge([self._positions(0), self._observables(0)], combine_attrs="drop")
        ds.attrs = {**self.attrs, **{k: _attr_value(v) for k, v in (extra_attrs or {}).items()}, "complete": 1}
        if self.store is not None:
            self._flush()
            group = zarr.open_group(self.store, mode="a", zarr_format=2)
            group.attrs.update(ds.attrs)
            zarr.consolidate_metadata(self.store)
            if self.path.suffix == ".nc":
                save(ds, self.path)
                shutil.rmtree(self.store)
        return ds
