"""Local clustering rates (docs/science.md §4): at a single cluster, and at two antipodal clusters.

**At a point mass.** Linearise the dynamics (docs/science.md §1, identity parameters) at
x_i = z + e_i, |z| = 1, e_i tangent at z and small. Every weight e^{beta<x_i,x_j>}
equals e^beta (1 + O(|e|^2)), and the SA weights are 1/n + w_ij with sum_j w_ij = 0, so
the attention output is c (xbar + O(|e|^3)), c = e^beta (USA) or 1 (SA), and
P_{x_i} xbar = ebar - e_i + O(|e|^2). Hence

    d/dt (e_i - ebar) = -c (e_i - ebar),    c_SA = 1,   c_USA = e^beta,          (R1)

in every dimension d and for every beta. Since W_2(mu, delta)^2 = (1/n) sum_j |x_j - z|^2
= (1/n) sum |e_i - ebar|^2 + O(|e|^4) at the nearest Dirac, W_2(mu_t, delta) ~ C e^{-c t}
in the late phase: the rate is 1 for SA whatever beta and e^beta for USA (the
equiangular model gives the same: 1 - rho ~ e^{-2 c t}, W_2^2 proportional to 1 - rho).
nGPT-style normalisation divides the output by |A| -> c, so its rate is 1 for both.
Chen, Lin, Polyanskiy, Rigollet (2025) prove W_2(mu_t, delta) <= C e^{-t/100} for small
beta, an L^2 initial density and R_0 > 0: a sufficient, not sharp, rate.

**Two antipodal clusters on the circle** (the counterexample for large beta). Masses m at
angle 0 and 1 - m at pi form a stationary state with R_0 = (2m - 1)^2 > 0. A test token
at pi + phi moves by dphi/dt = -(1/Z) [(1-m) g(phi) + m g(phi + pi)], g(phi) =
e^{beta cos phi} sin phi, Z = 1 (USA) or (1-m) e^beta + m e^{-beta} (SA, the SA normaliser
at pi). Linearising, the cluster at pi spreads out at the rate

    lambda(beta, m) = (m e^{-beta} - (1 - m) e^{beta}) / Z,                       (R2)

negative (the small cluster holds together) exactly when beta > beta_c = (1/2) log(m/(1-m)).
Reflection symmetry theta -> -theta is preserved by the dynamics and forbids the relative
rotation of the two clusters (their one other, always unstable, mode: rate e^{-beta}/Z'),
so a reflection-symmetric start with beta > beta_c converges to two clusters, not one.

**Causal attention at the first token** (docs/science.md §7). Under the causal mask
token 1 never moves (V = I) and the others collapse onto it. Linearise at x_i = z + e_i, z = x_1,
e_1 = 0: token i averages the i tokens it sees with weights c/i (1 + O(|e|^2)), so

    d/dt e_i = c (ebar_{<=i} - e_i) = -c (1 - 1/i) e_i + (c/i) sum_{j<i} e_j,        (R3)

a lower-triangular system with rates c (1 - 1/i), i = 2..n. The slowest is token 2's, c/2, and it
drives every later token: max_i |x_i - x_1| ~ C e^{-c t / 2}, c = 1 (SA) or e^beta (USA).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import check, check_choice, check_real, is_real
from ..model import KINDS
from ..normalization import NORMALIZATIONS, NORMS


def _check_beta(beta, kind):
    check_real("beta", beta, 0.0)
    check_choice("kind", kind, KINDS)


def point_mass_rate(beta: float, kind: str = "sa", norm: str = "post") -> float:
    """c in W_2(mu_t, delta) ~ C e^{-c t} near a single cluster, equation (R1):
    1 for SA, e^beta for USA (post-LN); 1 for both where the scheme scales the attention output
    to unit length (norm="ngpt"). Schemes with tokens on the sphere only."""
    _check_beta(beta, kind)
    spherical = [name for name, scheme in NORMALIZATIONS.items() if scheme.on_sphere]
    free = [name for name in NORMS if name not in spherical]
    check(norm in spherical, "norm", norm,
          f"one of {', '.join(spherical)} (tokens on the sphere; {' and '.join(free)} cluster polynomially)")
    c = math.exp(beta) if kind == "usa" else 1.0
    return 1.0 if NORMALIZATIONS[norm].unit_output else c


def antipodal_split_rate(beta, mass: float, kind: str = "usa"):
    """lambda(beta, m) of equation (R2): the growth rate (> 0: unstable) of the spread of the
    cluster of mass 1 - m at angle pi facing a cluster of mass m at 0 on the circle."""
    check(is_real(mass) and 0 < mass < 1, "mass", mass, "a number in (0, 1)")
    beta = np.asarray(beta, dtype=np.float64)
    _check_beta(float(beta.max()) if beta.size else 0.0, kind)
    check(bool(np.all(beta >= 0)), "beta", beta, "numbers >= 0")
    numerator = mass * np.exp(-beta) - (1 - mass) * np.exp(beta)
    if kind == "usa":
        return numerator
    return numerator / ((1 - mass) * np.exp(beta) + mass * np.exp(-beta))


def antipodal_threshold(mass: float) -> float:
    """beta_c = (1/2) log(m / (1 - m)): above it the antipodal cluster of mass 1 - m <= 1/2 is
    stable against splitting (equation (R2)); 0 for m <= 1/2."""
    check(is_real(mass) and 0 < mass < 1, "mass", mass, "a number in (0, 1)")
    return max(0.0, 0.5 * math.log(mass / (1 - mass)))


def causal_collapse_rate(beta: float, kind: str = "sa") -> float:
    """The rate c/2 in max_i |x_i - x_1| ~ C e^{-c t/2} of the late collapse onto the first token under
    causal attention, equation (R3): 1/2 for SA, e^beta / 2 for USA (post-LN, V = I)."""
    _check_beta(beta, kind)
    return (math.exp(beta) if kind == "usa" else 1.0) / 2
