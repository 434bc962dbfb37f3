"""The exact Fourier–Bessel interaction on the circle (docs/science.md §1), O(n M) per evaluation.

With angles theta_j and moments m_k = (1/n) sum_j e^{i k theta_j}:
  e^{beta cos phi} = I_0(beta) + 2 sum_k I_k(beta) cos k phi,
  -e^{beta cos phi} sin phi = -(2/beta) sum_k k I_k(beta) sin k phi (differentiate the first line),
so the USA angular velocity is
  dtheta_i/dt = -(2/beta) sum_k k I_k(beta) Im(e^{i k theta_i} conj(m_k)),
and SA divides it by I_0(beta) + 2 sum_k I_k(beta) Re(e^{i k theta_i} conj(m_k)).
Both are computed with exponentially scaled Bessel functions ive = I e^{-beta};
USA multiplies back by e^{beta}. The series is cut at M modes, where the terms fall
below `spectrum.TRUNCATION` relative to the largest one (M = 26 at beta = 5): `spectrum.bessel_coefficients`.
Causal attention (docs/science.md §7): token i (counted from 1) sees j <= i only, so m_k becomes
the prefix moment m_k^(i) = (1/i) sum_{j<=i} e^{i k theta_j} (cumulative sums): still exact and O(n M).
Angles may come as a batch (B, n) of independent systems (an ensemble: seeds, and beta per system), each with
its own moments m_k (and, with its own beta, its own coefficients and M): the kernel gives every system the
numbers it gets alone, bit for bit; the tensor path within 1e-13 (its blocks of CHUNK tokens span the batch,
and its padded coefficients change the order of its sums).
"""

from __future__ import annotations

import functools
import threading

import numpy as np
import torch

from .. import sphere, threads
from ..errors import check
from ..spectrum import bessel_coefficients
from . import circle_kernel
from .dense import system_betas


