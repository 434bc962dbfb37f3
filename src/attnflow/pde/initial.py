"""Initial densities on the grid theta_j = (j + 1/2) 2 pi / N, normalised to sum_j rho_j 2 pi / N = 1.

* `uniform_noise`: 1/(2 pi) plus white noise of amplitude sigma (the paper's start, docs/science.md §2),
  optionally drawn on a coarser `noise_points` grid and/or cut to |k| <= `kmax` and then
  Fourier-interpolated, so that the same function can be sampled on every grid;
* `uniform_modes`: (1/2 pi)(1 + 2 sum_k eps_k cos(k (theta - phi_k))), so |mu_k| = eps_k;
* `from_array`, `from_function`: a given density, normalised;
* `from_particles`: a kernel density estimate (wrapped Gaussian) of particles' angles;
* `sample`: i.i.d. angles drawn from a density (inverse of its piecewise-linear CDF).

On S^2 (docs/science.md §8), on the nlat x 2 nlat Legendre–Gauss grid (`geometry.Sphere`), against dA:
* `sphere_modes`: (1/4 pi)(1 + sum_l eps_l (2l + 1) P_l(<x, e_l>)), so sqrt(S_l) = eps_l;
* `sphere_noise`: (1/4 pi)(1 + white noise of the harmonics: sigma xi_lm for each real Y_lm orthonormal against
  dA / 4 pi, 1 <= l <= lmax), drawn degree by degree (the same function on every grid with nlat > lmax);
* `sphere_function`, `sphere_from_particles` (von Mises–Fisher smoothing of tokens), `sphere_clusters` (a
  von Mises–Fisher mixture), `sphere_sample` (i.i.d. tokens from a density by rejection).
Zonal densities of t = <x, e> on S^{d-1} (`geometry.Zonal`), against sigma: `zonal_modes`
(1 + sum_l eps_l N_l P_l(t), so |m_l| = eps_l), `zonal_function`; as cell averages for finite volumes
(`geometry.ZonalCells`): `zonal_cell_modes` (exact averages of the same function), `zonal_cell_function` (by a
Gauss rule in each cell) and `zonal_cell_tokens` (the histogram of tokens' t = <x, e>: the same measure).
"""

from __future__ import annotations

import numpy as np

import torch
from scipy.special import eval_legendre

from ..errors import check, check_integer, check_positive, check_real
from . import cells, gegenbauer
from .geometry import MIN_POINTS, Circle, Sphere, Zonal, ZonalCells, grid

VMF_BLOCK = 2**22  # grid point x token entries per block of `sphere_from_particles`


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


def _sphere(nlat: int) -> Sphere:
    check_integer("nlat", nlat, 4)
    return Sphere(nlat, 2 * nlat)


def _normalised_on(geometry, values: np.ndarray, name: str) -> np.ndarray:
    check(bool(np.isfinite(values).all()), name, "values with non-finite entries", "finite values")
    total = float(geometry.mass(values))
    check(total > 0, name, f"density of mass {total:.3g}", "a positive total mass")
    return values / total


def _unit_vectors(values, name: str, count: int | None = None) -> np.ndarray:
    x = np.atleast_2d(np.asarray(values, dtype=np.float64))
    size = np.linalg.norm(x, axis=-1, keepdims=True) if x.ndim == 2 else np.zeros(1)
    check(x.ndim == 2 and x.shape[1] == 3 and bool(np.isfinite(x).all()) and bool((size > 0).all())
          and (count is None or len(x) == count), name, f"array of shape {x.shape}",
          "non-zero vectors in R^3, shape (n, 3)" + ("" if count is None else f" with n = {count}"))
    return x / size


def sphere_function(nlat: int, function) -> np.ndarray:
    """A density on S^2 from a function of the unit vectors x (an (nlat, 2 nlat, 3) array), normalised."""
    geometry = _sphere(nlat)
    values = np.broadcast_to(np.asarray(function(geometry.points), dtype=np.float64), (nlat, 2 * nlat))
    return _normalised_on(geometry, values.copy(), "function")


