"""Fused CPU kernels for the Fourier–Bessel velocity on the circle (docs/science.md §1), compiled by Numba.

`circle.py` defines the velocity; these kernels compute the same sums in two passes over the tokens
and hold no (M, n) array:

  moments pass   m_k = (1/n) sum_j e^{i k theta_j},  k = 1..M;
  series pass    USA: dtheta_i/dt = -(2/beta) sum_k k I_k(beta) Im(e^{i k theta_i} conj(m_k))
                                  = e^beta sum_k a_k (Im m_k cos k theta_i - Re m_k sin k theta_i),
                 SA:  the USA numerator without e^beta, divided by
                      I_0(beta) + 2 sum_k I_k(beta) Re(e^{i k theta_i} conj(m_k))
                                  = i0 + sum_k b_k (Re m_k cos k theta_i + Im m_k sin k theta_i),
with (a, b, i0) of `spectrum.bessel_coefficients` (all scaled by e^{-beta}).
Causal attention (docs/science.md §7): token i (counted from 1) sees j <= i, so m_k becomes
the prefix moment m_k^(i) = (1/i) sum_{j<=i} e^{i k theta_j}; the moments pass keeps the sums of each task
(`_task_moments`), and the series pass (`_causal_series`) starts each task from the sum of the tasks before
it and adds its tokens' e^{ik theta_j} one by one: still two passes, O(n M). The angles are a batch (systems, n)
of independent systems (an ensemble): each has its own moments and may have its own beta, hence its own
coefficients and number of modes; every system's numbers are those it would get alone.

The harmonics come from one sine and cosine per token and the angle-addition recurrence
  cos (k+1) theta = cos k theta cos theta - sin k theta sin theta,
  sin (k+1) theta = sin k theta cos theta + cos k theta sin theta,
which is a rotation: its round-off grows like k eps, slower than the phase error k theta eps of
evaluating cos(k theta) directly (the PyTorch path). Against a long-double pairwise sum (SA, n = 400)
the kernel is within 9e-15 at beta = 100 (M = 90), 2e-14 at beta = 10^4 (M = 885) and 5e-14 at
beta = 10^5 (M = 2798), the PyTorch path within 9e-15, 8e-14 and 2e-13: no re-seeding is needed.
Tokens are taken in lanes of LANES (the recurrence and the sums run as SIMD over the lanes), LANES at a
time within a task of TASK tokens; the prange over tasks is the only parallel region of each pass.
The modes go SWEEP at a time over the lanes, so that the running harmonics are stored once per SWEEP
modes rather than at every mode (the same sums in the same order). The moments of a task are summed
per lane and the lanes then by halving, in a fixed order: the result does not depend on the number
of threads. Tokens may also be points of the plane (systems, n, 2): the passes then start from their
directions x / |x| and write velocities in the plane, with no angle computed (`_passes`).

The sine and cosine are a Cody–Waite reduction by pi/2 and Cephes' minimax polynomials on
[-pi/4, pi/4] (relative error about 1e-16), which vectorise where libm's calls do not; angles beyond
REDUCTION_LIMIT, where the three-part reduction would lose digits, are redone with libm.
Every kernel is compiled twice: serially and with `parallel=True`; `threads.py` picks one.
"""

from __future__ import annotations

import math
import types

import numpy as np
from numba import njit, prange

LANES = 64  # tokens whose harmonics advance together (SIMD over these)
TASK = 1024  # tokens per task of the parallel loop (a multiple of LANES)
SWEEP = 4  # modes per sweep over the lanes (the sweeps below are written out for four): stored once per sweep

