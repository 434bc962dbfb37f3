"""Finite-n prediction of the first metastable clusters: the basins of the linear theory's potential.

The USA velocity is the spherical gradient of the interaction potential
  Phi(x) = (1/beta) integral e^{beta<x,y>} dmu(y) = sum_k lambda_k N_k H_k(x),
with lambda_k the Funk–Hecke factor, N_k the dimension of the degree-k harmonics and
H_k(x) = (1/n) sum_j P_k(<x, x_j>) the degree-k part of the empirical measure (addition theorem,
docs/science.md §3). In the linear phase H_k grows like e^{gamma_k t}, so at the end of that phase
  Phi_t(x) = sum_k lambda_k N_k e^{gamma_k t} H_k^{(0)}(x).
Tokens flow up Phi_t: the tokens that share a local maximum of Phi_t form one cluster (its basin),
and since the interaction is antisymmetric (on the circle sum_i dtheta_i/dt = 0 over an isolated
group), the cluster sits at the mean initial position of its basin. Unlike the phase of the single
dominant mode, this keeps the runner-up modes that make the clusters unequally spaced and unequal
in mass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import comb

from .._array import to_tensor
from ..errors import check, check_choice, check_integer, check_positive, check_real
from ..model import KINDS
from ..observables import fourier_modes, gegenbauer_power, gegenbauer_series
from ..spectrum import funk_hecke_factor, growth_rates
from .linear import COMPONENT_BLOCK, dominant_mode
from .points import near_uniform_points

LEVEL = 0.5  # the linear phase ends when the largest predicted amplitude reaches LEVEL
GRID_POINTS = {2: 4096, 3: 6000}  # points on which Phi_t is evaluated (4000 for d >= 4)


@dataclass(frozen=True)
class PredictedClusters:
    """Clusters predicted from the initial tokens: `sites` (m, d) unit vectors, `masses` (m,) fractions of
    the tokens, `labels` (n,) basin of each token (-1: in a basin lighter than `min_mass`), `time` the end
    of the linear phase at which Phi_t was taken."""

    sites: np.ndarray
    masses: np.ndarray
    labels: np.ndarray
    time: float

    @property
    def count(self) -> int:
        return len(self.sites)


def harmonic_dimension(k: np.ndarray, dim: int) -> np.ndarray:
    """N_k: the dimension of the degree-k spherical harmonics on S^{d-1}, C(k+d-1, d-1) - C(k+d-3, d-1)."""
    return comb(k + dim - 1, dim - 1) - comb(k + dim - 3, dim - 1)


def linear_phase_end(x0, beta: float, kind: str = "usa", level: float = LEVEL, kmax: int | None = None) -> float:
    """The time at which the largest linearly grown amplitude A_k(0) e^{gamma_k t} (A_k = sqrt(S_k) of the
    actual initial tokens) reaches `level`: min_k log(level / A_k(0)) / gamma_k."""
    tokens, _ = to_tensor(x0, "x0")
    dim = tokens.shape[1]
    check_real("beta", beta, 0.0)
    check_integer("dim", dim, 2)
    check(0 < level <= 1, "level", level, "a number in (0, 1]")
    kmax = 2 * dominant_mode(beta, dim) + 2 if kmax is None else kmax
    rates = growth_rates(beta, dim, kmax, kind=kind)
    amplitudes = np.sqrt(np.clip(gegenbauer_power(tokens, kmax), 1e-300, None))
    with np.errstate(divide="ignore"):
        crossing = np.where(rates > 0, np.log(level / np.minimum(amplitudes, level)) / rates, np.inf)
    return float(crossing.min())


def linear_potential(x0, beta: float, time: float, points, kind: str = "usa", kmax: int | None = None) -> np.ndarray:
    """Phi_t at `points` (m, d), up to a positive factor and a constant (module docstring): the linear theory's
    interaction potential at time t, sum_k lambda_k N_k e^{gamma_k t} H_k(x) for k = 1..kmax."""
    tokens, _ = to_tensor(x0, "x0")
    dim = tokens.shape[1]
    check_positive("beta", beta)
    check_integer("dim", dim, 2)
    check_real("time", time, 0.0)
    kmax = 2 * dominant_mode(beta, dim) + 2 if kmax is None else kmax
    k = np.arange(1, kmax + 1)
    rates = growth_rates(beta, dim, kmax, kind=kind)
    log_weight = np.log(funk_hecke_factor(beta, dim, kmax, scaled=True) * harmonic_dimension(k, dim)) + rates * time
    weights = np.exp(log_weight - log_weight.max())  # the positive factor: relative weights only
    points = np.asarray(points, dtype=np.float64)
    if dim == 2:  # H_k(theta) = Re(mu_k e^{i k theta}), mu_k the Fourier modes (O(n kmax))
        theta = np.arctan2(points[:, 1], points[:, 0])
        modes = fourier_modes(tokens, kmax)
        return np.real((weights * modes)[None, :] * np.exp(1j * np.outer(theta, k))).sum(1)
    where = torch.as_tensor(points, dtype=tokens.dtype, device=tokens.device)
    rows = max(1, COMPONENT_BLOCK // tokens.shape[0])  # points per block: memory-bounded
    values = [gegenbauer_series(weights, dim, (where[start:start + rows] @ tokens.T).clamp_(-1, 1)).mean(1)
              for start in range(0, where.shape[0], rows)]
    return torch.cat(values).cpu().numpy()


def _grid(dim: int) -> tuple[np.ndarray, float]:
    """Evaluation points of Phi_t and the radius of the neighbourhood in which a point must be highest."""
    if dim == 2:
        count = GRID_POINTS[2]
        angle = 2 * np.pi * np.arange(count) / count
        return np.stack([np.cos(angle), np.sin(angle)], axis=1), 2.5 * (2 * np.pi / count)
    count = GRID_POINTS.get(dim, 4000)
    spacing = np.sqrt(4 * np.pi / count) if dim == 3 else 0.3
    return near_uniform_points(dim, count), 2.5 * spacing


def _basins(values: np.ndarray, neighbours: list[list[int]]) -> np.ndarray:
    """Steepest ascent on a point cloud: each point moves to the highest point of its neighbourhood until it
    stays put (a local maximum); returns, per point, the index of the maximum it reaches."""
    parent = np.array([near[int(np.argmax(values[near]))] for near in neighbours])
    while True:
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            return parent
        parent = jumped


def predicted_clusters(x0, beta: float, kind: str = "usa", time: float | None = None, min_mass: float = 0.02,
                       kmax: int | None = None) -> PredictedClusters:
    """The first metastable clusters predicted from the initial tokens x0 (n, d) (module docstring).

    Phi_t is taken at `time` (default: `linear_phase_end`), evaluated on a near-uniform grid and ascended
    by steepest ascent; each token joins the basin of its nearest grid point. Basins holding at least
    `min_mass` of the tokens are the predicted clusters, sited at the normalised mean of their tokens'
    initial positions and sorted by mass.
    """
    check_choice("kind", kind, KINDS)
    check(0 <= min_mass < 1, "min_mass", min_mass, "a number in [0, 1)")
    tokens, _ = to_tensor(x0, "x0")
    check(tokens.ndim == 2 and tokens.shape[1] >= 2, "x0", f"array of shape {tuple(tokens.shape)}",
          "(n, d) tokens with d >= 2")
    x = torch.nn.functional.normalize(tokens.to(torch.float64), dim=1).cpu().numpy()
    dim = x.shape[1]
    time = linear_phase_end(x, beta, kind, kmax=kmax) if time is None else time
    grid, radius = _grid(dim)
    values = linear_potential(x, beta, time, grid, kind=kind, kmax=kmax)
    tree = cKDTree(grid)
    summit = _basins(values, tree.query_ball_point(grid, r=radius))[tree.query(x)[1]]
    peaks, token_labels, counts = np.unique(summit, return_inverse=True, return_counts=True)
    masses = counts / len(x)
    kept = np.argsort(-masses)
    kept = kept[masses[kept] >= min_mass]
    labels = np.full(len(x), -1)
    sites = np.empty((len(kept), dim))
    for new, old in enumerate(kept):
        members = token_labels == old
        labels[members] = new
        mean = x[members].mean(0)
        sites[new] = mean / np.linalg.norm(mean)
    return PredictedClusters(sites, masses[kept], labels, float(time))
