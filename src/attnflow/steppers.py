"""One-step maps of the time integrators, in the coordinates of a flow (see flow.py).

* `euler_step`: explicit Euler along the geodesic, y <- exp_y(h f(y)); order 1.
  On the circle this is the seed's update theta <- theta + h dtheta/dt.
* `rk4_step`: the classical Runge–Kutta method followed by the retraction; order 4.
* `dopri5_step`: Dormand–Prince 5(4), embedded error estimate, FSAL; order 5, with its continuous
  extension of order 4 (dense output between the step's ends).
"""

from __future__ import annotations

import torch


def euler_step(flow, y, h):
    return flow.geodesic(y, flow.rate(y), h)


def rk4_step(flow, y, h):
    k1 = flow.rate(y)
    k2 = flow.rate(y + (h / 2) * k1)
    k3 = flow.rate(y + (h / 2) * k2)
    k4 = flow.rate(y + h * k3)
    slopes = torch.add(k1, k2, alpha=2).add_(k3, alpha=2).add_(k4)  # ((k1 + 2 k2) + 2 k3) + k4 in 3 operations:
    return flow.retract(y + (h / 6) * slopes)  # doubling is exact, so the bits of the expression written out


_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B_ERROR = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40)  # b5 - b4
# Shampine's continuous extension (as in scipy's RK45): b_i(theta) = sum_j P[i][j] theta^(j+1), order 4
_P = (
    (1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432),
    (0.0, 0.0, 0.0, 0.0),
    (0.0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799),
    (0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072),
    (0.0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632),
    (0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844),
    (0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423),
)


def dopri5_step(flow, y, h, k1):
    """One Dormand–Prince step from y with rate k1 = f(y).

    Returns (y_new, error_vector, k_new, dense) with k_new = f(y_new) (first same as last) and
    dense(theta) the continuous extension y(t + theta h), 0 <= theta <= 1, of order 4 (before retraction).
    """
    stages = [k1]
    for row in _A[1:]:
        stages.append(flow.rate(y + h * sum(a * k for a, k in zip(row, stages) if a != 0.0)))
    y_new = y + h * sum(b * k for b, k in zip(_A[6], stages[:6]) if b != 0.0)
    k_new = flow.rate(y_new)
    stages.append(k_new)
    error = h * sum(e * k for e, k in zip(_B_ERROR, stages) if e != 0.0)

    def dense(theta: float):
        weights = [sum(p * theta ** (j + 1) for j, p in enumerate(row)) for row in _P]
        return y + h * sum(w * k for w, k in zip(weights, stages) if w != 0.0)

    return y_new, error, k_new, dense


def magnitude(v, size):
    """|v_i| token by token: v's absolute value where a token is one number (as `size`), else the norm over
    the last axis (any leading axes)."""
    return v.abs() if v.shape == size.shape else torch.linalg.vector_norm(v, dim=-1)


def error_ratio(flow, y, error, rtol, atol) -> float:
    """max over tokens of |error_i| / (atol + rtol |y_i|): the step is accepted when <= 1."""
    size = flow.size(y)
    return float((magnitude(error, size) / (atol + rtol * size)).max())
