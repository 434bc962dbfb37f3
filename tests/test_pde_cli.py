"""`attnflow pde` on the command line (in process, through the same entry point as the script)."""

import sys

import numpy as np

import attnflow as af
from attnflow.cli import main


def run_cli(monkeypatch, capsys, *args):
    """(exit status, stderr) of `attnflow pde ARGS`."""
    monkeypatch.setattr(sys, "argv", ["attnflow", "pde", *map(str, args)])
    try:
        main()
        status = 0
    except SystemExit as stop:
        status = stop.code or 0
    return status, capsys.readouterr().err


def test_pde_command_writes_the_run_and_figures(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run.nc"
    status, err = run_cli(monkeypatch, capsys, "--beta", 5, "--grid", 128, "--t-end", 0.2, "--out", out,
                          "--figures", tmp_path / "figs")
    assert status == 0, err
    ds = af.load(out)
    assert ds.density.dims == ("time", "angle") and ds.density.shape[1] == 128
    assert np.abs(ds.mass.values - 1).max() < 1e-12
    assert (tmp_path / "figs" / "pde_snapshots.png").stat().st_size > 0
    assert (tmp_path / "figs" / "pde_spacetime.png").stat().st_size > 0


def test_pde_command_rejects_bad_input_in_one_line(tmp_path, monkeypatch, capsys):
    for args, name in ((("--method", "euler"), "method"), (("--grid", 4), "--grid"), (("--beta", -1), "beta"),
                       (("--init", "modes", "--amplitudes", "0.1,x"), "--amplitudes"),
                       (("--out", tmp_path / "run.txt"), "out")):
        status, err = run_cli(monkeypatch, capsys, "--t-end", 0.01, "--grid", 64, *args)
        assert status == 2, (args, err)
        assert "Traceback" not in err and name in err and len(err.strip().splitlines()) <= 2
