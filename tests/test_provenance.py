"""Every output says what made it (CF attributes, history, source, the initial-state parameters), a run
can be made again from its file alone (`attnflow rerun`), and progress reaches logs as plain lines."""

import io
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from rich.console import Console

import attnflow as af
from attnflow import progress as progress_module
from attnflow.cli import main
from attnflow.progress import Progress

GLOBAL = ("Conventions", "history", "source", "attnflow_version", "attnflow_commit")


def run_cli(monkeypatch, capsys, *args):
    """(exit status, stdout + stderr) of `attnflow ARGS` through the script's entry point."""
    monkeypatch.setattr(sys, "argv", ["attnflow", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return info.value.code or 0, captured.out + captured.err


def check_cf(ds: xr.Dataset, command: str) -> None:
    assert ds.attrs["Conventions"] == "CF-1.10"
    assert ds.attrs["attnflow_version"] == version("attnflow")
    when, what = ds.attrs["history"].split(": ", 1)
    assert when.endswith("Z") and what.startswith(command)
    assert ds.attrs["source"].startswith(f"attnflow {ds.attrs['attnflow_version']}")
    recorded = ds.attrs["attnflow_commit"].split("+")[0]  # a commit of this checkout (HEAD may move on meanwhile)
    kind = subprocess.run(["git", "-C", str(Path(af.__file__).parent), "cat-file", "-t", recorded],
                          capture_output=True, text=True).stdout.strip()
    assert kind == "commit" and recorded in ds.attrs["source"]
    for name, variable in ds.variables.items():  # units on quantities; not on text, nor on flags (CF 3.5)
        quantity = variable.dtype.kind in "fiu" and "flag_values" not in variable.attrs
        assert variable.attrs.get("long_name") and ("units" in variable.attrs or not quantity), name


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_cli_simulation_records_everything_and_reruns_to_the_same_bits(tmp_path, monkeypatch, capsys, suffix):
    monkeypatch.chdir(tmp_path)
    args = ["simulate", "--n", "60", "--t-end", "0.2", "--dt", "0.01", "--method", "euler", "--init", "clusters",
            "--clusters", "4", "--spread", "0.3", "--seed", "7", "--out", f"run{suffix}"]
    status, output = run_cli(monkeypatch, capsys, *args)
    assert status == 0, output
    ds = af.load(f"run{suffix}")
    check_cf(ds, "attnflow " + " ".join(args))
    assert (ds.attrs["init"], ds.attrs["init_clusters"], ds.attrs["init_spread"]) == ("clusters", 4, 0.3)
    assert list(ds["token"].values) == list(range(60)) and list(ds["component"].values) == [0, 1]
    assert ds["angle"].attrs["units"] == "rad"
    status, output = run_cli(monkeypatch, capsys, "rerun", f"run{suffix}", "--out", "again.nc")
    assert status == 0 and "the same bits" in output, output
    again = af.load("again.nc")
    for name in ("x", "mode_amplitude", "energy"):
        assert np.array_equal(again[name].values, ds[name].values), name
    assert again.attrs["history"].endswith(f"attnflow rerun run{suffix} --out again.nc")
    assert again.attrs["init_clusters"] == 4


def test_a_cli_pde_run_records_its_initial_density_and_reruns_to_the_same_bits(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["pde", "--grid", "64", "--t-end", "0.05", "--sigma", "0.02", "--seed", "3", "--noise-points", "256",
            "--cfl", "0.5", "--out", "pde.zarr"]
    status, output = run_cli(monkeypatch, capsys, *args)
    assert status == 0, output
    ds = af.load("pde.zarr")
    check_cf(ds, "attnflow " + " ".join(args))
    assert {k: ds.attrs[k] for k in ("init", "init_sigma", "init_seed", "init_noise_points", "option_cfl")} == \
        {"init": "noise", "init_sigma": 0.02, "init_seed": 3, "init_noise_points": 256, "option_cfl": 0.5}
    assert ds["density"].attrs["units"] == "rad-1"
    status, output = run_cli(monkeypatch, capsys, "rerun", "pde.zarr", "--out", "again.zarr")
    assert status == 0, output
    again = af.load("again.zarr")
    assert np.array_equal(again["density"].values, ds["density"].values)
    # the default options are recorded too: the spectral method's tolerances
    spectral = af.pde.solve(af.Model("usa", 1.0, 2), af.pde.initial.uniform_noise(32, 0.01), 0.01, method="spectral")
    assert (spectral.attrs["option_rtol"], spectral.attrs["option_atol"]) == (1e-8, 1e-10)
    assert spectral.attrs["history"].split(": ", 1)[1].startswith("attnflow.pde.solve(density0=")


def test_a_python_run_records_its_call_and_reruns_from_its_first_snapshot(tmp_path):
    from attnflow.rerun import rerun

    x0 = af.init.uniform(50, 3, seed=2)
    ds = af.simulate(af.Model("sa", 2.0, 3), x0, 0.1, dt=0.01, method="rk4", out=tmp_path / "py.nc")
    saved = af.load(tmp_path / "py.nc")
    call = saved.attrs["history"].split(": ", 1)[1]
    assert call.startswith("attnflow.simulate(x0=") and "beta=2.0" in call and "method='rk4'" in call
    assert "init" not in saved.attrs  # an array from Python: its first snapshot is the start
    again = rerun(tmp_path / "py.nc")
    np.testing.assert_allclose(again["x"].values, ds["x"].values, rtol=0, atol=1e-14)
    assert again.attrs["init"] == "array"


def test_a_resumed_run_keeps_its_history_and_adds_a_line(tmp_path):
    x0 = af.init.uniform(40, 2, seed=0)
    model = af.Model("usa", 3.0, 2)

    def stop(t, t_end):
        if t >= 0.05:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        af.simulate(model, x0, 0.1, dt=0.01, method="euler", save_every=0.01, out=tmp_path / "r.zarr",
                    progress=stop, flush_seconds=0)
    first = json.loads((tmp_path / "r.partial.zarr" / ".zattrs").read_text())["history"]
    af.simulate(model, x0, 0.1, dt=0.01, method="euler", save_every=0.01, out=tmp_path / "r.zarr", resume=True)
    lines = af.load(tmp_path / "r.zarr").attrs["history"].splitlines()
    assert lines[0] == first and "resumed by attnflow.simulate(" in lines[1]


def test_a_sweep_store_is_described_chunked_and_keeps_whole_errors(tmp_path, monkeypatch, capsys):
    from attnflow.sweep import FAILED, SweepStore, parse_spec, plan

    monkeypatch.chdir(tmp_path)
    spec = parse_spec({"task": "simulate", "fixed": {"t_end": 0.1, "dt": 0.05, "n": 4},
                       "grid": {"beta": [1.0, 2.0, 3.0, 4.0, 5.0]}, "seeds": 6, "record": ["energy", "final_state"]})
    store = SweepStore.prepare(tmp_path / "s.zarr", spec, plan(spec))
    message = "ValueError: " + "a long explanation " * 40
    store.fail(4, message)
    store.write(5, {"energy": np.arange(3.0)[:2], "final_state": np.ones((4, 2))})
    ds = xr.open_zarr(tmp_path / "s.zarr")
    check_cf(ds, f"attnflow.sweep.run_sweep(spec='<task simulate, 30 points>', out='{tmp_path / 's.zarr'}')")
    assert ds["status"].attrs["flag_meanings"].split() == ["pending", "done", "failed"]
    assert list(ds["status"].attrs["flag_values"]) == [0, 1, 2]
    assert str(ds["error"].values.ravel()[4]) == message and ds["status"].values.ravel()[4] == FAILED
    assert ds["beta"].attrs["long_name"].startswith("inverse temperature")
    np.testing.assert_array_equal(ds["final_state"].values.reshape(30, 4, 2)[5], np.ones((4, 2)))
    chunks = [p for p in (tmp_path / "s.zarr").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(chunks) == 7  # one per array (3 coordinates, 4 variables), where each point had its own chunk


def test_the_cli_sweep_records_its_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text("task: simulate\nfixed: {t_end: 0.1, dt: 0.05, n: 4}\ngrid: {beta: [1]}\n")
    status, output = run_cli(monkeypatch, capsys, "sweep", "spec.yaml", "--out", "s.zarr", "--workers", "1")
    assert status == 0, output
    assert xr.open_zarr("s.zarr").attrs["history"].endswith(": attnflow sweep spec.yaml --out s.zarr --workers 1")


def test_choices_are_listed_and_a_bad_one_is_one_line_naming_the_option(monkeypatch, capsys):
    def help_of(command):
        return subprocess.run([sys.executable, "-m", "attnflow", command, "--help"], capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "200"}, check=True).stdout

    assert "euler|rk4|dopri5" in help_of("simulate") and "uniform|clusters|equiangular" in help_of("simulate")
    assert "spectral|fv|lax-friedrichs" in help_of("pde")
    status, output = run_cli(monkeypatch, capsys, "simulate", "--norm", "layer")
    lines = output.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "--norm" in lines[0] and "'layer'" in lines[0], output
    status, output = run_cli(monkeypatch, capsys, "--version")
    assert status == 0 and output.startswith("attnflow ")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_progress_lines_every_ten_seconds_or_ten_percent(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress_module.time, "monotonic", clock)
    stream = io.StringIO()
    quick = Progress("simulate t", console=Console(file=stream, width=200), interactive=False)
    for t in np.linspace(0.01, 1, 100):  # a run shorter than 10 s prints nothing
        clock.now = 5 * t
        quick(t, 1.0)
    assert stream.getvalue() == ""
    clock.now, stream = 0.0, io.StringIO()
    slow = Progress("simulate t", console=Console(file=stream, width=200), interactive=False)
    for t in np.linspace(0.001, 1, 1000):  # 100 s in all
        clock.now = 100 * t
        slow(t, 1.0)
    lines = stream.getvalue().splitlines()
    assert 9 <= len(lines) <= 11 and lines[-1] == "simulate t: 1 / 1 (100%), 1m40s elapsed", lines
    assert lines[0].startswith("simulate t: 0.1 / 1 (10%), 10s elapsed")
