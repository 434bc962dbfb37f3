"""How many threads attnflow's compiled (Numba) kernels use.

A parallel region pays only when the work is large and every thread gets a core: on a machine that
other processes keep busy, a region waits for its slowest, descheduled thread (PyTorch's ~20 regions
per circle velocity made one evaluation 11x slower with two threads than with one). The policy:

* `ATTNFLOW_NUM_THREADS=k` in the environment: always k threads (the user's override);
* work below GRAIN per thread (token-modes, ~0.05 ms of one pass): one thread, no parallel region;
* otherwise the count is chosen by measurement, per calling thread: the kernel runs on one thread and then on
  `min(cores, work / GRAIN)` threads for a window each (WINDOW calls, or fewer once WINDOW_SECONDS are spent: one
  long call, such as a compiled block of time steps, is a window by itself); the faster per unit of work is kept
  for the next EXPLOIT * WINDOW calls or SPAN_SECONDS of them, whichever ends first (the first call of each
  choice, which may load compiled code or start a thread pool, is not counted), a span that doubles (up to
  MAX_BACKOFF times) each time the same choice wins again, then both are measured again. The calls on a kept
  parallel choice are timed too: once they cost more than one thread did, one thread is kept for the rest of the
  span. A machine that becomes busy (or quiet) is followed, and the default is never slower than one thread by
  more than the measuring windows of the slower choice: at most WINDOW_SECONDS or one call each, ever rarer while
  nothing changes. A caller whose work divides (a block of time steps, `circle_steps`) makes a call that measures
  the parallel choice short (`probing`): on a busy machine one parallel call can take ten times one thread's.
The kernels sum in a fixed order, so the thread count never changes a result.

PyTorch's intra-op threads follow the same tuner for blocks of tensor operations of at least 2 TORCH_GRAIN
elements (`kernel_threads(library="torch")`, `torch_block`). Below that the tuner's measurements cost more than
they save, and a stall guard watches instead (`_StallGuard`): after STALLS calls in a row that took
STALL_SECONDS each, the next STALL_CALLS calls run on one thread.

Numba's threading layer is OpenMP where it is available (else workqueue), unless NUMBA_THREADING_LAYER says
otherwise. Its parallel regions run on PyTorch's OpenMP runtime: torch loads its libgomp with global symbols and
Numba's OpenMP pool binds to it (seen with LD_DEBUG=bindings), so the two share one pool of threads, with the wait
policy that runtime read when torch was imported (GNU OpenMP's default: an idle worker spins ~3 ms, then sleeps).
OMP_WAIT_POLICY set later changes nothing in this process; read by a subprocess before it imports torch,
"passive" made the circle kernel 1.7x slower quiet (0.55 against 0.32 ms, n = 2e4, 2 threads) and a dense
velocity of 200 tokens 5x slower (353 against 64 µs), so attnflow leaves the wait policy to the user. Measured on
the 2-core machine (benchmarks/RESULTS.md, "busy"): OpenMP 0.32 ms quiet against 0.57 ms on one thread,
workqueue 0.80-0.88 ms (its region start costs more than the pass). Regions are entered under a lock
(workqueue does not allow two at once), and a thread that finds it taken runs serially.
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
TORCH_OPERATION_GRAIN = 2**15  # elements below which PyTorch runs an operation on one thread (at::internal::GRAIN_SIZE)
TORCH_GRAIN = 2**17  # the same for a block of PyTorch operations, in its elements: below ~0.3 ms of work the
# tuner costs more than it can save (n = 200, d = 3: 63 -> 75-89 µs per af.velocity); the stall guard watches
# instead
WINDOW = 16  # calls per measurement of one choice (at most)
WINDOW_SECONDS = 0.005  # a measuring window ends once its calls took this long
EXPLOIT = 8  # windows on the faster choice between measurements, before backing off
MAX_BACKOFF = 64  # the span on a choice that keeps winning doubles up to this factor
SPAN_SECONDS = 1.0  # a span also ends once its calls took this long (times the backoff)
STALL_SECONDS = 0.005  # a call of PyTorch work too small for the tuner that took this long waited for a thread
STALLS = 3  # such calls in a row: a stalled pool, not a hiccup of the machine
STALL_CALLS = 1000  # calls on one thread after them (doubling while stalls recur, up to MAX_BACKOFF times)

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]

_region = threading.Lock()


class _Tuner:
    """Per calling thread and kernel: the measure / exploit cycle (module docstring) and the measured cost per
    unit work."""

    def __init__(self):
        self.cost = {}  # thread count -> seconds per unit work, measured over its last window
        self.measuring = 1  # the choice being measured (1, then the parallel count), or None while exploiting
        self.window = [0.0, 0, 0]  # seconds, work and calls so far in the current measuring window
        self.left = 0  # calls left on the faster choice before the next measurement
        self.winner, self.backoff = None, 1
        self.kept = [0.0, 0]  # seconds and work of the calls on the kept parallel choice in this span
        self.spent = 0.0  # seconds of all the calls in this span
        self.warm = set()  # the choices called at least once: a first call (compiled code loaded, a thread pool
        # started: 12 ms against 0.6 ms for a block of two circle steps) is not a measurement

    def choose(self, parallel: int) -> tuple[int, bool]:
        """(count, measuring) for the next call."""
        if self.measuring is None and self.left == 0:
            self.measuring = 1
        if self.measuring is not None:
            return (1 if self.measuring == 1 else parallel), True
        self.left -= 1
        return (parallel if self.cost.get(parallel, math.inf) < self.cost.get(1, math.inf) else 1), False

    def record(self, count: int, work: int, seconds: float) -> None:
        """Add a measuring call; at the end of its window, the window's cost becomes `count`'s cost, and after
        the parallel window the faster choice is kept (for longer each time it wins again). A choice's first call
        is not counted."""
        if count not in self.warm:
            self.warm.add(count)
            return
        self.window = [self.window[0] + seconds, self.window[1] + work, self.window[2] + 1]
        if self.window[2] < WINDOW and self.window[0] < WINDOW_SECONDS:
            return
        self.cost[count] = self.window[0] / max(self.window[1], 1)
        self.window = [0.0, 0, 0]
        if count == 1:
            self.measuring = "parallel"
            return
        winner = count if self.cost[count] < self.cost[1] else 1
        self.backoff = min(2 * self.backoff, MAX_BACKOFF) if winner == self.winner else 1
        self.winner, self.measuring, self.left = winner, None, EXPLOIT * WINDOW * self.backoff
        self.kept, self.spent = [0.0, 0], 0.0

    def exploit(self, count: int, work: int, seconds: float) -> None:
        """Add a call of the span: the span ends once its calls took SPAN_SECONDS times the backoff (long calls: a
        machine that became quiet again is followed within that time, not thousands of calls later). On the kept
        parallel choice, once its calls so far (at least WINDOW_SECONDS of them) cost more per unit work than one
        thread did, one thread is kept instead for the rest of the span (a machine that became busy, or a window
        that missed the stalls of a descheduled thread)."""
        self.spent += seconds
        if self.spent >= SPAN_SECONDS * self.backoff:
            self.left = 0
        if count == 1:
            return
        self.kept = [self.kept[0] + seconds, self.kept[1] + work]
        if self.kept[0] >= WINDOW_SECONDS and self.kept[0] / max(self.kept[1], 1) > self.cost.get(1, math.inf):
            self.cost[count], self.winner, self.backoff = self.kept[0] / max(self.kept[1], 1), 1, 1


class _Tuners(threading.local):
    """Per calling thread, one tuner per kernel: kernels differ in their cost per unit work."""

    def __init__(self):
        self.by_kernel = {}

    def get(self, kernel: str) -> _Tuner:
        tuner = self.by_kernel.get(kernel)  # (not setdefault: that would build a _Tuner at every call)
        if tuner is None:
            tuner = self.by_kernel[kernel] = _Tuner()
        return tuner


_tuners = _Tuners()


def probing(kernel: str) -> bool:
    """Whether the kernel named `kernel`'s next call (from this thread) measures the parallel choice: a caller
    whose work divides (a block of time steps) then makes that call short, so that a parallel choice measured on
    a busy machine, where it can be ten times slower, costs one short call (`circle_steps.advance`)."""
    tuner = _tuners.get(kernel)
    return requested() is None and tuner.measuring not in (None, 1)


def requested() -> int | None:
    """The thread count set by ATTNFLOW_NUM_THREADS (at least 1, at most Numba's pool), or None."""
    value = os.environ.get(ENVIRONMENT)
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        from .errors import ParameterError
        raise ParameterError(ENVIRONMENT, value, "a whole number of threads >= 1")
    return min(int(value), numba.config.NUMBA_NUM_THREADS)


def kernel_threads(work: int, kernel: str, library: str = "numba", grain: int | None = None) -> "_KernelThreads":
    """A context for one call of the kernel named `kernel` on `work` units (token-modes; for torch the elements of
    its largest arrays, GRAIN and TORCH_GRAIN per thread at least, or `grain`): it yields the number of threads
    and runs the block with `library`'s threads ("numba", or "torch": PyTorch's intra-op threads, restored
    after) set to it; the call's wall time goes to that kernel's tuner (module docstring). torch: the parallel
    choice is at most torch's thread count on entry, and a block too small for a parallel choice leaves torch
    as it is."""
    return _KernelThreads(work, kernel, library, grain)


class _KernelThreads:
    """`kernel_threads`' context, a class rather than a generator: it wraps small calls (a circle velocity of
    64 tokens takes ~30 µs, a dense one of 200 tokens ~40 µs), where a generator's context costs ~2 µs more."""

    def __init__(self, work: int, kernel: str, library: str, grain: int | None):
        self.work, self.kernel, self.library, self.grain = work, kernel, library, grain

    def __enter__(self) -> int:
        import torch

        fixed = requested()
        pool = numba.config.NUMBA_NUM_THREADS if self.library == "numba" else torch.get_num_threads()
        parallel = min(pool, max(1, self.work // (self.grain or (GRAIN if self.library == "numba" else
                                                                   TORCH_GRAIN))))
        self.tuner = _tuners.get(self.kernel)
        count, self.measuring = (fixed, False) if fixed is not None else (1, False) if parallel == 1 else \
            self.tuner.choose(parallel)
        self.locked = count > 1 and _region.acquire(blocking=False)
        if count > 1 and not self.locked:  # another thread is inside a parallel region: this call runs serially
            count, self.measuring = 1, False
        self.tuned = fixed is None and parallel > 1  # the tuner chose (a measurement, or a call of its span)
        self.previous = torch.get_num_threads() if self.library == "torch" and parallel > 1 else None
        if self.previous == count:  # torch.set_num_threads restarts its pool even to the same count (~20 µs)
            self.previous = None
        if count > 1 and self.library == "numba":
            numba.set_num_threads(count)
        if self.previous is not None:
            torch.set_num_threads(count)
        self.count, self.start = count, time.perf_counter()
        return count

    def __exit__(self, kind, error, trace) -> bool:
        try:
            if kind is None and self.tuned:
                (self.tuner.record if self.measuring else self.tuner.exploit)(self.count, self.work,
                                                                              time.perf_counter() - self.start)
        finally:
            if self.previous is not None:
                import torch
                torch.set_num_threads(self.previous)
            if self.locked:
                _region.release()
        return False


