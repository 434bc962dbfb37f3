"""Datasets on disk: round trips, streaming, and an interrupted run keeping its finished snapshots."""

import numpy as np
import pytest
import xarray as xr

import attnflow as af


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_streamed_run_equals_in_memory_run(tmp_path, suffix):
    model = af.Model("usa", 5.0, 2)
    x0 = af.init.uniform(300, 2, seed=1)
    kwargs = dict(t_end=0.1, dt=1e-3, method="euler", save_every=0.02, observe_every=0.005)
    in_memory = af.simulate(model, x0, **kwargs)
    path = tmp_path / f"run{suffix}"
    af.simulate(model, x0, out=path, **kwargs)
    on_disk = af.load(path).load()
    assert on_disk.attrs["complete"] == 1
    for name in ("x", "angle", "mode_amplitude", "energy"):
        xr.testing.assert_equal(in_memory[name], on_disk[name])
    assert not (tmp_path / "run.partial.zarr").exists()


def test_save_and_load_round_trip(tmp_path):
    ds = af.simulate(af.Model("sa", 1.0, 3), af.init.uniform(50, 3), 0.1, dt=0.01)
    for suffix in (".nc", ".zarr"):
        af.save(ds, tmp_path / f"copy{suffix}")
        xr.testing.assert_identical(ds, af.load(tmp_path / f"copy{suffix}").load())


def test_interrupted_run_keeps_finished_snapshots(tmp_path):
    path = tmp_path / "long.nc"

    def interrupt(t, t_end):
        if t >= 0.05:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(200, 2), 1.0, dt=1e-3, method="euler",
                    save_every=0.01, out=path, progress=interrupt)
    assert not path.exists()
    partial = af.load(tmp_path / "long.partial.zarr")
    assert partial.attrs["complete"] == 0
    assert partial.sizes["time"] >= 1 and partial["time"].values[0] == 0.0
