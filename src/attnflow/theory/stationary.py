"""Stationary states of the noisy USA and SA dynamics, their free energy (USA) and stability, by continuation
in D (docs/science.md §6).

A state that depends on x only through t = <x, e> (a zonal state: on the circle, an even function of the
angle) has the moments m_k = integral P_k(t) rho dsigma, P_k = C_k^{((d-2)/2)} / C_k^{((d-2)/2)}(1) (cos k theta on
the circle), and by Funk–Hecke its potential is Phi[rho] = lambda_0 + sum_k lambda_k N_k m_k P_k(t) (N_k the
dimension of the degree-k harmonics, 2 on the circle). The stationary states rho = e^{Phi/D} / Z are the
fixed points
  m_k = <P_k>_{rho(m, D)},   rho(m, D) proportional to exp( sum_k lambda_k N_k m_k P_k(t) / D ),
and at such a point the free energy relative to the uniform state is
  F(rho) - F(uniform) = psi(m) = (1/2) sum_k lambda_k N_k m_k^2 - D log Z(m),   Z(m) = <e^{sum_k ...}>_sigma.
F(rho) = min over a of [D integral rho log rho - sum_k lambda_k N_k (a_k m_k(rho) - a_k^2 / 2)], so the
local minima of F (the stable states, among zonal perturbations) are those of psi: the stationary state is
stable iff I - (1/D) S^{1/2} C S^{1/2} is positive definite, C the covariance of the P_k under rho,
S = diag(lambda_k N_k), i.e. iff every eigenvalue of J - I is negative, J = C S / D = d<P>/dm the Jacobian of
the fixed-point map. At m = 0 this is 1 - lambda_k / D > 0: the threshold D_# = lambda_1 of `noise`.

SA's stationary states (rho proportional to Phi^{1/(beta D)}) are solved on quadrature nodes in logarithms by
`stationary_sa`: its Phi spans more decades across a cluster than a harmonic series resolves.

Averages are Gauss–Jacobi sums in t with the weight (1 - t^2)^{(d-3)/2} of the marginal of sigma (QUADRATURE
nodes; spectrally accurate while the state is smooth). The branch of states born at D_# is followed by
pseudo-arclength continuation in (m, D / D_#): above beta_* it first bends to D > D_# (a discontinuous
transition) and folds back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from scipy.optimize import brentq
from scipy.special import roots_jacobi

from .. import observables, spectrum
from ..errors import ParameterError, check, check_choice, check_integer, check_positive, check_real
from ..model import KINDS
from .basins import harmonic_dimension
from ..threads import one_blas_thread
from .continuation import MAX_NEWTON, TOLERANCE, follow  # Newton's limits, shared
from . import noise
from .noise import critical_diffusion
from .stationary_sa import sa_branch

QUADRATURE = 512  # Gauss–Jacobi nodes in t


@dataclass(frozen=True)
class Zonal:
    """The quadrature and the kernel's coefficients s_k = lambda_k N_k of zonal USA states on S^{dim-1}."""

    beta: float
    dim: int
    modes: int

    def __post_init__(self):
        alpha = (self.dim - 3) / 2
        t, w = roots_jacobi(QUADRATURE, alpha, alpha)
        k = np.arange(1, self.modes + 1)
        object.__setattr__(self, "weights", w / w.sum())
        object.__setattr__(self, "legendre", legendre_values(self.modes, self.dim, t))  # (modes, nodes)
        object.__setattr__(self, "strength", spectrum.funk_hecke_factor(self.beta, self.dim, self.modes)
                           * harmonic_dimension(k, self.dim))

    def density(self, m: np.ndarray, diffusion: float) -> tuple[np.ndarray, float]:
        """rho(m, D) at the nodes (against sigma, integrating to 1) and log Z(m)."""
        exponent = (self.strength * m) @ self.legendre / diffusion
        top = exponent.max()
        z = self.weights @ np.exp(exponent - top)
        return np.exp(exponent - top) / z, float(top + np.log(z))

    def residual(self, m, diffusion):
        """<P_k>_rho - m_k, its Jacobian J - I in m (J = C S / D) and its derivative in D."""
        rho, _ = self.density(m, diffusion)
        mean = self.legendre @ (self.weights * rho)
        centred = self.legendre - mean[:, None]
        covariance = (centred * (self.weights * rho)) @ centred.T
        jacobian_m = covariance * self.strength / diffusion - np.eye(self.modes)
        return mean - m, jacobian_m, -(covariance @ (self.strength * m)) / diffusion**2

    def free_energy(self, m, diffusion) -> float:
        """psi(m) = F(rho) - F(uniform) at a stationary state (module docstring)."""
        return float(0.5 * self.strength @ m**2 - diffusion * self.density(m, diffusion)[1])

    def stable(self, jacobian_m) -> bool:
        """Every eigenvalue of J - I negative (J - I is similar to a symmetric matrix: module docstring)."""
        return bool(np.linalg.eigvals(jacobian_m).real.max() < 0)


