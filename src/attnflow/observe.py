"""What a run records on its observation grid: functions f(t, x) of the tokens (docs/science.md §3).

`x` is a torch tensor of tokens on the run's device: unit vectors (their directions for Pre-LN, where
tokens live in R^d). f returns a float or an array; an array adds dimensions to its variable, named
`<name>_index` (`<name>_index0`, `<name>_index1`, ... beyond one). The default set, by name:

  "modes"            mode_amplitude ("obs_time", "mode"): sqrt(S_k), k = 1..kmax (|mu_k| on the circle)
  "energy"           energy: E_beta, or energy_scaled = e^{-beta} E_beta where e^beta overflows float64
  "order_parameter"  order_parameter: r = |mean x|

`simulate(observables=...)` takes these names and/or a mapping {name: f} of a user's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from . import observables as obs
from .errors import AttnflowError, NonFiniteError, ParameterError, check

DEFAULTS = ("modes", "energy", "order_parameter")
RESERVED = ("x", "angle", "time", "obs_time", "token", "component", "mode")


@dataclass(frozen=True)
class Observable:
    """f(t, x) recorded as a variable; `dims` names the dimensions of an array result (None: `<name>_index`)."""

    fn: Callable
    dims: tuple[str, ...] | None = None


def default_set(names, beta: float, kmax: int) -> dict[str, Observable]:
    """The default observables `names` (a subset of DEFAULTS) under their variable names."""
    energy_name = "energy" if beta <= obs.MAX_EXP else "energy_scaled"
    # On the circle the modes observable asks for the energy's Fourier modes too: both read one kernel pass.
    circle_kmax = max(kmax, obs.energy_modes(beta)) if "energy" in names and beta > 0 else kmax
    table = {
        "modes": ("mode_amplitude", Observable(lambda t, x: obs.mode_amplitudes(x, circle_kmax if x.shape[-1] == 2
                                                                                 else kmax)[:kmax], ("mode",))),
        "energy": (energy_name, Observable(lambda t, x: obs.energy(x, beta, scaled=energy_name == "energy_scaled"))),
        "order_parameter": ("order_parameter", Observable(lambda t, x: obs.order_parameter(x))),
    }
    return dict(table[name] for name in names)


def resolve(observables, beta: float, kmax: int) -> tuple[list[str], dict[str, Observable]]:
    """`observables` (a name, a mapping {name: f}, or an iterable of names and mappings) as
    (the names asked for, {variable name: Observable})."""
    items = [observables] if isinstance(observables, (str, Mapping)) else list(observables)
    names = [item for item in items if isinstance(item, str)]
    unknown = [name for name in names if name not in DEFAULTS]
    check(not unknown and all(isinstance(item, (str, Mapping)) for item in items), "observables",
          unknown or items, f"names from {', '.join(DEFAULTS)} and/or a mapping {{name: f(t, x)}}")
    chosen = default_set(dict.fromkeys(names), beta, kmax)
    for mapping in (item for item in items if isinstance(item, Mapping)):
        for name, fn in mapping.items():
            check(isinstance(name, str) and name.isidentifier() and name not in RESERVED and name not in chosen,
                  "observables", name, f"a new identifier as the name of an observable (not {', '.join(RESERVED)} "
                                       "or a name already recorded)")
            check(callable(fn), "observables", {name: fn}, "a mapping {name: f(t, x) -> float | array}")
            names.append(name)
            chosen[name] = fn if isinstance(fn, Observable) else Observable(fn)
    return names, chosen


def evaluate(observables: dict[str, Observable], t: float, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Every observable at (t, x) as NumPy; a failure or a non-finite value is an error naming the observable."""
    values = {}
    for name, observable in observables.items():
        try:
            value = observable.fn(t, x)
        except AttnflowError:
            raise
        except Exception as error:
            raise ParameterError("observables", name, f"a function f(t, x) -> float | array (at t = {t:.6g} it "
                                                      f"raised {type(error).__name__}: {error})") from None
        value = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value)
        if not np.isfinite(value).all():
            raise NonFiniteError(f"the observable {name!r} is not finite at t = {t:.6g}")
        values[name] = value
    return values


def dimensions(name: str, observable: Observable | None, ndim: int) -> tuple[str, ...]:
    """The dimensions of an observable's array result of `ndim` dimensions (after obs_time)."""
    if ndim == 0:
        return ()
    if observable is not None and observable.dims is not None:
        return observable.dims
    return (f"{name}_index",) if ndim == 1 else tuple(f"{name}_index{j}" for j in range(ndim))

