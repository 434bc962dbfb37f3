"""Benchmark of the batched integration behind `metastability_statistics` (seeds x tokens at once).

The Fourier–Bessel velocity of a (seeds, n) batch needs cos k theta, sin k theta for k up to ~25 (beta = 5),
by the angle-addition recurrence. Baseline: the same recurrence written plainly in tensor operations, a fresh
tensor per degree (c, s = c cos - s sin, s cos + c sin). attnflow runs the fused circle kernel
(`interaction.circle_kernel`: one pass for the moments, one for the series, no (M, n) array) on the
(seeds, n) batch (`circle.angular_velocity`), on the threads `attnflow.threads` chooses. The point is the
library's core: one `attnflow.simulate` of the ensemble of seeds, each stopped by the event
`first_metastable_state` (`experiments.metastability_stats.first_metastable_states`).
"""

from __future__ import annotations

import math
import os
import time

import torch

from attnflow import threads
from attnflow.experiments.metastability_stats import first_metastable_states, initial_angles
from attnflow.interaction import circle
from attnflow.spectrum import bessel_coefficients

import load

BETA = 5.0
LARGE_SEEDS = 2  # seeds of the n = 10^6 point measured (the point's time is 20 x their mean)


def plain_velocity(beta: float, theta: torch.Tensor) -> torch.Tensor:
    """The baseline: the same sums with a fresh tensor for every degree and product."""
    weights = bessel_coefficients(beta)[0] * math.exp(beta)

    def harmonics():
        cos1, sin1 = torch.cos(theta), torch.sin(theta)
        c, s = cos1, sin1
        for _ in weights:
            yield c, s
            c, s = c * cos1 - s * sin1, s * cos1 + c * sin1

    moments = [(c.mean(1, keepdim=True), s.mean(1, keepdim=True)) for c, s in harmonics()]
    velocity = torch.zeros_like(theta)
    for w, (c, s), (re, im) in zip(weights, harmonics(), moments):
        velocity = velocity + w * (im * c - re * s)
    return velocity


def timed(function, repeats=3):
    """Best wall and the process's kernel (system) CPU time of that repeat."""
    best = (math.inf, 0.0)
    for _ in range(repeats):
        before, start = os.times(), time.perf_counter()
        function()
        wall, system = time.perf_counter() - start, os.times().system - before.system
        best = min(best, (wall, system))
    return best


def library_velocity(theta: torch.Tensor) -> torch.Tensor:
    return circle.angular_velocity("usa", BETA, theta)


def main() -> None:
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the experiment runs it
    theta = torch.stack([initial_angles(1_000_000, 0)])
    torch.testing.assert_close(library_velocity(theta), plain_velocity(BETA, theta), rtol=1e-10, atol=1e-9)
    velocities = lambda: (timed(lambda: library_velocity(theta)), timed(lambda: plain_velocity(BETA, theta)))  # noqa
    (ours, plain), (ours_busy, plain_busy) = load.quiet_and_busy(velocities)
    batch = torch.stack([initial_angles(20_000, s) for s in range(20)])
    point, point_busy = load.quiet_and_busy(lambda: timed(lambda: first_metastable_states(BETA, batch, 8))[0])
    start = time.perf_counter()
    for seed in range(LARGE_SEEDS):  # as run_point runs n = 10^6: one seed per batch
        first_metastable_states(BETA, torch.stack([initial_angles(1_000_000, seed)]), 8)
    large = (time.perf_counter() - start) / LARGE_SEEDS
    torch.set_num_threads(torch_threads)
    print("## Statistics of the first metastable state (batched circle velocity; torch on one thread)\n")
    print(f"One velocity evaluation, beta = {BETA:g}, 1 seed x 10^6 tokens "
          f"({len(bessel_coefficients(BETA)[0])} harmonics), best of 3 (wall, and the kernel (system) CPU time); "
          f"{load.DESCRIPTION}:\n")
    print("| implementation | quiet | busy | ratio to attnflow, quiet / busy |\n|---|---|---|---|")
    print(f"| attnflow (circle.angular_velocity, fused kernel, {threads.describe()}) | "
          f"{ours[0]:.3f} s ({ours[1]:.3f} s) "
          f"| {ours_busy[0]:.3f} s ({ours_busy[1]:.3f} s) | 1 |")
    print(f"| plain recurrence (tensor operations) | {plain[0]:.3f} s ({plain[1]:.3f} s) | {plain_busy[0]:.3f} s "
          f"({plain_busy[1]:.3f} s) | {plain[0] / ours[0]:.1f} / {plain_busy[0] / ours_busy[0]:.1f} |\n")
    print(f"One (beta = 5, n = 2e4) point of 20 seeds integrated to its first metastable state by attnflow.simulate "
          f"(best of 3): {point:.1f} s quiet, {point_busy:.1f} s busy.\n")
    print(f"The n = 10^6 point (20 seeds, one per batch as `run_point` runs them): {large:.1f} s per seed measured "
          f"over {LARGE_SEEDS} seeds, so {20 * large / 60:.1f} min for the point (quiet).\n")


if __name__ == "__main__":
    main()