# pi/2 = PIO2_1 + PIO2_2 + PIO2_2T (fdlibm): PIO2_1, PIO2_2 have 33 significant bits, so q PIO2_1 and
# q PIO2_2 are exact for |q| < 2^20.
PIO2_1 = 1.57079632673412561417e+00
PIO2_2 = 6.07710050630396597660e-11
PIO2_2T = 2.02226624879595063154e-21
TWO_OVER_PI = 6.36619772367581382433e-01
REDUCTION_LIMIT = 1e5
SQUARES_TINY, SQUARES_HUGE = 1e-290, 1e290  # x_1^2 + x_2^2 within these: no underflow or overflow lost digits
# Cephes sin.c: sin z = z + z^3 S(z^2), cos z = 1 - z^2/2 + z^4 C(z^2) on |z| <= pi/4
S0, S1, S2, S3, S4, S5 = (1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
                          -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1)
C0, C1, C2, C3, C4, C5 = (-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
                          2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2)


def _first_harmonics(theta, start, stop, cos1, sin1):
    """cos theta_j, sin theta_j for j in [start, stop) into cos1[:stop-start], sin1[...]; the lanes
    beyond are set to 0, so that their harmonics, all 0, add nothing to a moment."""
    count = stop - start
    for j in range(count):
        x = theta[start + j]
        q = np.floor(x * TWO_OVER_PI + 0.5)
        z = ((x - q * PIO2_1) - q * PIO2_2) - q * PIO2_2T
        zz = z * z
        sz = z + z * zz * (((((S0 * zz + S1) * zz + S2) * zz + S3) * zz + S4) * zz + S5)
        cz = 1.0 - 0.5 * zz + zz * zz * (((((C0 * zz + C1) * zz + C2) * zz + C3) * zz + C4) * zz + C5)
        quadrant = q - 4.0 * np.floor(0.25 * q)  # 0, 1, 2, 3
        odd = quadrant == 1.0 or quadrant == 3.0
        s = cz if odd else sz
        c = sz if odd else cz
        sin1[j] = -s if quadrant >= 2.0 else s
        cos1[j] = -c if quadrant == 1.0 or quadrant == 2.0 else c
    for j in range(count):
        if abs(theta[start + j]) > REDUCTION_LIMIT:
            cos1[j] = math.cos(theta[start + j])
            sin1[j] = math.sin(theta[start + j])
    for j in range(count, LANES):
        cos1[j] = 0.0
        sin1[j] = 0.0


def _point_harmonics(points, start, stop, cos1, sin1):
    """`_first_harmonics` of tokens given as points (n, 2) of the plane: the coordinates of their directions
    x / |x| (no angle computed). |x| is sqrt(x_1^2 + x_2^2), or math.hypot where the squares would leave the float
    range; a token at 0 has no direction and gives NaN."""
    count = stop - start
    scaled = 0
    for j in range(count):
        x, y = points[start + j, 0], points[start + j, 1]
        square = x * x + y * y
        inverse = 1.0 / math.sqrt(square)
        cos1[j] = x * inverse
        sin1[j] = y * inverse
        scaled += not SQUARES_TINY < square < SQUARES_HUGE
    for j in range(count if scaled else 0):
        x, y = points[start + j, 0], points[start + j, 1]
        if not SQUARES_TINY < x * x + y * y < SQUARES_HUGE:
            r = math.hypot(x, y)
            cos1[j] = x / r
            sin1[j] = y / r
    for j in range(count, LANES):
        cos1[j] = 0.0
        sin1[j] = 0.0


