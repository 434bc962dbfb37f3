"""Lax–Friedrichs with a direct O(N^2) convolution: the seed's scheme, kept as the baseline.

  rho_j^{n+1} = (rho_{j+1} + rho_{j-1}) / 2 - dt/(2 dx) (f_{j+1} - f_{j-1}),   f = rho v,
  v_i = -sum_j e^{beta cos(theta_i - theta_j)} sin(theta_i - theta_j) rho_j dx   (USA; SA / w_i),
with dt = courant * dx (the seed: courant = 0.02). First order; its numerical diffusion
dx^2 / (2 dt) = dx / (2 courant) smears the clusters (docs/science.md §5). No diffusion D: added
explicitly to the averaged form it is unstable for every D > 0 (amplification -1 - 4 D dt/dx^2
at the grid scale), and the scheme's own diffusion is larger anyway. A step shortened to
h < dt (to land on a saved time) moves the fraction h / dt of the way to the full step,
so it adds only its share of that diffusion. The velocity sum
is done row block by row block, O(N^2) work and O(N * block) memory per step.
`convolution="fft"` computes the same discrete circular convolution by FFT, O(N log N)
(equal to the direct sum to rounding: the sampled kernel's aliased Fourier coefficients
differ from the exact ones by less than 1e-300 at N >= 64): the same scheme, affordable
at the seed's 10^4 points for accuracy comparisons.
"""

from __future__ import annotations

import numpy as np

from .geometry import Circle

ROW_BLOCK_ELEMENTS = 2**22


class LaxFriedrichsSolver:
    """The seed's explicit scheme with a fixed step dt = courant * dx."""

    name = "lax-friedrichs"
    geometries = ("circle",)

    def __init__(self, model, geometry: Circle, density0: np.ndarray, courant: float = 0.02,
                 convolution: str = "direct"):
        n = geometry.n
        self.n, self.dx = n, geometry.weight
        self.kind, self.dt, self.convolution = model.kind, courant * self.dx, convolution
        m = np.arange(n) * self.dx  # theta_i - theta_j = (i - j) dx
        scaled = np.exp(model.beta * (np.cos(m) - 1))  # e^{beta cos} e^{-beta}; USA multiplies e^beta back
        factor = np.exp(model.beta) if model.kind == "usa" else 1.0
        self.sine_kernel = -scaled * np.sin(m) * self.dx * factor
        self.weight_kernel = scaled * self.dx
        self.state = np.array(density0, dtype=np.float64)
        self.t, self.steps, self.rejected = 0.0, 0, 0

    def _convolve(self, kernel: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """sum_j kernel[(i - j) mod N] rho_j, directly (or by FFT)."""
        n = self.n
        if self.convolution == "fft":
            return np.fft.irfft(np.fft.rfft(kernel) * np.fft.rfft(rho), n)
        # row i of the circulant matrix is window N - i of [g, g], g_m = kernel[-m mod N]: a view, no copy
        g = kernel[(-np.arange(n)) % n]
        windows = np.lib.stride_tricks.sliding_window_view(np.concatenate([g, g]), n)
        out = np.empty(n)
        rows = max(1, ROW_BLOCK_ELEMENTS // n)
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            out[start:stop] = np.ascontiguousarray(windows[n - start:n - stop:-1]) @ rho
        return out

    def velocity(self, rho: np.ndarray) -> np.ndarray:
        v = self._convolve(self.sine_kernel, rho)
        return v if self.kind == "usa" else v / self._convolve(self.weight_kernel, rho)

    def advance(self, t_target: float) -> None:
        """One Lax–Friedrichs step of dt (shorter if t_target comes first)."""
        rho, dt = self.state, self.dt
        h = min(dt, t_target - self.t)
        flux = rho * self.velocity(rho)
        full = 0.5 * (np.roll(rho, -1) + np.roll(rho, 1)) - dt / (2 * self.dx) * (np.roll(flux, -1) - np.roll(flux, 1))
        self.state = full if h == dt else rho + (h / dt) * (full - rho)
        self.t = t_target if h == t_target - self.t else self.t + h
        self.steps += 1

    def density(self) -> np.ndarray:
        return self.state.copy()