def sphere_modes(nlat: int, amplitudes, axes=None) -> np.ndarray:
    """rho = (1/4 pi)(1 + sum_l eps_l (2l + 1) P_l(<x, e_l>)), l = 1..len(amplitudes), e_l the rows of `axes`
    (default the north pole): the Gegenbauer power of degree l is S_l = eps_l^2 (docs/science.md §3)."""
    geometry = _sphere(nlat)
    eps = np.atleast_1d(np.asarray(amplitudes, dtype=np.float64))
    check(eps.ndim == 1 and bool(np.isfinite(eps).all()), "amplitudes", amplitudes, "a 1-d array of finite numbers")
    check(len(eps) < nlat, "amplitudes", amplitudes, f"at most nlat - 1 = {nlat - 1} degrees")
    e = np.tile([0.0, 0.0, 1.0], (len(eps), 1)) if axes is None else _unit_vectors(axes, "axes", len(eps))
    x = geometry.points
    rho = 1 + sum(a * (2 * l + 1) * eval_legendre(l, x @ axis) for l, (a, axis) in enumerate(zip(eps, e), 1))
    return _normalised_on(geometry, rho / (4 * np.pi), "amplitudes")


def sphere_noise(nlat: int, sigma: float = 0.01, seed: int = 0, lmax: int | None = None) -> np.ndarray:
    """rho = (1/4 pi)(1 + sigma sum_{l=1}^{lmax} sum_m xi_lm Y_lm), Y_lm the real harmonics orthonormal against
    sigma = dA / 4 pi and xi_lm i.i.d. standard normal, drawn degree by degree (default lmax = nlat - 1): every
    degree has the expected Gegenbauer power E S_l = sigma^2, as for i.i.d. tokens with n = 1 / sigma^2."""
    from .sht import transforms
    geometry = _sphere(nlat)
    check_real("sigma", sigma, 0.0)
    check_integer("seed", seed, 0)
    lmax = nlat - 1 if lmax is None else check_integer("lmax", lmax, 1, nlat - 1)
    rng = np.random.default_rng(seed)
    c = np.zeros((nlat, nlat), dtype=complex)
    for l in range(1, lmax + 1):  # complex c_lm of torch-harmonics: c_l0 = xi, c_lm = (xi_a - i xi_b) / sqrt 2
        xi = rng.standard_normal(2 * l + 1)
        c[l, 0] = xi[0]
        c[l, 1:l + 1] = (xi[1::2] - 1j * xi[2::2]) / np.sqrt(2)
    noise = transforms(nlat, 2 * nlat, nlat).inverse(torch.as_tensor(c)).numpy()
    rho = 1 / (4 * np.pi) + sigma / np.sqrt(4 * np.pi) * noise  # Y_lm against sigma: sqrt(4 pi) Y_lm against dA
    check(bool((rho >= 0).all()), "sigma", sigma, "small enough that the density stays non-negative")
    return _normalised_on(geometry, rho, "density0")