def _moment_task(theta, start, stop, count, out_re, out_im):
    """sum_j cos k theta_j and sum_j sin k theta_j, k = 1..count, over tokens [start, stop) of theta (n,)."""
    acc_re = np.zeros((count, LANES))
    acc_im = np.zeros((count, LANES))
    cos1, sin1 = np.empty(LANES), np.empty(LANES)
    c, s = np.empty(LANES), np.empty(LANES)
    for first in range(start, stop, LANES):
        _first_harmonics(theta, first, min(first + LANES, stop), cos1, sin1)
        for j in range(LANES):
            c[j] = cos1[j]
            s[j] = sin1[j]
        k = 0
        while k + SWEEP <= count:  # the modes SWEEP at a time, their harmonics in registers
            re0, re1, re2, re3 = acc_re[k], acc_re[k + 1], acc_re[k + 2], acc_re[k + 3]
            im0, im1, im2, im3 = acc_im[k], acc_im[k + 1], acc_im[k + 2], acc_im[k + 3]
            for j in range(LANES):
                c0, s0, x, y = c[j], s[j], cos1[j], sin1[j]
                c1, s1 = _rotate(c0, s0, x, y)
                c2, s2 = _rotate(c1, s1, x, y)
                c3, s3 = _rotate(c2, s2, x, y)
                re0[j] += c0
                im0[j] += s0
                re1[j] += c1
                im1[j] += s1
                re2[j] += c2
                im2[j] += s2
                re3[j] += c3
                im3[j] += s3
                c[j], s[j] = _rotate(c3, s3, x, y)
            k += SWEEP
        while k < count:
            re, im = acc_re[k], acc_im[k]
            for j in range(LANES):
                cj, sj = c[j], s[j]
                re[j] += cj
                im[j] += sj
                c[j], s[j] = _rotate(cj, sj, cos1[j], sin1[j])
            k += 1
    width = LANES
    while width > 1:
        width //= 2
        for k in range(count):
            for j in range(width):
                acc_re[k, j] += acc_re[k, j + width]
                acc_im[k, j] += acc_im[k, j + width]
    for k in range(count):
        out_re[k] = acc_re[k, 0]
        out_im[k] = acc_im[k, 0]


def _moments(theta, counts, re, im):
    """re[b, k-1] + i im[b, k-1] = m_k of system b, k = 1..counts[b] (0 beyond), for theta (systems, n): a
    parallel loop over the tasks of all systems, then the task sums added in order. (`point_moments`: theta
    holds points (systems, 2, n) instead.)"""
    systems, n = theta.shape[0], theta.shape[1]
    tasks = (n + TASK - 1) // TASK
    sums_re = np.empty((systems * tasks, re.shape[1]))
    sums_im = np.empty((systems * tasks, re.shape[1]))
    for task in prange(systems * tasks):
        system = task // tasks
        start = (task - system * tasks) * TASK
        _moment_task(theta[system], start, min(start + TASK, n), counts[system], sums_re[task], sums_im[task])
    for system in range(systems):
        for k in range(re.shape[1]):
            total_re, total_im = 0.0, 0.0
            if k < counts[system]:
                for task in range(system * tasks, (system + 1) * tasks):
                    total_re += sums_re[task, k]
                    total_im += sums_im[task, k]
            re[system, k] = total_re / n
            im[system, k] = total_im / n


def _rotate(c, s, x, y):
    """(cos (k+1) theta, sin (k+1) theta) from c = cos k theta, s = sin k theta and x = cos theta, y = sin theta."""
    return c * x - s * y, s * x + c * y


def _add_sweep(total, wc, ws, k, c0, s0, c1, s1, c2, s2, c3, s3):
    """total + sum_{q<SWEEP} wc_{k+q} cos (k+q+1) theta + ws_{k+q} sin (k+q+1) theta, given those harmonics
    (c_q, s_q), added mode by mode in order."""
    total += wc[k] * c0 + ws[k] * s0
    total += wc[k + 1] * c1 + ws[k + 1] * s1
    total += wc[k + 2] * c2 + ws[k + 2] * s2
    return total + (wc[k + 3] * c3 + ws[k + 3] * s3)


def _store(out, index, rate, cos1, sin1):
    """out[index] = dtheta/dt of the token (the kernels on angles)."""
    out[index] = rate


def _store_tangent(out, index, rate, cos1, sin1):
    """out[index] = dtheta/dt (-sin theta, cos theta), the token's velocity in the plane (the kernels on points)."""
    out[index, 0] = -rate * sin1
    out[index, 1] = rate * cos1


