"""`solve`: the mean-field equation from a density on a grid (docs/science.md §2, §8),
  d_t rho + div_S(rho v[rho]) = D Delta_S rho,   v[rho](x) = P_x ∫ e^{beta<x,y>} y rho(y) dy
(USA; SA divides v by ∫ e^{beta<x,y>} rho(y) dy); on the circle
  v(theta) = -∫ e^{beta cos(theta-theta')} sin(theta-theta') rho(theta') dtheta'.
The space is a geometry (`geometry.geometry_for(model, zonal, method)`: the circle, the sphere S^2, or zonal densities
on S^{d-1}, at nodes or, for finite volumes, as cell averages), each solver names the geometries it solves on.
"""

from __future__ import annotations

import inspect
import math
import time as wallclock
import warnings
from typing import Callable

import numpy as np
import torch
import xarray as xr

from .. import threads
from ..errors import (AttnflowError, NonFiniteError, ParameterError, check, check_choice, check_integer, check_positive,
                      check_real)
from ..interaction import check_representable
from ..model import Model
from ..outputs import MARK
from ..provenance import annotate, attr_value, attributes, python_call, recorded_attrs
from ..spectrum import growth_rates
from .finite_volume import FiniteVolumeSolver
from .geometry import geometry_for
from .lax_friedrichs import LaxFriedrichsSolver
from .sphere import SphereSolver
from .spectral import SpectralSolver
from .zonal import ZonalSolver

SOLVERS = {"spectral": SpectralSolver, "fv": FiniteVolumeSolver, "lax-friedrichs": LaxFriedrichsSolver,
           "sht": SphereSolver, "gegenbauer": ZonalSolver}
OPTIONS = {"spectral": ("rtol", "atol", "first_step"), "fv": ("cfl", "max_step"),
           "lax-friedrichs": ("courant", "convolution"), "sht": ("rtol", "atol", "first_step", "device"),
           "gegenbauer": ("rtol", "atol", "first_step")}
DEFAULT_METHOD = {"circle": "fv", "sphere": "sht", "zonal": "gegenbauer"}
SPECTRAL = ("spectral", "sht", "gegenbauer")  # methods whose density may dip below zero
DENSITY = {"sphere": {"density": ("density of the tokens on S^2 against the area element", "sr-1")},
           "zonal": {"density": ("density of t = <x, e> against the uniform probability measure on S^(d-1)", "1")}}
MAX_STEPS = 10**6  # default bound on the time steps of one solve
NEGATIVITY = 1e-3  # a spectral density below -NEGATIVITY max(rho) is under-resolved


class UnderResolvedError(AttnflowError):
    """The spectral solution developed structure finer than its grid (negative density)."""


class UnderResolvedWarning(UserWarning):
    """As `UnderResolvedError`, when the caller asked to continue (underresolved="warn")."""


def default_max_step(model: Model) -> float:
    """The finite-volume step bound in the linear phase: 0.05 / max_k gamma_k, k <= 16, the largest linear rate
    of the kernel's spectrum (docs/science.md §3), at least 1e-3 in the denominator."""
    return 0.05 / max(float(growth_rates(model.beta, model.dim, 16, model.kind).max()), 1e-3)


