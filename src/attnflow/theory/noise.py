"""Noise: the linear stability of the uniform state and the kind of the phase transition (docs/science.md §6).

With Brownian noise of strength D the mean field follows the McKean–Vlasov equation
  d_t rho = D Laplacian rho - div(rho v[rho]),
and, linearised at the uniform state, the degree-k spherical harmonic grows at
  k (k+d-2) (lambda_k(beta, d) - D)   (USA),   k (k+d-2) (lambda_k / Z_0 - D)   (SA, Z_0 = beta lambda_0),
with lambda_k of `spectrum.funk_hecke_factor` (decreasing in k). The uniform state is therefore linearly
stable exactly when D > D_# = lambda_1 (SA: lambda_1 / Z_0).
For USA (the gradient flow of the free energy of docs/science.md §6) the transition at D_# is continuous for
beta <= beta_*(d) and discontinuous above, where beta_* is the unique root of
  I_{d/2+1}(beta) / I_{d/2}(beta) = 1/d
(Mun and Rosenzweig; on the circle the cubic Landau coefficient of the first mode changes sign where
lambda_2 / lambda_1 = 1/2).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from .. import spectrum
from ..bessel import log_ive
from ..errors import check_choice, check_integer, check_real

TRANSITIONS = ("continuous", "discontinuous")


def growth_rates(beta: float, dim: int, kmax: int, kind: str = "usa", diffusion: float = 0.0,
                 scaled: bool = False) -> np.ndarray:
    """The rates k (k+d-2) (lambda_k - D) of degrees k = 1..kmax at the uniform state (module docstring;
    SA: lambda_k / Z_0); `scaled=True` returns the USA rates times e^{-beta} (for beta past ~650)."""
    diffusion = check_real("diffusion", diffusion, 0.0)
    rates = spectrum.growth_rates(beta, dim, kmax, kind, scaled)
    k = np.arange(1, kmax + 1, dtype=np.float64)
    factor = math.exp(-beta) if scaled and kind == "usa" else 1.0
    return rates - k * (k + dim - 2) * diffusion * factor


def critical_diffusion(beta: float, dim: int, kind: str = "usa", scaled: bool = False) -> float:
    """D_#: the uniform state is linearly stable iff D > D_# = lambda_1(beta, d) (USA; SA: lambda_1 / Z_0);
    1/d at beta = 0. `scaled=True` returns e^{-beta} D_# for USA."""
    return float(spectrum.growth_rates(beta, dim, 1, kind, scaled)[0]) / (dim - 1)


def transition_beta(dim: int) -> float:
    """beta_*(d), the root of I_{d/2+1}(beta) / I_{d/2}(beta) = 1/d (the ratio rises from 0 to 1 with beta)."""
    dim = check_integer("dim", dim, 2)
    def excess(beta: float) -> float:  # log of the ratio against log(1/d), by log-scaled Bessel functions
        return float(log_ive(dim / 2 + 1, beta) - log_ive(dim / 2, beta)) + math.log(dim)

    return float(brentq(excess, 1e-6, 1e6, xtol=1e-15, rtol=1e-15))


def transition_kind(beta: float, dim: int, kind: str = "usa") -> str:
    """"continuous" for beta <= beta_*(d), "discontinuous" above (USA, the gradient flow; module docstring)."""
    beta = check_real("beta", beta, 0.0)
    check_choice("kind", kind, ("usa",))
    return TRANSITIONS[beta > transition_beta(dim)]


__all__ = ["critical_diffusion", "growth_rates", "transition_beta", "transition_kind"]
