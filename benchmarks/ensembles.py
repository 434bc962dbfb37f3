"""Ensembles in the engines (issue 11, part 1): a batch of independent systems in one engine call.

Run: `python benchmarks/ensembles.py` (or `python benchmarks/run.py ensembles`). Each table is measured in one
run, the calls of a row taken in turn (ROUNDS rounds, one call each), so that a change in the machine's load
falls on all of them alike; medians (minimum in brackets); ratios of medians; each table quiet and with every
core kept busy by other processes (`load.py`). torch on one thread, as the experiments run it.
1. The circle engine, the statistics experiment's batch (20 seeds x n, USA, beta = 5): `circle.angular_velocity`
   on the batch and a Python loop over the systems (the experiment's former private engine was measured
   beside them before it was deleted: RESULTS.md keeps those figures).
2. beta per system on the circle (20 systems, beta = 1..20): one call with per-system coefficients, the
   batch grouped by beta (one call per value), a loop over the systems.
3. The dense engine at the phase diagram's sizes (n = 32, d = 8 and 32, B = 56 and 272, SA, beta per system):
   the velocity P_x(A) by `dense.attention` on the batch (all systems in one block), one system per block, a
   loop over the systems, and a plain batched softmax in tensor operations (`softmax_velocity`, what the
   phase diagram ran before it moved onto the core).
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from attnflow import sphere, threads
from attnflow.experiments.metastability_stats import initial_angles
from attnflow.interaction import circle, dense

import load

ROUNDS = 40


def measure(calls: dict, rounds: int = ROUNDS) -> tuple[dict, dict]:
    """name -> (median, minimum) seconds of each call, the calls taken in turn every round; on the machine as it
    is and with every core kept busy (`load.py`)."""
    return load.quiet_and_busy(lambda: _measure(calls, rounds))


def _measure(calls: dict, rounds: int) -> dict:
    times = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: (float(np.median(values)), min(values)) for name, values in times.items()}


def table(title: str, results: tuple[dict, dict], reference: str) -> None:
    print(f"{title}\n\n| implementation | quiet: median (min) | quiet / {reference} | busy: median (min) | "
          f"busy / {reference} |\n|---|---|---|---|---|")
    quiet, busy = results
    for name in quiet:
        cells = [f"{median * 1e3:.3f} ms ({low * 1e3:.3f}) | {median / figures[reference][0]:.2f}"
                 for figures in (quiet, busy) for median, low in (figures[name],)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()


def tangent(x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """P_x A = A - <A, x> x (post-LN)."""
    return output - (output * x).sum(-1, keepdim=True) * x


def softmax_velocity(x: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """The baseline: SA post-LN velocity of a batch (B, n, k), beta (B, 1, 1), by torch.softmax."""
    return tangent(x, torch.softmax(beta * (x @ x.transpose(1, 2)), dim=-1) @ x)


def circle_batch(n: int) -> None:
    theta = torch.stack([initial_angles(n, seed) for seed in range(20)])
    results = measure({
        "circle.angular_velocity on the batch": lambda: circle.angular_velocity("usa", 5.0, theta),
        "loop over the 20 systems": lambda: [circle.angular_velocity("usa", 5.0, system) for system in theta]})
    table(f"### Circle, USA, beta = 5, 20 seeds x n = {n}",
          results, "circle.angular_velocity on the batch")


def circle_betas(n: int) -> None:
    theta = torch.stack([initial_angles(n, seed) for seed in range(20)])
    betas = np.arange(1.0, 21.0)

    def grouped():
        out = torch.empty_like(theta)
        for value in np.unique(betas):
            rows = torch.from_numpy(betas == value)
            out[rows] = circle.angular_velocity("usa", float(value), theta[rows])
        return out

    assert torch.equal(circle.angular_velocity("usa", betas, theta), grouped())
    results = measure({
        "one call, coefficients per system": lambda: circle.angular_velocity("usa", betas, theta),
        "grouped by beta (20 calls)": grouped,
        "loop over the 20 systems": lambda: [circle.angular_velocity("usa", float(b), s) for b, s in zip(betas, theta)]})
    table(f"### Circle, USA, beta = 1, 2, ..., 20 per system, n = {n}", results, "one call, coefficients per system")


def dense_phase_diagram(systems: int, d: int) -> None:
    x = torch.stack([sphere.uniform(32, d, torch.Generator().manual_seed(seed)) for seed in range(systems)])
    betas = np.linspace(0.0, 8.0, systems)
    column = torch.as_tensor(betas)[:, None, None]
    whole = lambda: tangent(x, dense.attention("sa", betas, x))  # noqa: E731
    assert float((whole() - softmax_velocity(x, column)).abs().max()) <= 1e-13
    one_system = 32 * 32 * x.element_size()
    results = measure({
        "dense.attention on the batch (whole systems) + P_x": whole,
        "dense.attention on the batch, one system per block + P_x":
            lambda: tangent(x, dense.attention("sa", betas, x, memory_budget=one_system)),
        "loop over the systems + P_x":
            lambda: [tangent(s, dense.attention("sa", float(b), s)) for b, s in zip(betas, x)],
        "plain torch.softmax in tensor operations": lambda: softmax_velocity(x, column)})
    table(f"### Dense SA velocity, n = 32, d = {d}, B = {systems} systems, beta per system",
          results, "dense.attention on the batch (whole systems) + P_x")


def main() -> None:
    print(f"Load average at the start {os.getloadavg()[0]:.2f}; {load.DESCRIPTION}; "
          f"{threads.describe()}; torch on 1 thread.\n")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        circle_batch(20_000)
        circle_betas(2_000)
        for systems in (56, 272):
            for d in (8, 32):
                dense_phase_diagram(systems, d)
    finally:
        torch.set_num_threads(previous)
    print(f"Load average at the end {os.getloadavg()[0]:.2f}.")


if __name__ == "__main__":
    main()
