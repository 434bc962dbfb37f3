"""Causal attention (issue 14): the work the mask saves in the dense engine, and the circle engine's O(n M) cost.

Run: `python benchmarks/causal.py`. Measured in the same run, as medians of a few calls (timeit, one call each,
the masked and the unmasked call in turn):
1. dense.attention (SA and USA, beta = 5, d = 3, float64, CPU) with the causal mask against the unmasked engine
   at the same n: row blocks (n >= 2048), where the mask skips the blocks above the diagonal, so the ratio should
   be near 1/2 + 1/(2 dense.CAUSAL_BLOCKS), with a 16 MiB budget as well (more, smaller blocks: the memory bound
   holds, the ratio too); and whole systems (n <= 512, n^2 <= dense.CAUSAL_WHOLE_PAIRS), where the hidden
   triangle is computed and zeroed (a small system's cost is its operation count).
2. The circle engine (af.velocity, SA, beta = 5, the Numba kernel): causal against unmasked over n, and the
   time per token, which stays flat if the cost is O(n M).
Each is measured on the machine as it is and with the busy load of `load.py` (one busy loop per core), in the same
run. The load average at the start is printed.
"""

from __future__ import annotations

import os
import timeit

import load
import numpy as np
import torch

import attnflow as af
from attnflow import sphere
from attnflow.interaction import dense

DENSE_SIZES = ((256, True), (512, True), (2048, False), (4096, False), (8192, False))  # (n, whole system)
CIRCLE_SIZES = (1_000, 10_000, 100_000, 1_000_000)
SMALL_BUDGET = 2**24


def side_by_side(calls, repeats: int) -> list[float]:
    """Median seconds of each call over `repeats` rounds, the calls taken in turn within a round (so that a
    load that comes and goes falls on both), after one warm-up call each."""
    for call in calls:
        call()
    times = [[timeit.timeit(call, number=1) for call in calls] for _ in range(repeats)]
    return [float(t) for t in np.median(times, axis=0)]


def dense_cases():
    """((n, kind, path), (the unmasked and the causal call)) of the dense engine."""
    for n, whole in DENSE_SIZES:
        x = sphere.uniform(n, 3, torch.Generator().manual_seed(n))
        rows = n // dense.CAUSAL_BLOCKS * n * 8  # unmasked too in row blocks: the same blocks with and without mask
        for kind in ("sa", "usa"):
            for budget in (dense.DEFAULT_MEMORY_BUDGET,) if whole else (rows, SMALL_BUDGET):
                path = "whole system" if whole else f"row blocks, {budget / 2**20:.3g} MiB budget"
                yield (n, kind.upper(), path), [lambda causal=causal, kind=kind, budget=budget, x=x: dense.attention(
                    kind, 5.0, x, memory_budget=budget, causal=causal) for causal in (False, True)]


def circle_cases():
    """(n, (the unmasked and the causal af.velocity)) of the circle engine."""
    for n in CIRCLE_SIZES:
        x = af.init.uniform(n, 2, seed=0)
        yield n, [lambda mask=mask, x=x: af.velocity(af.Model("sa", 5.0, 2, mask=mask), x) for mask in ("none", "causal")]


def measure() -> dict:
    """Median seconds (unmasked, causal) of every case."""
    dense_times = {key: side_by_side(calls, 30 if key[2] == "whole system" else 9) for key, calls in dense_cases()}
    circle_times = {n: side_by_side(calls, 20 if n <= 10_000 else 5) for n, calls in circle_cases()}
    return {"dense": dense_times, "circle": circle_times}


def main():
    print(f"_Load average at start {os.getloadavg()[0]:.2f}; torch {torch.get_num_threads()} threads. "
          f"Command: `python benchmarks/causal.py`. Quiet: the machine as it is; {load.DESCRIPTION}._\n")
    quiet, busy = load.quiet_and_busy(measure)
    print(f"### Dense engine: causal mask against the unmasked engine at the same n (d = 3, beta = 5, float64; "
          f"at least {dense.CAUSAL_BLOCKS} row blocks, expected ratio {0.5 + 0.5 / dense.CAUSAL_BLOCKS:.2f})\n")
    print("| n | kind | path | unmasked, quiet | causal, quiet | causal / unmasked, quiet | unmasked, busy | "
          "causal, busy | causal / unmasked, busy |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (n, kind, path), (full, masked) in quiet["dense"].items():
        busy_full, busy_masked = busy["dense"][n, kind, path]
        print(f"| {n} | {kind} | {path} | {full * 1e3:.2f} ms | {masked * 1e3:.2f} ms | {masked / full:.2f} | "
              f"{busy_full * 1e3:.2f} ms | {busy_masked * 1e3:.2f} ms | {busy_masked / busy_full:.2f} |")
    print("\n### Circle engine: af.velocity, SA, beta = 5 (M = 26 modes), Numba kernel, over n\n")
    print("| n | unmasked, quiet | causal, quiet | causal / unmasked, quiet | unmasked per token, quiet | "
          "causal per token, quiet | unmasked, busy | causal, busy | causal / unmasked, busy |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, (full, masked) in quiet["circle"].items():
        busy_full, busy_masked = busy["circle"][n]
        print(f"| {n} | {full * 1e3:.3f} ms | {masked * 1e3:.3f} ms | {masked / full:.2f} | {full / n * 1e9:.0f} ns | "
              f"{masked / n * 1e9:.0f} ns | {busy_full * 1e3:.3f} ms | {busy_masked * 1e3:.3f} ms | "
              f"{busy_masked / busy_full:.2f} |")


if __name__ == "__main__":
    main()
