"""Finding clusters of tokens on the sphere: count, centres, masses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from ._array import to_tensor


@dataclass
class Clusters:
    """count clusters with unit `centers` (count, d), `masses` (fractions of all tokens, descending)
    and `labels` (cluster index per token, -1 for stragglers outside every cluster)."""

    count: int
    centers: np.ndarray
    masses: np.ndarray
    labels: np.ndarray


def find_clusters(x, radius: float = 0.2, min_mass: float = 0.01, sample: int = 2000, seed: int = 0) -> Clusters:
    """Clusters of tokens x (n, d): groups of points linked by geodesic steps < `radius` (single
    linkage on a random subsample of `sample` tokens), keeping groups of mass >= `min_mass`;
    every token within `radius` of a kept centre joins it, the rest are stragglers."""
    tensor, _ = to_tensor(x)
    points = tensor.detach().cpu().numpy()
    points = points / np.linalg.norm(points, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    subset = points if len(points) <= sample else points[rng.choice(len(points), sample, replace=False)]
    if len(subset) == 1:
        groups = np.ones(1, dtype=int)
    else:
        chord = 2 * np.sin(radius / 2)
        groups = fcluster(linkage(subset, method="single"), t=chord, criterion="distance")
    centers = []
    for g in np.unique(groups):
        members = subset[groups == g]
        if len(members) / len(subset) >= min_mass:
            mean = members.mean(0)
            centers.append(mean / np.linalg.norm(mean))
    centers = np.array(centers).reshape(-1, points.shape[1])
    inner = points @ centers.T
    labels = np.argmax(inner, axis=1)
    labels[np.arccos(np.clip(inner.max(axis=1), -1, 1)) > radius] = -1
    masses = np.array([(labels == c).mean() for c in range(len(centers))])
    order = np.argsort(-masses, kind="stable")
    relabel = np.full(len(centers) + 1, -1)
    relabel[order] = np.arange(len(order))
    return Clusters(len(centers), centers[order], masses[order], relabel[labels])
