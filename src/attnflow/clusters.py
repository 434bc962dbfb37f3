"""Finding clusters of tokens on the sphere, or of a density on the circle: count, centres, masses.

Particles (`find_clusters`, any d): a density-based detector. On a seeded subsample of S tokens, a
token is a *core* token when its cap of geodesic radius r_c holds at least `contrast` times the
mass the uniform measure puts in such a cap; r_c <= `radius` is the cap that would hold
`CORE_COUNT` = 20 subsampled tokens under the uniform measure (so the test is sharp against
sampling noise, and small clusters still stand out on the circle: with S = 2000 a cluster needs
about 3% of the tokens); core tokens closer than `radius` are linked (single linkage on
core tokens only, so a few tokens in flight between two clusters cannot chain them together);
every token within `radius` of a core token of a cluster joins it, the others are stragglers
(label -1). Clusters lighter than `min_mass` are dropped.

Densities on the circle (`find_clusters_density`): the arcs where the density exceeds `contrast`
times the uniform density 1/(2 pi) are the clusters' cores; each is extended on both sides down the
slopes of the density (to the valleys, or to where it falls below 0.2 / (2 pi)), its mass is the integral over the extended arc and its
centre the density-weighted circular mean over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.special import betainc

from ._array import to_tensor
from .errors import check, check_integer, check_positive, check_real

BLOCK = 2**22  # entries of a token-by-core inner-product block
CORE_COUNT = 20
TAIL_LEVEL = 0.2  # cluster tails on the circle end where the density falls below TAIL_LEVEL / (2 pi)


@dataclass
class Clusters:
    """count clusters with unit `centers` (count, d), `masses` (fractions of all tokens, descending)
    and `labels` (cluster index per token, -1 for stragglers outside every cluster)."""

    count: int
    centers: np.ndarray
    masses: np.ndarray
    labels: np.ndarray


def cap_fraction(radius: float, dim: int) -> float:
    """Uniform probability of a geodesic cap of angular radius `radius` on S^{d-1}:
    (1/2) I_{sin^2 r}((d-1)/2, 1/2) for r <= pi/2 (regularised incomplete beta), 1 - that of pi - r beyond."""
    if radius >= np.pi:
        return 1.0
    if radius > np.pi / 2:
        return 1.0 - cap_fraction(np.pi - radius, dim)
    return 0.5 * float(betainc((dim - 1) / 2, 0.5, np.sin(radius) ** 2))


def core_cap_radius(fraction: float, dim: int, largest: float) -> float:
    """The geodesic radius r <= `largest` whose cap holds `fraction` of the uniform measure (bisection)."""
    if cap_fraction(largest, dim) <= fraction:
        return largest
    low, high = 0.0, largest
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if cap_fraction(middle, dim) < fraction else (low, middle)
    return high


def _check_options(radius, min_mass, contrast):
    check(np.isfinite(radius) and 0 < radius < np.pi, "radius", radius, "a number in (0, pi)")
    check(np.isfinite(min_mass) and 0 <= min_mass <= 1, "min_mass", min_mass, "a number in [0, 1]")
    check_positive("contrast", contrast)


def _sorted_result(centers: np.ndarray, labels: np.ndarray, weights: np.ndarray, min_mass: float) -> Clusters:
    """Drop clusters lighter than `min_mass` (their members become -1) and order by mass, descending."""
    total = weights.sum()
    masses = np.array([weights[labels == c].sum() / total for c in range(len(centers))])
    keep = np.flatnonzero(masses >= min_mass)
    keep = keep[np.argsort(-masses[keep], kind="stable")]
    relabel = np.full(len(centers) + 1, -1)
    relabel[keep] = np.arange(len(keep))
    return Clusters(len(keep), centers[keep], masses[keep], relabel[labels])


def find_clusters(x, radius: float = 0.2, min_mass: float = 0.01, contrast: float = 3.0, sample: int = 2000,
                  seed: int = 0) -> Clusters:
    """Clusters of tokens x (n, d) on S^{d-1}, by the density-based rule of this module's docstring.

    radius    geodesic radius (rad) of the neighbourhoods and of the linking/joining distance
    min_mass  smallest fraction of all tokens a cluster must hold
    contrast  core tokens see at least `contrast` times the uniform mass in their cap
    sample    size of the seeded subsample on which core tokens and links are found (all tokens are labelled)
    """
    _check_options(radius, min_mass, contrast)
    check_integer("sample", sample, 2)
    tensor, _ = to_tensor(x)
    check(tensor.ndim == 2 and tensor.shape[0] >= 1 and tensor.shape[1] >= 2, "x",
          f"array of shape {tuple(tensor.shape)}", "(n, d) tokens with n >= 1, d >= 2")
    points = tensor.detach().cpu().numpy().astype(np.float64)
    check(bool(np.isfinite(points).all()) and bool((np.abs(points).sum(1) > 0).all()), "x",
          "array with non-finite or zero rows", "finite, non-zero token vectors")
    points = points / np.linalg.norm(points, axis=1, keepdims=True)
    n, dim = points.shape
    rng = np.random.default_rng(seed)
    subset = points if n <= sample else points[rng.choice(n, sample, replace=False)]
    cos_radius = np.cos(radius)
    core_radius = core_cap_radius(min(1.0, CORE_COUNT / len(subset)), dim, radius)
    near = (subset @ subset.T) >= np.cos(core_radius)
    needed = min(len(subset), max(2.0, contrast * cap_fraction(core_radius, dim) * len(subset)))
    core = subset[near.sum(1) >= needed]
    if len(core) == 0:
        return Clusters(0, np.zeros((0, dim)), np.zeros(0), np.full(n, -1))
    if len(core) == 1:
        groups = np.zeros(1, dtype=int)
    else:
        chord = 2 * np.sin(radius / 2)
        groups = fcluster(linkage(core, method="single"), t=chord, criterion="distance") - 1
    sums = np.zeros((groups.max() + 1, dim))
    np.add.at(sums, groups, core)
    centers = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    labels = np.full(n, -1)
    rows = max(1, BLOCK // len(core))
    for start in range(0, n, rows):  # each token joins the cluster of its nearest core token within radius
        inner = points[start:start + rows] @ core.T
        nearest = np.argmax(inner, axis=1)
        close = inner[np.arange(len(nearest)), nearest] >= cos_radius
        labels[start:start + rows] = np.where(close, groups[nearest], -1)
    return _sorted_result(centers, labels, np.ones(n), min_mass)


def find_clusters_density(density, min_mass: float = 0.01, contrast: float = 2.0) -> Clusters:
    """Clusters of a density on the circle sampled on the uniform grid theta_i = 2 pi i / N (any
    normalisation; masses are fractions of the total): the periodic arcs where density > contrast / (2 pi)
    after normalising to integral 1, extended down to the valleys. Labels are per grid point."""
    check(np.isfinite(min_mass) and 0 <= min_mass <= 1, "min_mass", min_mass, "a number in [0, 1]")
    check_positive("contrast", contrast)
    rho = np.asarray(density, dtype=np.float64)
    check(rho.ndim == 1 and len(rho) >= 3 and bool(np.all(np.isfinite(rho))) and bool(np.all(rho >= 0))
          and rho.sum() > 0, "density", f"array of shape {rho.shape}",
          "a 1-d array of >= 3 finite non-negative values with a positive sum")
    size = len(rho)
    theta = 2 * np.pi * np.arange(size) / size
    rho = rho / (rho.sum() * 2 * np.pi / size)
    above = rho > contrast / (2 * np.pi)
    labels = np.full(size, -1)
    if above.all():
        return Clusters(0, np.zeros((0, 2)), np.zeros(0), labels)
    shift = int(np.argmin(above))  # start the scan on a point below threshold so no arc wraps around
    order = np.roll(np.arange(size), -shift)
    arcs, current = [], []
    for i in order:
        if above[i]:
            current.append(i)
        elif current:
            arcs.append(current)
            current = []
    if current:
        arcs.append(current)
    centers = []
    for c, arc in enumerate(arcs):
        arc = _down_the_slopes(rho, arc, labels, TAIL_LEVEL / (2 * np.pi))
        labels[arc] = c
        moment = np.sum(rho[arc] * np.exp(1j * theta[arc]))
        centers.append([moment.real / abs(moment), moment.imag / abs(moment)])
    return _sorted_result(np.array(centers).reshape(-1, 2), labels, rho, min_mass)


def _down_the_slopes(rho: np.ndarray, arc: list[int], labels: np.ndarray, floor: float) -> list[int]:
    """Extend an arc on both sides while the density keeps decreasing and stays above `floor`, so a cluster's
    mass includes its tails but not the background; points already in another cluster are not taken."""
    size = len(rho)
    left, right = arc[0], arc[-1]
    while True:
        step = (left - 1) % size
        if labels[step] != -1 or step in (right, arc[-1]) or rho[step] >= rho[left] or rho[step] < floor or len(arc) >= size:
            break
        arc.insert(0, step)
        left = step
    while True:
        step = (right + 1) % size
        if labels[step] != -1 or step == arc[0] or rho[step] >= rho[right] or rho[step] < floor or len(arc) >= size:
            break
        arc.append(step)
        right = step
    return arc


def angle_density(theta, bins: int = 256, smoothing: float = 0.02) -> np.ndarray:
    """A density on the uniform circle grid of `bins` points from angles `theta`: the histogram convolved
    with a periodic Gaussian of width `smoothing` (rad), normalised to integral 1."""
    check_integer("bins", bins, 3)
    check_real("smoothing", smoothing, 0.0)
    counts, _ = np.histogram(np.mod(np.asarray(theta, dtype=np.float64), 2 * np.pi), bins=bins,
                             range=(0, 2 * np.pi))
    k = np.fft.rfftfreq(bins, d=1 / bins)
    smooth = np.fft.irfft(np.fft.rfft(counts) * np.exp(-0.5 * (k * smoothing) ** 2), n=bins)
    smooth = np.clip(smooth, 0, None)
    return smooth / (smooth.sum() * 2 * np.pi / bins)
