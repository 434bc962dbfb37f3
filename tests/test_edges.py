"""attnflow at its numerical and file-system edges: bad or extreme input gets one clear error naming
the parameter (CLI: exit 2, no traceback), nothing the user owns is changed, no NaN or inf is ever
returned as a result, and interrupted runs keep what they finished and resume to the same bits."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import attnflow as af
from attnflow.errors import AttnflowError
from attnflow.io import load, partial_path

CLI = [sys.executable, "-m", "attnflow"]


def run_cli(*args, cwd, timeout=120):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def run_in_process(args, cwd, monkeypatch, capsys):
    """`attnflow ARGS` through its real entry point, in this process (no interpreter start-up):
    (exit status, stderr)."""
    from attnflow.cli import main
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["attnflow", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err


def snapshot(folder: Path) -> dict:
    """Every file under `folder` with its bytes: what the user owns, to compare before and after."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def user_folder(tmp_path):
    """A working folder holding a user's files where attnflow might be tempted to write."""
    (tmp_path / "precious.zarr").mkdir()
    (tmp_path / "precious.zarr" / "notes.txt").write_text("a week of work")
    (tmp_path / "precious.nc").write_text("not netcdf, but mine")
    (tmp_path / "mydir.nc").mkdir()
    (tmp_path / "mydir.nc" / "data.csv").write_text("1,2,3")
    (tmp_path / "run.partial.zarr").mkdir()
    (tmp_path / "run.partial.zarr" / "keep.txt").write_text("mine too")
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "pde_snapshots.png").write_text("my figure")
    (tmp_path / "plot.png").write_text("my plot")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.md").write_text("my report")
    (tmp_path / "corrupt.nc").write_bytes(b"\x89HDF garbage")
    np.save(tmp_path / "nan.npy", np.full((10, 2), np.nan))
    np.save(tmp_path / "short.npy", np.ones((10, 3)))
    return tmp_path


QUICK = ["--t-end", "0.002", "--dt", "1e-3", "--n", "20"]
CORPUS = [
    (["simulate", *QUICK, "--out", "precious.zarr"], "out"),
    (["simulate", *QUICK, "--out", "precious.zarr", "--overwrite"], "out"),
    (["simulate", *QUICK, "--out", "precious.nc", "--overwrite"], "out"),
    (["simulate", *QUICK, "--out", "mydir.nc", "--overwrite"], "out"),
    (["simulate", *QUICK, "--out", "run.nc", "--overwrite"], "out"),  # its partial store is the user's
    (["simulate", *QUICK, "--out", "run.nc", "--resume"], "resume"),
    (["simulate", *QUICK, "--out", "nowhere/run.nc"], "out"),
    (["simulate", *QUICK, "--out", "run.csv"], "out"),
    (["simulate", *QUICK, "--resume"], "resume"),
    (["simulate", "--t-end", "0.05", "--dt", "1"], "dt"),
    (["simulate", *QUICK, "--dim", "3", "--beta", "500"], "beta"),
    (["simulate", *QUICK, "--dim", "3", "--beta", "100", "--dtype", "float32"], "beta"),
    (["simulate", *QUICK, "--beta", "100", "--dtype", "float32"], "beta"),
    (["simulate", *QUICK, "--beta", "1000"], "beta"),
    (["simulate", *QUICK, "--beta", "1e308", "--kind", "sa"], "beta"),
    (["simulate", *QUICK, "--beta", "1e308", "--kind", "sa", "--dim", "3"], "beta"),
    (["simulate", *QUICK, "--dtype", "float16"], "dtype"),
    (["simulate", *QUICK, "--device", "tpu"], "device"),
    (["pde", "--t-end", "0.01", "--grid", "64", "--out", "precious.nc"], "out"),
    (["pde", "--t-end", "0.01", "--grid", "64", "--out", "precious.zarr", "--overwrite"], "out"),
    (["pde", "--t-end", "0.01", "--grid", "64", "--figures", "figs"], "figures"),
    (["pde", "--t-end", "0.01", "--grid", "64", "--figures", "plot.png"], "figures"),
    (["pde", "--beta", "1000", "--grid", "128", "--t-end", "0.01"], "beta"),
    (["pde", "--method", "spectral", "--grid", "64", "--t-end", "0.5"], "spectral"),
    (["predict", "--beta", "5", "--plot", "plot.png"], "plot"),
    (["predict", "--beta", "5", "--plot", "gamma.jpg"], "plot"),
    (["predict", "--beta", "5", "--plot", "nowhere/gamma.png"], "plot"),
    (["predict", "--beta", "5", "--tokens", "corrupt.nc"], "tokens"),
    (["predict", "--beta", "5", "--tokens", "nan.npy"], "tokens"),
    (["predict", "--beta", "5", "--tokens", "short.npy"], "tokens"),
    (["predict", "--beta", "5", "--tokens", "missing.npy"], "tokens"),
    (["predict", "--beta", "5", "--n", "1"], "n"),
    (["predict", "--beta", "5", "--kmax", "2"], "kmax"),
    (["predict", "--beta", "inf"], "beta"),
    (["reproduce", "--out", "report", "--only", "equiangular"], "out"),
    (["reproduce", "--out", "plot.png"], "out"),
]


