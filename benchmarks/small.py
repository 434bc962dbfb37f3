"""Small systems (issue 12): per-call overhead of the dense engine, d = 3, float64, CPU.

Run: `python benchmarks/small.py`. Measured in the same run, as medians of REPEATS calls (timeit, one call
each; the minimum in brackets), the default path (the whole system's weights at once, `dense._whole_systems`)
against row blocks of a third of the rows (`memory_budget` below n^2 elements: the path every system took
before), on the machine as it is and with every core kept busy by other processes (`load.py`):
1. one velocity evaluation `af.velocity(af.Model("usa", 5.0, 3), x)`, n = 200, and dense.attention alone;
2. one RK4 step of the stepper (`steppers.rk4_step` on the dense flow), and one step of `simulate` (RK4,
   STEPS steps, no observables, divided by STEPS), n = 200;
3. dense.attention (USA, beta = 5) for n from 200 to 2048 on both paths (quiet, measured first).
Issue 12's figures before this work: 343 µs per velocity and 2.2 ms per RK4 step of `simulate`; the targets
60 µs and 300 µs.
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

REPEATS = 300
WARMUP = 300
STEPS = 500
SIZES = (200, 400, 700, 1024, 1448, 2048)


def measure(call, repeats=REPEATS):
    """(median, minimum) in µs of `repeats` calls after a warm-up of WARMUP calls (the steady state a run of many
    steps sees: the first few hundred calls of a fresh process are ~10% slower)."""
    for _ in range(min(WARMUP, repeats)):
        call()
    times = timeit.repeat(call, number=1, repeat=repeats)
    return float(np.median(times)) * 1e6, min(times) * 1e6


def rows_of_a_third(n: int) -> int:
    """A memory budget that takes an (n, n) float64 system in row blocks of n / 3 rows."""
    return max(1, n // 3) * n * 8


def row(label, figures):
    return f"| {label} | " + " | ".join(f"{median:.0f} µs ({low:.0f})" for median, low in figures) + " |"


def main():
    print(f"_Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}; "
          f"load average at start {os.getloadavg()[0]:.2f}. Command: `python benchmarks/small.py`._\n")
    x = sphere.uniform(200, 3, torch.Generator().manual_seed(0))
    model = af.Model("usa", 5.0, 3)
    paths = {"whole system (default)": dense.DEFAULT_MEMORY_BUDGET, "row blocks": rows_of_a_third(200)}

    def calls():
        results = {}
        for name, budget in paths.items():
            flow = make_flow(model, "dense", memory_budget=budget)
            simulate_step = measure(lambda: af.simulate(model, x, STEPS * 0.01, dt=0.01, method="rk4",
                                                        observables=(), save_every=STEPS * 0.01,
                                                        memory_budget=budget), 5)
            results[name] = [measure(lambda: af.velocity(model, x, memory_budget=budget)),
                             measure(lambda: dense.attention("usa", 5.0, x, memory_budget=budget)),
                             measure(lambda: steppers.rk4_step(flow, x, 0.01)),
                             tuple(value / STEPS for value in simulate_step)]
        return results

    over_n = {}  # measured first: after the busy part the tuner and the stall guard may keep one thread a while
    for n in SIZES:
        y = sphere.uniform(n, 3, torch.Generator().manual_seed(n))
        repeats = max(10, min(REPEATS, int(REPEATS * (200 / n) ** 2)))
        over_n[n] = (measure(lambda: dense.attention("usa", 5.0, y), repeats),
                     measure(lambda: dense.attention("usa", 5.0, y, memory_budget=rows_of_a_third(n)), repeats))
    quiet, loaded = load.quiet_and_busy(calls)
    print(f"### n = 200, d = 3, USA, beta = 5 (median of {REPEATS} calls, minimum in brackets; simulate: median "
          f"of 5 runs of {STEPS} steps, per step; {load.DESCRIPTION})\n")
    print("| call | " + " | ".join(f"{name}, quiet | {name}, busy" for name in paths) + " |")
    print("|---|" + "---|" * 2 * len(paths))
    labels = ("af.velocity", "dense.attention", "one RK4 step of the stepper (4 velocities)",
              "one RK4 step of simulate")
    for index, label in enumerate(labels):
        print(row(label, [figures[name][index] for name in paths for figures in (quiet, loaded)]))
    print("\n### dense.attention, USA, beta = 5, d = 3: the two paths over n\n")
    print("| n | whole system | row blocks (n / 3 rows) | whole / rows |")
    print("|---|---|---|---|")
    for n, (whole, blocks) in over_n.items():
        print(row(str(n), [whole, blocks]) + f" {whole[0] / blocks[0]:.2f} |")


if __name__ == "__main__":
    main()
