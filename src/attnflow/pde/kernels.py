"""The mean-field velocity as a multiplier: Fourier on the circle, Funk–Hecke on S^{d-1} (docs/science.md §1–2,
§8).

With rho(theta) = sum_k rho_hat_k e^{i k theta} and e^{beta cos phi} = I_0 + 2 sum_k I_k cos k phi,
  v(theta) = -∫ e^{beta cos(theta-theta')} sin(theta-theta') rho(theta') dtheta'
           = sum_k (2 pi i k I_|k|(beta) / beta) rho_hat_k e^{i k theta}          (USA),
  w(theta) =  ∫ e^{beta cos(theta-theta')} rho(theta') dtheta'
           = sum_k 2 pi I_|k|(beta) rho_hat_k e^{i k theta},
and SA uses v / w. The multipliers are those of `spectrum.bessel_coefficients`
(a_k = 2k I_k e^{-beta}/beta, b_k = 2 I_k e^{-beta}): 2 pi i k I_k / beta = i pi a_k e^{beta}.
They vanish to machine precision beyond M modes (M = 26 at beta = 5), so v and w are
trigonometric polynomials of degree M: sampling them on any grid of more than 2M points,
and at any shift of it, is exact.

`rho` is given by its values on the grid theta_j = (j + 1/2) 2 pi / N (`geometry.grid`). `cell_averages=True`
reads them as averages over the cells [j, j+1) 2 pi / N (finite volumes): the exact
coefficients of that piecewise-constant density are the discrete ones times
sinc(k dx / 2), so v is then exact for the piecewise-constant density.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft

from ..spectrum import bessel_coefficients, funk_hecke_factor


@dataclass(frozen=True)
class Kernel:
    """Fourier multipliers of the velocity on an N-point grid, for rfft coefficients k = 0..N/2.

    velocity  i 2 pi k I_k(beta)/beta, times e^{-beta} for SA (cancels in v/w), zero beyond M
    weight    2 pi I_k(beta) e^{-beta} (SA denominator w, same scaling), zero beyond M
    """

    kind: str
    beta: float
    n: int
    velocity: np.ndarray
    weight: np.ndarray

    @classmethod
    def build(cls, kind: str, beta: float, n: int) -> "Kernel":
        a, b, i0 = bessel_coefficients(beta)
        m = min(len(a), (n - 1) // 2)  # never the Nyquist mode: it has no sine part
        velocity = np.zeros(n // 2 + 1, dtype=complex)
        weight = np.zeros(n // 2 + 1)
        scale = 1.0 if kind == "sa" else float(np.exp(beta))  # USA: undo the e^{-beta} of ive
        velocity[1:m + 1] = 1j * np.pi * a[:m] * scale
        weight[0] = 2 * np.pi * i0
        weight[1:m + 1] = np.pi * b[:m]
        return cls(kind, float(beta), n, velocity, weight)

    @property
    def modes(self) -> int:
        """M: the number of non-zero multipliers (the degree of v and w)."""
        return int(np.count_nonzero(self.velocity))

    def field(self, rho: np.ndarray, shift: float = 0.0, cell_averages: bool = False) -> np.ndarray:
        """v (USA) or v/w (SA) at theta_j + shift, from grid values rho_j (docs/science.md §2)."""
        n = self.n
        k = np.arange(n // 2 + 1)
        # rho_hat_k = (1/N) sum_j rho_j e^{-ik theta_j}; sampled back at theta_j + shift, the
        # grid offsets dx/2 cancel and only the shift remains as a phase
        spectrum = fft.rfft(rho) * np.exp(1j * k * shift)
        if cell_averages:
            spectrum *= np.sinc(k / n)  # sinc(k dx / 2) in numpy's normalised sinc
        v = fft.irfft(self.velocity * spectrum, n)
        if self.kind == "usa":
            return v
        return v / fft.irfft(self.weight * spectrum, n)


@dataclass(frozen=True)
class HarmonicKernel:
    """Funk–Hecke multipliers per degree l = 0..lmax on S^{d-1} (docs/science.md §8), for densities against the
    uniform probability measure sigma: with rho_l the degree-l part of rho,
      Phi[rho] = (1/beta) ∫ e^{beta<x,y>} rho(y) dsigma(y) = sum_l lambda_l(beta, d) rho_l,
      w[rho]   = ∫ e^{beta<x,y>} rho(y) dsigma(y)          = sum_l beta lambda_l(beta, d) rho_l,
    the USA velocity is grad_S Phi and the SA velocity grad_S Phi / w.

    potential  lambda_l, l >= 1 (the constant l = 0 has no gradient: 0); for SA times e^{-beta}
    weight     beta lambda_l (beta lambda_0 = Z_0), times e^{-beta} (SA only: it cancels in grad Phi / w)
    At beta = 0: potential (0, 1/d, 0, ...) (the limit of lambda_1) and weight (1, 0, ...).
    """

    kind: str
    beta: float
    dim: int
    potential: np.ndarray
    weight: np.ndarray

    @classmethod
    def build(cls, kind: str, beta: float, dim: int, lmax: int) -> "HarmonicKernel":
        potential, weight = np.zeros(lmax + 1), np.zeros(lmax + 1)
        if beta == 0:
            potential[1], weight[0] = 1 / dim, 1.0
        else:
            factors = funk_hecke_factor(beta, dim, lmax, scaled=kind == "sa", kmin=0)
            potential[1:], weight[:] = factors[1:], beta * factors
        return cls(kind, float(beta), dim, potential, weight)

    @property
    def degree(self) -> int:
        """The highest degree whose multiplier is above 1e-17 of the largest: the degree of Phi[rho]."""
        significant = np.nonzero(self.potential > 1e-17 * self.potential.max())[0]
        return int(significant[-1])