@pytest.mark.parametrize("args, name", CORPUS, ids=[" ".join(a) for a, _ in CORPUS])
def test_bad_input_corpus(user_folder, args, name, monkeypatch, capsys):
    before = snapshot(user_folder)
    status, stderr = run_in_process(args, user_folder, monkeypatch, capsys)
    assert status == 2, stderr
    assert "Traceback" not in stderr
    assert name in stderr
    assert len(stderr.strip().splitlines()) <= 3  # one message (rich may wrap it)
    assert snapshot(user_folder) == before


def test_bad_input_exits_2_without_traceback_from_the_script(user_folder):
    """The same contract through a real process, for two cases of the corpus."""
    for args, name in (CORPUS[0], CORPUS[23]):
        result = run_cli(*args, cwd=user_folder)
        assert result.returncode == 2 and "Traceback" not in result.stderr and name in result.stderr


def test_overwrite_replaces_only_attnflow_results(tmp_path):
    first = run_cli("simulate", *QUICK, "--out", "run.nc", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    refused = run_cli("simulate", *QUICK, "--out", "run.nc", "--seed", "1", cwd=tmp_path)
    assert refused.returncode == 2 and "--overwrite" in refused.stderr
    assert load(tmp_path / "run.nc").attrs["seed"] == 0
    replaced = run_cli("simulate", *QUICK, "--out", "run.nc", "--seed", "1", "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    ds = load(tmp_path / "run.nc")
    assert ds.attrs["seed"] == 1 and ds.attrs["complete"] == 1 and ds.attrs["attnflow_output"] == "particle-run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]  # no temporary or partial left behind


MODEL_RUNS = [
    (af.Model("usa", 5.0, 2, diffusion=0.1), "euler", 1e-3),  # noise: the generator state is checkpointed
    (af.Model("sa", 4.0, 3), "dopri5", None),  # step size and FSAL rate are checkpointed
    (af.Model("usa", 1.0, 3, norm="pre"), "rk4", 1e-2),
]


@pytest.mark.parametrize("model, method, dt", MODEL_RUNS, ids=["noisy-euler", "dopri5", "pre-ln-rk4"])
def test_interrupted_run_resumes_to_the_same_bits(tmp_path, model, method, dt):
    x0 = af.init.uniform(100, model.dim, seed=1)
    options = dict(t_end=0.2, dt=dt, method=method, save_every=0.02, observe_every=0.01, seed=3, flush_seconds=0)
    whole = af.simulate(model, x0, out=tmp_path / "whole.nc", **options)

    def interrupt(t, t_end):
        if t > 0.11:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        af.simulate(model, x0, out=tmp_path / "part.nc", progress=interrupt, **options)
    store = partial_path(tmp_path / "part.nc")
    assert info.value.partial_result == store
    partial = load(store)
    assert partial.attrs["complete"] == 0 and partial.attrs["beta"] == model.beta
    assert 0.1 <= partial.attrs["saved_time"] < 0.2 and "KeyboardInterrupt" in partial.attrs["stopped"]
    with pytest.raises(AttnflowError, match="resume"):  # a plain rerun would lose it: refused
        af.simulate(model, x0, out=tmp_path / "part.nc", **options)
    with pytest.raises(AttnflowError, match="seed"):  # other parameters: refused
        af.simulate(model, x0, out=tmp_path / "part.nc", resume=True, **{**options, "seed": 4})
    resumed = af.simulate(model, x0, out=tmp_path / "part.nc", resume=True, **options)
    assert not store.exists()
    on_disk = load(tmp_path / "part.nc")
    for name in whole.data_vars:
        assert np.array_equal(whole[name].values, resumed[name].values), name
        assert np.array_equal(whole[name].values, on_disk[name].values), name
    assert np.array_equal(whole.obs_time.values, on_disk.obs_time.values)
    assert on_disk.attrs["complete"] == 1 and on_disk.attrs["steps"] == whole.attrs["steps"]


KILLED_RUN = """
import os, signal, sys
import attnflow as af
def die(t, t_end):
    if t > 0.5:
        os.kill(os.getpid(), signal.SIGKILL)
af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(2000, 2, seed=0), t_end=1.0, dt=1e-3, method="euler",
            save_every=0.05, out=sys.argv[1], flush_seconds=0, progress=die)
"""


def test_kill_9_leaves_a_described_store_that_resumes_to_the_same_bits(tmp_path):
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(tmp_path / "run.zarr")], timeout=120)
    assert killed.returncode == -signal.SIGKILL
    store = load(partial_path(tmp_path / "run.zarr"))
    assert store.attrs["complete"] == 0 and store.attrs["kind"] == "usa" and store.attrs["n"] == 2000
    assert 0.4 <= store.attrs["saved_time"] <= 0.5
    options = dict(t_end=1.0, dt=1e-3, method="euler", save_every=0.05)
    x0 = af.init.uniform(2000, 2, seed=0)
    resumed = af.simulate(af.Model("usa", 5.0, 2), x0, out=tmp_path / "run.zarr", resume=True, **options)
    whole = af.simulate(af.Model("usa", 5.0, 2), x0, **options)
    assert np.array_equal(resumed.x.values, whole.x.values)
    assert np.array_equal(load(tmp_path / "run.zarr").x.values, whole.x.values)