def _lane_buffers():
    """Six arrays of LANES numbers for a series task: the first harmonics (cos1, sin1), the running ones (c, s), and
    the lanes' numerators and denominators (`_start_lanes` fills them)."""
    return (np.empty(LANES), np.empty(LANES), np.empty(LANES), np.empty(LANES), np.empty(LANES),
            np.empty(LANES))


def _start_lanes(theta, first, last, cos1, sin1, c, s, num, den, den0):
    """The first harmonics of tokens [first, last) into cos1, sin1 and the running harmonics c, s; the lanes'
    numerators to 0 and denominators to den0 (the start of a block of a series task)."""
    _first_harmonics(theta, first, last, cos1, sin1)
    for j in range(LANES):
        c[j] = cos1[j]
        s[j] = sin1[j]
        num[j] = 0.0
        den[j] = den0


def _series_task(theta, start, stop, wc, ws, ratio, dc, ds, d0, out):
    """out_j = sum_k wc_k cos k theta_j + ws_k sin k theta_j, divided by d0 + sum_k dc_k cos k theta_j
    + ds_k sin k theta_j when `ratio`, for tokens [start, stop)."""
    count = wc.shape[0]
    cos1, sin1, c, s, num, den = _lane_buffers()
    for first in range(start, stop, LANES):
        last = min(first + LANES, stop)
        _start_lanes(theta, first, last, cos1, sin1, c, s, num, den, d0)
        k = 0
        while k + SWEEP <= count:  # the modes SWEEP at a time, their harmonics in registers; one loop per case (a
            if ratio:  # test inside the loop kept LLVM from vectorising it: USA 0.29 -> 0.37 ms at n = 2e4)
                for j in range(LANES):
                    c0, s0, x, y = c[j], s[j], cos1[j], sin1[j]
                    c1, s1 = _rotate(c0, s0, x, y)
                    c2, s2 = _rotate(c1, s1, x, y)
                    c3, s3 = _rotate(c2, s2, x, y)
                    num[j] = _add_sweep(num[j], wc, ws, k, c0, s0, c1, s1, c2, s2, c3, s3)
                    den[j] = _add_sweep(den[j], dc, ds, k, c0, s0, c1, s1, c2, s2, c3, s3)
                    c[j], s[j] = _rotate(c3, s3, x, y)
            else:
                for j in range(LANES):
                    c0, s0, x, y = c[j], s[j], cos1[j], sin1[j]
                    c1, s1 = _rotate(c0, s0, x, y)
                    c2, s2 = _rotate(c1, s1, x, y)
                    c3, s3 = _rotate(c2, s2, x, y)
                    num[j] = _add_sweep(num[j], wc, ws, k, c0, s0, c1, s1, c2, s2, c3, s3)
                    c[j], s[j] = _rotate(c3, s3, x, y)
            k += SWEEP
        while k < count:
            wck, wsk = wc[k], ws[k]
            if ratio:
                dck, dsk = dc[k], ds[k]
                for j in range(LANES):
                    cj, sj = c[j], s[j]
                    num[j] += wck * cj + wsk * sj
                    den[j] += dck * cj + dsk * sj
                    c[j], s[j] = _rotate(cj, sj, cos1[j], sin1[j])
            else:
                for j in range(LANES):
                    cj, sj = c[j], s[j]
                    num[j] += wck * cj + wsk * sj
                    c[j], s[j] = _rotate(cj, sj, cos1[j], sin1[j])
            k += 1
        for j in range(last - first):
            _store(out, first + j, num[j] / den[j] if ratio else num[j], cos1[j], sin1[j])


