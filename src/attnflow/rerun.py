"""Make a run again from its file (`attnflow rerun FILE`): every parameter is in the file's attributes.

The initial tokens (or density) are drawn again from the recorded `init` parameters when the run
was started by the CLI (`init` = uniform, clusters, equiangular; noise, modes for the PDE), which
gives the same bits as the original run on the same machine and device; a run started from an
array in Python (`init` = "array") restarts from its first saved snapshot.
"""

from __future__ import annotations


import numpy as np
import xarray as xr

from . import init as tokens
from .errors import ParameterError, check
from .model import Model
from .outputs import MARK
from .progress import callback
from .provenance import current_command, python_call, recording

TOKEN_INITS = ("uniform", "clusters", "equiangular")
DENSITY_INITS = ("noise", "modes")


def initial_tokens(init: str, n: int, dim: int, seed: int, clusters: int, spread: float, rho: float):
    """The CLI's initial tokens, and the attributes that record how they were drawn."""
    check(init in TOKEN_INITS, "init", init, f"one of {', '.join(TOKEN_INITS)}")
    if init == "uniform":
        return tokens.uniform(n, dim, seed=seed), {"init": init}
    if init == "clusters":
        return (tokens.clusters(n, dim, clusters, spread=spread, seed=seed),
                {"init": init, "init_clusters": clusters, "init_spread": spread})
    return tokens.equiangular(n, rho, dim=dim, seed=seed), {"init": init, "init_rho": rho}


def parse_amplitudes(text: str) -> list[float]:
    """Comma-separated |mu_k| values, k = 1, 2, ..."""
    try:
        return [float(a) for a in str(text).split(",")]
    except ValueError:
        raise ParameterError("--amplitudes", text, "comma-separated numbers") from None


def initial_density(init: str, grid: int, sigma: float, seed: int, noise_points: int | None, amplitudes: str,
                    dim: int = 2, zonal: bool = False, method: str | None = None):
    """The CLI's initial density on `grid` cells (dim = 2), on the grid x 2 grid Legendre–Gauss grid of S^2 (dim = 3)
    or at `grid` Gauss–Jacobi nodes (zonal; `grid` cell averages with method "fv"), and the attributes that record
    how it was made."""
    from .pde import initial

    check(init in DENSITY_INITS, "init", init, f"one of {', '.join(DENSITY_INITS)}")
    if zonal:
        check(init == "modes", "init", init, "modes for zonal densities (|m_l| = the amplitudes)")
        modes = initial.zonal_cell_modes if method == "fv" else initial.zonal_modes
        return (modes(grid, dim, parse_amplitudes(amplitudes)),
                {"init": init, "init_amplitudes": amplitudes})
    if dim == 3:
        if init == "noise":
            return (initial.sphere_noise(grid, sigma=sigma, seed=seed),
                    {"init": init, "init_sigma": sigma, "init_seed": seed})
        return (initial.sphere_modes(grid, parse_amplitudes(amplitudes)),
                {"init": init, "init_amplitudes": amplitudes})
    if init == "noise":
        return (initial.uniform_noise(grid, sigma=sigma, seed=seed, noise_points=noise_points),
                {"init": init, "init_sigma": sigma, "init_seed": seed, "init_noise_points": noise_points})
    return initial.uniform_modes(grid, parse_amplitudes(amplitudes)), {"init": init, "init_amplitudes": amplitudes}


def _optional(value):
    return None if isinstance(value, str) and value == "none" else value


def _model(attrs: dict) -> Model:
    dim = int(attrs["dim"])
    matrices = {name: np.asarray(attrs[name], dtype=np.float64).reshape(dim, dim)
                for name in ("Q", "K", "V") if name in attrs}
    return Model(kind=attrs["kind"], beta=float(attrs["beta"]), dim=dim, norm=attrs.get("norm", "post"),
                 diffusion=float(attrs.get("diffusion", 0.0)), mask=attrs.get("mask", "none"), **matrices)