def legendre_values(modes: int, dim: int, t: np.ndarray) -> np.ndarray:
    """P_1..P_modes at t, (modes, len(t)) (`observables.normalized_gegenbauer`; cos k theta for d = 2)."""
    return torch.stack(observables.normalized_gegenbauer(modes, dim, torch.from_numpy(t))[1:]).numpy()


def default_modes(beta: float) -> int:
    """Harmonics kept: lambda_k ~ e^{-k^2 / (2 beta)}, so a few sqrt(beta) widths past the first."""
    return int(min(64, 12 + 3 * np.sqrt(beta) * 3))


def _zonal(beta, dim, modes) -> Zonal:
    beta = check_real("beta", beta, 0.0)
    check(beta > 0, "beta", beta, "a number > 0 (at beta = 0 only the first harmonic interacts)")
    dim = check_integer("dim", dim, 2)
    modes = default_modes(beta) if modes is None else check_integer("modes", modes, 1)
    return Zonal(beta, dim, modes)


def stationary_state(beta: float, dim: int, diffusion: float, m0, modes: int | None = None) -> np.ndarray:
    """The moments m (k = 1..modes) of the zonal stationary state reached by Newton's method from m0 at noise
    D = `diffusion` (USA); raises if Newton does not converge."""
    zonal = _zonal(beta, dim, modes)
    diffusion = check_positive("diffusion", diffusion)
    with one_blas_thread():
        return _newton(zonal, diffusion, m0)


def _newton(zonal: Zonal, diffusion: float, m0) -> np.ndarray:
    m = np.zeros(zonal.modes)
    m[:min(len(np.atleast_1d(m0)), zonal.modes)] = np.atleast_1d(m0)[:zonal.modes]
    for _ in range(MAX_NEWTON):
        g, jacobian_m, _ = zonal.residual(m, diffusion)
        if np.abs(g).max() < TOLERANCE:
            return m
        m = m - np.linalg.solve(jacobian_m, g)
    raise ParameterError("m0", "a start", f"one from which Newton's method reaches a stationary state at D = "
                                          f"{diffusion:g} (within {MAX_NEWTON} steps)")