def _series(theta, a, b, i0, scale, counts, sa, re, im, out):
    """dtheta/dt (module docstring) into out (systems, n) from the moments re + i im (systems, >= M) of theta
    (systems, n), system s with its own coefficients a[s, :counts[s]], b[s, :counts[s]], i0[s]: USA with
    e^beta = scale[s], SA divided by i0 + sum_k b_k Re(e^{ik theta} conj m_k). A parallel loop over the tasks
    of all systems."""
    systems, n = theta.shape[0], theta.shape[1]
    wc, ws = np.zeros(a.shape), np.zeros(a.shape)
    dc, ds = np.zeros(a.shape), np.zeros(a.shape)
    for system in range(systems):
        for k in range(counts[system]):
            weight = a[system, k] if sa else scale[system] * a[system, k]
            wc[system, k] = weight * im[system, k]
            ws[system, k] = -weight * re[system, k]
            dc[system, k] = b[system, k] * re[system, k]
            ds[system, k] = b[system, k] * im[system, k]
    tasks = (n + TASK - 1) // TASK
    for task in prange(systems * tasks):
        system = task // tasks
        start = (task - system * tasks) * TASK
        count = counts[system]
        _series_task(theta[system], start, min(start + TASK, n), wc[system, :count], ws[system, :count], sa,
                     dc[system, :count], ds[system, :count], i0[system], out[system])


def _task_moments(theta, counts, sums_re, sums_im):
    """sums_re[task, k-1] + i sums_im[task, k-1] = sum_j e^{ik theta_j} over the tokens of `task` (system s holds
    tasks s T .. s T + T - 1, TASK tokens each), k = 1..counts[s], for theta (systems, n): the parallel part of
    `_moments`, kept per task for the prefix moments of `_causal_series`."""
    systems, n = theta.shape[0], theta.shape[1]
    tasks = (n + TASK - 1) // TASK
    for task in prange(systems * tasks):
        system = task // tasks
        start = (task - system * tasks) * TASK
        _moment_task(theta[system], start, min(start + TASK, n), counts[system], sums_re[task], sums_im[task])


