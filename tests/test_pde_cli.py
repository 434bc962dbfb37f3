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


def test_the_default_grid_resolves_every_degree_the_kernel_couples(tmp_path, monkeypatch, capsys):
    """Without --grid, S^2 and zonal runs get the band limit spectrum.kernel_degree(beta, d) (at least 32 and 64
    points): beta = 20 on S^2 gives 47 latitudes (degrees up to 46), zonal d = 8 at beta = 60 its own count."""
    from attnflow.spectrum import kernel_degree

    status, err = run_cli(monkeypatch, capsys, "--kind", "sa", "--dim", 3, "--beta", 20, "--t-end", 1e-8,
                          "--init", "modes", "--amplitudes", "1e-3", "--save-every", 1e-8, "--out", tmp_path / "s2.nc")
    assert status == 0, err
    assert af.load(tmp_path / "s2.nc").sizes["lat"] == max(32, kernel_degree(20.0, 3) + 1) == 47
    status, err = run_cli(monkeypatch, capsys, "--kind", "sa", "--zonal", "--dim", 8, "--beta", 60, "--t-end", 1e-8,
                          "--save-every", 1e-8, "--out", tmp_path / "zonal.nc")
    assert status == 0, err
    assert af.load(tmp_path / "zonal.nc").sizes["t"] == max(64, kernel_degree(60.0, 8) + 1)


def test_the_default_grid_resolves_the_initial_modes(tmp_path, monkeypatch, capsys):
    """The band limit is chosen from beta and the data: 40 modal amplitudes at beta = 1 (whose kernel couples few
    degrees) get 41 latitudes on S^2; 70 zonal amplitudes 71 nodes (above the minimum of 64)."""
    from attnflow.spectrum import kernel_degree

    amplitudes = ",".join(["1e-4"] * 40)
    assert kernel_degree(1.0, 3) + 1 < 41
    status, err = run_cli(monkeypatch, capsys, "--dim", 3, "--beta", 1, "--t-end", 1e-8, "--init", "modes",
                          "--amplitudes", amplitudes, "--save-every", 1e-8, "--out", tmp_path / "s2.nc")
    assert status == 0, err
    assert af.load(tmp_path / "s2.nc").sizes["lat"] == 41
    status, err = run_cli(monkeypatch, capsys, "--zonal", "--dim", 5, "--beta", 1, "--t-end", 1e-8,
                          "--amplitudes", ",".join(["1e-9"] * 70), "--save-every", 1e-8, "--out", tmp_path / "z.nc")
    assert status == 0, err
    assert af.load(tmp_path / "z.nc").sizes["t"] == 71
