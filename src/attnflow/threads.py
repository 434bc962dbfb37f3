"""How many threads attnflow's compiled (Numba) kernels use.

A parallel region pays only when the work is large and every thread gets a core: on a machine that
other processes keep busy, a region waits for its slowest, descheduled thread (PyTorch's ~20 regions
per circle velocity made one evaluation 11x slower with two threads than with one). The policy:

* `ATTNFLOW_NUM_THREADS=k` in the environment: always k threads (the user's override);
* work below GRAIN per thread (token-modes, ~0.05 ms of one pass): one thread, no parallel region;
* otherwise the count is chosen by measurement, per calling thread: the kernel runs alternately on one
  thread and on `min(cores, work / GRAIN)` threads for WINDOW calls each, the faster per unit of work
  is kept for the next EXPLOIT * WINDOW calls, then both are measured again. A machine that becomes
  busy (or quiet) is followed within a few hundred calls, and the default is never slower than one
  thread by more than the share of calls spent measuring the slower choice.
The kernels sum in a fixed order, so the thread count never changes a result.

Numba's threading layer is set to "workqueue" (for the whole process) unless NUMBA_THREADING_LAYER says
otherwise: its workers sleep on a condition variable instead of spinning, and it needs no OpenMP runtime
next to PyTorch's. Measured on the 2-core machine (benchmarks/RESULTS.md, "busy"), "omp" is within the
noise of it, quiet and busy; TBB was not installed. Workqueue does not allow two parallel regions at
once, so a region is entered under a lock, and a thread that finds it taken runs serially.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time

import numba

ENVIRONMENT = "ATTNFLOW_NUM_THREADS"
GRAIN = 100_000  # token-modes per thread below which one thread is used
WINDOW = 16  # calls per measurement of one choice
EXPLOIT = 8  # windows on the faster choice between measurements

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

_region = threading.Lock()


class _Tuner(threading.local):
    """Per calling thread: the phase of the measure / exploit cycle and the measured cost per unit work."""

    def __init__(self):
        self.calls = 0
        self.cost = {}  # thread count -> seconds per unit work, measured over its last window
        self.window = [0.0, 0]  # seconds and work so far in the current measuring window

    def choose(self, parallel: int) -> tuple[int, bool]:
        """(count, measuring) for the next call: a window each of 1 and `parallel` threads, then the faster."""
        phase = self.calls % ((2 + EXPLOIT) * WINDOW)
        self.calls += 1
        if phase < 2 * WINDOW:
            return (1 if phase < WINDOW else parallel), True
        faster = self.cost.get(parallel, math.inf) < self.cost.get(1, math.inf)
        return (parallel if faster else 1), False

    def record(self, count: int, work: int, seconds: float) -> None:
        """Add a measuring call; at the end of its window, the window's cost becomes `count`'s cost."""
        self.window[0] += seconds
        self.window[1] += work
        if self.calls % WINDOW == 0:
            self.cost[count] = self.window[0] / self.window[1]
            self.window = [0.0, 0]


_tuner = _Tuner()


def requested() -> int | None:
    """The thread count set by ATTNFLOW_NUM_THREADS (at least 1, at most Numba's pool), or None."""
    value = os.environ.get(ENVIRONMENT)
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        from .errors import ParameterError
        raise ParameterError(ENVIRONMENT, value, "a whole number of threads >= 1")
    return min(int(value), numba.config.NUMBA_NUM_THREADS)


@contextlib.contextmanager
def kernel_threads(work: int):
    """Yield the number of threads for a kernel call of `work` units (token-modes) and run the block with
    Numba set to it; a measuring call's wall time goes to the tuner (module docstring)."""
    fixed = requested()
    parallel = min(numba.config.NUMBA_NUM_THREADS, max(1, work // GRAIN))
    count, measuring = (fixed, False) if fixed is not None else (1, False) if parallel == 1 else \
        _tuner.choose(parallel)
    locked = count > 1 and _region.acquire(blocking=False)
    if not locked:
        count = 1  # one thread asked for, or another thread is inside a parallel region
    try:
        if count > 1:
            numba.set_num_threads(count)
        start = time.perf_counter()
        yield count
        if measuring:
            _tuner.record(count, work, time.perf_counter() - start)
    finally:
        if locked:
            _region.release()


def describe() -> str:
    """The threading setup in words, for benchmark reports."""
    layer = os.environ.get("NUMBA_THREADING_LAYER", numba.config.THREADING_LAYER)
    return (f"Numba {numba.__version__}, layer {layer}, pool of {numba.config.NUMBA_NUM_THREADS} threads, "
            f"{ENVIRONMENT}={os.environ.get(ENVIRONMENT, '(unset: measured choice)')}")


@contextlib.contextmanager
def torch_threads(count: int | None):
    """PyTorch's intra-op thread count inside the block (None: unchanged), restored after. A time loop whose
    heavy work runs in a compiled kernel keeps torch on one thread: its remaining small tensor operations
    (~2e4 numbers) each open a parallel region, which waits ~10 ms for a descheduled thread on a busy machine."""
    import torch
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
