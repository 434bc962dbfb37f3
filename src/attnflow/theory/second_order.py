"""Second-order (weakly nonlinear) mode amplitudes on the circle, USA (docs/science.md §1, §3).

With M_k = (1/n) sum_j e^{i k theta_j} (M_0 = 1, M_{-k} = conj(M_k)) and the velocity
dtheta/dt = sum_l w_l Im(M_l e^{-i l theta}), w_l = (2/beta) l I_l(beta), the moments obey the exact
hierarchy
  dM_k/dt = (k/2) sum_{l >= 1} w_l (M_l M_{k-l} - conj(M_l) M_{k+l})
          = gamma_k M_k + (quadratic terms: all others),
gamma_k = k w_k / 2 = k^2 I_k(beta) / beta. Putting the linear solutions M_m(0) e^{gamma_m t} into the
quadratic terms and integrating gives M_k to second order in the initial amplitudes:
  M_k(t) = M_k(0) e^{gamma_k t}
           + (k/2) sum_l w_l [M_l(0) M_{k-l}(0) E(gamma_l + gamma_{k-l})
                              - conj(M_l(0)) M_{k+l}(0) E(gamma_l + gamma_{k+l})]  (no first term at l = k),
E(a) = (e^{a t} - e^{gamma_k t}) / (a - gamma_k). A slow mode k is forced at the sum of two faster rates
(mode 6 at beta = 5 by mode 3 squared, at 2 gamma_3 = 37 against gamma_6 = 5.7), which is why its
fitted rate comes out above gamma_k at finite n.
"""

from __future__ import annotations

import numpy as np

from .._array import to_tensor
from ..errors import check, check_integer, check_positive
from ..observables import fourier_modes
from ..spectrum import bessel_coefficients, growth_rates


def _forcing_integral(rate: float, own: float, times: np.ndarray) -> np.ndarray:
    """E = int_0^t e^{own (t - s)} e^{rate s} ds = e^{own t} (e^{(rate - own) t} - 1) / (rate - own), t e^{own t} at
    rate = own."""
    gap = rate - own
    if abs(gap) < 1e-12:
        return times * np.exp(own * times)
    return np.exp(own * times) * np.expm1(gap * times) / gap


def second_order_modes(x0, beta: float, times, kmax: int) -> np.ndarray:
    """M_k(t), k = 1..kmax, to second order in the initial moments of the tokens x0 (n, 2) (module
    docstring); complex array (len(times), kmax). |M_k| is the mode amplitude A_k."""
    tokens, _ = to_tensor(x0, "x0")
    check(tokens.ndim == 2 and tokens.shape[1] == 2, "x0", f"array of shape {tuple(tokens.shape)}",
          "(n, 2) tokens on the circle")
    check_positive("beta", beta)
    check_integer("kmax", kmax, 1)
    times = np.asarray(times, dtype=np.float64)
    a, _, _ = bessel_coefficients(beta)
    count = max(3 * kmax, len(a))  # moments kept: w_l is below 1e-17 of the largest past len(a)
    weights = np.zeros(count + 1)
    weights[1:min(count, len(a)) + 1] = (a * np.exp(beta))[:count]
    rates = np.concatenate([[0.0], growth_rates(beta, 2, count)])
    moments = np.concatenate([[1.0], np.conj(fourier_modes(tokens, count))])  # M_m = conj(mu_m)

    def moment(m):  # (value, rate) of M_m, m of any sign
        return (moments[m], rates[m]) if m >= 0 else (np.conj(moments[-m]), rates[-m])

    result = np.empty((len(times), kmax), dtype=complex)
    for k in range(1, kmax + 1):
        total = moments[k] * np.exp(rates[k] * times)
        for l in range(1, count + 1):
            if weights[l] == 0:
                continue
            if l != k:  # l = k is the linear term M_k M_0
                lower, lower_rate = moment(k - l)
                total = total + 0.5 * k * weights[l] * moments[l] * lower * _forcing_integral(rates[l] + lower_rate,
                                                                                             rates[k], times)
            if k + l <= count:
                total = total - 0.5 * k * weights[l] * np.conj(moments[l]) * moments[k + l] * _forcing_integral(
                    rates[l] + rates[k + l], rates[k], times)
        result[:, k - 1] = total
    return result