def sphere_from_particles(x, nlat: int, kappa: float | None = None, weights=None) -> np.ndarray:
    """The von Mises–Fisher smoothing of tokens x (n, 3) on the grid: (1/n) sum_i kappa e^{kappa(<y, x_i> - 1)} /
    (2 pi (1 - e^{-2 kappa})) (or weighted by `weights`), positive; default kappa = (nlat - 1)^2 / 40, so that its
    harmonic coefficients I_{l+1/2}(kappa) / I_{1/2}(kappa) ~ e^{-l^2 / 2 kappa} are below e^{-20} past the grid's
    degree (the smoothed density is resolved), normalised on the grid."""
    geometry = _sphere(nlat)
    tokens = _unit_vectors(x, "x")
    kappa = (nlat - 1) ** 2 / 40 if kappa is None else check_positive("kappa", kappa)
    mass = np.full(len(tokens), 1 / len(tokens)) if weights is None else np.asarray(weights, dtype=np.float64)
    check(mass.shape == (len(tokens),) and bool((mass >= 0).all()) and mass.sum() > 0, "weights", weights,
          f"{len(tokens)} non-negative numbers of positive sum")
    points = torch.as_tensor(geometry.points.reshape(-1, 3))
    rows = max(1, VMF_BLOCK // len(tokens))
    values = torch.cat([torch.exp(kappa * (points[start:start + rows] @ torch.as_tensor(tokens).T - 1))
                        @ torch.as_tensor(mass / mass.sum()) for start in range(0, len(points), rows)])
    rho = values.numpy().reshape(nlat, 2 * nlat) * kappa / (2 * np.pi * -np.expm1(-2 * kappa))
    return _normalised_on(geometry, rho, "x")


def sphere_clusters(nlat: int, centres, masses=None, kappa: float = 50.0) -> np.ndarray:
    """A mixture of von Mises–Fisher bumps of concentration kappa at `centres` (k, 3), with `masses` (default
    equal): `sphere_from_particles` of the centres, weighted."""
    return sphere_from_particles(centres, nlat, kappa, weights=masses)


def sphere_sample(function, bound: float, count: int, seed: int = 0) -> np.ndarray:
    """`count` i.i.d. tokens (count, 3) from the density function(x) against dA (any positive normalisation),
    by rejection from the uniform measure: a proposal x is accepted with probability f(x) / bound, so `bound` must
    be at least max f (a value of f above it is refused)."""
    check_integer("count", count, 1)
    check_integer("seed", seed, 0)
    check_positive("bound", bound)
    rng = np.random.default_rng(seed)
    accepted = []
    while sum(len(a) for a in accepted) < count:
        x = rng.standard_normal((2 * count, 3))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        f = np.asarray(function(x), dtype=np.float64)
        check(bool((f >= 0).all() and (f <= bound).all()), "bound", bound,
              "an upper bound of the non-negative function on the sphere")
        accepted.append(x[rng.random(len(x)) * bound < f])
    return np.concatenate(accepted)[:count]


def zonal_function(n: int, dim: int, function) -> np.ndarray:
    """A zonal density on S^{dim-1} from a function of t = <x, e> at the n Gauss–Jacobi nodes, normalised."""
    check_integer("n", n, MIN_POINTS)
    check_integer("dim", dim, 2)
    geometry = Zonal(n, dim)
    values = np.broadcast_to(np.asarray(function(geometry.points), dtype=np.float64), (n,))
    return _normalised_on(geometry, values.copy(), "function")


def zonal_modes(n: int, dim: int, amplitudes) -> np.ndarray:
    """rho(t) = 1 + sum_l eps_l N_l P_l(t) = 1 + sum_l eps_l sqrt(N_l) phi_l(t) against sigma, l = 1..len(amplitudes):
    the moments m_l = ∫ P_l rho dsigma are eps_l (`gegenbauer`)."""
    check_integer("n", n, MIN_POINTS)
    check_integer("dim", dim, 2)
    eps = np.atleast_1d(np.asarray(amplitudes, dtype=np.float64))
    check(eps.ndim == 1 and bool(np.isfinite(eps).all()) and len(eps) < n, "amplitudes", amplitudes,
          f"a 1-d array of at most n - 1 = {n - 1} finite numbers")
    geometry = Zonal(n, dim)
    phi, _ = gegenbauer.basis(len(eps), dim, geometry.points)
    root = np.exp(0.5 * gegenbauer.log_dimension(np.arange(1, len(eps) + 1), dim))
    return _normalised_on(geometry, 1 + (eps * root) @ phi[1:], "amplitudes")


def zonal_cell_modes(n: int, dim: int, amplitudes) -> np.ndarray:
    """The averages over the n cells of `geometry.ZonalCells` of 1 + sum_l eps_l N_l P_l(t) (`zonal_modes`' function),
    exact (`cells.harmonic_averages`): |m_l| = eps_l."""
    check_integer("n", n, MIN_POINTS)
    check_integer("dim", dim, 2)
    eps = np.atleast_1d(np.asarray(amplitudes, dtype=np.float64))
    check(eps.ndim == 1 and bool(np.isfinite(eps).all()) and len(eps) < n, "amplitudes", amplitudes,
          f"a 1-d array of at most n - 1 = {n - 1} finite numbers")
    root = np.exp(0.5 * gegenbauer.log_dimension(np.arange(1, len(eps) + 1), dim))
    rho = 1 + (eps * root) @ cells.harmonic_averages(len(eps), dim, n)[1:]
    check(bool((rho >= 0).all()), "amplitudes", amplitudes, "small enough that the cell averages are non-negative")
    return _normalised_on(ZonalCells(n, dim), rho, "amplitudes")


def zonal_cell_function(n: int, dim: int, function, points: int = 16) -> np.ndarray:
    """The averages over the n cells of `geometry.ZonalCells` of a non-negative function of t = <x, e>, normalised:
    Gauss–Legendre with `points` nodes in psi = arccos(-t) in each cell, against sigma's density c_d sin^{d-2} psi
    taken relative to its largest value in the cell (so a constant is exact in every d); accurate where that density
    varies by less than e^{points} across a cell (in high d the cells next to the poles, which hold no mass to
    float64's precision, get a cruder average)."""
    check_integer("n", n, MIN_POINTS)
    check_integer("dim", dim, 2)
    check_integer("points", points, 1)
    nodes, weights = np.polynomial.legendre.leggauss(points)
    psi = (np.arange(n)[:, None] + (nodes + 1) / 2) * (np.pi / n)
    log_weight = np.log(weights) + (dim - 2) * np.log(np.sin(psi))
    weight = np.exp(log_weight - log_weight.max(axis=1, keepdims=True))
    values = np.broadcast_to(np.asarray(function(-np.cos(psi)), dtype=np.float64), psi.shape)
    check(bool(np.isfinite(values).all() and (values >= 0).all()), "function", function,
          "a function of t with finite non-negative values")
    return _normalised_on(ZonalCells(n, dim), (weight * values).sum(1) / weight.sum(1), "function")


def zonal_cell_tokens(x, n: int, axis=None) -> np.ndarray:
    """The cell averages of the empirical measure of tokens x (count, d) in t = <x, e>, `axis` e (default the last
    unit vector e_d): rho_j = (tokens in cell j) / (count V_j), the same measure of t (no smoothing)."""
    check_integer("n", n, MIN_POINTS)
    tokens = np.atleast_2d(np.asarray(x, dtype=np.float64))
    size = np.linalg.norm(tokens, axis=-1) if tokens.ndim == 2 else np.zeros(1)
    check(tokens.ndim == 2 and tokens.shape[1] >= 2 and len(tokens) >= 1 and bool(np.isfinite(tokens).all())
          and bool((size > 0).all()), "x", f"array of shape {tokens.shape}",
          "non-zero vectors, shape (count, d), d >= 2")
    dim = tokens.shape[1]
    e = np.eye(dim)[-1] if axis is None else np.asarray(axis, dtype=np.float64)
    check(e.shape == (dim,) and bool(np.isfinite(e).all()) and np.linalg.norm(e) > 0, "axis", axis,
          f"a non-zero vector of length {dim}")
    t = np.clip(tokens @ e / (size * np.linalg.norm(e)), -1, 1)
    cell = np.minimum((np.arccos(-t) / (np.pi / n)).astype(int), n - 1)
    geometry = ZonalCells(n, dim)
    return np.bincount(cell, minlength=n) / len(tokens) / geometry.weights
