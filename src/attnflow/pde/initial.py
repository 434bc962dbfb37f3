"""Initial densities on the grid theta_j = (j + 1/2) 2 pi / N, normalised to sum_j rho_j 2 pi / N = 1.

* `uniform_noise`: 1/(2 pi) plus white noise of amplitude sigma (the paper's start, docs/science.md §2),
  optionally drawn on a coarser `noise_points` grid and/or cut to |k| <= `kmax` and then
  Fourier-interpolated, so that the same function can be sampled on every grid;
* `uniform_modes`: (1/2 pi)(1 + 2 sum_k eps_k cos(k (theta - phi_k))), so |mu_k| = eps_k;
* `from_array`, `from_function`: a given density, normalised;
* `from_particles`: a kernel density estimate (wrapped Gaussian) of particles' angles;
* `sample`: i.i.d. angles drawn from a density (inverse of its piecewise-linear CDF).
"""

from __future__ import annotations

import numpy as np

from ..errors import check, check_integer, check_positive, check_real
from .geometry import MIN_POINTS, Circle, grid


def _normalised(rho: np.ndarray, name: str) -> np.ndarray:
    check(bool(np.isfinite(rho).all()), name, "values with non-finite entries", "finite values")
    total = Circle(len(rho)).mass(rho)
    check(total > 0, name, f"density of mass {total:.3g}", "a positive total mass")
    return rho / total


def _resample(values: np.ndarray, n: int, kmax: int | None) -> np.ndarray:
    """The trigonometric interpolant of grid values (cut to |k| <= kmax), sampled on the n-point grid."""
    m = len(values)
    coefficients = np.fft.rfft(values) * np.exp(-1j * np.pi * np.arange(m // 2 + 1) / m) / m  # about theta = 0
    top = min(m // 2 if m % 2 else m // 2 - 1, (n - 1) // 2, m // 2 if kmax is None else kmax)
    k = np.arange(top + 1)
    out = np.zeros(n // 2 + 1, dtype=complex)
    out[: top + 1] = coefficients[: top + 1] * np.exp(1j * np.pi * k / n) * n
    return np.fft.irfft(out, n)


def uniform_noise(n: int, sigma: float = 0.01, seed: int = 0, noise_points: int | None = None,
                  kmax: int | None = None) -> np.ndarray:
    """rho_j = 1/(2 pi) + sigma xi_j, xi_j i.i.d. standard normal, then mass 1 (the paper's start).

    noise_points  draw xi on that many grid points and Fourier-interpolate to n (default n): the
                  same seed then gives the same function on every grid n >= noise_points
    kmax          keep only the Fourier modes |k| <= kmax of the noise (default all)
    """
    check_integer("n", n, MIN_POINTS)
    check_integer("seed", seed, 0)
    check_real("sigma", sigma, 0.0)
    points = n if noise_points is None else check_integer("noise_points", noise_points, MIN_POINTS)
    if kmax is not None:
        check_integer("kmax", kmax, 1)
    xi = np.random.default_rng(seed).standard_normal(points)
    noise = sigma * (xi - xi.mean())
    if points != n or kmax is not None:
        noise = _resample(noise, n, kmax)
    rho = 1 / (2 * np.pi) + noise
    check(bool((rho >= 0).all()), "sigma", sigma, "small enough that the density stays non-negative")
    return _normalised(rho, "density0")


def uniform_modes(n: int, amplitudes, phases=None) -> np.ndarray:
    """rho = (1/2 pi)(1 + 2 sum_k eps_k cos(k (theta - phi_k))), k = 1..len(amplitudes): |mu_k| = eps_k."""
    check_integer("n", n, MIN_POINTS)
    eps = np.atleast_1d(np.asarray(amplitudes, dtype=np.float64))
    phi = np.zeros_like(eps) if phases is None else np.atleast_1d(np.asarray(phases, dtype=np.float64))
    check(eps.ndim == 1 and bool(np.isfinite(eps).all()), "amplitudes", amplitudes, "a 1-d array of finite numbers")
    check(phi.shape == eps.shape and bool(np.isfinite(phi).all()), "phases", phases,
          f"finite numbers, one per amplitude ({len(eps)})")
    theta = grid(n)
    k = np.arange(1, len(eps) + 1)
    rho = (1 + 2 * (eps[:, None] * np.cos(k[:, None] * (theta[None, :] - phi[:, None]))).sum(0)) / (2 * np.pi)
    return _normalised(rho, "amplitudes")


def from_array(values) -> np.ndarray:
    """A density from its grid values (any positive total mass; normalised to 1)."""
    rho = np.asarray(values, dtype=np.float64)
    check(rho.ndim == 1 and rho.size >= MIN_POINTS, "values", f"array of shape {rho.shape}",
          f"a 1-d array of >= {MIN_POINTS} values")
    return _normalised(rho.copy(), "values")


def from_function(n: int, function) -> np.ndarray:
    """A density from a function of the angle, sampled at the grid points and normalised."""
    check_integer("n", n, MIN_POINTS)
    values = np.broadcast_to(np.asarray(function(grid(n)), dtype=np.float64), (n,))
    return _normalised(values.copy(), "function")


def from_particles(theta, n: int, bandwidth: float | None = None) -> np.ndarray:
    """Wrapped-Gaussian kernel estimate of the density of angles theta, on the n-point grid.

    The particles are binned linearly (cloud in cell) and the bins convolved with the wrapped
    Gaussian of standard deviation `bandwidth` (default max(2 dx, 0.9 n_particles^{-1/5}),
    Silverman's rule for a standard deviation of the order of 1).
    """
    check_integer("n", n, MIN_POINTS)
    theta = np.asarray(theta, dtype=np.float64).ravel()
    check(theta.size >= 1 and bool(np.isfinite(theta).all()), "theta", "the given angles", "finite angles")
    dx = 2 * np.pi / n
    h = max(2 * dx, 0.9 * theta.size ** -0.2) if bandwidth is None else check_positive("bandwidth", bandwidth)
    position = np.mod(theta, 2 * np.pi) / dx - 0.5  # in units of cells, 0 at the first centre
    left = np.floor(position)
    fraction = position - left
    bins = np.bincount(left.astype(int) % n, 1 - fraction, n) + np.bincount((left.astype(int) + 1) % n, fraction, n)
    offset = np.minimum(np.arange(n), n - np.arange(n)) * dx
    wraps = np.arange(-3 - int(h), 4 + int(h))[:, None] * 2 * np.pi
    gaussian = np.exp(-0.5 * ((offset[None, :] + wraps) / h) ** 2).sum(0)
    smoothed = np.fft.irfft(np.fft.rfft(bins) * np.fft.rfft(gaussian / gaussian.sum()), n)
    return _normalised(np.maximum(smoothed, 0.0), "theta")


def sample(density, count: int, seed: int = 0) -> np.ndarray:
    """`count` i.i.d. angles in [0, 2 pi) from the piecewise-constant density on its grid (inverse CDF)."""
    rho = np.asarray(density, dtype=np.float64)
    check(rho.ndim == 1 and rho.size >= MIN_POINTS and bool((rho >= 0).all()), "density",
          f"array of shape {rho.shape}", f"a 1-d non-negative array of >= {MIN_POINTS} grid values")
    check_integer("count", count, 1)
    check_integer("seed", seed, 0)
    n = len(rho)
    cdf = np.concatenate([[0.0], np.cumsum(rho)])
    cdf /= cdf[-1]
    faces = np.arange(n + 1) * (2 * np.pi / n)
    u = np.random.default_rng(seed).random(count)
    return np.interp(u, cdf, faces)