def _causal_series_task(theta, start, stop, prefix_re, prefix_im, w, b, i0, sa, out):
    """Causal dtheta/dt for tokens [start, stop) of theta (n,), prefix_re + i prefix_im (M,) holding
    sum_{j<start} e^{ik theta_j} on entry (updated in place): with P_k = sum_{j<=i} e^{ik theta_j} (0-based i),
    out_i = sum_k w_k (Im P_k cos k theta_i - Re P_k sin k theta_i) / (i + 1), divided for SA by
    i0 + sum_k b_k (Re P_k cos k theta_i + Im P_k sin k theta_i) / (i + 1)."""
    count = w.shape[0]
    cos1, sin1, c, s, num, den = _lane_buffers()
    cos_q, sin_q = np.empty((SWEEP, LANES)), np.empty((SWEEP, LANES))  # harmonics k+q of a sweep, per lane
    seen_re, seen_im = np.zeros((SWEEP, LANES)), np.zeros((SWEEP, LANES))  # their prefix sums P_{k+q}, per lane
    for first in range(start, stop, LANES):
        last = min(first + LANES, stop)
        _start_lanes(theta, first, last, cos1, sin1, c, s, num, den, 0.0)
        k = 0
        while k + SWEEP <= count:  # SWEEP modes per pass through the tokens: their prefix sums are independent chains
            w0, w1, w2, w3, b0, b1, b2, b3 = w[k], w[k + 1], w[k + 2], w[k + 3], b[k], b[k + 1], b[k + 2], b[k + 3]
            re0, re1, re2, re3 = prefix_re[k], prefix_re[k + 1], prefix_re[k + 2], prefix_re[k + 3]
            im0, im1, im2, im3 = prefix_im[k], prefix_im[k + 1], prefix_im[k + 2], prefix_im[k + 3]
            for j in range(LANES):  # the SWEEP modes' harmonics of every lane (SIMD)
                c0, s0, x, y = c[j], s[j], cos1[j], sin1[j]
                c1, s1 = _rotate(c0, s0, x, y)
                c2, s2 = _rotate(c1, s1, x, y)
                c3, s3 = _rotate(c2, s2, x, y)
                cos_q[0, j], sin_q[0, j], cos_q[1, j], sin_q[1, j] = c0, s0, c1, s1
                cos_q[2, j], sin_q[2, j], cos_q[3, j], sin_q[3, j] = c2, s2, c3, s3
                c[j], s[j] = _rotate(c3, s3, x, y)
            for j in range(last - first):  # the prefix sums, in token order: SWEEP independent chains
                re0, im0 = re0 + cos_q[0, j], im0 + sin_q[0, j]
                re1, im1 = re1 + cos_q[1, j], im1 + sin_q[1, j]
                re2, im2 = re2 + cos_q[2, j], im2 + sin_q[2, j]
                re3, im3 = re3 + cos_q[3, j], im3 + sin_q[3, j]
                seen_re[0, j], seen_im[0, j], seen_re[1, j], seen_im[1, j] = re0, im0, re1, im1
                seen_re[2, j], seen_im[2, j], seen_re[3, j], seen_im[3, j] = re2, im2, re3, im3
            for j in range(LANES):  # the numerators (SIMD), the modes in order as one at a time below
                total = num[j] + w0 * (seen_im[0, j] * cos_q[0, j] - seen_re[0, j] * sin_q[0, j])
                total += w1 * (seen_im[1, j] * cos_q[1, j] - seen_re[1, j] * sin_q[1, j])
                total += w2 * (seen_im[2, j] * cos_q[2, j] - seen_re[2, j] * sin_q[2, j])
                num[j] = total + w3 * (seen_im[3, j] * cos_q[3, j] - seen_re[3, j] * sin_q[3, j])
            if sa:
                for j in range(LANES):
                    total = den[j] + b0 * (seen_re[0, j] * cos_q[0, j] + seen_im[0, j] * sin_q[0, j])
                    total += b1 * (seen_re[1, j] * cos_q[1, j] + seen_im[1, j] * sin_q[1, j])
                    total += b2 * (seen_re[2, j] * cos_q[2, j] + seen_im[2, j] * sin_q[2, j])
                    den[j] = total + b3 * (seen_re[3, j] * cos_q[3, j] + seen_im[3, j] * sin_q[3, j])
            prefix_re[k], prefix_re[k + 1], prefix_re[k + 2], prefix_re[k + 3] = re0, re1, re2, re3
            prefix_im[k], prefix_im[k + 1], prefix_im[k + 2], prefix_im[k + 3] = im0, im1, im2, im3
            k += SWEEP
        while k < count:
            wk, bk = w[k], b[k]
            p_re, p_im = prefix_re[k], prefix_im[k]
            for j in range(last - first):  # the prefix sum runs through the lanes in token order
                cj, sj = c[j], s[j]
                p_re += cj
                p_im += sj
                num[j] += wk * (p_im * cj - p_re * sj)
                if sa:
                    den[j] += bk * (p_re * cj + p_im * sj)
            prefix_re[k], prefix_im[k] = p_re, p_im
            for j in range(LANES):
                c[j], s[j] = _rotate(c[j], s[j], cos1[j], sin1[j])
            k += 1
        for j in range(last - first):
            seen = first + j + 1
            _store(out, first + j, num[j] / (i0 * seen + den[j]) if sa else num[j] / seen, cos1[j], sin1[j])


def _causal_series(theta, a, b, i0, scale, counts, sa, sums_re, sums_im, out):
    """Causal dtheta/dt (module docstring) into out (systems, n) from the task sums of `_task_moments` of theta
    (systems, n), with the coefficients of `_series`: each task starts from the sum of the tasks before it in
    its system. A parallel loop over the tasks of all systems; the result does not depend on the threads."""
    systems, n = theta.shape[0], theta.shape[1]
    tasks = (n + TASK - 1) // TASK
    prefix_re, prefix_im = np.zeros((systems * tasks, a.shape[1])), np.zeros((systems * tasks, a.shape[1]))
    w = np.zeros(a.shape)
    for system in range(systems):
        for k in range(counts[system]):
            w[system, k] = a[system, k] if sa else scale[system] * a[system, k]
            total_re, total_im = 0.0, 0.0
            for task in range(system * tasks, (system + 1) * tasks):
                prefix_re[task, k], prefix_im[task, k] = total_re, total_im
                total_re += sums_re[task, k]
                total_im += sums_im[task, k]
    for task in prange(systems * tasks):
        system = task // tasks
        start = (task - system * tasks) * TASK
        count = counts[system]
        _causal_series_task(theta[system], start, min(start + TASK, n), prefix_re[task, :count],
                            prefix_im[task, :count], w[system, :count], b[system, :count], i0[system], sa,
                            out[system])


