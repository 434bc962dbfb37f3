"""Running a sweep on Dask: one task per pending grid point, results stored as they finish.

Without a scheduler address a `dask.distributed.LocalCluster` (one single-threaded worker process
per core by default) runs the tasks; with one (`tcp://host:port`) an existing cluster does, for
instance one started by dask-jobqueue on a batch system. The client writes each result into the
store as soon as it arrives (one writer, one chunk per point), so finished work survives any
interruption, and rerunning the same spec computes only what is missing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dask

from ..errors import AttnflowError, ParameterError
from .spec import load_spec
from .store import SweepStore, plan
from .tasks import get


@dataclass
class Failure:
    """A grid point whose task raised: its flat index, grid parameters and error line."""

    index: int
    params: dict
    error: str


@dataclass
class SweepReport:
    """What a call of `run_sweep` did: `total` points, `already_done` before it, `computed` now,
    the `failures` (points whose task raised; rerunning retries them), and `task_seconds`, the CPU
    time the tasks took on the workers (over the sweep's wall time: how many workers really ran)."""

    store: Path
    total: int
    already_done: int
    computed: int
    failures: list[Failure] = field(default_factory=list)
    task_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def execute(task_name: str, imports: tuple[str, ...], params: dict, record: tuple[str, ...]):
    """Run one grid point on a worker: ("ok", outputs, cpu_seconds) or ("error", "Type: message", cpu_seconds)."""
    import torch

    torch.set_num_threads(1)
    started = time.process_time()
    try:
        return "ok", get(task_name, imports).run(params, record), time.process_time() - started
    except Exception as error:  # a failing point is a result of the sweep, not a crash of it
        summary = traceback.format_exception_only(type(error), error)[-1].strip()
        return "error", " ".join(summary.split()), time.process_time() - started


def run_sweep(spec, out=None, scheduler=None, workers: int | None = None, overwrite: bool = False,
              progress: Callable[[int, int], None] | None = None) -> SweepReport:
    """Run every pending grid point of `spec` (a path, mapping or Spec) into the Zarr store `out`.

    out        the store (default: the spec's `store`)
    scheduler  None: a LocalCluster of `workers` single-threaded processes (default: one per core);
               an address "tcp://host:port" of a running scheduler (then the call waits for `workers`
               workers, if given); or a connected `distributed.Client`
    overwrite  replace whatever is at `out` instead of resuming it
    progress   optional callback progress(done, total), called as points finish
    Everything is validated (spec, every point, the store path) before any task starts. A point that
    raises is recorded in the store and in the report; the others go on.
    """
    spec = load_spec(spec)
    out = out if out is not None else spec.store
    if out is None:
        raise ParameterError("out", None, "a .zarr path (or `store:` in the spec)")
    if workers is not None and not (isinstance(workers, int) and workers >= 1):
        raise ParameterError("workers", workers, "an integer >= 1")
    layout = plan(spec)
    store = SweepStore.prepare(out, spec, layout, overwrite)
    pending = store.pending()
    report = SweepReport(store.path, spec.size, spec.size - len(pending), 0)
    if progress is not None:
        progress(report.already_done, report.total)
    if not pending:
        return report
    with _client(scheduler, workers) as client:
        from distributed import as_completed

        prefix = f"{spec.task}-{uuid.uuid4().hex[:8]}"
        futures = {client.submit(execute, spec.task, spec.imports, spec.point(index), spec.record,
                                 key=f"{prefix}-{index}", pure=False): index for index in pending}
        try:
            for future in as_completed(futures):
                index = futures.pop(future)
                try:
                    status, value, seconds = future.result()
                    report.task_seconds += seconds
                except Exception as error:  # the worker died too often, or the task was lost
                    status, value = "error", f"{type(error).__name__}: {error}"
                if status == "ok":
                    try:
                        store.write(index, value)
                    except AttnflowError as error:
                        status, value = "error", f"{type(error).__name__}: {error}"
                if status != "ok":
                    store.fail(index, value)
                    report.failures.append(Failure(index, _grid_values(spec, index), value))
                report.computed += 1
                future.release()
                if progress is not None:
                    progress(report.already_done + report.computed, report.total)
        finally:
            client.cancel(list(futures))
    return report


def _grid_values(spec, index: int) -> dict:
    point = spec.point(index)
    return {name: point[name] for axis in spec.axes for name in axis.values}


# Dask's nannies start workers with glibc's MALLOC_TRIM_THRESHOLD_=65536 (to hand memory back to the
# OS); with the many short-lived tensors of a simulation it doubled the CPU time of a task (0.27 s ->
# 0.49 s for the benchmark's task, the same in a plain process with that variable), so the local
# cluster starts its workers without it.
TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


@contextlib.contextmanager
def local_cluster(workers: int | None = None):
    """The LocalCluster a sweep starts by default: `workers` single-threaded worker processes (default:
    one per core), OMP_NUM_THREADS=1, no malloc trim threshold, dashboard on a free port. The workers
    ignore SIGINT (an ignored signal stays ignored in a spawned process), so a Ctrl-C reaches the
    client alone, which stops the sweep and then the cluster."""
    from distributed import LocalCluster

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        with dask.config.set({TRIM: None}):
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR, env={"OMP_NUM_THREADS": "1"})
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    with cluster:
        yield cluster


@contextlib.contextmanager
def _client(scheduler, workers):
    from distributed import Client

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is None:
        with local_cluster(workers) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=10)
    except (OSError, TimeoutError, ValueError) as error:
        raise AttnflowError(f"scheduler={scheduler!r}: cannot connect ({error})") from None
    with client:
        if workers is not None:
            client.wait_for_workers(workers)
        yield client
