"""Exponential rates fitted to data, and growth rates over the linear window of a run (docs/science.md §3).

`exponential_rate(t, y, window)` is the one log-linear fit of attnflow: the least-squares slope
gamma of log y = log A + gamma t over the chosen observations, used by every experiment that reads a
rate off a run (growth of modes, decay of W_2 or of 1 - r, the split of a cluster).

In the linear phase each mode amplitude A_k(t) = sqrt(S_k(t)) grows like A_k(0) e^{gamma_k t}, so
log A_k is a straight line of slope gamma_k. The window is chosen from the data: it starts at the
first observation and ends at the last observation before the largest amplitude (over all recorded
modes) first exceeds `saturation` (default 0.05), where the dominant mode stops being small and the
modes start to feed each other; at least `min_points` observations are kept. The slope is the
least-squares line through log A_k over the window.

Over several runs (seeds) `fit_ensemble_growth_rates` fits the root-mean-square amplitude instead,
which removes most of the seed-to-seed scatter of the slow modes at finite n.
"""

from __future__ import annotations

import numpy as np

from .errors import check, check_integer, check_positive


def exponential_rate(t, y, window=None, min_points: int = 3):
    """gamma in y = A e^{gamma t}: the least-squares slope of log y against t over `window` (a boolean
    mask or a slice of the observations; all of them when None). `y` is (obs,) or (obs, column): one
    rate per column, nan for a column with a non-positive value in the window. A window with fewer than
    `min_points` observations is refused."""
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    check(t.ndim == 1 and y.ndim in (1, 2) and y.shape[0] == t.shape[0], "y", f"array of shape {y.shape}",
          f"an array with {t.shape[0]} rows (one per time)")
    window = slice(None) if window is None else window
    t, y = t[window], y[window]
    check(len(t) >= min_points, "window", f"{len(t)} observations", f"at least min_points={min_points}")
    centred = t - t.mean()
    with np.errstate(divide="ignore", invalid="ignore"):  # a non-positive y: nan, not a warning
        logs = np.log(y)
        slopes = np.where(np.all(np.isfinite(logs), axis=0),
                          centred @ (logs - logs.mean(axis=0)) / (centred @ centred), np.nan)
    return float(slopes) if y.ndim == 1 else slopes


def linear_window(time, amplitudes, saturation: float = 0.05, min_points: int = 4) -> slice:
    """The slice of observations forming the linear window of `amplitudes` (obs_time, mode)."""
    t = np.asarray(time, dtype=np.float64)
    a = np.asarray(amplitudes, dtype=np.float64)
    check(a.ndim == 2 and t.ndim == 1 and a.shape[0] == t.shape[0], "amplitudes", f"array of shape {a.shape}",
          f"an (obs_time, mode) array with {t.shape[0]} rows")
    check_positive("saturation", saturation)
    check_integer("min_points", min_points, minimum=2)
    check(len(t) >= min_points, "time", f"{len(t)} observations", f"at least min_points={min_points}")
    saturated = np.flatnonzero(a.max(axis=1) > saturation)
    stop = int(saturated[0]) if len(saturated) else len(t)
    return slice(0, max(stop, min_points))


def fit_growth_rates(time, amplitudes, saturation: float = 0.05, min_points: int = 4) -> np.ndarray:
    """Fitted gamma_k, one per column of `amplitudes` (obs_time, mode): `exponential_rate` of each A_k
    over `linear_window` (module docstring). A column with a zero amplitude in the window gives nan."""
    window = linear_window(time, amplitudes, saturation, min_points)
    return exponential_rate(time, amplitudes, window, min_points)


def fit_dataset(ds, saturation: float = 0.05, min_points: int = 4) -> np.ndarray:
    """`fit_growth_rates` on the `mode_amplitude` record of a run returned by `attnflow.simulate`."""
    check("mode_amplitude" in ds, "ds", "a Dataset without mode_amplitude",
          "a run recorded with observables including 'modes'")
    return fit_growth_rates(ds["obs_time"].values, ds["mode_amplitude"].values, saturation, min_points)


def fit_ensemble_growth_rates(time, runs, saturation: float = 0.05, min_points: int = 4) -> np.ndarray:
    """gamma_k fitted on the seed average of the power: the slope of (1/2) log E[S_k] = log sqrt(mean_runs A_k^2)
    over its linear window. In the linear theory E[S_k(t)] = e^{2 gamma_k t} / n exactly, while
    the quadratic coupling of the O(n^{-1/2}) modes adds a zero-mean forcing that tilts single-run slopes of the
    slow modes; averaging the power over runs removes its cross terms. `runs`: amplitude arrays
    (obs_time, mode), truncated to the shortest."""
    check(len(runs) >= 1, "runs", len(runs), "at least one amplitude array")
    length = min(len(a) for a in runs)
    power = np.mean([np.asarray(a, dtype=np.float64)[:length] ** 2 for a in runs], axis=0)
    return fit_growth_rates(np.asarray(time)[:length], np.sqrt(power), saturation, min_points)
