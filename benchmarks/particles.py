"""Particle engine benchmarks (issue: the package): prints Markdown tables.

1. The paper's run (beta = 5, n = 2e4, T = 0.6, Euler dt = 1e-4, USA) with the circle engine, timed whole
   (on a busy machine: `busy.py`).
2. One velocity evaluation at n = 2e4: circle engine against the seed's dense O(n^2) pairwise sum.
2 and 3 are medians, on the machine as it is and with every core kept busy by other processes (`load.py`).
3. Dense engine throughput (pairs/s) for d = 3, 16, 128 against the one-line PyTorch expression
   exp(beta X X^T) @ X + projection and against one bare (n x d) @ (d x n) matmul of the same size;
   then n = 2e5, where the one-liner's n x n matrix (320 GB) cannot be allocated.
"""

from __future__ import annotations

import time

import numpy as np
import torch

import attnflow as af
import attnflow.clusters
from attnflow.interaction import dense

import load


CIRCLE_WARMUP = 200  # calls before the circle velocity is timed: the steady state of a run of many steps


def median_of(repeats, function):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def seed_dense_velocity(theta: torch.Tensor, beta: float, rows: int = 1000) -> torch.Tensor:
    """The seed notebook's algorithm: all pairwise differences, -(1/n) sum_j e^{beta cos} sin
    (rows in chunks only so that it fits in memory)."""
    out = torch.empty_like(theta)
    for start in range(0, len(theta), rows):
        diff = theta[start:start + rows, None] - theta[None, :]
        out[start:start + rows] = -(torch.exp(beta * torch.cos(diff)) * torch.sin(diff)).mean(1)
    return out


def one_liner(beta, x):
    a = torch.exp(beta * x @ x.T) @ x / x.shape[0]
    return a - (a * x).sum(1, keepdim=True) * x


def paper_run(seed_step: float) -> str:
    model = af.Model("usa", 5.0, 2)
    x0 = af.init.uniform(20_000, 2, seed=0)
    start = time.perf_counter()
    ds = af.simulate(model, x0, 0.6, dt=1e-4, method="euler", save_every=0.01)
    wall = time.perf_counter() - start
    found = af.clusters.find_clusters(ds["x"].isel(time=-1).values)
    return ("### The paper's run (beta = 5, n = 2e4, T = 0.6, Euler dt = 1e-4, 6000 steps)\n\n"
            "| engine | wall time | per step | clusters at T |\n|---|---|---|---|\n"
            f"| circle (attnflow.simulate, whole run incl. observables every 1e-3) | {wall:.1f} s | "
            f"{wall / 6000 * 1e3:.2f} ms | {found.count} |\n"
            f"| seed's dense pairwise sum (one step measured, run extrapolated) | {seed_step * 6000 / 3600:.1f} h | "
            f"{seed_step * 1e3:.0f} ms | - |\n\n"
            f"Speed-up of the whole run: {seed_step * 6000 / wall:.0f}x.\n")


def velocity_evaluation() -> tuple[float, str]:
    x = af.init.uniform(20_000, 2, seed=1)
    model = af.Model("usa", 5.0, 2)
    tensor = torch.as_tensor(x)
    theta = torch.atan2(tensor[:, 1], tensor[:, 0])

    def times():
        circle = lambda: af.velocity(model, tensor, engine="circle")  # noqa: E731
        median_of(CIRCLE_WARMUP, circle)  # past the thread tuner's first windows (one thread, then two)
        return (median_of(201, circle),
                median_of(3, lambda: af.velocity(model, tensor, engine="dense")),
                median_of(1, lambda: seed_dense_velocity(theta, 5.0)))

    quiet, busy = load.quiet_and_busy(times)
    names = ("circle engine (Fourier-Bessel, O(n M))", "attnflow dense engine (blocked matmul, O(n^2))",
             "seed's dense pairwise sum (O(n^2))")
    rows = [f"| {name} | {low * 1e3:.2f} ms | {low / quiet[0]:.0f} | {high * 1e3:.2f} ms | {high / busy[0]:.0f} |"
            for name, low, high in zip(names, quiet, busy)]
    return quiet[2], ("### One velocity evaluation, beta = 5, n = 2e4 (USA, circle; medians: the circle engine's of 201 calls "
                      f"after {CIRCLE_WARMUP} warm-up calls)\n\n"
                      f"Busy: {load.DESCRIPTION}.\n\n"
                      "| algorithm | quiet | quiet, ratio to circle | busy | busy, ratio to circle |\n"
                      "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def dense_throughput() -> str:
    lines = ["### Dense engine throughput (USA, beta = 5, float64, CPU; medians of 3)\n",
             f"Busy: {load.DESCRIPTION}.\n",
             "| d | n | attnflow dense | one-line exp(beta X X^T) @ X | ratio (engine / one-liner) | "
             "bare X @ X^T matmul | attnflow dense, busy | one-liner, busy |", "|---|---|---|---|---|---|---|---|"]
    n = 8000
    inputs = {dim: torch.as_tensor(af.init.uniform(n, dim, seed=2)) for dim in (3, 16, 128)}

    def times():
        return {dim: (median_of(3, lambda: af.velocity(af.Model("usa", 5.0, dim), x, engine="dense")),
                      median_of(3, lambda: one_liner(5.0, x)), median_of(3, lambda: x @ x.T))
                for dim, x in inputs.items()}

    quiet, busy = load.quiet_and_busy(times)
    pairs = n * n
    for dim in inputs:
        engine, line, matmul = quiet[dim]
        lines.append(f"| {dim} | {n} | {pairs / engine / 1e9:.2f} Gpairs/s | {pairs / line / 1e9:.2f} Gpairs/s | "
                     f"{engine / line:.2f} | {pairs / matmul / 1e9:.2f} Gpairs/s | "
                     f"{pairs / busy[dim][0] / 1e9:.2f} Gpairs/s | {pairs / busy[dim][1] / 1e9:.2f} Gpairs/s |")
    n = 200_000
    x = torch.as_tensor(af.init.uniform(n, 3, seed=3))
    block = min(dense.DEFAULT_MEMORY_BUDGET, dense.CACHE_BLOCK)
    peak = block * 2 + n * 3 * 8 * 4
    engine = median_of(1, lambda: af.velocity(af.Model("usa", 5.0, 3), x, engine="dense"))
    lines.append(f"| 3 | {n} | {n * n / engine / 1e9:.2f} Gpairs/s ({engine:.0f} s, weights in blocks of "
                 f"{block >> 20} MiB, < {peak >> 20} MiB in all) | cannot run: the n x n "
                 f"matrix needs {n * n * 8 / 2**30:.0f} GiB | - | - | - | - |")
    return "\n".join(lines) + "\n"


def main() -> None:
    print("## Particles\n")
    seed_step, table = velocity_evaluation()
    print(paper_run(seed_step))
    print(table)
    print(dense_throughput())


if __name__ == "__main__":
    main()
