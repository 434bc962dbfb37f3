"""Order parameters of a token configuration (docs/science.md §3–4).

* `fourier_modes`: mu_k = (1/n) sum_j e^{-i k theta_j} on the circle.
* `gegenbauer_power`: S_k = (1/n^2) sum_{i,j} P_k(<x_i, x_j>), P_k = C_k^alpha / C_k^alpha(1),
  alpha = (d-2)/2 (on the circle S_k = |mu_k|^2); grows like e^{2 gamma_k t} in the linear phase.
* `mode_amplitudes`: sqrt(S_k), the circular |mu_k| in any dimension.
* `energy`: E_beta = (1/2 beta) (1/n^2) sum_{i,j} e^{beta <x_i, x_j>}, never decreasing along USA.
* `order_parameter`: r = |(1/n) sum_j x_j| (Kuramoto's r on the circle).
* `r0`, `w2_to_dirac`: R_0 = |mean x|^2 and W_2 to the nearest Dirac mass (docs/science.md §4).
Tokens come as (n, d) unit vectors, NumPy or torch; results are NumPy arrays.
"""

from __future__ import annotations

import itertools
import math
import weakref

import numpy as np
import torch

from . import sphere, threads
from ._array import to_tensor
from .errors import check, check_integer
from .interaction import circle
from .interaction.dense import DEFAULT_MEMORY_BUDGET, block_rows
from .spectrum import MAX_EXP, bessel_coefficients

PAIRWISE_BUDGET = 2**26
ENERGY_BLOCK = 2**22  # bytes of inner products per block of the energy's pairwise sum (cache-sized)


def _tokens(x) -> torch.Tensor:
    tensor, _ = to_tensor(x)
    return tensor


class _LastModes:
    """The Fourier modes of the last tokens asked for (that very tensor, unchanged since: same version counter), so
    that the observables of one observation time read one pass of the kernel (`observe.default_set`)."""

    def __init__(self):
        self.tokens, self.version, self.modes = None, None, np.zeros(0, dtype=complex)

    def get(self, tokens: torch.Tensor, kmax: int) -> np.ndarray:
        known = self.tokens is not None and self.tokens() is tokens and self.version == tokens._version
        if not known or len(self.modes) < kmax:
            self.modes = np.conj(circle.point_moments(tokens, kmax))  # mu_k = conj(m_k): the engine's moments
            self.tokens, self.version = weakref.ref(tokens), tokens._version
        return self.modes[:kmax]


_last_modes = _LastModes()


def fourier_modes(x, kmax: int) -> np.ndarray:
    """mu_k = (1/n) sum_j e^{-i k theta_j}, k = 1..kmax, for (n, 2) tokens on the circle."""
    return _last_modes.get(_tokens(x), kmax).copy()


def energy_modes(beta: float) -> int:
    """The number of Fourier modes `energy` reads on the circle at `beta` (its Bessel series)."""
    return len(bessel_coefficients(float(beta))[1])


def gegenbauer_sequence(dim: int, t: torch.Tensor):
    """P_0, P_1, ... at t (a generator), P_k = C_k^{(d-2)/2}(t) / C_k^{(d-2)/2}(1), by the three-term recurrence
    (k + d - 2) P_{k+1} = (2k + d - 2) t P_k - k P_{k-1}; Chebyshev T_k for d = 2, Legendre for d = 3."""
    previous, current, k = torch.ones_like(t), t, 0
    yield previous
    while True:
        yield current
        k += 1
        previous, current = current, ((2 * k + dim - 2) * t * current - k * previous) / (k + dim - 2)


def normalized_gegenbauer(k_max: int, dim: int, t: torch.Tensor) -> list[torch.Tensor]:
    """[P_0, ..., P_kmax] at t (`gegenbauer_sequence`)."""
    return list(itertools.islice(gegenbauer_sequence(dim, t), k_max + 1))


def gegenbauer_series(weights, dim: int, t: torch.Tensor) -> torch.Tensor:
    """sum_{k=1}^{K} weights[k-1] P_k(t), one pass of the recurrence (no list of all degrees)."""
    total = torch.zeros_like(t)
    for w, p in zip(weights, itertools.islice(gegenbauer_sequence(dim, t), 1, None)):
        total += float(w) * p
    return total


