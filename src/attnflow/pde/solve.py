"""`solve`: the mean-field equation on the circle from a density on the grid (docs/science.md §2).

  d_t rho + d_theta(rho v[rho]) = D d_theta^2 rho,
  v(theta) = -∫ e^{beta cos(theta-theta')} sin(theta-theta') rho(theta') dtheta'
(USA; SA divides v by ∫ e^{beta cos(theta-theta')} rho(theta') dtheta').
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

from ..errors import AttnflowError, NonFiniteError, ParameterError, check
from ..interaction import check_representable
from ..model import Model
from ..outputs import MARK
from ..provenance import annotate, attr_value, attributes, python_call, recorded_attrs
from ..theory import growth_rates
from .finite_volume import FiniteVolumeSolver
from .kernels import grid
from .lax_friedrichs import LaxFriedrichsSolver
from .spectral import SpectralSolver

SOLVERS = {"spectral": SpectralSolver, "fv": FiniteVolumeSolver, "lax-friedrichs": LaxFriedrichsSolver}
OPTIONS = {"spectral": ("rtol", "atol", "first_step"), "fv": ("cfl", "max_step"),
           "lax-friedrichs": ("courant", "convolution")}
MASS_TOLERANCE = 1e-8
MAX_STEPS = 10**6  # default bound on the time steps of one solve
NEGATIVITY = 1e-3  # a spectral density below -NEGATIVITY max(rho) is under-resolved


class UnderResolvedError(AttnflowError):
    """The spectral solution developed structure finer than its grid (negative density)."""


class UnderResolvedWarning(UserWarning):
    """As `UnderResolvedError`, when the caller asked to continue (underresolved="warn")."""


def _number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _positive(name: str, value, allowed: str = "a finite number > 0") -> None:
    check(_number(value) and math.isfinite(value) and value > 0, name, value, allowed)


def mass(density: np.ndarray) -> float:
    """sum_j rho_j 2 pi / N: the total mass (1 for a probability density)."""
    return float(np.sum(density) * (2 * np.pi / density.shape[-1]))


def mode_amplitudes(density: np.ndarray, kmax: int) -> np.ndarray:
    """|mu_k| = |∫ e^{-ik theta} rho(theta) dtheta|, k = 1..kmax, by the rectangle rule on the grid.

    The same |mu_k| as `observables.mode_amplitudes` for particles (whose empirical measure has
    mu_k = (1/n) sum_j e^{-ik theta_j}); it grows like e^{gamma_k t} in the linear phase.
    """
    n = density.shape[-1]
    return np.abs(np.fft.rfft(density, axis=-1)[..., 1:kmax + 1]) * (2 * np.pi / n)


def check_density(density0, method: str = "spectral") -> np.ndarray:
    """The validated initial density: a finite 1-d array of >= 8 values, mass 1 (rectangle rule)."""
    rho = np.asarray(density0, dtype=np.float64)
    check(rho.ndim == 1 and rho.size >= 8, "density0", f"array of shape {rho.shape}",
          "a 1-d array of at least 8 grid values")
    check(bool(np.isfinite(rho).all()), "density0", "array with non-finite entries", "finite values")
    total = mass(rho)
    check(abs(total - 1) <= MASS_TOLERANCE, "density0", f"density of mass {total:.12g}",
          "mass sum_j rho_j 2 pi / N = 1 (the helpers in attnflow.pde.initial normalise)")
    if method != "spectral":
        check(bool((rho >= 0).all()), "density0", f"density with minimum {rho.min():.3g}",
              f"non-negative values with method={method!r}")
    return rho


def solve(model: Model, density0, t_end: float, method: str = "fv", save_every: float | None = None,
          observe_every: float | None = None, kmax: int | None = None,
          progress: Callable[[float, float], None] | None = None, underresolved: str = "raise",
          max_steps: int = MAX_STEPS,
          **options) -> xr.Dataset:
    """Solve the mean-field equation on the circle from `density0` up to `t_end` (docs/science.md §2).

    model          attnflow.Model with dim=2, identity Q, K, V, norm="post"; kind "usa" or "sa";
                   model.diffusion is D
    density0       values on the grid theta_j = (j + 1/2) 2 pi / N with sum_j rho_j 2 pi / N = 1
                   (see attnflow.pde.initial)
    method         "spectral": Fourier + adaptive DOPRI5 (options rtol=1e-8, atol=1e-10, first_step);
                   exact velocity, exponential accuracy while rho is smooth.
                   "fv": finite volumes, MUSCL–MC upwind, SSP-RK3 (options cfl=0.8, max_step,
                   default 0.05 / max_k gamma_k); exact mass, rho >= 0 always, second order.
                   "lax-friedrichs": the seed's baseline, direct O(N^2) velocity (options courant=0.02,
                   convolution="direct" or "fft": the same sum by FFT, for accuracy studies).
    save_every     time between saved densities (default t_end / 50)
    observe_every  time between observables (default save_every / 10): mass and |mu_k|, k = 1..kmax
    kmax           number of recorded modes, at most N / 2 (default min(10, N / 2))
    progress       optional callback progress(t, t_end)
    underresolved  what the spectral method does once the density dips below -NEGATIVITY max(rho) (the
                   clusters have sharpened beyond the grid: Gibbs oscillations): "raise" (default) an
                   `UnderResolvedError` naming the time, or "warn" (an `UnderResolvedWarning`, and the
                   time in attrs["underresolved_at"])
    max_steps      the most time steps the run may take (every loop is bounded): more raises `NonFiniteError`
    A step that leaves the density non-finite or does not advance the time raises `NonFiniteError`.
    Returns an xarray.Dataset: `density` (time, angle), `mass` and `mode_amplitude` (obs_time, mode),
    the model, method, options (defaults included, as option_<name>), save_every, observe_every, kmax,
    steps, wall time, min_density (the minimum over every step) and the provenance attributes
    (attnflow.provenance: Conventions, history, source) in attrs.
    """
    if not isinstance(model, Model):
        raise ParameterError("model", type(model).__name__, "an attnflow.Model")
    check(model.dim == 2, "dim", model.dim, "2 (the PDE solvers are on the circle)")
    check(model.identity_parameters, "Q, K, V", "non-identity matrices", "identity parameters on the circle")
    check(model.norm == "post", "norm", model.norm, "post (densities live on the circle)")
    check(method in SOLVERS, "method", method, f"one of {', '.join(SOLVERS)}")
    check(method != "lax-friedrichs" or model.diffusion == 0, "diffusion", model.diffusion,
          "0 with method='lax-friedrichs' (the seed's scheme; use fv or spectral for D > 0)")
    unknown = sorted(set(options) - set(OPTIONS[method]))
    check(not unknown, "options", unknown,
          f"options of method={method!r}: {', '.join(OPTIONS[method])}")
    for name, value in options.items():
        if name == "convolution":
            check(value in ("direct", "fft"), "convolution", value, "direct or fft")
        elif value is not None:
            _positive(name, value)
    if "cfl" in options:
        check(options["cfl"] <= 1, "cfl", options["cfl"], "a number in (0, 1] (positivity)")
    check(_number(t_end) and math.isfinite(t_end) and t_end >= 0, "t_end", t_end, "a finite number >= 0")
    check(underresolved in ("raise", "warn"), "underresolved", underresolved, "raise or warn")
    check(isinstance(max_steps, (int, np.integer)) and not isinstance(max_steps, bool) and max_steps >= 1,
          "max_steps", max_steps, "an integer >= 1")
    rho0 = check_density(density0, method)
    check_representable(model, torch.float64, squared=True)
    kmax = min(10, len(rho0) // 2) if kmax is None else kmax
    check(isinstance(kmax, (int, np.integer)) and not isinstance(kmax, bool) and 1 <= kmax <= len(rho0) // 2,
          "kmax", kmax, f"an integer from 1 to N/2 = {len(rho0) // 2}")
    save_every = t_end / 50 if save_every is None else save_every
    observe_every = save_every / 10 if observe_every is None else observe_every
    if t_end > 0:
        _positive("save_every", save_every)
        _positive("observe_every", observe_every)
    if method == "fv" and options.get("max_step") is None:
        options["max_step"] = 0.05 / max(float(growth_rates(model.beta, 2, 16, model.kind).max()), 1e-3)

    solver = SOLVERS[method](model, rho0, **{k: v for k, v in options.items() if v is not None})
    save_times = _times(t_end, save_every)
    observe_times = _times(t_end, observe_every)
    events = np.union1d(save_times, observe_times)
    densities, observed = [], []
    lowest, underresolved_at = float(rho0.min()), None
    started = wallclock.perf_counter()
    for target in events:
        while solver.t < target:
            before = solver.t
            solver.advance(float(target))
            rho = solver.density()
            if solver.steps + solver.rejected > max_steps:
                raise NonFiniteError(f"the {method} solver took more than max_steps={max_steps} steps by t = "
                                     f"{solver.t:.6g} of {t_end:g} (beta={model.beta:g}, kind={model.kind}, N={len(rho0)}): "
                                     "the dynamics is too fast for this grid (USA speeds grow like e^beta); "
                                     "raise max_steps, shorten t_end, or use kind='sa'")
            if not (solver.t > before and np.isfinite(rho).all()):
                raise NonFiniteError(f"the {method} solver stopped advancing at t = {before:.6g} (beta={model.beta:g}, "
                                     f"N={len(rho0)}): the density is not finite or the step vanished")
            lowest = min(lowest, float(rho.min()))  # after every step, not only when observed
            if method == "spectral" and underresolved_at is None and rho.min() < -NEGATIVITY * rho.max():
                underresolved_at = solver.t
                message = (f"the spectral density became negative (min {rho.min():.3g}) at t = {solver.t:.6g}: the "
                           f"clusters are sharper than N = {len(rho0)} Fourier modes resolve; use method='fv' (positive "
                           "by construction) or a finer grid")
                if underresolved == "raise":
                    raise UnderResolvedError(message)
                warnings.warn(message, UnderResolvedWarning, stacklevel=2)
            if progress is not None:
                progress(solver.t, t_end)
        rho = solver.density()
        if np.isin(target, save_times):
            densities.append(rho)
        if np.isin(target, observe_times):
            observed.append(rho)
    wall_time = wallclock.perf_counter() - started

    observed = np.array(observed)
    densities = np.array(densities)
    n = len(rho0)
    defaults = inspect.signature(SOLVERS[method]).parameters
    used = {name: options.get(name, defaults[name].default) for name in OPTIONS[method]}
    parameters = {**model.describe(), "method": method, "n_grid": n, "t_end": float(t_end),
                  "save_every": float(save_every) if t_end > 0 else "none",
                  "observe_every": float(observe_every) if t_end > 0 else "none", "kmax": kmax,
                  "underresolved": underresolved,
                  **{f"option_{k}": attr_value(v) for k, v in used.items()}}
    call = python_call("attnflow.pde.solve", {"density0": f"<{n} grid values: the first saved density>",
                                              **parameters})
    attrs = {**parameters, "steps": solver.steps, "rejected_steps": solver.rejected, "wall_time": wall_time,
             "min_density": lowest, "underresolved_at": "none" if underresolved_at is None else underresolved_at,
             **{k: attr_value(v) for k, v in recorded_attrs().items()}, **attributes(call), MARK: "pde-run"}
    return annotate(xr.Dataset(
        {"density": (("time", "angle"), densities),
         "mass": (("obs_time",), observed.sum(axis=1) * (2 * np.pi / n)),
         "mode_amplitude": (("obs_time", "mode"), mode_amplitudes(observed, kmax))},
        coords={"time": save_times, "angle": grid(n), "obs_time": observe_times, "mode": np.arange(1, kmax + 1)},
        attrs=attrs))


def _times(t_end: float, every: float) -> np.ndarray:
    """0, every, 2 every, ..., t_end (t_end always included)."""
    if t_end == 0:
        return np.zeros(1)
    count = int(math.floor(t_end / every * (1 + 1e-12)))
    times = np.arange(count + 1) * every
    return times if math.isclose(times[-1], t_end, rel_tol=1e-9) else np.append(times, t_end)
