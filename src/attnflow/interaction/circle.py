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
"""

from __future__ import annotations

import threading

import numpy as np
import torch

from .. import threads
from ..spectrum import bessel_coefficients
from . import circle_kernel


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
    """cos(k theta_j) and sin(k theta_j) for k = 1..kmax, each (kmax, len(theta)), in reused buffers."""
    phase, cos, sin = _workspace.get((kmax, theta.shape[0]), theta.dtype, theta.device)
    k = torch.arange(1, kmax + 1, dtype=theta.dtype, device=theta.device)
    torch.mul(k[:, None], theta[None, :], out=phase)
    return torch.cos(phase, out=cos), torch.sin(phase, out=sin)


def angular_velocity(kind: str, beta: float, theta: torch.Tensor) -> torch.Tensor:
    """dtheta_i/dt for the SA or USA dynamics on the circle (identity parameters), shape (n,):
    USA  dtheta_i/dt = -(2/beta) sum_k k I_k(beta) Im(e^{ik theta_i} conj(m_k)),
    SA   the same divided by I_0(beta) + 2 sum_k I_k(beta) Re(e^{ik theta_i} conj(m_k)).

    CPU tensors go to the fused kernel of `circle_kernel` (on `threads.kernel_threads` threads; float32 is
    computed in float64 and rounded), other devices to `torch_angular_velocity` (as do tensors that require
    a gradient: neither path differentiates, and that one says so)."""
    if theta.device.type != "cpu" or theta.requires_grad:
        return torch_angular_velocity(kind, beta, theta)
    a, b, i0 = bessel_coefficients(beta)
    angles = theta.detach().to(torch.float64).contiguous()
    omega = torch.empty_like(angles)
    with threads.kernel_threads(theta.shape[0] * len(a)) as count:
        scale = float(np.exp(beta)) if kind == "usa" else 1.0  # SA: the factors e^{-beta} cancel
        circle_kernel.velocity(kind, a, b, i0, scale, angles.numpy()[None], omega.numpy()[None], count > 1)
    return omega.to(theta.dtype)


def torch_angular_velocity(kind: str, beta: float, theta: torch.Tensor) -> torch.Tensor:
    """`angular_velocity` in PyTorch tensor operations (any device); the reference of the kernel in the tests.

    Tokens are taken in blocks of CHUNK: a first pass sums the moments m_k, a second
    evaluates the series (reusing the harmonics when there is a single block)."""
    a, b, i0 = bessel_coefficients(beta)
    a = torch.as_tensor(a, dtype=theta.dtype, device=theta.device)
    b = torch.as_tensor(b, dtype=theta.dtype, device=theta.device)
    blocks = theta.split(CHUNK)
    re = torch.zeros(len(a), dtype=theta.dtype, device=theta.device)  # m_k = re_k + i im_k
    im = torch.zeros_like(re)
    for block in blocks:
        cos, sin = _harmonics(block, len(a))
        re += cos.sum(1)
        im += sin.sum(1)
    re, im = re / theta.shape[0], im / theta.shape[0]
    out = torch.empty_like(theta)
    start = 0
    for block in blocks:
        if len(blocks) > 1:
            cos, sin = _harmonics(block, len(a))
        # Im(e^{ik theta} conj m_k) = sin(k theta) re_k - cos(k theta) im_k
        numerator = (a * im) @ cos - (a * re) @ sin
        if kind == "usa":
            out[start:start + len(block)] = numerator * float(np.exp(beta))
        else:  # Re(e^{ik theta} conj m_k) = cos(k theta) re_k + sin(k theta) im_k
            out[start:start + len(block)] = numerator / (i0 + (b * re) @ cos + (b * im) @ sin)
        start += len(block)
    return out


def moments(theta: torch.Tensor, count: int) -> np.ndarray:
    """m_k = (1/n) sum_j e^{i k theta_j}, k = 1..count (complex, float64) of angles theta (n,): the kernel's
    moments pass for CPU tensors (the first half of `angular_velocity`), tensor operations elsewhere."""
    if theta.device.type != "cpu":
        k = torch.arange(1, count + 1, dtype=theta.dtype, device=theta.device)[:, None]
        phase = k * theta[None, :]
        return (torch.cos(phase).mean(1) + 1j * torch.sin(phase).mean(1)).cpu().numpy().astype(np.complex128)
    angles = theta.detach().to(torch.float64).contiguous().numpy()[None]
    with threads.kernel_threads(theta.shape[0] * count) as threads_used:
        re, im = circle_kernel.moments(angles, count, threads_used > 1)
    return re[0] + 1j * im[0]
