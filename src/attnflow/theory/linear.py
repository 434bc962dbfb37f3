"""Linear theory around the uniform measure (docs/science.md §3, Bruno–Pasqualotto–Agazzi 2024).

The growth rates gamma_k(beta, d) = k (k + d - 2) lambda_k(beta, d) (SA: divided by Z_0) are the kernel's
spectrum (`attnflow.spectrum`); from them: the dominant degree k*, the table k*(beta), the end of the
linear phase, and where the clusters form (the phase of the dominant mode on the circle, the maxima of
the degree-k component of the initial tokens on S^{d-1}).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.spatial import cKDTree

from .._array import to_tensor
from ..errors import check, check_integer, check_positive, check_real
from ..observables import fourier_modes, gegenbauer_power, normalized_gegenbauer
from ..spectrum import growth_rates
from .points import near_uniform_points

COMPONENT_BLOCK = 2**22  # point x token entries per block of `harmonic_component`
MAX_SEARCH_BETA = 1e9  # dominant_mode compares degrees up to 8 + 4 sqrt(beta): 1.3e5 at most


def dominant_mode(beta: float, dim: int) -> int:
    """k* = argmax_k gamma_k(beta, d) (the same for SA and USA)."""
    check_real("beta", beta, 0.0)
    check_integer("dim", dim, 2)
    check(beta <= MAX_SEARCH_BETA, "beta", beta, f"at most {MAX_SEARCH_BETA:g} for k* (it grows like sqrt(beta), "
                                                 "and every degree up to 4 sqrt(beta) is compared)")
    kmax = int(8 + 4 * np.sqrt(beta + 1))  # k* grows like sqrt(beta)
    return int(np.argmax(growth_rates(beta, dim, kmax, kind="sa"))) + 1


def emergence_time(beta: float, dim: int, n: int, kind: str = "usa") -> float:
    """End of the linear phase from n i.i.d. uniform tokens (docs/science.md §3): the amplitudes start near
    n^{-1/2} and the dominant one reaches O(1) at t = log(sqrt(n)) / gamma_{k*}."""
    check_real("beta", beta, 0.0)
    check_integer("dim", dim, 2)
    check_integer("n", n, 2)
    k_star = dominant_mode(beta, dim)
    rate = growth_rates(beta, dim, k_star, kind=kind)[-1]
    check(rate > 0, "beta", beta, "a value where the dominant growth rate is positive")
    return float(0.5 * np.log(n) / rate)


@dataclass(frozen=True)
class DominantModeInterval:
    """k* = `k` for `beta_start` <= beta < `beta_end` (beta_end = inf for the last row)."""

    k: int
    beta_start: float
    beta_end: float


def mode_transition(k: int, dim: int, near: float = 1.0) -> float:
    """The beta where k* steps from k to k + 1 (docs/science.md §3): the root of log(gamma_k / gamma_{k+1}),
    positive below and negative above, bracketed by halving and doubling from `near`, refined by Brent."""
    check_integer("k", k, 1)
    check_integer("dim", dim, 2)
    check_real("near", near, 0.0)

    def log_ratio(b):
        rates = growth_rates(b, dim, k + 1, kind="sa")
        return np.log(rates[k - 1]) - np.log(rates[k])

    low = high = max(float(near), 1e-3)
    while log_ratio(low) <= 0:
        low /= 2
    while log_ratio(high) > 0:
        high *= 2
    return float(brentq(log_ratio, low, high, xtol=1e-12 * high))


def dominant_mode_table(beta_max: float, dim: int, beta_min: float = 0.0) -> list[DominantModeInterval]:
    """The rows of the table k*(beta) that meet [beta_min, beta_max] (docs/science.md §3). k* steps up one
    degree at a time, at the roots `mode_transition(k, dim)`, each found near the previous one."""
    check_positive("beta_max", beta_max)
    check_integer("dim", dim, 2)
    check(0 <= beta_min <= beta_max, "beta_min", beta_min, f"a number in [0, beta_max = {beta_max:g}]")
    current = dominant_mode(beta_min, dim) if beta_min > 0 else 1
    start = mode_transition(current - 1, dim, beta_min) if current > 1 else 0.0
    rows = []
    while True:
        threshold = mode_transition(current, dim, max(start, 1.0))
        if threshold > beta_max:
            rows.append(DominantModeInterval(current, start, float("inf")))
            return rows
        rows.append(DominantModeInterval(current, start, threshold))
        start, current = threshold, current + 1


def predicted_angles(x0, k: int) -> np.ndarray:
    """Circle: the k predicted cluster angles theta_m = (2 pi m - arg mu_k) / k in [0, 2 pi), sorted, with
    mu_k = (1/n) sum_j e^{-i k theta_j(0)} (docs/science.md §3, "where the clusters form")."""
    check_integer("k", k, 1)
    tokens, _ = to_tensor(x0, "x0")
    check(tokens.ndim == 2 and tokens.shape[1] == 2, "x0", f"array of shape {tuple(tokens.shape)}",
          "(n, 2) tokens on the circle")
    mu = fourier_modes(tokens, k)[k - 1]
    return np.sort(np.mod((2 * np.pi * np.arange(k) - np.angle(mu)) / k, 2 * np.pi))


def harmonic_component(x0, k: int, points) -> np.ndarray:
    """The degree-k part of the empirical measure of x0 at `points` (m, d), up to a positive factor:
    (1/n) sum_j P_k(<x, x_j>), P_k = C_k^{(d-2)/2} / C_k^{(d-2)/2}(1) (addition theorem, docs/science.md §3)."""
    tokens, _ = to_tensor(x0, "x0")
    where = torch.as_tensor(np.asarray(points, dtype=np.float64), dtype=tokens.dtype, device=tokens.device)
    rows = max(1, COMPONENT_BLOCK // tokens.shape[0])  # points per block: memory-bounded
    values = []
    for start in range(0, where.shape[0], rows):
        inner = (where[start:start + rows] @ tokens.T).clamp_(-1, 1)
        values.append(normalized_gegenbauer(k, tokens.shape[1], inner)[k].mean(1))
    return torch.cat(values).cpu().numpy()


def _refine_maximum(x0, k: int, start: np.ndarray, step: float, iterations: int = 40) -> np.ndarray:
    """Pattern search for a local maximum of the degree-k component, moving along +-tangent directions."""
    point = start
    value = harmonic_component(x0, k, point[None])[0]
    for _ in range(iterations):
        basis = np.linalg.svd(np.eye(len(point)) - np.outer(point, point))[0][:, : len(point) - 1]
        moves = np.concatenate([basis.T, -basis.T])
        candidates = np.cos(step) * point + np.sin(step) * moves
        values = harmonic_component(x0, k, candidates)
        if values.max() > value:
            point, value = candidates[np.argmax(values)], values.max()
        else:
            step /= 2
    return point


def predicted_sites(x0, k: int, relative: float = 0.25, search_points: int = 4000) -> np.ndarray:
    """Predicted cluster sites (unit vectors, (m, d)) from the initial tokens x0 and the dominant degree k.

    Circle: the k points at `predicted_angles(x0, k)`. Dimension d >= 3: the local maxima on the sphere of
    the degree-k component of the initial empirical measure (`harmonic_component`), found on a near-uniform
    search set of `search_points` points and refined by pattern search, keeping those whose value is at
    least `relative` times the largest (docs/science.md §3).
    """
    check_integer("k", k, 1)
    check(0 <= relative <= 1, "relative", relative, "a number in [0, 1]")
    tokens, _ = to_tensor(x0, "x0")
    check(tokens.ndim == 2 and tokens.shape[1] >= 2, "x0", f"array of shape {tuple(tokens.shape)}",
          "(n, d) tokens with d >= 2")
    dim = tokens.shape[1]
    if dim == 2:
        theta = predicted_angles(tokens, k)
        return np.stack([np.cos(theta), np.sin(theta)], axis=1)
    grid = near_uniform_points(dim, search_points)
    values = harmonic_component(tokens, k, grid)
    spacing = np.sqrt(4 * np.pi / search_points) if dim == 3 else 0.3
    neighbours = cKDTree(grid).query_ball_point(grid, r=2.5 * spacing)
    peaks = [i for i, near in enumerate(neighbours) if values[i] >= values[near].max()]
    refined = np.array([_refine_maximum(tokens, k, grid[i], spacing / 2) for i in peaks])
    heights = harmonic_component(tokens, k, refined)
    keep = heights >= relative * heights.max()
    sites, heights = refined[keep], heights[keep]
    order = np.argsort(-heights)
    distinct = []
    for i in order:  # peaks that refined onto the same maximum count once
        if all(np.arccos(np.clip(sites[i] @ sites[j], -1, 1)) > spacing for j in distinct):
            distinct.append(i)
    return sites[distinct]


def finite_n_mode(x0, beta: float, kind: str = "usa", kmax: int | None = None) -> int:
    """Finite-n predictor of the first metastable structure: the degree k whose amplitude A_k(0) = sqrt(S_k)
    of the actual initial tokens reaches 1 first under the linear growth A_k(0) e^{gamma_k t}, i.e.
    argmin_k log(1 / A_k(0)) / gamma_k (equivalently argmax_k A_k(0) e^{gamma_k t} at that time)."""
    tokens, _ = to_tensor(x0, "x0")
    dim = tokens.shape[1]
    check_real("beta", beta, 0.0)
    check_integer("dim", dim, 2)
    kmax = 2 * dominant_mode(beta, dim) + 2 if kmax is None else kmax
    rates = growth_rates(beta, dim, kmax, kind=kind, scaled=True)
    amplitudes = np.sqrt(np.clip(gegenbauer_power(tokens, kmax), 1e-300, None))
    with np.errstate(divide="ignore"):
        crossing = np.where(rates > 0, -np.log(np.minimum(amplitudes, 1.0)) / rates, np.inf)
    return int(np.argmin(crossing)) + 1
