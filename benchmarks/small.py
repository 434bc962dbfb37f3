"""Small systems (issue 12): per-call overhead of the dense engine, d = 3, float64, CPU.

Run: `python benchmarks/small.py`. Measured in the same run, as medians of REPEATS calls (timeit, one call
each; the minimum in brackets), the blocked PyTorch path (`dense.attention(..., kernel=False)`, the path
before the kernel) against the fused Numba kernel (`interaction/dense_kernel.py`):
1. one velocity evaluation `af.velocity(af.Model("usa", 5.0, 3), x)`, n = 200, and dense.attention alone;
2. one RK4 step of `simulate`'s stepper (`steppers.rk4_step` on the dense flow), n = 200;
3. dense.attention (USA, beta = 5) for n from 200 to 2048: where the serial kernel stops paying
   (dense.KERNEL_MAX_PAIRS).
1 and 2 also on a busy machine (`load.py`). The load average at the start is printed.
"""

from __future__ import annotations

import os
import platform
import timeit

import numpy as np
import torch

import attnflow as af
from attnflow import sphere, steppers
from attnflow.flow import make_flow
from attnflow.interaction import dense

import load

REPEATS = 200
SIZES = (200, 400, 700, 1024, 1448, 2048)


def measure(call, repeats=REPEATS):
    call()
    times = timeit.repeat(call, number=1, repeat=repeats)
    return float(np.median(times)) * 1e6, min(times) * 1e6


def paths():
    """(name, KERNEL_MAX_PAIRS) of the two paths; the velocity and the stepper follow dense.attention."""
    return (("PyTorch blocked path", 0), ("Numba kernel", dense.KERNEL_MAX_PAIRS))


def row(label, figures):
    return f"| {label} | " + " | ".join(f"{median:.0f} µs ({low:.0f})" for median, low in figures) + " |"


def main():
    print(f"_Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}; "
          f"load average at start {os.getloadavg()[0]:.2f}. Command: `python benchmarks/small.py`._\n")
    x = sphere.uniform(200, 3, torch.Generator().manual_seed(0))
    model = af.Model("usa", 5.0, 3)
    flow = make_flow(model, "dense")
    limit = dense.KERNEL_MAX_PAIRS

    def calls():
        results = {}
        try:
            for name, pairs in paths():
                dense.KERNEL_MAX_PAIRS = pairs
                results[name] = [measure(lambda: af.velocity(model, x)),
                                 measure(lambda: dense.attention("usa", 5.0, x)),
                                 measure(lambda: steppers.rk4_step(flow, x, 0.01))]
        finally:
            dense.KERNEL_MAX_PAIRS = limit
        return results

    quiet, loaded = load.quiet_and_busy(calls)
    names = [name for name, _ in paths()]
    print(f"### n = 200, d = 3, USA, beta = 5 (median of {REPEATS} calls, minimum in brackets; {load.DESCRIPTION})\n")
    print("| call | " + " | ".join(f"{name}, quiet | {name}, busy" for name in names) + " |")
    print("|---|" + "---|" * 2 * len(names))
    for index, label in enumerate(("af.velocity", "dense.attention", "one RK4 step (4 velocities)")):
        print(row(label, [figures[name][index] for name in names for figures in (quiet, loaded)]))
    print("\n### dense.attention, USA, beta = 5, d = 3: crossover\n")
    print("| n | PyTorch blocked path | Numba kernel | kernel / PyTorch |")
    print("|---|---|---|---|")
    for n in SIZES:
        y = sphere.uniform(n, 3, torch.Generator().manual_seed(n))
        repeats = max(10, min(REPEATS, int(REPEATS * (200 / n) ** 2)))
        blocked = measure(lambda: dense.attention("usa", 5.0, y, kernel=False), repeats)
        kernel = measure(lambda: dense.attention("usa", 5.0, y, kernel=True), repeats)
        print(row(str(n), [blocked, kernel]) + f" {kernel[0] / blocked[0]:.2f} |")


if __name__ == "__main__":
    main()
