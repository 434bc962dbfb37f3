"""Spherical-harmonic transforms on a Legendre–Gauss grid of S^2, by torch-harmonics (docs/science.md §8).

torch-harmonics is optional (the `sphere` extra: pip install "attnflow[sphere]"); it is imported here, only
when a density on S^2 is transformed. Conventions (checked by the tests): the grid has nlat colatitudes
theta_i (north to south, the Gauss–Legendre nodes in cos theta) and nlon longitudes phi_j = 2 pi j / nlon;
coefficients f_lm, l < lmax, 0 <= m < mmax, are orthonormal against the area element dA, with
f = sum_l (f_l0 Y_l0 + 2 Re sum_{m>0} f_lm Y_lm) for a real f; a tangent field (u_theta, u_phi) has
spheroidal and toroidal coefficients (S_lm, T_lm) with u = grad_S S + (curl part), so div_S u = sum -l(l+1) S_lm.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..errors import AttnflowError

EXTRA = 'pip install "attnflow[sphere]" (torch-harmonics; see the README)'


def torch_harmonics():
    """The torch_harmonics module, or an AttnflowError saying how to install it."""
    try:
        import torch_harmonics as th
    except ImportError as error:
        raise AttnflowError(f"the PDE on S^2 needs torch-harmonics, which is not installed: {EXTRA}") from error
    return th


@dataclass(frozen=True)
class Transforms:
    """The scalar and vector transforms between an nlat x nlon Legendre–Gauss grid and degrees l < lmax."""

    forward: torch.nn.Module
    inverse: torch.nn.Module
    vector_forward: torch.nn.Module
    vector_inverse: torch.nn.Module


@lru_cache(maxsize=16)
def transforms(nlat: int, nlon: int, lmax: int, device: str = "cpu") -> Transforms:
    """The transforms of an nlat x nlon grid for degrees and orders below lmax (cached)."""
    th = torch_harmonics()
    grid = {"lmax": lmax, "mmax": lmax, "grid": "legendre-gauss"}
    modules = (th.RealSHT(nlat, nlon, **grid), th.InverseRealSHT(nlat, nlon, **grid),
               th.RealVectorSHT(nlat, nlon, **grid), th.InverseRealVectorSHT(nlat, nlon, **grid))
    return Transforms(*(module.to(torch.device(device)) for module in modules))


def power(coefficients: torch.Tensor) -> np.ndarray:
    """S_l = 4 pi / (2l + 1) sum_{m=-l}^{l} |f_lm|^2 over the last two axes (l, m), for f = rho a density against
    dA: the Gegenbauer power ∬ P_l(<x, y>) rho(x) rho(y) dA dA of docs/science.md §3 (addition theorem)."""
    squared = coefficients.abs() ** 2
    total = squared[..., 0] + 2 * squared[..., 1:].sum(-1)
    l = torch.arange(coefficients.shape[-2], dtype=total.dtype, device=total.device)
    return (4 * np.pi / (2 * l + 1) * total).cpu().numpy()