def stationary_branch(beta: float, dim: int, modes: int | None = None, d_min: float = 0.5, step: float = 0.05,
                      max_points: int = 2000, kind: str = "usa", born_from: int = 1) -> xr.Dataset:
    """The branch of zonal stationary states born from the uniform state where its degree-k harmonic turns
    unstable (k = `born_from`: at D_k = lambda_k, SA lambda_k / Z_0; D_1 = D_#), followed by pseudo-arclength
    continuation (`continuation`) in (m, D / D_#) until D < d_min D_k (module docstring; SA: `stationary_sa`).
    The branch from k = 1 is the clustered one; those from k >= 2 (on the circle: k clusters, only harmonics
    jk) are born where mode 1 is already unstable, the metastable patterns of the noisy dynamics.
    Along `point`: diffusion D, the moments m (`mode`), the order parameter |m_k|, whether the state is
    stable, and for USA the free energy relative to the uniform state, for SA log rho at the nodes t (`node`)."""
    zonal = _zonal(beta, dim, modes)
    kind = check_choice("kind", kind, KINDS)
    born_from = check_integer("born_from", born_from, 1)
    check(born_from <= zonal.modes, "born_from", born_from, f"a degree <= modes = {zonal.modes}")
    d_min = check_positive("d_min", d_min)
    threshold = critical_diffusion(beta, dim, kind)
    k = born_from
    birth = float(noise.growth_rates(beta, dim, k, kind)[k - 1]) / (k * (k + dim - 2)) / threshold  # D_k / D_#
    check(d_min < 1, "d_min", d_min, "a fraction < 1 of D_k, where the branch is born")
    if kind == "sa":
        diffusion, m, stable, nodes, log_density = sa_branch(
            zonal.beta, zonal.dim, threshold, lambda t: legendre_values(zonal.modes, zonal.dim, t), step, max_points,
            k, birth, d_min * birth)
    else:
        def equations(u):
            g, jacobian_m, jacobian_d = zonal.residual(u[:-1], u[-1] * threshold)
            return g, np.column_stack([jacobian_m, jacobian_d * threshold]), jacobian_m

        start, tangent = np.append(np.zeros(zonal.modes), birth), np.zeros(zonal.modes + 1)
        tangent[k - 1] = 1.0
        points = follow(equations, start, tangent, lambda u: u[-1] >= d_min * birth, step, max_points,
                        lambda u: u[-1] > 0 and np.abs(u[:-1]).max() < 1)
        diffusion = np.array([u[-1] * threshold for u, _ in points])
        m = np.array([u[:-1] for u, _ in points])
        stable = np.array([zonal.stable(jacobian_m) for _, jacobian_m in points])
    branch = xr.Dataset(
        {"diffusion": ("point", diffusion), "moment": (("point", "mode"), m),
         "order_parameter": ("point", np.abs(m[:, k - 1]), {"description": f"|m_{k}|"}),
         "stable": ("point", stable)},
        coords={"point": np.arange(len(diffusion)), "mode": np.arange(1, zonal.modes + 1)},
        attrs={"beta": float(beta), "dim": int(dim), "critical_diffusion": threshold, "kind": kind,
               "born_from": k, "bifurcation_diffusion": birth * threshold,
               "description": f"zonal stationary states of the noisy {kind.upper()} dynamics (docs/science.md §6)"})
    if kind == "usa":
        branch["free_energy"] = ("point", [zonal.free_energy(moment, d) for moment, d in zip(m, diffusion)])
    else:
        branch["log_density"] = (("point", "node"), log_density, {"description": "log rho at the nodes t "
                                                                  "(rho against the uniform measure sigma)"})
        branch = branch.assign_coords(t=("node", nodes))
    return branch


def first_order_diffusion(beta: float, dim: int, modes: int | None = None) -> float:
    """D_c: the noise at which the stable clustered branch's free energy equals the uniform state's; D_# for a
    continuous transition (the branch then has F < 0 for every D < D_#), above D_# for a discontinuous one."""
    branch = stationary_branch(beta, dim, modes)
    threshold = branch.attrs["critical_diffusion"]
    stable = branch.stable.values & (branch.order_parameter.values > 1e-3)
    energy, diffusion = branch.free_energy.values, branch.diffusion.values
    crossing = np.flatnonzero(stable[1:] & stable[:-1] & (np.sign(energy[1:]) != np.sign(energy[:-1])))
    if not len(crossing) or branch.diffusion.max() <= threshold * (1 + 1e-9):
        return threshold
    i = int(crossing[0])
    return _energy_root(beta, dim, modes, branch, i)


def _energy_root(beta, dim, modes, branch, i) -> float:
    """The root of psi along the stable branch between its points i and i + 1 (Newton from the nearer point)."""
    zonal = _zonal(beta, dim, modes)
    d0, d1 = branch.diffusion.values[i], branch.diffusion.values[i + 1]
    m0, m1 = branch.moment.values[i], branch.moment.values[i + 1]

    def energy(d):
        start = m0 if abs(d - d0) < abs(d - d1) else m1
        return zonal.free_energy(stationary_state(beta, dim, d, start, zonal.modes), d)

    return float(brentq(energy, min(d0, d1), max(d0, d1), xtol=1e-13 * max(d0, d1)))