def torch_block(work: int, kernel: str):
    """The context for a block of PyTorch CPU operations on `work` elements (its largest arrays) in the kernel named
    `kernel`: the tuner (`kernel_threads`) from 2 TORCH_GRAIN elements, the stall guard (`_StallGuard`) where
    torch would still run an operation on several threads (more than TORCH_OPERATION_GRAIN elements), else
    nothing: torch runs it on one thread anyway."""
    if work >= 2 * TORCH_GRAIN:
        return kernel_threads(work, kernel, library="torch")
    return _stall_guard if work > TORCH_OPERATION_GRAIN else contextlib.nullcontext()


class _StallGuard(threading.local):
    """torch's threads for PyTorch work too small for the tuner (below 2 TORCH_GRAIN elements its measurements cost more
    than they save): as they are, until STALLS calls in a row take STALL_SECONDS each (one slow call is a hiccup of
    the machine, not a stalled pool); the next STALL_CALLS calls (from this thread) then run on one thread, a span
    that doubles (up to MAX_BACKOFF times) while stalls recur within the span after it. Measured on the 2-core
    machine with both cores kept busy by other processes: torch's two threads took ~20 ms per dense velocity of 200
    tokens (~70 µs otherwise), call after call for seconds, in one of twelve runs of 2000 calls; the guard costs ~1
    µs per call. One per calling thread; its blocks do not nest."""

    def __init__(self):
        self.left, self.span, self.stalls = 0, STALL_CALLS, 0
        self.clean = STALL_CALLS  # calls on torch's threads without a stall since the last span
        self.previous, self.start = None, 0.0

    def __enter__(self) -> None:
        import torch

        self.previous = None
        if self.left > 0:
            self.left -= 1
            self.previous = torch.get_num_threads()
            if self.previous > 1:
                torch.set_num_threads(1)
        self.start = time.perf_counter()

    def __exit__(self, kind, error, trace) -> bool:
        seconds = time.perf_counter() - self.start
        if self.previous is not None:
            import torch
            torch.set_num_threads(self.previous)
        elif seconds < STALL_SECONDS:
            self.stalls, self.clean = 0, self.clean + 1
        else:
            self.stalls += 1
            if self.stalls == STALLS:  # stalled again within a span of calls after the last time: a longer span
                self.span = min(2 * self.span, MAX_BACKOFF * STALL_CALLS) if self.clean < self.span else STALL_CALLS
                self.left, self.clean, self.stalls = self.span, 0, 0
        return False


_stall_guard = _StallGuard()


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


@contextlib.contextmanager
def one_blas_thread():
    """NumPy's BLAS/LAPACK on one thread inside the block (threadpoolctl), for the small dense systems of the
    theory (Newton steps of a few hundred unknowns). Measured on the 2-core machine with both cores busy: one
    257 x 257 solve takes 185 ms on OpenBLAS's two threads, 1 ms on one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