_rotate = njit(cache=True, fastmath=False, inline="always")(_rotate)
_add_sweep = njit(cache=True, fastmath=False, inline="always")(_add_sweep)
_store = njit(cache=True, fastmath=False)(_store)
_first_harmonics = njit(cache=True, fastmath=False)(_first_harmonics)
_moment_task = njit(cache=True, fastmath=False)(_moment_task)
_lane_buffers = njit(cache=True, fastmath=False)(_lane_buffers)
_start_lanes = njit(cache=True, fastmath=False)(_start_lanes)
_series_task = njit(cache=True, fastmath=False)(_series_task)
_causal_series_task = njit(cache=True, fastmath=False)(_causal_series_task)


def _compiled(function, parallel: bool = False, name: str | None = None, **bound):
    """`function` compiled by Numba, serially or with `parallel=True`, cached on disk, with the globals `bound`
    replaced (the same loop over other per-token work). Numba's cache is indexed by the function's name and
    signature, not by its flags or what it calls: compiled twice under one name, whichever variant was cached
    first would be loaded for both (the parallel kernels then ran serially). Each variant is therefore compiled
    from a copy under its own name (`name`, with `_parallel` appended for the parallel one)."""
    function = getattr(function, "py_func", function)  # the Python function of a compiled one
    name = (name or function.__name__) + ("_parallel" if parallel else "")
    copy = types.FunctionType(function.__code__, {**function.__globals__, **bound}, name)
    copy.__qualname__ = name
    return njit(cache=True, fastmath=False, parallel=parallel)(copy)


def _passes(parallel: bool, points: bool) -> dict:
    """The kernel's passes ("moments", "series", "task_moments", "causal_series"), serial or parallel, on angles
    (systems, n) or on points (systems, n, 2): these start from the points' directions and write velocities in the
    plane (`_point_harmonics`, `_store_tangent`)."""
    if not points:
        return {"moments": _compiled(_moments, parallel), "series": _compiled(_series, parallel),
                "task_moments": _compiled(_task_moments, parallel), "causal_series": _compiled(_causal_series, parallel)}
    return {"moments": _compiled(_moments, parallel, "_point_moments", _moment_task=_point_moment_task),
            "series": _compiled(_series, parallel, "_point_series", _series_task=_point_series_task),
            "task_moments": _compiled(_task_moments, parallel, "_point_task_moments", _moment_task=_point_moment_task),
            "causal_series": _compiled(_causal_series, parallel, "_point_causal_series",
                                       _causal_series_task=_point_causal_series_task)}


_point_harmonics = njit(cache=True, fastmath=False, error_model="numpy")(_point_harmonics)  # 1 / 0 is inf
_store_tangent = njit(cache=True, fastmath=False)(_store_tangent)
_point_start_lanes = _compiled(_start_lanes, name="_point_start_lanes", _first_harmonics=_point_harmonics)
_point_moment_task = _compiled(_moment_task, name="_point_moment_task", _first_harmonics=_point_harmonics)
_point_series_task = _compiled(_series_task, name="_point_series_task", _start_lanes=_point_start_lanes,
                               _store=_store_tangent)
_point_causal_series_task = _compiled(_causal_series_task, name="_point_causal_series_task",
                                      _start_lanes=_point_start_lanes, _store=_store_tangent)