class _Workspace(threading.local):
    """Per-thread buffers for cos(k theta_j), sin(k theta_j): reusing them avoids returning
    megabytes to the OS and faulting them back in at every evaluation (a 2x cost)."""

    def get(self, shape, dtype, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        key = (shape, dtype, device)
        if getattr(self, "key", None) != key:
            self.key = key
            self.buffers = tuple(torch.empty(shape, dtype=dtype, device=device) for _ in range(3))
        return self.buffers


_workspace = _Workspace()
CHUNK = 2**16  # tokens per block of harmonics: at most 3 * CHUNK * M doubles held


def _harmonics(theta: torch.Tensor, kmax: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos(k theta_j) and sin(k theta_j) for k = 1..kmax of angles theta (systems, n), each (systems, kmax, n),
    in reused buffers."""
    phase, cos, sin = _workspace.get((theta.shape[0], kmax, theta.shape[1]), theta.dtype, theta.device)
    k = torch.arange(1, kmax + 1, dtype=theta.dtype, device=theta.device)
    torch.mul(k[:, None], theta[:, None, :], out=phase)
    return torch.cos(phase, out=cos), torch.sin(phase, out=sin)


def _systems(theta: torch.Tensor) -> torch.Tensor:
    """Angles theta (n,) as a batch of one system, (1, n); a batch (B, n) as it is."""
    check(theta.ndim == 1 or (theta.ndim == 2 and theta.shape[0] >= 1), "theta", f"array of shape "
          f"{tuple(theta.shape)}", "angles (n,) or a batch (B, n) of B >= 1 systems")
    return theta if theta.ndim == 2 else theta[None]


def series_coefficients(kind: str, beta, systems: int):
    """(a, b, i0, scale, counts) of the series (module docstring; scale = e^beta for USA, 1 for SA, whose
    factors e^{-beta} cancel), one row per system as the kernel reads them (C order: a, b (systems, M), zero beyond
    a system's count of modes; i0, scale, counts (systems,)): those of `bessel_coefficients` at a shared beta (a
    float; kept for the next call, not to be changed), or at beta of `system_betas`, one per system."""
    if isinstance(beta, float):
        return _shared_series_coefficients(kind, beta, systems)
    values, system_value = np.unique(beta, return_inverse=True)
    table = [bessel_coefficients(float(value)) for value in values]
    counts = np.array([len(a) for a, _, _ in table])
    a, b = np.zeros((len(values), counts.max())), np.zeros((len(values), counts.max()))
    for row, (a_row, b_row, _) in enumerate(table):
        a[row, :len(a_row)], b[row, :len(b_row)] = a_row, b_row
    i0 = np.array([i0 for _, _, i0 in table])
    scale = np.array([float(np.exp(value)) if kind == "usa" else 1.0 for value in values])
    return a[system_value], b[system_value], i0[system_value], scale[system_value], counts[system_value]


@functools.lru_cache(maxsize=64)
def _shared_series_coefficients(kind: str, beta: float, systems: int):
    """`series_coefficients` at one beta shared by `systems` systems (a hot path: kept)."""
    a, b, i0 = bessel_coefficients(beta)
    return (np.repeat(a[None], systems, axis=0), np.repeat(b[None], systems, axis=0), np.full(systems, i0),
            np.full(systems, float(np.exp(beta)) if kind == "usa" else 1.0), np.full(systems, len(a), dtype=np.int64))


def angular_velocity(kind: str, beta, theta: torch.Tensor, causal: bool = False) -> torch.Tensor:
    """dtheta_i/dt for the SA or USA dynamics on the circle (identity parameters) of angles theta (n,), shape
    (n,), or of each system of a batch theta (B, n), shape (B, n), `beta` one number or B values:
    USA  dtheta_i/dt = -(2/beta) sum_k k I_k(beta) Im(e^{ik theta_i} conj(m_k)),
    SA   the same divided by I_0(beta) + 2 sum_k I_k(beta) Re(e^{ik theta_i} conj(m_k));
    `causal`: with the prefix moments m_k^(i) instead of m_k (module docstring).

    CPU tensors go to the fused kernel of `circle_kernel` (on `threads.kernel_threads` threads; float32 is
    computed in float64 and rounded), other devices to `torch_angular_velocity` (as do tensors that require
    a gradient: neither path differentiates, and that one says so)."""
    if theta.device.type != "cpu" or theta.requires_grad:
        return torch_angular_velocity(kind, beta, theta, causal)
    return _kernel_velocity(kind, beta, _systems(theta), theta.ndim == 2, causal)


def tangent_velocity(kind: str, beta, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
    """dx_i/dt = (dtheta_i/dt) (-sin theta_i, cos theta_i) of tokens x (n, 2), or a batch (B, n, 2), with theta_i the
    angle of x_i / |x_i| and dtheta_i/dt that of `angular_velocity`. CPU tensors go to the kernel on the points
    themselves (no angle is computed: one velocity at n = 2e4 cost 0.4 ms more through atan2 and back); others
    through their angles and `angular_velocity`."""
    if x.device.type != "cpu" or x.requires_grad:
        theta = sphere.angles(x)
        omega = angular_velocity(kind, beta, theta, causal)
        return omega[..., None] * torch.stack((-torch.sin(theta), torch.cos(theta)), dim=-1)
    return _kernel_velocity(kind, beta, x if x.ndim == 3 else x[None], x.ndim == 3, causal)


def _kernel_velocity(kind: str, beta, batch: torch.Tensor, batched: bool, causal: bool) -> torch.Tensor:
    """`circle_kernel.velocity` of a batch of CPU tokens (angles (B, n) or points (B, n, 2)), computed in float64
    on `threads.kernel_threads` threads and returned in their dtype; the first system alone unless `batched`."""
    a, b, i0, scale, counts = series_coefficients(kind, system_betas(beta, batch.shape[0] if batched else None),
                                                  batch.shape[0])
    tokens = batch.detach().to(torch.float64).contiguous()
    velocity = torch.empty_like(tokens)
    with threads.kernel_threads(tokens.shape[1] * int(counts.sum()), "circle velocity") as count:
        circle_kernel.velocity(kind, a, b, i0, scale, tokens.numpy(), velocity.numpy(), count > 1, counts=counts,
                               causal=causal)
    velocity = velocity.to(batch.dtype)
    return velocity if batched else velocity[0]


def torch_angular_velocity(kind: str, beta, theta: torch.Tensor, causal: bool = False) -> torch.Tensor:
    """`angular_velocity` in PyTorch tensor operations (any device); the reference of the kernel in the tests.

    Tokens are taken in blocks of CHUNK (over the whole batch): a first pass sums the moments m_k, a second
    evaluates the series (reusing the harmonics when there is a single block). `causal`: one pass, the
    prefix moments by cumulative sums carried from block to block (`_causal_velocity`)."""
    batch = _systems(theta)
    systems, n = batch.shape
    a, b, i0, scale, _ = series_coefficients(kind, system_betas(beta, systems if theta.ndim == 2 else None), systems)
    a, b = (torch.as_tensor(value, dtype=theta.dtype, device=theta.device) for value in (a, b))
    i0, scale = (torch.as_tensor(value, dtype=theta.dtype, device=theta.device).reshape(-1, 1) for value in (i0, scale))
    modes = a.shape[-1]
    blocks = batch.split(max(1, CHUNK // systems), dim=1)
    if causal:
        out = _causal_velocity(kind, blocks, a, b, i0, scale)
        return out if theta.ndim == 2 else out[0]
    re = torch.zeros(systems, modes, dtype=theta.dtype, device=theta.device)  # m_k = re_k + i im_k
    im = torch.zeros_like(re)
    for block in blocks:
        cos, sin = _harmonics(block, modes)
        re += cos.sum(2)
        im += sin.sum(2)
    re, im = re / n, im / n
    out = torch.empty_like(batch)
    start = 0
    for block in blocks:
        if len(blocks) > 1:
            cos, sin = _harmonics(block, modes)
        # Im(e^{ik theta} conj m_k) = sin(k theta) re_k - cos(k theta) im_k
        numerator = (torch.bmm((a * im)[:, None], cos) - torch.bmm((a * re)[:, None], sin))[:, 0]
        if kind == "usa":
            out[:, start:start + block.shape[1]] = numerator * scale
        else:  # Re(e^{ik theta} conj m_k) = cos(k theta) re_k + sin(k theta) im_k
            denominator = i0 + torch.bmm((b * re)[:, None], cos)[:, 0] + torch.bmm((b * im)[:, None], sin)[:, 0]
            out[:, start:start + block.shape[1]] = numerator / denominator
        start += block.shape[1]
    return out if theta.ndim == 2 else out[0]


def _causal_velocity(kind: str, blocks, a, b, i0, scale) -> torch.Tensor:
    """Causal dtheta/dt of the blocks of tokens (each (systems, chunk)) with the series' coefficients a, b ((M,) or
    (systems, M)) and i0, scale (systems or 1, 1): the prefix sums P_k(i) = sum_{j<=i} e^{ik theta_j} (0-based i)
    are cumulative sums, carried from block to block, and m_k^(i) = P_k(i) / (i + 1)."""
    modes = a.shape[-1]
    a, b = a.reshape(-1, modes, 1), b.reshape(-1, modes, 1)
    carry_re = torch.zeros(blocks[0].shape[0], modes, 1, dtype=a.dtype, device=a.device)
    carry_im = torch.zeros_like(carry_re)
    out, start = [], 0
    for block in blocks:
        cos, sin = _harmonics(block, modes)
        seen = torch.arange(start + 1, start + block.shape[1] + 1, dtype=a.dtype, device=a.device)
        re = torch.cumsum(cos, 2).add_(carry_re)
        im = torch.cumsum(sin, 2).add_(carry_im)
        carry_re, carry_im = re[..., -1:], im[..., -1:]
        # Im(e^{ik theta} conj P_k) = sin(k theta) Re P_k - cos(k theta) Im P_k
        numerator = (a * (im * cos - re * sin)).sum(1) / seen
        if kind == "usa":
            out.append(numerator * scale)
        else:  # Re(e^{ik theta} conj P_k) = cos(k theta) Re P_k + sin(k theta) Im P_k
            out.append(numerator / (i0 + (b * (re * cos + im * sin)).sum(1) / seen))
        start += block.shape[1]
    return torch.cat(out, dim=1)


def moments(theta: torch.Tensor, count: int) -> np.ndarray:
    """m_k = (1/n) sum_j e^{i k theta_j}, k = 1..count (complex, float64) of angles theta (n,), shape (count,), or
    of each system of a batch theta (B, n), shape (B, count): the kernel's moments pass for CPU tensors (the
    first half of `angular_velocity`), tensor operations elsewhere."""
    batch = _systems(theta)
    if theta.device.type != "cpu":
        k = torch.arange(1, count + 1, dtype=theta.dtype, device=theta.device)[:, None]
        phase = k * batch[:, None, :]
        result = (torch.cos(phase).mean(2) + 1j * torch.sin(phase).mean(2)).cpu().numpy().astype(np.complex128)
    else:
        angles = batch.detach().to(torch.float64).contiguous().numpy()
        with threads.kernel_threads(batch.numel() * count, "circle moments") as threads_used:
            re, im = circle_kernel.moments(angles, count, threads_used > 1)
        result = re + 1j * im
    return result if theta.ndim == 2 else result[0]


def point_moments(x: torch.Tensor, count: int) -> np.ndarray:
    """`moments` of tokens given as points x (n, 2) of the circle, or a batch (B, n, 2): on the CPU the kernel's
    moments pass started from their directions x / |x| (no angles computed), elsewhere `moments` of their angles."""
    if x.device.type != "cpu":
        return moments(sphere.angles(x), count)
    batch = x if x.ndim == 3 else x[None]
    points = batch.detach().to(torch.float64).contiguous().numpy()
    with threads.kernel_threads(batch.shape[0] * batch.shape[1] * count, "circle moments") as threads_used:
        re, im = circle_kernel.moments(points, count, threads_used > 1)
    result = re + 1j * im
    return result if x.ndim == 3 else result[0]