def rerun(path, out=None, overwrite: bool = False, progress=None) -> xr.Dataset:
    """Run the particle or PDE run saved at `path` again (into `out`, optional) from its attributes.
    `progress`: a callback (done, total), or True for a bar (`attnflow.progress.Progress`)."""
    from .io import load

    ds = load(path)
    attrs = dict(ds.attrs)
    kind = attrs.get(MARK)
    check(kind in ("particle-run", "pde-run"), "path", str(path),
          "a particle run (attnflow simulate) or a PDE run (attnflow pde) written by attnflow")
    command = _command(path)
    progress = callback(progress, "rerun t")
    if kind == "particle-run":
        return _rerun_particles(ds, attrs, command, out, overwrite, progress)
    return _rerun_pde(ds, attrs, command, out, overwrite, progress)


def _rerun_particles(ds, attrs, command, out, overwrite, progress):
    from .integrate import simulate
    n, dim, seed = int(attrs["n"]), int(attrs["dim"]), int(attrs["seed"])
    init = attrs.get("init", "array")
    if init in TOKEN_INITS:
        x0, recorded = initial_tokens(init, n, dim, seed, int(attrs.get("init_clusters", 3)),
                                      float(attrs.get("init_spread", 0.1)), float(attrs.get("init_rho", 0.0)))
    else:
        x0, recorded = ds["x"].isel(time=0).values, {"init": "array"}
    method = attrs["method"]
    tolerances = {name: float(attrs[name]) for name in ("rtol", "atol") if _optional(attrs.get(name)) is not None}
    with recording(command, **recorded):
        return simulate(_model(attrs), x0, float(attrs["t_end"]), dt=_optional(attrs.get("dt")), method=method,
                        save_every=_optional(attrs.get("save_every")),
                        observe_every=_optional(attrs.get("observe_every")), engine=attrs.get("engine"),
                        seed=seed, kmax=int(attrs.get("kmax", 10)),
                        observables=tuple(str(name) for name in np.atleast_1d(attrs.get("observables", ("modes", "energy")))),
                        out=out, progress=progress, device=attrs.get("device"), dtype=attrs.get("dtype"),
                        overwrite=overwrite, **tolerances)


def _rerun_pde(ds, attrs, command, out, overwrite, progress):
    from .io import save
    from .pde import solve
    grid = int(attrs["n_lat"] if "n_lat" in attrs else attrs["n_grid"])
    zonal = bool(attrs.get("zonal", 0))
    init = attrs.get("init", "array")
    if init in DENSITY_INITS:
        rho0, recorded = initial_density(init, grid, float(attrs.get("init_sigma", 0.01)),
                                         int(attrs.get("init_seed", 0)), _optional(attrs.get("init_noise_points")),
                                         str(attrs.get("init_amplitudes", "")), int(attrs["dim"]), zonal,
                                         attrs["method"])
    else:
        rho0, recorded = ds["density"].isel(time=0).values, {"init": "array"}
    options = {key[len("option_"):]: _optional(value) for key, value in attrs.items() if key.startswith("option_")}
    with recording(command, **recorded):
        result = solve(_model(attrs), rho0, float(attrs["t_end"]), method=attrs["method"],
                       save_every=_optional(attrs.get("save_every")), observe_every=_optional(attrs.get("observe_every")),
                       kmax=int(attrs["kmax"]) if "kmax" in attrs else None, progress=progress,
                       underresolved=attrs.get("underresolved", "raise"), zonal=zonal,
                       interpolate=bool(attrs.get("interpolate", 0)), **options)
        if out is not None:
            save(result, out, overwrite=overwrite)
    return result


def _command(path) -> str:
    """The history line of a rerun: the CLI's command line, or this Python call."""
    return current_command() or python_call("attnflow.rerun.rerun", {"path": str(path)})
