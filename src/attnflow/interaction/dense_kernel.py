"""Fused CPU kernel for the dense attention of a small system (docs/science.md §1), compiled by Numba.

For queries q_i, keys k_j and values v_j (rows of (n, d), (n, d), (n, d_v) arrays, already projected by
Q, K, V) the kernel computes, row by row and without an (n, n) array,

  A_i = sum_j w_ij v_j,  w_ij = e^{beta <q_i, k_j> - shift_i},
  SA:  A_i divided by sum_j w_ij;   USA: A_i times e^{shift_i} / n,

with the shift of `dense.attention`: the bound beta |q_i| max_j |k_j| where `shared_bound` (identity Q, K:
attained at j = i on the sphere), else the row maximum of beta <q_i, k_j>. Every exponent is <= 0 (up to
rounding), so large beta stays finite. Causal attention (docs/science.md §7): row i (counted
from 1) runs over j <= i only and USA divides by i instead of n; the row's passes stop at the multiple of
LANES above i, so the work is about half. It exists because a small system is bound by per-call overhead:
at n = 200 the PyTorch path spends most of its time in the dozen tensor operations, not the arithmetic.

Each row takes three passes over the tokens, each a loop that LLVM vectorises: the logits (keys held
transposed, (d, n)), e^t (a Cody–Waite reduction by ln 2 and Cephes' Padé form of e^r on |r| <= ln2/2,
relative error about 2e-16, with 2^k built from the bits of the rounded exponent, in two factors so that
exponents down to -745 give the subnormals and below it 0, as libm does), and the sums over j, kept in
LANES partial sums per component (lane = j mod LANES) that are then added by halving, in a fixed order; the
loop runs over the lanes innermost for narrow values, over the components innermost from d_v = WIDE (the same
sums in the same order, vectorised over the components). Serial: the kernel
is used only below the size where PyTorch's multithreaded blocked path wins (dense.KERNEL_MAX_PAIRS).
Compiled for float64 and float32 inputs; the arithmetic is in float64 either way. A batch (B, n, d) of
independent systems, each with its own beta, is looped over inside one compiled call, each system by the
same code as alone (bit-identical results): the phase diagram's ensembles (n = 32, B = 56 to 272) pay one
call, not B.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LANES = 8  # partial sums per component (the vector width of the summation loop; 4, 16, 32 measured slower)
WIDE = 8  # d_v from which the sums run with the components innermost (faster from d_v = 8, slower at 3)

LOG2E = 1.4426950408889634074
SHIFTER = 6755399441055744.0  # 1.5 * 2^52: t LOG2E + SHIFTER rounds t LOG2E to an integer in its low bits
SHIFTER_BITS = 0x4338000000000000  # the bits of SHIFTER as an int64
# ln 2 = LN2_HI + LN2_LO (Cephes): LN2_HI has few significant bits, so k LN2_HI is exact
LN2_HI = 6.93145751953125e-1
LN2_LO = 1.42860682030941723212e-6
FLOOR = -746.0  # e^t < 2^-1075 below: rounds to 0
# Cephes exp.c: e^r = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2))
P0, P1, P2 = 1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1
Q0, Q1, Q2, Q3 = (3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1,
                  2.00000000000000000009e0)


@njit(cache=True, fastmath=False, error_model="numpy")
def _exponentials(t, count, limit, scale, shift, mantissa, rounded, scale_a, scale_b):
    """t[j] <- e^{scale t[j] - shift} for j < count (exponents <= ~0), using the scratch arrays (each of
    len(t)); t[count:limit] <- 0."""
    shifter_bits = SHIFTER_BITS
    for j in range(count):
        x = scale * t[j] - shift
        x = x if x > FLOOR else FLOOR
        z = x * LOG2E + SHIFTER
        k = z - SHIFTER
        r = (x - k * LN2_HI) - k * LN2_LO
        rr = r * r
        p = r * ((P0 * rr + P1) * rr + P2)
        mantissa[j] = 1.0 + 2.0 * (p / ((((Q0 * rr + Q1) * rr + Q2) * rr + Q3) - p))
        rounded[j] = z
    bits = rounded.view(np.int64)
    a_bits = scale_a.view(np.int64)
    b_bits = scale_b.view(np.int64)
    for j in range(count):
        k = bits[j] - shifter_bits
        half = k >> 1
        a_bits[j] = (half + 1023) << 52
        b_bits[j] = (k - half + 1023) << 52
    for j in range(count):
        t[j] = mantissa[j] * scale_a[j] * scale_b[j]
    for j in range(count, limit):
        t[j] = 0.0


@njit(cache=True, fastmath=False, error_model="numpy")
def _sums_by_lane(t, values_t, padded, acc, totals):
    """totals[c] = sum_j t_j v_jc (c < d_v) and totals[d_v] = sum_j t_j over j < padded (a multiple of LANES), in
    lane sums acc (d_v + 1, LANES) added by halving; t is 0 beyond the tokens summed. The lanes innermost."""
    dv = values_t.shape[0]
    for c in range(dv + 1):
        for lane in range(LANES):
            acc[c, lane] = 0.0
    for c in range(dv):
        row = values_t[c]
        partial = acc[c]
        for first in range(0, padded, LANES):
            for lane in range(LANES):
                partial[lane] += t[first + lane] * row[first + lane]
    partial = acc[dv]
    for first in range(0, padded, LANES):
        for lane in range(LANES):
            partial[lane] += t[first + lane]
    width = LANES
    while width > 1:
        width //= 2
        for c in range(dv + 1):
            for lane in range(width):
                acc[c, lane] += acc[c, lane + width]
    for c in range(dv + 1):
        totals[c] = acc[c, 0]


@njit(cache=True, fastmath=False, error_model="numpy")
def _sums_by_component(t, values, n, acc_t, totals):
    """`_sums_by_lane` with the components innermost: acc_t (LANES, d_v + 1), values (n, d_v); the same partial
    sums in the same order (the padding beyond n, which adds zeros there, is skipped)."""
    dv = values.shape[1]
    for lane in range(LANES):
        for c in range(dv + 1):
            acc_t[lane, c] = 0.0
    for j in range(n):
        weight = t[j]
        partial = acc_t[j % LANES]
        row = values[j]
        for c in range(dv):
            partial[c] += weight * row[c]
        partial[dv] += weight
    width = LANES
    while width > 1:
        width //= 2
        for lane in range(width):
            for c in range(dv + 1):
                acc_t[lane, c] += acc_t[lane + width, c]
    for c in range(dv + 1):
        totals[c] = acc_t[0, c]


@njit(cache=True, fastmath=False, error_model="numpy")
def _attention(queries, keys, values, beta, sa, shared_bound, causal, out):
    """The module docstring's A into out (n, d_v), from queries, keys (n, d), values (n, d_v); `causal`: row i
    over j <= i."""
    n, d = queries.shape
    dv = values.shape[1]
    padded = (n + LANES - 1) // LANES * LANES
    keys_t = np.zeros((d, padded))
    values_t = np.zeros((dv, padded))
    for j in range(n):
        for c in range(d):
            keys_t[c, j] = keys[j, c]
        for c in range(dv):
            values_t[c, j] = values[j, c]
    key_norm = 0.0
    if shared_bound:
        for j in range(n):
            square = 0.0
            for c in range(d):
                square += float(keys[j, c]) * float(keys[j, c])
            key_norm = max(key_norm, math.sqrt(square))
    t = np.empty(padded)
    mantissa, rounded = np.empty(padded), np.empty(padded)
    scale_a, scale_b = np.empty(padded), np.empty(padded)
    acc, acc_t, totals = np.empty((dv + 1, LANES)), np.empty((LANES, dv + 1)), np.empty(dv + 1)
    for i in range(n):
        count = i + 1 if causal else n  # the tokens row i sees
        width = (count + LANES - 1) // LANES * LANES if causal else padded
        q0 = float(queries[i, 0])
        row = keys_t[0]
        for j in range(width):
            t[j] = q0 * row[j]
        for c in range(1, d):
            qc = float(queries[i, c])
            row = keys_t[c]
            for j in range(width):
                t[j] += qc * row[j]
        if shared_bound:  # beta <q_i, k_j> - beta |q_i| max |k|
            square = 0.0
            for c in range(d):
                square += float(queries[i, c]) * float(queries[i, c])
            shift = beta * math.sqrt(square) * key_norm
            _exponentials(t, count, width, beta, shift, mantissa, rounded, scale_a, scale_b)
        else:  # (<q_i, k_j> beta) - its row maximum
            shift = -math.inf
            for j in range(count):
                t[j] *= beta
                shift = max(shift, t[j])
            _exponentials(t, count, width, 1.0, shift, mantissa, rounded, scale_a, scale_b)
        if dv < WIDE:
            _sums_by_lane(t, values_t, width, acc, totals)
        else:
            _sums_by_component(t, values, count, acc_t, totals)
        if sa:
            for c in range(dv):
                out[i, c] = totals[c] / totals[dv]
        else:
            factor = math.exp(shift) / count
            for c in range(dv):
                out[i, c] = totals[c] * factor


@njit(cache=True, fastmath=False, error_model="numpy")
def _attention_systems(queries, keys, values, betas, sa, shared_bound, causal, out):
    """`_attention` of each system of a batch: queries, keys (B, n, d), values (B, n, d_v), betas (B,)."""
    for system in range(queries.shape[0]):
        _attention(queries[system], keys[system], values[system], betas[system], sa, shared_bound, causal,
                   out[system])


def attention(kind: str, beta, queries: np.ndarray, keys: np.ndarray, values: np.ndarray,
              shared_bound: bool, causal: bool = False) -> np.ndarray:
    """A (module docstring) of float64 or float32 arrays queries, keys (n, d) and values (n, d_v), in their dtype;
    or of each system of a batch, queries, keys (B, n, d), values (B, n, d_v), beta a number or (B,);
    `causal`: row i over j <= i."""
    batch = queries.ndim == 3
    queries, keys, values = (array if batch else array[None] for array in (queries, keys, values))
    betas = np.ascontiguousarray(np.broadcast_to(np.asarray(beta, dtype=np.float64), queries.shape[:1]))
    out = np.empty(values.shape, dtype=values.dtype)
    _attention_systems(queries, keys, values, betas, kind == "sa", bool(shared_bound), bool(causal), out)
    return out if batch else out[0]
