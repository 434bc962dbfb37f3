"""Speed on a quiet and on a busy machine (issue 12): the circle velocity and the paper's run.

"Busy" is this benchmark's own load (`load.py`: one busy-loop process per core). Measured, as medians (and
means) of repeated runs:
1. one circle velocity evaluation, beta = 5, n = 2e4 (USA): the fused kernel (`circle_kernel`, threads
   from `attnflow.threads`, and pinned to 1 and 2 threads) against the PyTorch tensor path
   (`circle.torch_angular_velocity`, the path before the kernel) with torch's default threads and with 1;
2. the kernel on 2 threads under each Numba threading layer (one subprocess per layer);
3. the paper's run (beta = 5, n = 2e4, T = 0.6, Euler dt = 1e-4, `attnflow.simulate` whole, observables
   every 1e-3): as it is (compiled blocks of steps, `interaction/circle_steps.py`), on one and on two threads
   always, and on the PyTorch path one step at a time over its first BASELINE_STEPS steps (scaled to 6000);
4. the ceiling: what any program gets from this machine under the same load. A loop of pure arithmetic that
   two threads split perfectly (`ceiling_work`, about CEILING_SECONDS of one thread's work per call: its threads
   meet at the start and end of a call only), on one thread and on two, quiet and busy. Against two busy loops
   the scheduler shares the cores among the runnable threads: one thread of ours gets about 2/3 of a core, two
   get about one core between them. A run whose two threads are S times faster than one (quiet) is therefore at
   least about S times slower busy than quiet on two threads (S ~ 1.8 for the paper run), and 1.5 S on one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time

import numba
import numpy as np
import torch

import attnflow as af
from attnflow import threads
from attnflow.flow import CircleFlow
from attnflow.interaction import circle

import load
from load import busy

BETA, N = 5.0, 20_000
EVALUATION_SECONDS = 3.0  # each velocity variant is repeated for this long
RUNS = 2  # paper runs per condition
BASELINE_STEPS = 300
CEILING_SECONDS = 0.05  # one thread's work per call of the ceiling loop, quiet
CEILING_CALLS = 20


@contextlib.contextmanager
def environment(name: str, value: str | None):
    """Set (or unset, for None) one environment variable inside the block."""
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@contextlib.contextmanager
def torch_threads(count: int):
    old = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def timings(function, seconds: float = EVALUATION_SECONDS) -> tuple[float, float]:
    """(median, mean) wall time of `function` called repeatedly for about `seconds` (after a warm-up call)."""
    function()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 5:
        begin = time.perf_counter()
        function()
        times.append(time.perf_counter() - begin)
    return float(np.median(times)), float(np.mean(times))


def velocity_variants(theta: torch.Tensor, torch_default: int) -> dict[str, tuple[float, float]]:
    """(median, mean) time of one evaluation for each implementation and thread setting."""
    kernel = lambda: circle.angular_velocity("usa", BETA, theta)  # noqa: E731
    reference = lambda: circle.torch_angular_velocity("usa", BETA, theta)  # noqa: E731
    times = {}
    with environment(threads.ENVIRONMENT, None):
        times["kernel, default threads"] = timings(kernel)
    for count in (1, 2):
        with environment(threads.ENVIRONMENT, str(count)):
            times[f"kernel, {count} thread{'s' * (count > 1)}"] = timings(kernel)
    with torch_threads(torch_default):
        times[f"PyTorch path, {torch_default} threads (torch default)"] = timings(reference)
    with torch_threads(1):
        times["PyTorch path, 1 thread"] = timings(reference)
    return times


def paper_run(steps: int | None = None) -> float:
    """Wall time of the paper's run (or of its first `steps` Euler steps, scaled to the whole run)."""
    model = af.Model("usa", BETA, 2)
    x0 = af.init.uniform(N, 2, seed=0)
    t_end = 0.6 if steps is None else steps * 1e-4
    start = time.perf_counter()
    af.simulate(model, x0, t_end, dt=1e-4, method="euler", save_every=0.01 if steps is None else t_end)
    return (time.perf_counter() - start) * (1 if steps is None else 6000 / steps)