def test_sigterm_ends_the_cli_with_one_line_and_the_partial_store(tmp_path):
    process = subprocess.Popen([*CLI, "simulate", "--n", "20000", "--t-end", "5", "--dt", "1e-4", "--method",
                                "euler", "--out", "long.nc"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not partial_path(tmp_path / "long.nc").exists():
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "long.partial.zarr" in stderr and "--resume" in stderr
    store = load(tmp_path / "long.partial.zarr")
    assert store.attrs["complete"] == 0 and store.attrs["saved_time"] > 0


def test_non_finite_state_stops_the_run_naming_beta_dt_dtype_and_time(tmp_path, monkeypatch):
    """Fault injection: the engine returns NaN from its 60th evaluation on (no representable model does)."""
    from attnflow.flow import CircleFlow
    calls, rate = [0], CircleFlow.rate

    def failing(self, theta):
        calls[0] += 1
        return rate(self, theta) * (float("nan") if calls[0] >= 60 else 1.0)

    monkeypatch.setattr(CircleFlow, "rate", failing)
    x0 = af.init.uniform(50, 2, seed=0)
    with pytest.raises(af.NonFiniteError) as info:
        af.simulate(af.Model("usa", 5.0, 2), x0, t_end=0.1, dt=1e-3, method="euler", dtype="float32",
                    out=tmp_path / "r.nc", save_every=0.01, flush_seconds=0)
    message = str(info.value)
    for word in ("beta=5", "dt=0.001", "float32", "t = 0.06"):  # observed every 1e-3 here
        assert word in message
    partial = load(partial_path(tmp_path / "r.nc"))
    assert partial.attrs["complete"] == 0 and "NonFiniteError" in partial.attrs["stopped"]
    assert np.isfinite(partial.x.values).all() and partial.attrs["saved_time"] == pytest.approx(0.05)


def test_large_beta_on_the_circle_and_s2_is_finite_or_refused():
    """beta = 10^3 in float64: SA runs finite on S^1 and S^2; USA is refused naming beta (its velocities,
    of size e^1000, leave float64)."""
    for dim in (2, 3):
        x0 = af.init.uniform(200, dim, seed=0)
        ds = af.simulate(af.Model("sa", 1000.0, dim), x0, t_end=0.01, dt=1e-3, method="rk4")
        assert np.isfinite(ds.x.values).all() and "energy_scaled" in ds
        assert np.isfinite(ds.energy_scaled.values).all()
        with pytest.raises(AttnflowError, match="beta="):
            af.simulate(af.Model("usa", 1000.0, dim), x0, t_end=0.01, dt=1e-3)
        with pytest.raises(AttnflowError, match="beta="):
            af.velocity(af.Model("usa", 1000.0, dim), x0)


def test_scaled_energy_is_the_energy_times_exp_minus_beta():
    x = af.init.uniform(300, 3, seed=2)
    for beta in (0.5, 5.0, 50.0):
        assert np.isclose(af.observables.energy(x, beta, scaled=True), af.observables.energy(x, beta) * np.exp(-beta),
                          rtol=1e-12)
    with pytest.raises(AttnflowError, match="scaled"):
        af.observables.energy(x, 1000.0)


def test_accepted_but_wrong_inputs_are_refused():
    with pytest.raises(AttnflowError, match="masses"):
        af.init.clusters(100, 3, 2, masses=[0.5, 0.7])
    bad = af.init.uniform(10, 2, seed=0)
    bad[3] = np.nan
    with pytest.raises(AttnflowError, match="x="):
        af.clusters.find_clusters(bad)
    ds = af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(50, 2, seed=0), t_end=0.01, dt=1e-3,
                     observables="energy")
    assert "energy" in ds and "mode_amplitude" not in ds
    with pytest.raises(AttnflowError, match="dt="):
        af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(50, 2, seed=0), t_end=0.05, dt=1.0)


def test_circle_engine_is_bounded_at_huge_beta():
    with pytest.raises(AttnflowError, match="beta="):
        af.velocity(af.Model("sa", 1e300, 2), af.init.uniform(10, 2, seed=0), engine="circle")
