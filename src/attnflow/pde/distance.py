"""W1, the Wasserstein-1 distance on the circle, between particles and densities.

On the circle (Rabin, Delon, Gousseau 2011; Cabrelli and Molter 1995):
  W1(mu, nu) = min_c ∫_0^{2 pi} |F_mu(theta) - F_nu(theta) - c| dtheta,
F the cumulative distribution functions from theta = 0; the minimising c is a median
of F_mu - F_nu under dtheta. A density here is piecewise constant on its grid cells
(F piecewise linear), particles have a step F; so F_mu - F_nu is piecewise linear
between the merged breakpoints and the integral is computed exactly; c, the median of
the values of that piecewise-linear function, by bisection to rounding.
"""

from __future__ import annotations

import numpy as np

from ..errors import check

TWO_PI = 2 * np.pi


def _as_measure(value, name: str):
    """("particles", sorted angles) or ("density", cell masses); a dict {"particles": theta} or
    {"density": rho}, or a plain array read as a density when it is, particles otherwise, is accepted."""
    if isinstance(value, dict):
        check(len(value) == 1 and next(iter(value)) in ("particles", "density"), name, value,
              "{'particles': angles} or {'density': grid values}")
        kind, array = next(iter(value.items()))
    else:
        kind, array = "density", value
    array = np.asarray(array, dtype=np.float64).ravel()
    check(array.size >= 1 and bool(np.isfinite(array).all()), name, "the given values", "finite values")
    if kind == "particles":
        return kind, np.sort(np.mod(array, TWO_PI))
    check(array.sum() > 0, name, "a density of total mass <= 0", "grid values of positive total mass")
    return kind, array / array.sum()


def _cdf(kind: str, data: np.ndarray, points: np.ndarray, right: np.ndarray) -> np.ndarray:
    """F at `points`; at a particle's own position, `right` picks the value after its jump."""
    if kind == "density":
        faces = np.linspace(0, TWO_PI, len(data) + 1)
        return np.interp(points, faces, np.concatenate([[0.0], np.cumsum(data)]))
    below = np.searchsorted(data, points, side="left")
    at_or_below = np.searchsorted(data, points, side="right")
    return np.where(right, at_or_below, below) / len(data)


def wasserstein1(a, b) -> float:
    """W1 on the circle between a and b: each {"particles": angles} or {"density": grid values}
    (a plain array is a density on the grid theta_j = (j + 1/2) 2 pi / N; both are normalised to
    mass 1; a density with negative values, such as an under-resolved spectral solution, gives
    the same formula's Kantorovich–Rubinstein norm)."""
    measures = [_as_measure(a, "a"), _as_measure(b, "b")]
    points, right = [np.array([0.0, TWO_PI])], [np.array([False, True])]
    for kind, data in measures:
        if kind == "density":
            points.append(np.linspace(0, TWO_PI, len(data) + 1))
            right.append(np.zeros(len(data) + 1, dtype=bool))
        else:  # each particle twice: just before and just after its jump
            points.extend([data, data])
            right.extend([np.zeros(len(data), dtype=bool), np.ones(len(data), dtype=bool)])
    points, right = np.concatenate(points), np.concatenate(right)
    order = np.lexsort((right, points))
    points, right = points[order], right[order]
    difference = _cdf(*measures[0], points, right) - _cdf(*measures[1], points, right)
    length = np.diff(points)
    start, end = difference[:-1], difference[1:]
    c = _median(np.minimum(start, end), np.maximum(start, end), length)
    return _integral_of_absolute_linear(start - c, end - c, length)


def _median(low: np.ndarray, high: np.ndarray, length: np.ndarray, iterations: int = 60) -> float:
    """c with |{D < c}| = |{D > c}| for D linear from low to high (either order) on each segment."""
    span = high - low
    flat = span <= 0
    safe = np.where(flat, 1.0, span)

    def below(c):  # the length on which D <= c
        fraction = np.where(flat, (low <= c).astype(float), np.clip((c - low) / safe, 0.0, 1.0))
        return float(np.sum(length * fraction))

    half = 0.5 * float(length.sum())
    lo, hi = float(low.min()), float(high.max())
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if below(mid) < half:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _integral_of_absolute_linear(p: np.ndarray, q: np.ndarray, length: np.ndarray) -> float:
    """sum of ∫ |L| over segments where L is linear from p to q."""
    same_sign = p * q >= 0
    total = np.abs(p) + np.abs(q)
    crossing = np.divide(p**2 + q**2, total, out=np.zeros_like(total), where=total > 0)
    return float(np.sum(length * np.where(same_sign, 0.5 * total, 0.5 * crossing)))
