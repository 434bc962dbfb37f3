"""Dense attention velocity for any dim and any Q, K, V, in blocks under a memory budget.

For tokens x (or their directions, Pre-LN) the attention output is
  A_i = sum_j w_ij V x_j,  w_ij = e^{beta <Q x_i, K x_j>} / Z_i,
with Z_i = sum_k e^{beta<Q x_i, K x_k>} (SA) or Z_i = n (USA) (docs/science.md §1).
Rows are processed in blocks so that no block of weights exceeds `memory_budget` bytes: n = 10^6 never
allocates an n x n matrix. Blocks are also capped at CACHE_BLOCK bytes, whatever the budget: beyond a few MiB
the exponentials and products run out of cache (n = 8000, d = 3: ~200 ms in 64 MiB blocks, ~70 ms in 16 MiB ones).
Exponents are shifted before exp, so large beta stays finite (USA multiplies the shift back). With identity
Q, K the shift is one number per system, beta max_j |x_j|^2 >= beta <x_i, x_j> (Cauchy–Schwarz), reached in
every row (j = i) when the tokens have equal norms (on the sphere): no extra pass and a scalar subtraction, and
none at all while e^{+-beta max|x|^2} stays far inside the float range (UNSHIFTED; beta <= 283 on the float64
sphere). Where the norms spread so much that a row could underflow (beta (max|x|^2 - min|x|^2) > SHIFT_SPREAD),
and for other Q, K, the exact row maximum is used.
Each block is a handful of tensor operations (`_block`): a small system is bound by their count, not by their
arithmetic, so whole systems (where they fit) are one block, faster than row blocks and than the fused Numba
kernel of the same sums that this path replaced (benchmarks/small.py).
Causal attention (docs/science.md §7): row i (counted from 1) sums over j <= i only, SA normalises over those,
USA divides by i instead of n. A block of rows [s, e) then reads the columns j < e alone and masks the
triangle above the diagonal inside its last e - s columns: blocks above the diagonal are never computed.
Beyond n^2 = CAUSAL_WHOLE_PAIRS the rows are cut into at least CAUSAL_BLOCKS blocks (of CAUSAL_MIN_ROWS rows at
least), so the arithmetic is about (1/2 + 1/(2 CAUSAL_BLOCKS)) of the unmasked one; below, a whole system is
one block, its hidden triangle computed and zeroed (the operation count sets the cost there).
On the CPU, torch's thread count for a call is chosen by the tuner of `threads` (one thread against torch's
count, measured, the faster kept): a parallel region waits for its slowest thread, and on a busy machine one
thread wins. On CUDA, SA in float32/float16 goes through PyTorch's fused attention kernel (causal: its lower-right
aligned causal mask, which a block of rows [s, e) against the keys j < e needs).
Tokens may come as a batch (B, n, d) of independent systems (an ensemble: seeds, and beta per system), each
with its own weights; a single system is a batch of one, and beta multiplies the queries before the product,
so every system gets the numbers it gets alone, bit for bit, wherever the blocks are whole systems (tested),
and within 1e-13 of them in row blocks. A block of weights spans systems x rows, under the same bounds.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
import torch.nn.functional as F

from .. import threads
from .._array import float_range
from ..errors import ParameterError, check, check_real

DEFAULT_MEMORY_BUDGET = 2**28  # bytes of attention weights per block (256 MiB)
CACHE_BLOCK = 2**24  # bytes of weights per block at most, whatever the budget (module docstring)
CAUSAL_WHOLE_PAIRS = 2**18  # causal: n^2 up to which the whole system beats row blocks that skip the hidden half
CAUSAL_BLOCKS = 16  # row blocks at least, causal (n >= 1024): the work is 1/2 + 1/32 of the unmasked one
CAUSAL_MIN_ROWS = 64  # rows of a causal block at least (fewer, and per-block overhead dominates)
LARGEST_EXPONENT = math.log(np.finfo(np.float64).max)  # e^x overflows beyond
UNSHIFTED = 0.4  # identity Q, K: no shift while beta max|x|^2 <= 0.4 log(largest float): every e^{beta <x_i, x_j>}
# lies in [e^-284, e^284] (float64; float32 [e^-35, e^35]), and a sum of n of them stays finite for n up to 1e12
SHIFT_SPREAD = 300.0  # identity Q, K: the system's shift is one number while no row falls e^-300 below it


def block_rows(n: int, element_size: int, memory_budget: int) -> int:
    """Rows of an (n, n) array whose block of rows x n elements of `element_size` bytes fits in
    `memory_budget` bytes: at least 1, at most n."""
    return max(1, min(n, memory_budget // max(1, n * element_size)))


def system_betas(beta, systems: int | None) -> float | np.ndarray:
    """beta of a batch of `systems` independent systems (None: a single system), finite and >= 0: one number
    shared by all, returned as a float (as are equal values), or, for a batch, one value per system, a float64
    array (systems,)."""
    if isinstance(beta, float) and math.isfinite(beta) and beta >= 0:  # the common case, first
        return beta
    if np.ndim(beta) == 0:
        return check_real("beta", beta.item() if hasattr(beta, "item") else beta, 0.0)
    values = np.array(beta.detach().cpu().numpy() if isinstance(beta, torch.Tensor) else beta, dtype=np.float64)
    allowed = "a number" if systems is None else f"a number or {systems} values, one per system"
    check(systems is not None and values.shape == (systems,), "beta", f"array of shape {values.shape}", allowed)
    check(bool(np.isfinite(values).all() and (values >= 0).all()), "beta", values, "finite values >= 0")
    return float(values[0]) if (values == values[0]).all() else values


def attention(kind: str, beta: float, x: torch.Tensor, Q=None, K=None, V=None,
              memory_budget: int = DEFAULT_MEMORY_BUDGET, fused: bool | None = None,
              causal: bool = False, unit: bool = False) -> torch.Tensor:
    """Attention output A_i = sum_j w_ij V x_j (unprojected) of tokens x (n, d), shape (n, d), or of each system
    of a batch x (B, n, d), shape (B, n, d), `beta` one number or B values (docs/science.md §1); `causal`: the
    sums over j <= i only (module docstring). `unit`: the caller knows every |x_i| = 1 (to rounding: directions,
    or tokens just retracted), so that identity Q, K take the shift beta without measuring the norms.

    `fused=None` uses PyTorch's fused attention kernel where it applies (CUDA, SA, not float64).
    """
    if not (x.ndim == 2 or (x.ndim == 3 and x.shape[0] >= 1)):
        raise ParameterError("x", f"array of shape {tuple(x.shape)}",
                             "an (n, d) array or a batch (B, n, d) of B >= 1 systems")
    beta = system_betas(beta, x.shape[0] if x.ndim == 3 else None)
    n = x.shape[-2]
    batch = x if x.ndim == 3 else x[None]
    queries = batch if Q is None else batch @ torch.as_tensor(Q, dtype=x.dtype, device=x.device).T
    keys = batch if K is None else batch @ torch.as_tensor(K, dtype=x.dtype, device=x.device).T
    values = batch if V is None else batch @ torch.as_tensor(V, dtype=x.dtype, device=x.device).T
    if isinstance(beta, np.ndarray):
        beta = torch.as_tensor(beta, dtype=x.dtype, device=x.device)[:, None, None]
    if fused is None:
        fused = kind == "sa" and x.is_cuda and x.dtype != torch.float64
    if fused:
        out = _fused_softmax_attention(beta, queries, keys, values, memory_budget, causal)
    else:
        pairs = batch.shape[0] * n * n  # CPU: torch's threads by measurement, or guarded against stalls
        with threads.torch_block(pairs, "dense") if x.device.type == "cpu" else contextlib.nullcontext():
            out = _blocked_attention(kind, beta, queries, keys, values, Q is None and K is None, memory_budget,
                                     causal, unit)
    return out if x.ndim == 3 else out[0]


def _blocked_attention(kind, beta, queries, keys, values, shared_bound, memory_budget, causal=False, unit=False):
    """`attention` of a batch (B, n, d), beta a float or (B, 1, 1), in blocks of systems x rows whose weights
    fit min(memory_budget, CACHE_BLOCK) bytes: whole systems at a time where they fit, else rows of one
    system (`_block`). `shared_bound`: identity Q, K, whose shift may be one number per system (`system_shifts`;
    `unit`: of unit tokens). `causal`: a block of rows [s, e) reads the columns j < e only."""
    systems, n, width = values.shape
    budget = min(memory_budget, CACHE_BLOCK)
    if causal and n * n > CAUSAL_WHOLE_PAIRS:  # enough blocks for the skipped triangle to matter
        budget = min(budget, max(CAUSAL_MIN_ROWS, -(-n // CAUSAL_BLOCKS)) * n * queries.element_size())
    rows = block_rows(n, queries.element_size(), budget)
    per_block = max(1, min(systems, budget // (rows * n * queries.element_size())))
    bounds = system_shifts(beta, keys, unit) if shared_bound else None
    if rows == n and per_block == systems:
        return _block(kind, beta, queries, keys, values, bounds, 0 if causal else None)
    out = torch.empty(systems, n, width, dtype=values.dtype, device=values.device)
    for first in range(0, systems, per_block):
        group = slice(first, first + per_block)
        scale = beta if isinstance(beta, float) else beta[group]
        bound = bounds if bounds is None or systems == 1 else tuple(part[group] for part in bounds)
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            visible = stop if causal else n  # the columns j < visible
            out[group, start:stop] = _block(kind, scale, queries[group, start:stop], keys[group, :visible],
                                            values[group, :visible], bound, start if causal else None)
    return out


def system_shifts(beta, keys: torch.Tensor, unit: bool = False):
    """(shift, e^shift) of each system of keys (B, n, d) with identity Q, K: shift = beta max_j |x_j|^2 (module
    docstring; |x_j| = 1 for `unit` tokens), or 0 (no shift) while that is at most UNSHIFTED of the log of the
    dtype's largest number; floats for a single system, else tensors (B, 1, 1) of the same numbers. The bound
    d max_jk x_jk^2 >= max_j |x_j|^2 (one reduction) settles most systems unshifted; the norms themselves are
    computed only when it does not. None where a shifted system's norms spread beyond SHIFT_SPREAD (the row
    maximum is then used, for the whole batch). Computed in Python floats, so that a batch gets the bits of its
    systems alone (a batch subtracts the 0 that a single system skips)."""
    systems = keys.shape[0]
    betas = [beta] * systems if isinstance(beta, float) else beta.flatten().tolist()
    unshifted = UNSHIFTED * float_range(keys.dtype)[1]
    if unit:
        low = high = [1.0] * systems
    else:
        entries = _extremes(keys.reshape(systems, -1))
        bounds = [keys.shape[2] * max(l * l, h * h) for l, h in zip(*entries)]
        if all(b * bound <= unshifted for b, bound in zip(betas, bounds)):
            return (0.0, 1.0) if systems == 1 else _as_columns(keys, [0.0] * systems, [1.0] * systems)
        low, high = _extremes(torch.linalg.vector_norm(keys, dim=2))
    shifts = [b * h * h if b * h * h > unshifted else 0.0 for b, h in zip(betas, high)]
    if any(shift and b * (h * h - l * l) > SHIFT_SPREAD for shift, b, l, h in zip(shifts, betas, low, high)):
        return None
    growths = [math.exp(shift) if shift < LARGEST_EXPONENT else math.inf for shift in shifts]  # as torch.exp
    return (shifts[0], growths[0]) if systems == 1 else _as_columns(keys, shifts, growths)


def _extremes(values: torch.Tensor) -> tuple[list[float], list[float]]:
    """(the minimum, the maximum) of each row of values (B, m), as lists of floats."""
    if values.shape[0] == 1:
        return tuple([value.item()] for value in torch.aminmax(values))
    return tuple(extreme.tolist() for extreme in torch.aminmax(values, dim=1))


def _as_columns(like: torch.Tensor, *numbers: list[float]) -> tuple[torch.Tensor, ...]:
    """Each list of per-system numbers as a tensor (B, 1, 1) of like's dtype and device."""
    return tuple(torch.tensor(values, dtype=like.dtype, device=like.device)[:, None, None] for values in numbers)


