"""Rényi centres of a sequence of tokens, the metastable clusters of causal attention (docs/science.md, causal
attention; Karagodin, Polyanskiy, Rigollet 2024).

Under causal attention token i sees x_1 .. x_i only, and at large beta a token feels the tokens within a few
beta^{-1/2} of it (e^{beta<x,y>} = e^beta e^{-beta |x - y|^2 / 2}). Scanning the tokens in order with a
separation delta (default 4 beta^{-1/2}, the paper's), with |.| the Euclidean distance in R^d:

* x_k is a *Rényi centre* if |x_k - x_c| > delta for every earlier Rényi centre x_c (x_1 always is one): the
  centres are the points a random sequential parking keeps, each a seed of a metastable cluster;
* x_k is a *strong Rényi centre* if |x_k - x_j| > delta for every earlier token x_j, j < k (a strong centre is
  a Rényi centre; it barely moves until the clusters merge).

On the circle with i.i.d. uniform tokens the Rényi centres are, as n -> infinity, Rényi's parking of cars of
angular length alpha = 2 arcsin(delta/2) on a circle: one centre fixes the first car, the others park on an
interval of (2 pi - alpha)/alpha car lengths, so their expected number is 1 + M((2 pi - alpha)/alpha), with
Rényi's M(x) = 1 + (2/(x-1)) int_0^{x-1} M(t) dt for x >= 1 and M = 0 below (`parking_mean`).
"""

from __future__ import annotations

import math

import numpy as np

from .._array import to_tensor
from ..errors import check, check_positive

STEPS_PER_CAR = 2000  # grid points per car length in the integral equation of `parking_mean` (error ~1e-7)
BLOCK = 256  # tokens compared with the centres at once in `renyi_centers`


def renyi_delta(beta: float) -> float:
    """The paper's separation delta = 4 beta^{-1/2} (beta > 0)."""
    return 4.0 / math.sqrt(check_positive("beta", beta))


def _separation(beta, delta) -> float:
    check(beta is not None or delta is not None, "delta", delta, "a number > 0, or beta to take 4 beta^{-1/2}")
    return check_positive("delta", delta) if delta is not None else renyi_delta(beta)


def _points(x) -> np.ndarray:
    tensor, _ = to_tensor(x)
    check(tensor.ndim == 2 and tensor.shape[0] >= 1 and tensor.shape[1] >= 2, "x",
          f"array of shape {tuple(tensor.shape)}", "tokens (n, d) in order, n >= 1, d >= 2")
    points = tensor.detach().cpu().numpy().astype(np.float64)
    check(bool(np.isfinite(points).all()), "x", "array with non-finite entries", "finite entries")
    return points


def renyi_centers(x, beta: float | None = None, delta: float | None = None) -> np.ndarray:
    """Indices (increasing) of the Rényi centres of the tokens x (n, d), in their order (module docstring):
    each token farther than delta from every earlier centre; delta = 4 beta^{-1/2} unless given."""
    points, delta = _points(x), _separation(beta, delta)
    centers, start = [0], 1
    while start < len(points):  # the first token of each block that is far from every centre so far
        block = points[start:start + BLOCK]
        far = (np.linalg.norm(block[:, None] - points[centers][None], axis=2) > delta).all(axis=1)
        if not far.any():
            start += len(block)
            continue
        centers.append(start + int(np.argmax(far)))
        start = centers[-1] + 1
    return np.array(centers)


def strong_renyi_centers(x, beta: float | None = None, delta: float | None = None) -> np.ndarray:
    """Indices (increasing) of the strong Rényi centres of the tokens x (n, d) (module docstring): each token
    farther than delta from every earlier token. Only Rényi centres qualify, so only they are checked."""
    points, delta = _points(x), _separation(beta, delta)
    return np.array([k for k in renyi_centers(points, delta=delta)
                     if k == 0 or np.linalg.norm(points[:k] - points[k], axis=1).min() > delta])


def parking_mean(length) -> np.ndarray:
    """Rényi's M(x): the expected number of unit cars parked at random on an interval of length x (module
    docstring), for x >= 0 (a number or an array; the same shape out). The integral equation is marched
    on a grid of STEPS_PER_CAR points per unit, one unit at a time (trapezoidal rule from x = 1, where M jumps)."""
    x = np.asarray(length, dtype=np.float64)
    check(bool(np.isfinite(x).all() and (x >= 0).all()), "length", length, "finite lengths >= 0")
    units = max(2, math.ceil(float(x.max(initial=0.0))) + 1)
    h = 1.0 / STEPS_PER_CAR
    t = np.arange(units * STEPS_PER_CAR + 1) * h
    mean = np.where(t >= 1, 1.0, 0.0)
    integral = np.zeros_like(t)  # int_1^t M (0 below 1)
    for unit in range(1, units):
        here = slice(unit * STEPS_PER_CAR, (unit + 1) * STEPS_PER_CAR + 1)
        behind = slice((unit - 1) * STEPS_PER_CAR, unit * STEPS_PER_CAR + 1)  # t - 1 on this unit
        if unit >= 2:
            mean[here] = 1 + 2 * integral[behind] / (t[here] - 1)
        steps = np.cumsum(0.5 * h * (mean[here][1:] + mean[here][:-1]))
        integral[here] = integral[unit * STEPS_PER_CAR] + np.concatenate(([0.0], steps))
    return np.interp(x, t, mean)


def parking_count(beta: float | None = None, delta: float | None = None) -> float:
    """Expected number of Rényi centres of n -> infinity i.i.d. uniform tokens on the circle (module docstring):
    1 + M((2 pi - alpha)/alpha), alpha = 2 arcsin(delta/2), delta = 4 beta^{-1/2} unless given (one centre
    once delta >= 2, the diameter)."""
    delta = _separation(beta, delta)
    if delta >= 2:
        return 1.0
    alpha = 2 * math.asin(delta / 2)
    return 1.0 + float(parking_mean((2 * math.pi - alpha) / alpha))