def gegenbauer_power(x, kmax: int) -> np.ndarray:
    """S_k, k = 1..kmax (docs/science.md §3). O(n kmax) for d = 2 and 3 (moments, spherical
    harmonics and the addition theorem); pairwise in memory-bounded blocks for d >= 4."""
    tokens = _tokens(x)
    dim = tokens.shape[1]
    if dim == 2:
        return np.abs(fourier_modes(tokens, kmax)) ** 2
    if dim == 3:
        return _legendre_power_s2(tokens.detach().cpu().numpy(), kmax)
    n = tokens.shape[0]
    total = torch.zeros(kmax, dtype=torch.float64, device=tokens.device)
    rows = block_rows(n, tokens.element_size(), PAIRWISE_BUDGET)
    for start in range(0, n, rows):
        inner = (tokens[start:start + rows] @ tokens.T).clamp_(-1, 1)
        for k, p in enumerate(normalized_gegenbauer(kmax, dim, inner)[1:]):
            total[k] += p.sum(dtype=torch.float64)
    return (total / n**2).cpu().numpy()


def _legendre_power_s2(x: np.ndarray, kmax: int) -> np.ndarray:
    """S_k on S^2 = (4 pi / (2k+1)) sum_m |(1/n) sum_j Y_km(x_j)|^2 (addition theorem), O(n kmax^2).

    Y_km = q_k^m(cos polar) e^{i m azimuth} with the normalised associated Legendre functions
    q_k^m = sqrt((2k+1)/(4 pi) (k-m)!/(k+m)!) P_k^m, by the stable recurrences
    q_m^m = sqrt((2m+1)/(2m)) sin(polar) q_{m-1}^{m-1} (up to sign, which |.|^2 ignores),
    q_{m+1}^m = sqrt(2m+3) t q_m^m,  q_k^m = a (t q_{k-1}^m - b q_{k-2}^m),
    a = sqrt((4k^2-1)/(k^2-m^2)), b = sqrt(((k-1)^2-m^2)/(4(k-1)^2-1)); m and -m contribute equally.
    """
    t = np.clip(x[:, 2], -1, 1)
    sine = np.sqrt(np.clip(1 - t * t, 0, None))
    azimuth = np.arctan2(x[:, 1], x[:, 0])
    power = np.zeros(kmax + 1)
    diagonal = np.full_like(t, math.sqrt(1 / (4 * math.pi)))  # q_0^0
    for m in range(kmax + 1):
        if m > 0:
            diagonal = math.sqrt((2 * m + 1) / (2 * m)) * sine * diagonal
        phase = np.exp(1j * m * azimuth) if m > 0 else 1.0
        weight = 1.0 if m == 0 else 2.0
        previous, current = np.zeros_like(t), diagonal
        for k in range(m, kmax + 1):
            if k > m:
                a = math.sqrt((4 * k * k - 1) / (k * k - m * m))
                b = math.sqrt(((k - 1) ** 2 - m * m) / (4 * (k - 1) ** 2 - 1))
                previous, current = current, a * (t * current - b * previous)
            power[k] += weight * abs(np.mean(current * phase)) ** 2
    k = np.arange(kmax + 1)
    return (4 * np.pi / (2 * k + 1) * power)[1:]


def mode_amplitudes(x, kmax: int) -> np.ndarray:
    """sqrt(S_k), k = 1..kmax: |mu_k| on the circle, its Gegenbauer analogue on S^{d-1}."""
    return np.sqrt(np.clip(gegenbauer_power(x, kmax), 0, None))


def order_parameter(x) -> float:
    """r = |(1/n) sum_j x_j|."""
    return float(torch.linalg.vector_norm(_tokens(x).mean(0)))


def energy(x, beta: float, scaled: bool = False) -> float:
    """E_beta = (1/2 beta) (1/n^2) sum_{i,j} e^{beta <x_i, x_j>} (docs/science.md §1); scaled=True returns
    e^{-beta} E_beta, finite at any beta (E_beta itself overflows float64 past beta ~ 709: an error).

    On the circle it is (1/2 beta)(I_0 + 2 sum_k I_k |mu_k|^2), O(n M); otherwise a
    blocked pairwise sum. At beta = 0 (where E_beta - 1/(2 beta) has the limit
    |mean x|^2 / 2) that limit is returned instead.
    """
    tokens = _tokens(x)
    if beta == 0:
        return 0.5 * order_parameter(tokens) ** 2
    check(scaled or beta <= MAX_EXP, "beta", beta, f"at most {MAX_EXP:.4g} for the energy E_beta in float64 "
                                                   "(e^beta overflows): use scaled=True for e^(-beta) E_beta")
    shift = 0.0 if scaled else beta  # e^beta applied in logarithms: e^709 * n^2 would overflow first
    if tokens.shape[1] == 2:
        _, b, i0 = bessel_coefficients(float(beta))
        power = np.abs(fourier_modes(tokens, energy_modes(beta))) ** 2
        return _exp_checked(shift + math.log(i0 + float(np.dot(b, power))) - math.log(2 * beta), beta)
    n = tokens.shape[0]
    with threads.torch_threads(1 if tokens.device.type == "cpu" else None):  # cache-sized blocks: one thread
        total = _pairwise_exponential_sum(tokens, beta)
    return _exp_checked(shift + math.log(total) - math.log(2 * beta) - 2 * math.log(n), beta)