def _block(kind, beta, queries, keys, values, bound, causal_start: int | None) -> torch.Tensor:
    """The attention output of a block of rows (B, r, d) against the keys and values (B, m, d) they read, in a
    handful of tensor operations (a small system is bound by their count: benchmarks/small.py): the shifted
    logits, exp in place, one product with the values, then SA's normalisation or USA's scale e^{shift} / n.
    bound: (shift, e^shift) of each system (`system_shifts`), None for the row maximum. causal_start: the index
    of the block's first row (row i sees j <= i), None without the mask. A single system is a batch of one: a
    batch gives each system its numbers alone, bit for bit."""
    scaled = queries * beta  # beta inside the product, the same bits for one beta or one per system
    weights = torch.bmm(scaled, keys.transpose(1, 2))
    hidden = None if causal_start is None else _above_diagonal(queries.shape[1], weights.device)
    if bound is None:
        if hidden is not None:
            weights[..., causal_start:].masked_fill_(hidden, -torch.inf)
        shift = weights.amax(dim=2, keepdim=True)
        growth = None
    else:
        shift, growth = bound
    if not (isinstance(shift, float) and shift == 0.0):  # (`system_shifts`: small systems skip the subtraction)
        weights.sub_(shift)  # one subtraction: faster than baddbmm at n = 200
    weights.exp_()
    if hidden is not None and bound is not None:
        weights[..., causal_start:].masked_fill_(hidden, 0.0)
    out = torch.bmm(weights, values)
    if kind == "sa":
        return out.div_(weights.sum(dim=2, keepdim=True))
    rows = queries.shape[1]
    seen = (keys.shape[1] if causal_start is None else
            torch.arange(causal_start + 1, causal_start + rows + 1, dtype=out.dtype, device=out.device)[:, None])
    if growth is None:
        return out.mul_(shift.exp_().div_(seen))
    if causal_start is None:
        return out.mul_(growth / seen)
    return out.mul_(growth).div_(seen)  # not growth / seen: a float over a tensor multiplies by a reciprocal


