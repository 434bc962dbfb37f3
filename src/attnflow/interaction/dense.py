"""Dense attention velocity for any dim and any Q, K, V, in row blocks under a memory budget.

For tokens x (or their directions, Pre-LN) the attention output is
  A_i = sum_j w_ij V x_j,  w_ij = e^{beta <Q x_i, K x_j>} / Z_i,
with Z_i = sum_k e^{beta<Q x_i, K x_k>} (SA) or Z_i = n (USA) (docs/science.md §1).
Rows are processed in blocks so that no block of weights exceeds `memory_budget`
bytes: n = 10^6 never allocates an n x n matrix. Exponents are shifted by a row
bound before exp, so large beta stays finite (USA multiplies the shift back).
With identity Q, K the bound beta |x_i| max_j |x_j| is attained (j = i) on the
sphere, so it costs no extra pass; otherwise the exact row maximum is used.
On CUDA, SA in float32/float16 goes through PyTorch's fused attention kernel.
On the CPU, a small system (n^2 <= KERNEL_MAX_PAIRS, float64 or float32) goes through the fused Numba
kernel of `dense_kernel`, which computes the same sums in one call: at n = 200 the blocked path's dozen
tensor operations, not its arithmetic, set its cost. The blocked path is the reference it is tested against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import dense_kernel

DEFAULT_MEMORY_BUDGET = 2**28  # bytes of attention weights per block (256 MiB)
KERNEL_MAX_PAIRS = 2**20  # n^2 up to which the CPU kernel is used (benchmarks/small.py measures the crossover)


def block_rows(n: int, element_size: int, memory_budget: int) -> int:
    """Rows of an (n, n) array whose block of rows x n elements of `element_size` bytes fits in
    `memory_budget` bytes: at least 1, at most n."""
    return max(1, min(n, memory_budget // max(1, n * element_size)))


def attention(kind: str, beta: float, x: torch.Tensor, Q=None, K=None, V=None,
              memory_budget: int = DEFAULT_MEMORY_BUDGET, fused: bool | None = None,
              kernel: bool | None = None) -> torch.Tensor:
    """Attention output A_i = sum_j w_ij V x_j (unprojected), shape (n, d) (docs/science.md §1).

    `fused=None` uses the fused kernel where it applies (CUDA, SA, not float64).
    `kernel=None` uses the CPU kernel of `dense_kernel` where it applies (CPU, float64 or float32, no
    gradient, n^2 <= KERNEL_MAX_PAIRS); False forces the blocked PyTorch path.
    """
    n = x.shape[0]
    if kernel is None:
        kernel = (not fused and x.device.type == "cpu" and x.dtype in _KERNEL_DTYPES and n * n <= KERNEL_MAX_PAIRS
                  and not x.requires_grad)
    if kernel:
        return _kernel_attention(kind, beta, x, Q, K, V)
    queries = x if Q is None else x @ torch.as_tensor(Q, dtype=x.dtype, device=x.device).T
    keys = x if K is None else x @ torch.as_tensor(K, dtype=x.dtype, device=x.device).T
    values = x if V is None else x @ torch.as_tensor(V, dtype=x.dtype, device=x.device).T
    if fused is None:
        fused = kind == "sa" and x.is_cuda and x.dtype != torch.float64
    if fused:
        return _fused_softmax_attention(beta, queries, keys, values, memory_budget)
    key_norm = torch.linalg.vector_norm(keys, dim=1).max()
    shared_bound = Q is None and K is None  # <x_i, x_j> <= |x_i| max|x_j|, attained at j = i on the sphere
    if kind == "sa":  # one matmul gives numerator and normaliser: append a column of ones
        values = torch.cat((values, torch.ones(n, 1, dtype=x.dtype, device=x.device)), dim=1)
    rows = block_rows(n, x.element_size(), memory_budget)
    out = torch.empty(n, x.shape[1], dtype=x.dtype, device=x.device)
    keys_t = keys.T.contiguous()
    for start in range(0, n, rows):
        q = queries[start:start + rows]
        if shared_bound:
            shift = beta * torch.linalg.vector_norm(q, dim=1, keepdim=True) * key_norm
            weights = torch.addmm(-shift, q, keys_t, alpha=beta)
        else:
            weights = torch.mm(q, keys_t).mul_(beta)
            shift = weights.amax(dim=1, keepdim=True)
            weights.sub_(shift)
        weighted = torch.mm(weights.exp_(), values)
        if kind == "sa":
            out[start:start + rows] = weighted[:, :-1] / weighted[:, -1:]
        else:
            out[start:start + rows] = weighted * (torch.exp(shift) / n)
    return out


_KERNEL_DTYPES = (torch.float64, torch.float32)


def _kernel_attention(kind, beta, x, Q, K, V):
    """`attention` through the CPU kernel; Q, K, V are applied by torch (the blocked path's rounding)."""
    x = x.detach().contiguous()
    array = x.numpy()
    queries = array if Q is None else (x @ torch.as_tensor(Q, dtype=x.dtype).T).numpy()
    keys = array if K is None else (x @ torch.as_tensor(K, dtype=x.dtype).T).numpy()
    values = array if V is None else (x @ torch.as_tensor(V, dtype=x.dtype).T).numpy()
    return torch.from_numpy(dense_kernel.attention(kind, beta, queries, keys, values, Q is None and K is None))


def _fused_softmax_attention(beta, queries, keys, values, memory_budget):
    n = queries.shape[0]
    rows = max(1, min(n, memory_budget // max(1, queries.shape[1] * queries.element_size())))
    out = torch.empty_like(values)
    for start in range(0, n, rows):
        out[start:start + rows] = F.scaled_dot_product_attention(
            queries[None, start:start + rows], keys[None], values[None], scale=beta)[0]
    return out
