"""Sweeps on a real Dask cluster: a scheduler and workers started as separate processes on loopback.

Checks: results equal direct `attnflow.simulate` calls at the right coordinates; a client killed
mid-sweep resumes to a byte-identical store; a worker killed mid-task is survived with the same
store; 1 and 2 workers give the same store; a failing point is recorded and reported, the rest goes on.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
import zarr
from typer.testing import CliRunner

import attnflow as af
from attnflow.cli import app
from attnflow.sweep import DONE, FAILED, Output, Parameter, Task, register

BIN = Path(sys.executable).parent
HERE = Path(__file__).parent
# steps long enough that a sweep lasts several seconds: the interruption tests signal it mid-way, after
# the first points are stored (at dt = 0.005 the whole sweep took 2 s, and a loaded machine could miss it)
DT = 0.002
SPEC = """task: simulate
fixed: {dim: 3, t_end: 1.0, dt: DT, method: rk4, observations: 3, kmax: 4}
grid:
  beta: [1, 4]
  n: [100, 200]
seeds: 2
record: [energy, modes, final_state]
""".replace("DT", str(DT))
TOTAL = 8


def _square_or_fail(params, record):
    if params["x"] == 3:
        raise ValueError("x=3 is unlucky")
    return {"square": np.asarray(params["x"] ** 2)}


register(Task("test_square_or_fail", {"x": Parameter("int")}, records=("square",), default_record=("square",),
              run=_square_or_fail, outputs=lambda params, record: {"square": Output()}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
QUIET = {"env": ENV, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}


def start_worker(address: str, workers: list) -> None:
    """One more `dask worker --no-nanny --nthreads 1` process; returns once the scheduler sees it."""
    from distributed import Client

    workers.append(subprocess.Popen([BIN / "dask", "worker", address, "--nthreads", "1", "--no-nanny",
                                     "--host", "127.0.0.1", "--no-dashboard"], **QUIET))
    with Client(address, timeout=60) as client:
        client.wait_for_workers(sum(w.poll() is None for w in workers), timeout=60)


@contextlib.contextmanager
def dask_cluster(workers: int):
    """`dask scheduler` and `workers` worker processes on 127.0.0.1, all killed afterwards."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **QUIET)
    started = []
    try:
        for _ in range(workers):
            start_worker(address, started)
        yield address, started
    finally:
        for process in [*started, scheduler]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def store_bytes(path: Path) -> dict[str, bytes]:
    """Every file of the store, byte for byte, except the creation line `history` (its time and command)."""
    files = {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    for name in (".zattrs", ".zmetadata"):
        metadata = json.loads(files[name])
        (metadata.get("metadata", {}).get(".zattrs") or metadata).pop("history")
        files[name] = json.dumps(metadata, sort_keys=True).encode()
    return files


def done_count(path: Path) -> int:
    if not (path / "status" / ".zarray").exists():
        return 0
    return int((zarr.open_group(str(path), mode="r")["status"][...] == DONE).sum())


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def as_from_a_shell():
    """In the child before exec: SIGINT with its default disposition and unblocked, as a shell starts a command
    (a test process may hold it ignored or blocked, and both are inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def running_cli(log: Path, *args):
    """`attnflow ARGS` in its own process group, stdout and stderr to the file `log`; killed on exit."""
    with open(log, "wb") as sink:
        process = subprocess.Popen([BIN / "attnflow", *map(str, args)], stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=as_from_a_shell)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def wait_for_points(path: Path, process, at_least: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        done = done_count(path)
        if done >= at_least:
            return done
        time.sleep(0.05)
    raise AssertionError(f"sweep reached {done_count(path)} points (exit {process.poll()})")


@pytest.fixture(scope="module")
def cluster():
    """(address, worker processes) of a scheduler with 2 workers, shared by this module's tests."""
    with dask_cluster(2) as running:
        yield running


@pytest.fixture(scope="module")
def reference(cluster, tmp_path_factory):
    """The sweep run once, uninterrupted, through --scheduler with 2 workers."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "spec.yaml").write_text(SPEC)
    result = cli("sweep", folder / "spec.yaml", "--out", folder / "ref.zarr", "--scheduler", cluster[0])
    assert result.exit_code == 0, result.output
    return folder / "spec.yaml", folder / "ref.zarr"


def test_sweep_through_a_scheduler_stores_what_simulate_computes(reference):
    ds = xr.open_zarr(reference[1]).load()
    assert (ds["status"] == DONE).all() and ds["final_state"].dims == ("beta", "n", "seed", "token", "component")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as on the workers; many threads on a busy machine only contend
    try:
        compare_with_simulate(ds)
    finally:
        torch.set_num_threads(threads)


def compare_with_simulate(ds):
    for beta in (1.0, 4.0):
        for n in (100, 200):
            for seed in (0, 1):
                direct = af.simulate(af.Model("usa", beta, 3), af.init.uniform(n, 3, seed=seed), 1.0, dt=DT,
                                     method="rk4", save_every=0.5, observe_every=0.5, kmax=4, seed=seed,
                                     observables=("modes", "energy"))
                point = ds.sel(beta=beta, n=n, seed=seed)
                np.testing.assert_allclose(point["energy"], direct["energy"], rtol=1e-12)
                np.testing.assert_allclose(point["modes"], direct["mode_amplitude"], rtol=1e-10, atol=1e-14)
                np.testing.assert_allclose(point["final_state"][:n], direct["x"].isel(time=-1), rtol=1e-12)
                assert np.isnan(point["final_state"][n:]).all()  # padded up to the largest n


@pytest.mark.parametrize("stop, status", [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130)],
                         ids=["killed", "ctrl-c"])
def test_a_client_stopped_mid_sweep_resumes_to_the_identical_store(cluster, reference, tmp_path, stop, status):
    spec, expected = reference
    out = tmp_path / "resumed.zarr"
    with running_cli(tmp_path / "log", "sweep", spec, "--out", out, "--scheduler", cluster[0]) as process:
        wait_for_points(out, process, at_least=2)
        dispositions = Path(f"/proc/{process.pid}/status").read_text() if process.poll() is None else "exited"
        os.killpg(process.pid, stop)
        assert process.wait(timeout=60) == status, ((tmp_path / "log").read_text(),
                                                     [line for line in dispositions.splitlines() if "Sig" in line])
    partial = done_count(out)
    assert 2 <= partial < TOTAL
    result = cli("sweep", spec, "--out", out, "--scheduler", cluster[0])
    assert result.exit_code == 0, result.output
    assert f"{partial} done before, {TOTAL - partial} computed now" in result.output
    assert store_bytes(out) == store_bytes(expected)


def test_one_local_worker_gives_the_same_store_as_two_remote_ones(reference, tmp_path):
    spec, expected = reference
    result = cli("sweep", spec, "--out", tmp_path / "one.zarr", "--workers", 1)
    assert result.exit_code == 0, result.output
    assert store_bytes(tmp_path / "one.zarr") == store_bytes(expected)


def test_a_failing_point_is_recorded_and_reported_and_retried(cluster, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("task: test_square_or_fail\nimport: [test_sweep_dask]\ngrid:\n  x: {range: [5]}\n")
    out = tmp_path / "s.zarr"
    result = cli("sweep", spec, "--out", out, "--scheduler", cluster[0])
    assert result.exit_code == 1, result.output
    assert "x=3" in result.output and "ValueError: x=3 is unlucky" in result.output
    group = zarr.open_group(str(out), mode="r")
    assert list(group["status"][...]) == [DONE, DONE, DONE, FAILED, DONE]
    np.testing.assert_array_equal(group["square"][...], [0, 1, 4, np.nan, 16])
    assert group["error"][3] == "ValueError: x=3 is unlucky" and group["error"][2] == ""
    again = cli("sweep", spec, "--out", out, "--scheduler", cluster[0])  # only the failed point runs again
    assert again.exit_code == 1 and "4 done before, 1 computed now" in again.output


def busy_worker(address: str, workers: list):
    """The worker process that is executing a task now."""
    from distributed import Client

    with Client(address, timeout=30) as client:
        state = client.run(lambda dask_worker: (os.getpid(), len(dask_worker.state.executing)))
    pid = next(pid for pid, executing in state.values() if executing)
    return next(w for w in workers if w.pid == pid)


def test_a_worker_killed_mid_task_does_not_change_the_store(cluster, reference, tmp_path):
    address, workers = cluster
    spec, expected = reference
    out = tmp_path / "survivor.zarr"
    with running_cli(tmp_path / "log", "sweep", spec, "--out", out, "--scheduler", address) as process:
        done = wait_for_points(out, process, at_least=1)
        assert done <= TOTAL - 3  # both workers still have tasks running or queued
        victim = busy_worker(address, workers)
        os.killpg(victim.pid, signal.SIGKILL)
        try:
            running = xr.open_zarr(out)  # readable while the sweep runs: done points hold data, unstarted NaN
            done = (running["status"] == DONE).values  # read before the data: a point's data is written first
            energy = running["energy"].values
            assert np.isfinite(energy[done]).all() and np.isnan(energy[~done]).any()
            assert process.wait(timeout=120) == 0, (tmp_path / "log").read_text()
        finally:
            victim.wait(timeout=30)
            start_worker(address, workers)  # leave the shared cluster as it was
    assert store_bytes(out) == store_bytes(expected)