def _above_diagonal(rows: int, device) -> torch.Tensor:
    """The (rows, rows) boolean mask of j > i: the hidden part of a causal block's last `rows` columns."""
    return torch.ones(rows, rows, dtype=torch.bool, device=device).triu_(1)


def _fused_softmax_attention(beta, queries, keys, values, memory_budget, causal=False):
    """SA of a batch (B, n, d) by PyTorch's fused kernel; a beta per system (B, 1, 1) scales the queries.
    `causal`: rows [s, e) against the keys j < e with the lower-right aligned causal mask (row i sees j <= i)."""
    from torch.nn.attention.bias import causal_lower_right  # imports torch._dynamo: only where it is used

    systems, n, d = queries.shape
    if not isinstance(beta, float):
        queries, beta = queries * beta, 1.0
    rows = max(1, min(n, memory_budget // max(1, systems * d * queries.element_size())))
    out = torch.empty_like(values)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        if causal:
            out[:, start:stop] = F.scaled_dot_product_attention(
                queries[:, start:stop], keys[:, :stop], values[:, :stop], scale=beta,
                **({"is_causal": True} if start == 0 else {"attn_mask": causal_lower_right(stop - start, stop)}))
        else:
            out[:, start:stop] = F.scaled_dot_product_attention(queries[:, start:stop], keys, values, scale=beta)
    return out
