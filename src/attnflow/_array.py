"""NumPy in, NumPy out; torch in, torch out: the conversions at the API boundary."""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import torch

from .errors import AttnflowError, ParameterError
from .threads import TORCH_OPERATION_GRAIN

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def all_finite(tensor: torch.Tensor) -> bool:
    """No NaN and no infinity in `tensor`. A finite sum proves it in one reduction (NaN and infinities propagate
    through a sum), a small system's hot path (benchmarks/small.py); a sum that overflows falls back to
    max |t| (amax propagates NaN). CPU float32/float64 tensors large enough for PyTorch to sum them in parallel are
    summed by NumPy, on one thread: PyTorch's reduction waited up to ~20 ms for a descheduled thread on a busy
    machine (benchmarks/particles.py)."""
    if tensor.numel() >= TORCH_OPERATION_GRAIN and tensor.device.type == "cpu" and \
            tensor.dtype in (torch.float64, torch.float32):  # (an empty tensor sums to 0 below)
        values = tensor.detach().numpy()
        return math.isfinite(float(values.sum())) or bool(np.isfinite(values).all())
    return math.isfinite(float(tensor.sum())) or math.isfinite(float(tensor.abs().amax()))


@functools.lru_cache(maxsize=None)
def float_range(dtype: torch.dtype) -> tuple[float, float, str]:
    """(the largest number, its log, the name) of a float dtype: read on every velocity (a hot path), so kept."""
    largest = torch.finfo(dtype).max
    return largest, math.log(largest), str(dtype).replace("torch.", "")


def resolve_dtype(dtype) -> torch.dtype:
    """'float64' / 'float32' / a torch dtype -> torch dtype."""
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if dtype in DTYPES:
        return DTYPES[dtype]
    raise ParameterError("dtype", dtype, "float64 or float32")


def resolve_device(device) -> torch.device:
    """'cpu', 'cuda', 'cuda:1', ... -> torch.device, checked to exist."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ParameterError("device", device, "cpu, cuda or cuda:N") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device", device, "cpu (no CUDA device is available here)")
    if resolved.type not in ("cpu", "cuda"):
        raise ParameterError("device", device, "cpu, cuda or cuda:N")
    return resolved


def to_tensor(array, name: str = "x", dtype=None, device=None) -> tuple[torch.Tensor, Callable]:
    """Convert a NumPy array or tensor to a floating tensor; also return the inverse conversion.

    A tensor keeps its device and (floating) dtype unless told otherwise; a NumPy
    array becomes float64 on the CPU unless told otherwise.
    """
    if isinstance(array, torch.Tensor):
        tensor = array
        restore = lambda out: out  # noqa: E731
        if not tensor.is_floating_point():
            tensor = tensor.to(torch.float64)
    else:
        try:
            tensor = torch.as_tensor(np.asarray(array, dtype=np.float64))
        except (TypeError, ValueError) as error:
            raise AttnflowError(f"{name} must be a numeric array: {error}") from error
        restore = lambda out: out.detach().cpu().numpy()  # noqa: E731
    if dtype is not None:
        tensor = tensor.to(resolve_dtype(dtype))
    if device is not None:
        tensor = tensor.to(resolve_device(device))
    return tensor, restore
