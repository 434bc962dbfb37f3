"""Provenance and CF-style metadata of every Dataset and store attnflow writes.

Global attributes (CF-1.10 §2.6.2):
  Conventions        "CF-1.10"
  history            "<UTC creation time>: <the command line, or the Python call>" (one line per
                     operation: a resumed run adds a line)
  source             "attnflow <version> (git <commit>)", the commit only when the installed package
                     is a git checkout ("+modified" when it has uncommitted changes)
  attnflow_version   the package version; attnflow_commit the commit (or "unknown")
Variables and coordinates carry `long_name` and `units` ("1" for dimensionless quantities: the
time of the dynamics is the depth through the layers, in model units).

The command line enters through `recording(command, **attrs)`: the CLI opens it around a run, with
the parameters that do not reach the solvers (how the initial tokens or density were drawn), so that
the file says how to make the run again (`attnflow rerun`).
"""

from __future__ import annotations

import datetime
import platform
import subprocess
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

CONVENTIONS = "CF-1.10"
VERSION = version("attnflow")
# Attributes that describe how and when a file was made, not what it holds: a resumed run may differ in them.
KEYS = ("Conventions", "history", "source", "attnflow_version", "attnflow_commit")

_RECORDING: ContextVar[tuple[str, dict] | None] = ContextVar("attnflow_recording", default=None)

# long_name and units of the variables and coordinates attnflow writes (docs/science.md §1–§3).
VARIABLES = {
    "time": ("time of the dynamics (depth through the layers)", "1"),
    "obs_time": ("time of the dynamics at which observables are recorded", "1"),
    "token": ("token index", "1"),
    "component": ("coordinate index in R^d", "1"),
    "mode": ("degree k of the harmonic (Fourier mode on the circle, Gegenbauer degree on the sphere)", "1"),
    "angle": ("angle on the circle", "rad"),
    "x": ("token position (unit vector in R^d; free vector with Pre-LN)", "1"),
    "mode_amplitude": ("amplitude |mu_k| of the degree-k harmonic of the token distribution", "1"),
    "energy": ("interaction energy E_beta", "1"),
    "energy_scaled": ("interaction energy times e^-beta", "1"),
    "order_parameter": ("order parameter |mean of x|", "1"),
    "density": ("density of the tokens on the circle", "rad-1"),
    "mass": ("total mass of the density", "1"),
    "harmonic_power": ("Gegenbauer power S_k of the degree-k harmonic of the density (mode_amplitude squared)", "1"),
    "quadrature_weight": ("quadrature weight of the grid point (dtheta, dA on S^2, sigma for zonal densities)", "1"),
    "lat": ("latitude", "degrees_north"),
    "lon": ("longitude", "degrees_east"),
    "t": ("t = <x, e>, the coordinate of zonal densities on S^(d-1)", "1"),
}


@lru_cache(maxsize=1)
def commit() -> str:
    """The git commit of the attnflow source in use ("+modified" if it has uncommitted changes), or
    "unknown" when the package is not a git checkout (an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return "unknown"
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        changed = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
                                  "src"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+modified" if changed else "")


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def machine() -> str:
    """Host, OS, processor count and Python version: where a result was computed."""
    import os
    return (f"{platform.node()} ({platform.system()} {platform.release()}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()})")


@contextmanager
def recording(command: str, **attrs):
    """Inside the block, results record `command` (a command line) in `history` and carry `attrs`
    (for example the parameters of the initial tokens, which the solvers never see)."""
    token = _RECORDING.set((command, attrs))
    try:
        yield
    finally:
        _RECORDING.reset(token)


def current_command() -> str | None:
    """The command line of the enclosing `recording` block (None outside one)."""
    current = _RECORDING.get()
    return None if current is None else current[0]


def recorded_attrs() -> dict:
    """The attributes given to the enclosing `recording` block (none outside one)."""
    current = _RECORDING.get()
    return {} if current is None else dict(current[1])


def python_call(function: str, parameters: dict) -> str:
    """`function(key=value, ...)` with the recorded parameters: the Python call that made a result."""
    arguments = ", ".join(f"{key}={value!r}" for key, value in parameters.items())
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] not in ("", "-c") else "an interactive session"
    return f"{function}({arguments}) [Python {platform.python_version()}, from {script}]"


def attributes(call: str) -> dict:
    """The global provenance attributes of a result made now by `call` (the CLI's command line when
    inside `recording`, else `call`)."""
    current = _RECORDING.get()
    command = call if current is None else current[0]
    head = commit()
    return {"Conventions": CONVENTIONS, "history": f"{now()}: {command}",
            "source": f"attnflow {VERSION}" + ("" if head == "unknown" else f" (git {head})"),
            "attnflow_version": VERSION, "attnflow_commit": head}


def annotate(ds, names: dict | None = None):
    """`ds` with `long_name` and `units` on its known variables and coordinates (VARIABLES, then
    `names`: name -> (long_name, units)); attributes already set are kept."""
    table = {**VARIABLES, **(names or {})}
    for name, variable in ds.variables.items():
        if name in table:
            long_name, units = table[name]
            variable.attrs = {"long_name": long_name, "units": units, **variable.attrs}
    return ds


def attr_value(value):
    """A value as a NetCDF/Zarr attribute: booleans as 0/1, None as "none", NumPy scalars as Python ones."""
    if isinstance(value, bool):
        return int(value)
    if value is None:
        return "none"
    if isinstance(value, np.generic):
        return value.item()
    return value
