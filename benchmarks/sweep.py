"""Sweep scaling: the same CPU-bound sweep on a LocalCluster of 1 and of 2 single-threaded workers.

    python benchmarks/sweep.py
Prints a Markdown table: wall time of `run_sweep` (cluster start-up and worker imports excluded),
against a plain in-process loop over the same points (the baseline, no Dask, no store), and checks
that the 1- and 2-worker stores are byte-identical; then the loop and the 2-worker sweep on the machine as it is
and with every core kept busy (`load.py`). About two minutes on 2 idle cores.
"""

from __future__ import annotations

import importlib
import json
import tempfile
import time
from pathlib import Path

import torch

import load

SPEC = {"task": "simulate", "fixed": {"dim": 3, "n": 400, "t_end": 1.0, "dt": 0.005, "method": "rk4",
                                      "observations": 3, "kmax": 4},
        "grid": {"beta": [1.0, 2.0, 4.0, 8.0]}, "seeds": 3, "record": ["energy", "modes", "final_state"]}


def store_bytes(path: Path) -> dict[str, bytes]:
    """Every file of a store, its attributes without those that say when and how it was made (the provenance
    keys: `history` names the time and the output path)."""
    from attnflow import provenance

    files = {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
             and p.name not in (".zattrs", ".zmetadata")}
    attrs = json.loads((path / ".zattrs").read_text())
    return {**files, ".zattrs": json.dumps({k: v for k, v in attrs.items() if k not in provenance.KEYS}).encode()}


def in_process(spec) -> float:
    from attnflow.sweep import get

    task = get(spec.task)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.perf_counter()
    for point in spec.points():
        task.run(point, spec.record)
    torch.set_num_threads(threads)
    return time.perf_counter() - start


def on_cluster(spec, workers: int, out: Path) -> tuple[float, float]:
    from distributed import Client

    from attnflow.sweep import local_cluster, run_sweep

    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.run(importlib.import_module, "attnflow.sweep.simulation")  # imports are not the sweep's time
        start = time.perf_counter()
        report = run_sweep(spec, out=out, scheduler=client)
        elapsed = time.perf_counter() - start
    assert report.ok and report.computed == spec.size
    return elapsed, report.task_seconds


def main() -> None:
    from attnflow.sweep import parse_spec

    spec = parse_spec(SPEC)
    with tempfile.TemporaryDirectory() as folder:
        baseline = in_process(spec)
        one, one_cpu = on_cluster(spec, 1, Path(folder) / "one.zarr")
        two, two_cpu = on_cluster(spec, 2, Path(folder) / "two.zarr")
        identical = store_bytes(Path(folder) / "one.zarr") == store_bytes(Path(folder) / "two.zarr")
    print(f"## Sweeps on Dask: {spec.size} points of `simulate` (d = 3, n = 400, RK4, 200 steps)\n")
    print("| run | wall time (s) | vs in-process loop | speed-up vs 1 worker | task CPU s / wall |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| in-process loop (baseline, no Dask, no store) | {baseline:.2f} | 1.00 | | |")
    print(f"| LocalCluster, 1 worker | {one:.2f} | {one / baseline:.2f} | 1.00 | {one_cpu / one:.2f} |")
    print(f"| LocalCluster, 2 workers | {two:.2f} | {two / baseline:.2f} | {one / two:.2f} | {two_cpu / two:.2f} |")
    print("\n(task CPU s / wall: CPU seconds the tasks used over the wall time, i.e. workers really busy;"
          " below the worker count on a machine shared with other jobs.)")
    print(f"\nStores of the 1- and 2-worker runs byte-identical (but for their provenance attributes): "
          f"{'yes' if identical else 'NO'}.")
    with tempfile.TemporaryDirectory() as folder:
        quiet, busy = load.quiet_and_busy(
            lambda: (in_process(spec), on_cluster(spec, 2, Path(folder) / f"busy{time.time_ns()}.zarr")[0]))
    print(f"\nQuiet and busy machine ({load.DESCRIPTION}):\n")
    print("| run | quiet (s) | busy (s) | busy / quiet |\n| --- | ---: | ---: | ---: |")
    for name, low, high in zip(("in-process loop", "LocalCluster, 2 workers"), quiet, busy):
        print(f"| {name} | {low:.2f} | {high:.2f} | {high / low:.2f} |")


if __name__ == "__main__":
    main()