def _pairwise_exponential_sum(tokens: torch.Tensor, beta: float) -> float:
    """sum_{i,j} e^{beta (<x_i, x_j> - 1)} in cache-sized blocks of rows (the diagonal set to exactly 1),
    computed in place in one reused buffer: no page faults per block."""
    n, total = tokens.shape[0], 0.0
    rows = block_rows(n, tokens.element_size(), ENERGY_BLOCK)
    buffer = torch.empty(rows, n, dtype=tokens.dtype, device=tokens.device)
    for start in range(0, n, rows):
        inner = torch.mm(tokens[start:start + rows], tokens.T, out=buffer[:min(rows, n - start)]).clamp_(max=1.0)
        diagonal = torch.arange(inner.shape[0], device=inner.device)
        inner[diagonal, start + diagonal] = 1.0  # <x_i, x_i> = 1 exactly: rounding would matter at large beta
        total += float(inner.sub_(1).mul_(beta).exp_().sum(dtype=torch.float64))
    return total


def _exp_checked(log_energy: float, beta: float) -> float:
    """e^{log_energy}, refused where it overflows float64 (E_beta ~ 1/(2 beta) as beta -> 0)."""
    check(log_energy <= MAX_EXP, "beta", beta, "a value where E_beta fits in float64 (it grows like 1/(2 beta) "
                                               "as beta -> 0: use beta = 0, where E - 1/(2 beta) is returned)")
    return math.exp(log_energy)


def r0(x) -> float:
    """R_0 = |integral x dmu|^2 = |(1/n) sum_j x_j|^2, the hypothesis R_0 > 0 of Chen et al. (docs/science.md §4)."""
    return order_parameter(x) ** 2


def w2_to_dirac(x) -> float:
    """W_2(mu, delta_z) at the nearest Dirac mass z = xbar/|xbar| (docs/science.md §4).

    W_2(mu, delta_z)^2 = (1/n) sum_j |x_j - z|^2 = 2 - 2 <z, xbar>, minimal at z = xbar/|xbar|
    (any z when xbar = 0, where W_2 = sqrt 2). Summed as squared distances rather than
    2 - 2|xbar|, so it stays accurate down to W_2 ~ 1e-15 instead of 1e-8.
    """
    tokens = _tokens(x).to(torch.float64)
    mean = tokens.mean(0)
    size = torch.linalg.vector_norm(mean)
    if float(size) == 0.0:
        return math.sqrt(2.0)
    return float(torch.linalg.vector_norm(tokens - mean / size, dim=1).square().mean().sqrt())


def inner_product_histogram(x, bins: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the pairwise inner products <x_i, x_j>, i < j, over [-1, 1]: (density, edges), the
    density integrating to 1 (docs/science.md §5: the layer-by-layer histograms of real tokens). Computed in
    memory-bounded blocks; uniform tokens on S^{d-1} give the density proportional to (1 - t^2)^{(d-3)/2}."""
    tokens = _tokens(x)
    check_integer("bins", bins, 1)
    n = tokens.shape[0]
    check(n >= 2, "x", f"{n} token(s)", "at least 2 tokens")
    counts = torch.zeros(bins, dtype=torch.float64, device=tokens.device)
    rows = block_rows(n, tokens.element_size(), PAIRWISE_BUDGET)
    for start in range(0, n, rows):
        inner = (tokens[start:start + rows] @ tokens.T).clamp_(-1, 1)
        upper = torch.triu(torch.ones_like(inner, dtype=torch.bool), diagonal=start + 1)
        counts += torch.histc(inner[upper].to(torch.float64), bins=bins, min=-1, max=1)
    edges = np.linspace(-1, 1, bins + 1)
    return (counts / (counts.sum() * (2 / bins))).cpu().numpy(), edges