@contextlib.contextmanager
def patched(owner, name: str, value):
    """owner.name = value inside the block."""
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def paper_runs() -> dict[str, float]:
    times = {"attnflow.simulate (default threads)": float(np.median([paper_run() for _ in range(RUNS)]))}
    for count in (1, 2):
        with environment(threads.ENVIRONMENT, str(count)):
            times[f"attnflow.simulate, ATTNFLOW_NUM_THREADS={count}"] = float(np.median([paper_run()
                                                                                     for _ in range(RUNS)]))
    with patched(circle, "angular_velocity", circle.torch_angular_velocity), \
            patched(CircleFlow, "advance", lambda self, theta, steps, method: None):
        times["PyTorch path, one step at a time"] = paper_run(BASELINE_STEPS)
    return times


def layer_timings(layer: str) -> dict[str, tuple[float, float]]:
    """The kernel on 2 threads under Numba threading layer `layer`, quiet and busy, in a fresh process."""
    code = ("import json, math, torch, sys; sys.path.insert(0, %r); import busy\n"
            "theta = torch.rand(busy.N, dtype=torch.float64) * 2 * math.pi\n"
            "f = lambda: busy.circle.angular_velocity('usa', busy.BETA, theta)\n"
            "quiet = busy.timings(f)\n"
            "with busy.load.busy():\n    loaded = busy.timings(f)\n"
            "print(json.dumps({'quiet': quiet, 'busy': loaded, 'layer': busy.threads.numba.threading_layer()}))"
            % os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer, threads.ENVIRONMENT: "2"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


@numba.njit(parallel=True, cache=True)
def ceiling_work(x: np.ndarray, repeats: int) -> np.ndarray:
    """Two equal shares of pure arithmetic (repeats sweeps of sin over x each), one per iteration of a parallel
    loop: the threads meet only at its start and end."""
    out = np.empty(2)
    for share in numba.prange(2):
        total = 0.0
        for r in range(repeats):
            for j in range(x.shape[0]):
                total += math.sin(x[j] * r)
        out[share] = total
    return out


def ceiling_repeats(x: np.ndarray) -> int:
    """Sweeps per share for one thread's call of `ceiling_work` to take about CEILING_SECONDS (measured quiet)."""
    ceiling_work(x, 1)  # compiled or loaded
    numba.set_num_threads(1)
    start = time.perf_counter()
    ceiling_work(x, 10)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return max(1, round(CEILING_SECONDS / 2 / ((time.perf_counter() - start) / 20)))


def ceiling_timings(x: np.ndarray, repeats: int) -> dict[int, tuple[float, float]]:
    """(median, mean) time of one `ceiling_work` call on 1 and on 2 threads."""
    times = {}
    for count in (1, 2):
        numba.set_num_threads(count)
        times[count] = timings(lambda: ceiling_work(x, repeats))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return times


def main() -> None:
    torch_default = torch.get_num_threads()
    background = os.getloadavg()[0]  # other jobs: "quiet" is only as quiet as the machine is
    theta = torch.rand(N, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 * math.pi
    quiet = velocity_variants(theta, torch_default)
    with busy():
        loaded = velocity_variants(theta, torch_default)
    layers = {layer: layer_timings(layer) for layer in ("workqueue", "omp")}
    quiet_runs = paper_runs()
    with busy():
        loaded_runs = paper_runs()
    x = np.random.default_rng(0).random(10_000)
    repeats = ceiling_repeats(x)
    quiet_ceiling = ceiling_timings(x, repeats)
    with busy():
        loaded_ceiling = ceiling_timings(x, repeats)
    baseline = f"PyTorch path, {torch_default} threads (torch default)"
    print("## Quiet and busy machine (issue 12)\n")
    print(f"Busy: {load.DESCRIPTION}. Threading: "
          f"{threads.describe()}. Load average (1 min) at the start: {background:.1f}, at the end: "
          f"{os.getloadavg()[0]:.1f}.\n")
    print(f"### One circle velocity evaluation, beta = {BETA:g}, n = {N} (USA, float64)\n")
    print("Median (mean) of repeated evaluations over 3 s each; speed-up: PyTorch path with torch's default "
          "threads / this, medians.\n")
    print("| implementation | quiet | busy | busy / quiet | speed-up quiet | speed-up busy |")
    print("|---|---|---|---|---|---|")
    for name in quiet:
        print(f"| {name} | {quiet[name][0] * 1e3:.3f} ({quiet[name][1] * 1e3:.3f}) ms | "
              f"{loaded[name][0] * 1e3:.3f} ({loaded[name][1] * 1e3:.3f}) ms | {loaded[name][0] / quiet[name][0]:.1f} | "
              f"{quiet[baseline][0] / quiet[name][0]:.1f}x | {loaded[baseline][0] / loaded[name][0]:.1f}x |")
    print("\n### Numba threading layer (kernel on 2 threads, same evaluation, one process per layer)\n")
    print("| layer | quiet median (mean) | busy median (mean) |\n|---|---|---|")
    for layer, result in layers.items():
        print(f"| {result['layer']} | {result['quiet'][0] * 1e3:.3f} ({result['quiet'][1] * 1e3:.3f}) ms | "
              f"{result['busy'][0] * 1e3:.3f} ({result['busy'][1] * 1e3:.3f}) ms |")
    print("\n### The paper's run (beta = 5, n = 2e4, T = 0.6, Euler dt = 1e-4, 6000 steps, observables every 1e-3)\n")
    print("| velocity path | quiet | busy | busy / quiet |\n|---|---|---|---|")
    for name in quiet_runs:
        note = (f" (first {BASELINE_STEPS} steps, x {6000 // BASELINE_STEPS})" if name.startswith("PyTorch")
                else f" (median of {RUNS} whole runs)")
        print(f"| {name}{note} | {quiet_runs[name]:.2f} s | {loaded_runs[name]:.2f} s | "
              f"{loaded_runs[name] / quiet_runs[name]:.1f} |")
    scaling = quiet_ceiling[1][0] / quiet_ceiling[2][0]
    paper_two = "attnflow.simulate, ATTNFLOW_NUM_THREADS=2"
    print(f"\n### The ceiling: a perfectly parallel loop ({CEILING_SECONDS * 1e3:.0f} ms of one thread's work per call; "
          "its threads meet at the start and end of each call only)\n")
    print("| threads | quiet median (mean) | busy median (mean) | busy / quiet |\n|---|---|---|---|")
    for count in (1, 2):
        print(f"| {count} | {quiet_ceiling[count][0] * 1e3:.1f} ({quiet_ceiling[count][1] * 1e3:.1f}) ms | "
              f"{loaded_ceiling[count][0] * 1e3:.1f} ({loaded_ceiling[count][1] * 1e3:.1f}) ms | "
              f"{loaded_ceiling[count][0] / quiet_ceiling[count][0]:.2f} |")
    print(f"\nQuiet, two threads run this loop {scaling:.2f}x faster than one; busy, the two together get "
          f"{quiet_ceiling[1][0] / loaded_ceiling[2][0]:.2f} of a core (one thread's quiet time / their busy time) "
          f"and one thread alone {quiet_ceiling[1][0] / loaded_ceiling[1][0]:.2f}. A run whose two threads are S "
          "times faster than one, quiet, is then at least S / "
          f"{quiet_ceiling[1][0] / loaded_ceiling[2][0]:.2f} times slower busy than quiet on two threads and S / "
          f"{quiet_ceiling[1][0] / loaded_ceiling[1][0]:.2f} on one. The paper run's two threads are "
          f"{quiet_runs['attnflow.simulate, ATTNFLOW_NUM_THREADS=1'] / quiet_runs[paper_two]:.2f} times faster "
          "than one, quiet; busy they get "
          f"{quiet_runs['attnflow.simulate, ATTNFLOW_NUM_THREADS=1'] / loaded_runs[paper_two]:.2f} of a core (two "
          "parallel regions per step, 12000 in the run).\n")


if __name__ == "__main__":
    main()