COMPILED = {(parallel, points): _passes(parallel, points) for parallel in (False, True) for points in (False, True)}


def _broadcast(values, shape: tuple, dtype=np.float64) -> np.ndarray:
    """`values` (shared by all systems, or one row per system) broadcast to `shape`, in C order (as they are where
    they already are so: a hot path)."""
    if isinstance(values, np.ndarray) and values.shape == shape and values.dtype == dtype and \
            values.flags.c_contiguous:
        return values
    if not isinstance(values, np.ndarray) and len(shape) == 1:
        return np.full(shape, values, dtype=dtype)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(values, dtype=dtype), shape))


def moments(tokens: np.ndarray, count, parallel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(Re m_k, Im m_k), k = 1..count, each (systems, max count), of float64 tokens in C order: angles theta
    (systems, n), or points (systems, n, 2) of the plane (their directions; no angle computed); `count` one number,
    or one per system (the entries beyond a system's count are 0)."""
    counts = _broadcast(count, tokens.shape[:1], np.int64)
    re, im = np.empty((tokens.shape[0], int(counts.max()))), np.empty((tokens.shape[0], int(counts.max())))
    COMPILED[parallel, tokens.ndim == 3]["moments"](tokens, counts, re, im)
    return re, im


def task_sums(tokens: np.ndarray, counts: np.ndarray, parallel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(Re, Im) of sum_j e^{ik theta_j} over the tokens of each task (systems * tasks, max count) of float64
    tokens (angles (systems, n) or points (systems, n, 2)), C order, `counts` (systems,) int64: the moments pass of
    the causal velocity."""
    shape = (tokens.shape[0] * ((tokens.shape[1] + TASK - 1) // TASK), int(counts.max()))
    sums_re, sums_im = np.zeros(shape), np.zeros(shape)
    COMPILED[parallel, tokens.ndim == 3]["task_moments"](tokens, counts, sums_re, sums_im)
    return sums_re, sums_im


def velocity(kind: str, a: np.ndarray, b: np.ndarray, i0, scale, tokens: np.ndarray, out: np.ndarray,
             parallel: bool = False, moments_of_tokens: tuple[np.ndarray, np.ndarray] | None = None,
             counts=None, causal: bool = False) -> np.ndarray:
    """The velocity (module docstring) into `out` for float64 tokens of independent systems (C order), each with
    its own moments: angles theta (systems, n) give dtheta/dt (systems, n); points (systems, n, 2) of the plane
    give dtheta/dt (-sin theta, cos theta) (systems, n, 2), theta the angle of their direction.
    (a, b, i0) from `bessel_coefficients`, scale = e^beta (USA). Shared by all systems, or one per system:
    a, b (M,) or (systems, M) (zero beyond a system's count), i0 and scale numbers or (systems,), counts (the modes
    of each system; default M) a number or (systems,).
    `moments_of_tokens`: (Re m_k, Im m_k) of the tokens, k = 1..count at least, if the caller has them.
    `causal`: the prefix moments of causal attention (module docstring; `moments_of_tokens` is not used)."""
    systems, modes = tokens.shape[:1], (tokens.shape[0], np.shape(a)[-1])
    a, b = _broadcast(a, modes), _broadcast(b, modes)
    counts = _broadcast(modes[1] if counts is None else counts, systems, np.int64)
    passes = COMPILED[parallel, tokens.ndim == 3]
    if causal:
        passes["causal_series"](tokens, a, b, _broadcast(i0, systems), _broadcast(scale, systems), counts,
                                kind == "sa", *task_sums(tokens, counts, parallel), out)
        return out
    re, im = moments(tokens, counts, parallel) if moments_of_tokens is None else moments_of_tokens
    passes["series"](tokens, a, b, _broadcast(i0, systems), _broadcast(scale, systems), counts, kind == "sa", re, im,
                     out)
    return out
