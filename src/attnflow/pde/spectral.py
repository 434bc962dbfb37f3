"""Pseudo-spectral (Fourier) solver of the mean-field equation on the circle (docs/science.md §2).

  d rho_hat_k/dt = -i k (rho v)^_k - D k^2 rho_hat_k,   k = 0..N/2 (real FFT),

with v = K * rho exact in Fourier space (`kernels.Kernel`). The velocity is a
trigonometric polynomial of degree M (the Bessel cut-off), so the product rho v of an
N-mode density has degree N/2 + M: evaluated on P >= N + M + 1 points it is free of
aliasing (SA: v / w is not a polynomial, so P >= 3N/2, the classical 3/2 rule).
Time stepping: Dormand–Prince 5(4) with error control on the L2 norm of the density
(`rtol`, `atol`), order 5 in time; spectral (exponential) accuracy in space while the
density is smooth. Mass is the k = 0 coefficient, whose rate is exactly zero.
Positivity is not enforced (Gibbs oscillations once clusters sharpen below the grid):
switch to the finite-volume solver there.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from .adaptive import Dopri5Solver
from .geometry import Circle


class SpectralSolver(Dopri5Solver):
    """Adaptive DOPRI5 in time, Fourier in space; state: rfft coefficients of rho."""

    name = "spectral"
    geometries = ("circle",)

    def __init__(self, model, geometry: Circle, density0: np.ndarray, rtol: float = 1e-8, atol: float = 1e-10,
                 first_step: float | None = None):
        n = geometry.n
        self.n, self.diffusion, self.rtol, self.atol = n, model.diffusion, rtol, atol
        self.kernel = geometry.kernel(model.kind, model.beta)
        extra = self.kernel.modes + 1 if model.kind == "usa" else n // 2
        self.padded = fft.next_fast_len(n + extra, real=True)
        self.kernel_padded = geometry.kernel(model.kind, model.beta, self.padded)
        self.k = np.arange(n // 2 + 1)
        self.derivative = -1j * self.k.astype(float)
        if n % 2 == 0:
            self.derivative[-1] = 0.0  # the Nyquist mode has no sine part: it cannot be transported
        self.state = fft.rfft(density0) / n
        self.h = first_step

    def rate(self, c: np.ndarray) -> np.ndarray:
        """d c_k/dt: the dealiased transport term plus diffusion."""
        p = self.padded
        padded = np.zeros(p // 2 + 1, dtype=complex)
        padded[: len(c)] = c
        if self.n % 2 == 0:
            padded[len(c) - 1] *= 0.5  # the Nyquist coefficient is shared by +N/2 and -N/2
        rho = fft.irfft(padded, p) * p
        # the padded grid is offset by dx_p/2 like every grid here; v sampled on the same points
        v = self.kernel_padded.field(rho)
        flux = fft.rfft(rho * v)[: len(c)] / p
        return self.derivative * flux - self.diffusion * self.k**2 * c

    def norm(self, c: np.ndarray) -> float:
        """L2 norm of the density with coefficients c (Parseval): sqrt(2 pi sum_k |c_k|^2)."""
        weights = np.full(len(c), 2.0)
        weights[0] = 1.0
        if self.n % 2 == 0:
            weights[-1] = 1.0
        return float(np.sqrt(2 * np.pi * np.sum(weights * np.abs(c) ** 2)))

    def density(self, state: np.ndarray | None = None) -> np.ndarray:
        """rho at the grid points theta_j, of the current coefficients or of `state`."""
        return fft.irfft(self.state if state is None else state, self.n) * self.n