def solve(model: Model, density0, t_end: float, method: str | None = None, save_every: float | None = None,
          observe_every: float | None = None, kmax: int | None = None,
          progress: Callable[[float, float], None] | None = None, underresolved: str = "raise",
          max_steps: int = MAX_STEPS, zonal: bool = False, interpolate: bool = False,
          **options) -> xr.Dataset:
    """Solve the mean-field equation from `density0` up to `t_end` (docs/science.md §2, §8).

    model          attnflow.Model with identity Q, K, V, norm="post" and a dim that has a geometry
                   (`geometry_for`: dim=2, the circle; dim=3, the sphere S^2; any dim with zonal=True);
                   kind "usa" or "sa"; model.diffusion is D
    density0       circle: values on the grid theta_j = (j + 1/2) 2 pi / N with sum_j rho_j 2 pi / N = 1;
                   sphere: (nlat, nlon) values on the Legendre–Gauss grid, ∫ rho dA = 1;
                   zonal: values of rho(t), t = <x, e>, at the Gauss–Jacobi nodes, ∫ rho dsigma = 1; with
                   method="fv" its averages over n cells uniform in arccos t, sum_j V_j rho_j = 1
                   (see attnflow.pde.initial; validated by the geometry)
    zonal          solve for densities of t = <x, e> on S^{model.dim - 1} (`zonal.ZonalSolver`)
    method         default: "fv" on the circle, "sht" on the sphere, "gegenbauer" for zonal densities.
                   "sht" (sphere): spherical harmonics by torch-harmonics, exact Funk–Hecke velocity, flux
                   dealiased (3/2 rule) + adaptive DOPRI5 (options rtol, atol, first_step, device="cpu").
                   "gegenbauer" (zonal): Gegenbauer–Galerkin, exact quadrature + adaptive DOPRI5 (options rtol,
                   atol, first_step).
                   "spectral" (circle): Fourier + adaptive DOPRI5 (options rtol=1e-8, atol=1e-10, first_step);
                   exact velocity, exponential accuracy while rho is smooth.
                   "fv" (circle, zonal): finite volumes, MUSCL–MC upwind, SSP-RK3 (options cfl=0.8, max_step,
                   default `default_max_step`); exact mass, rho >= 0 always, second order.
                   "lax-friedrichs": the seed's baseline, direct O(N^2) velocity (options courant=0.02,
                   convolution="direct" or "fft": the same sum by FFT, for accuracy studies).
    save_every     time between saved densities (default t_end / 50)
    observe_every  time between observables (default save_every / 10): mass, |mu_k| (sphere and zonal: sqrt(S_k),
                   S_k the Gegenbauer power of docs/science.md §3) and S_k, k = 1..kmax
    kmax           number of recorded modes, at most the grid's (circle N / 2, sphere L, zonal n - 1;
                   default min(10, that))
    progress       optional callback progress(t, t_end)
    underresolved  what the spectral method does once the density dips below -NEGATIVITY max(rho) (the
                   clusters have sharpened beyond the grid: Gibbs oscillations): "raise" (default) an
                   `UnderResolvedError` naming the time, or "warn" (an `UnderResolvedWarning`, and the
                   time in attrs["underresolved_at"])
    max_steps      the most time steps the run may take (every loop is bounded): more raises `NonFiniteError`
    interpolate    DOPRI5 methods (spectral, sht, gegenbauer): the steps run freely to t_end and the saved and
                   observed densities come from the continuous extension (order 4) of the step that spans them,
                   instead of steps cut short to land on every one (the default, at least 500 steps with the
                   default observe_every). Its error is of the order of the tolerances against the whole density:
                   small perturbations (a linear-phase growth rate) need landing, or a smaller atol.
    A step that leaves the density non-finite or does not advance the time raises `NonFiniteError`.
    Returns an xarray.Dataset: `density` (time, angle | lat, lon | t), `quadrature_weight` of the grid points,
    `mass`, `mode_amplitude` and `harmonic_power` (obs_time, mode),
    the model, method, options (defaults included, as option_<name>), save_every, observe_every, kmax,
    steps, wall time, min_density (the minimum over every step) and the provenance attributes
    (attnflow.provenance: Conventions, history, source) in attrs.
    """
    if not isinstance(model, Model):
        raise ParameterError("model", type(model).__name__, "an attnflow.Model")
    space = geometry_for(model, zonal, method)
    method = DEFAULT_METHOD[space.name] if method is None else method
    check(model.identity_parameters, "Q, K, V", "non-identity matrices", f"identity parameters on the {space.name}")
    check(model.norm == "post", "norm", model.norm, f"post (densities live on the {space.name})")
    check(not model.causal, "mask", model.mask, "none (the mean-field equation has no order of tokens to mask)")
    check_choice("method", method, SOLVERS)
    check(space.name in SOLVERS[method].geometries, "method", method,
          f"a method that solves on the {space.name}: "
          + ", ".join(name for name, solver in SOLVERS.items() if space.name in solver.geometries))
    check(method != "lax-friedrichs" or model.diffusion == 0, "diffusion", model.diffusion,
          "0 with method='lax-friedrichs' (the seed's scheme; use fv or spectral for D > 0)")
    unknown = sorted(set(options) - set(OPTIONS[method]))
    check(not unknown, "options", unknown,
          f"options of method={method!r}: {', '.join(OPTIONS[method])}")
    for name, value in options.items():
        if name == "convolution":
            check(value in ("direct", "fft"), "convolution", value, "direct or fft")
        elif name == "device":
            check(isinstance(value, str) and _is_device(value), "device", value, "cpu, cuda or cuda:<index>")
        elif value is not None:
            check_positive(name, value)
    if "cfl" in options:
        check(options["cfl"] <= 1, "cfl", options["cfl"], "a number in (0, 1] (positivity)")
    check_real("t_end", t_end, 0.0)
    check(underresolved in ("raise", "warn"), "underresolved", underresolved, "raise or warn")
    check_integer("max_steps", max_steps, 1)
    check(isinstance(interpolate, bool), "interpolate", interpolate, "True or False")
    check(not interpolate or method in SPECTRAL, "interpolate", interpolate,
          f"False with method={method!r} (dense output needs a DOPRI5 method: {', '.join(SPECTRAL)})")
    geometry, rho0 = space.from_density(density0, method, model.dim)
    check_representable(model, torch.float64, squared=True)
    kmax = min(10, geometry.max_modes) if kmax is None else kmax
    check_integer("kmax", kmax, 1, geometry.max_modes, f"an integer from 1 to {geometry.max_modes} (the grid's)")
    save_every = t_end / 50 if save_every is None else save_every
    observe_every = save_every / 10 if observe_every is None else observe_every
    if t_end > 0:
        check_positive("save_every", save_every)
        check_positive("observe_every", observe_every)
    if method == "fv" and options.get("max_step") is None:
        options["max_step"] = default_max_step(model)

    solver = SOLVERS[method](model, geometry, rho0, **{k: v for k, v in options.items() if v is not None})
    grid_text = ", ".join(f"{k}={v}" for k, v in geometry.describe().items())
    save_times = _times(t_end, save_every)
    observe_times = _times(t_end, observe_every)
    events = np.union1d(save_times, observe_times)
    densities, observed = [], []
    lowest, underresolved_at = float(geometry.resolved(rho0).min()), None
    started = wallclock.perf_counter()
    pending = list(events)
    with threads.torch_threads(getattr(solver, "threads", None)):  # small S^2 grids: one thread (sphere.py)
        while True:
            while pending and pending[0] <= solver.t:  # the events the last step reached or passed
                time = pending.pop(0)
                rho = solver.density_at(time) if interpolate else solver.density()
                if np.isin(time, save_times):
                    densities.append(rho)
                if np.isin(time, observe_times):
                    observed.append(rho)
            if not pending:
                break
            before = solver.t
            solver.advance(float(t_end if interpolate else pending[0]))
            rho = solver.density()
            if solver.steps + solver.rejected > max_steps:
                raise NonFiniteError(f"the {method} solver took more than max_steps={max_steps} steps by t = "
                                     f"{solver.t:.6g} of {t_end:g} (beta={model.beta:g}, kind={model.kind}, "
                                     f"{grid_text}): the dynamics is too fast for this grid (USA speeds grow "
                                     "like e^beta); raise max_steps, shorten t_end, or use kind='sa'")
            if not (solver.t > before and np.isfinite(rho).all()):
                raise NonFiniteError(f"the {method} solver stopped advancing at t = {before:.6g} "
                                     f"(beta={model.beta:g}, {grid_text}): the density is not finite or the step "
                                     "vanished")
            values = geometry.resolved(rho)
            lowest = min(lowest, float(values.min()))  # after every step, not only when observed
            if method in SPECTRAL and underresolved_at is None and values.min() < -NEGATIVITY * values.max():
                underresolved_at = solver.t
                message = (f"the {method} density became negative (min {values.min():.3g}) at t = "
                           f"{solver.t:.6g}: the clusters are sharper than the grid ({grid_text}) resolves; use "
                           + ("method='fv' (positive by construction) or " if space.name == "circle" else "")
                           + "a finer grid")
                if underresolved == "raise":
                    raise UnderResolvedError(message)
                warnings.warn(message, UnderResolvedWarning, stacklevel=2)
            if progress is not None:
                progress(solver.t, t_end)
    wall_time = wallclock.perf_counter() - started

    observed = np.array(observed)
    densities = np.array(densities)
    defaults = inspect.signature(SOLVERS[method]).parameters
    used = {name: options.get(name, defaults[name].default) for name in OPTIONS[method]}
    parameters = {**model.describe(), "method": method, "geometry": space.name, **geometry.describe(),
                  "t_end": float(t_end),
                  "save_every": float(save_every) if t_end > 0 else "none",
                  "observe_every": float(observe_every) if t_end > 0 else "none", "kmax": kmax,
                  "underresolved": underresolved, "interpolate": int(interpolate),
                  **{f"option_{k}": attr_value(v) for k, v in used.items()}}
    shape = "x".join(map(str, rho0.shape))
    call = python_call("attnflow.pde.solve", {"density0": f"<{shape} grid values: the first saved density>",
                                              **parameters})
    attrs = {**parameters, "steps": solver.steps, "rejected_steps": solver.rejected, "wall_time": wall_time,
             "min_density": lowest, "underresolved_at": "none" if underresolved_at is None else underresolved_at,
             **{k: attr_value(v) for k, v in recorded_attrs().items()}, **attributes(call), MARK: "pde-run"}
    amplitudes = geometry.mode_amplitudes(observed, kmax)
    return annotate(xr.Dataset(
        {"density": (("time", *geometry.dims), densities),
         "quadrature_weight": (geometry.dims, geometry.weights),
         "mass": (("obs_time",), geometry.mass(observed)),
         "mode_amplitude": (("obs_time", "mode"), amplitudes),
         "harmonic_power": (("obs_time", "mode"), amplitudes**2)},
        coords={"time": save_times, **geometry.coords, "obs_time": observe_times, "mode": np.arange(1, kmax + 1)},
        attrs=attrs), DENSITY.get(space.name))


def _times(t_end: float, every: float) -> np.ndarray:
    """0, every, 2 every, ..., t_end (t_end always included)."""
    if t_end == 0:
        return np.zeros(1)
    count = int(math.floor(t_end / every * (1 + 1e-12)))
    times = np.arange(count + 1) * every
    return times if math.isclose(times[-1], t_end, rel_tol=1e-9) else np.append(times, t_end)


def _is_device(name: str) -> bool:
    try:
        torch.device(name)
    except RuntimeError:
        return False
    return True
