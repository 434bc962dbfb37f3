"""Observables as functions f(t, x): the default set by name, a user's own by mapping, errors naming them."""

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow.errors import AttnflowError, NonFiniteError


def order(t, x):
    return float(torch.linalg.vector_norm(x.mean(0)))


def test_user_functions_are_recorded_and_equal_the_defaults_where_they_coincide():
    model, x0 = af.Model("usa", 3.0, 3), af.init.uniform(80, 3, seed=1)
    ds = af.simulate(model, x0, 0.2, dt=0.01, save_every=0.1, observe_every=0.02,
                     observables=("order_parameter", "modes", {"r": order, "mean": lambda t, x: x.mean(0),
                                                               "clock": lambda t, x: t}))
    assert np.array_equal(ds["r"].values, ds["order_parameter"].values)
    assert ds["mean"].dims == ("obs_time", "mean_index") and ds.sizes["mean_index"] == 3
    assert np.allclose(np.linalg.norm(ds["mean"].values, axis=1), ds["r"].values, rtol=1e-14)
    assert np.array_equal(ds["clock"].values, ds["obs_time"].values)
    assert ds["mode_amplitude"].dims == ("obs_time", "mode") and ds["mode"].values.tolist() == list(range(1, 11))
    assert ds.attrs["observables"] == ["order_parameter", "modes", "r", "mean", "clock"]
    x_end = ds["x"].isel(time=-1).values  # against the saved positions, computed here
    assert np.allclose(ds["mean"].isel(obs_time=-1).values, x_end.mean(0), rtol=0, atol=1e-15)


def test_pre_ln_observables_see_directions():
    model = af.Model("sa", 1.0, 3, norm="pre")
    x0 = 1.5 * af.init.uniform(20, 3, seed=2)
    ds = af.simulate(model, x0, 0.05, dt=0.01, observables={"radius": lambda t, x: torch.linalg.vector_norm(x, dim=1)})
    assert np.allclose(ds["radius"].values, 1.0, rtol=0, atol=1e-14)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_array_observables_stream_and_round_trip(tmp_path, suffix):
    model, x0 = af.Model("usa", 2.0, 2), af.init.uniform(30, 2, seed=3)
    kwargs = dict(t_end=0.1, dt=0.01, save_every=0.05, observe_every=0.01, flush_seconds=0,
                  observables=("modes", {"mean": lambda t, x: x.mean(0), "gram": lambda t, x: x[:2] @ x[:2].T}))
    in_memory = af.simulate(model, x0, **kwargs)
    af.simulate(model, x0, out=tmp_path / f"run{suffix}", **kwargs)
    on_disk = af.load(tmp_path / f"run{suffix}").load()
    for name in ("mode_amplitude", "mean", "gram"):
        assert on_disk[name].dims == in_memory[name].dims
        assert np.array_equal(on_disk[name].values, in_memory[name].values)
    assert in_memory["gram"].dims == ("obs_time", "gram_index0", "gram_index1")
    assert on_disk["mean"].attrs["long_name"] and on_disk["mean"].attrs["units"] == "1"


def test_a_failing_or_non_finite_observable_is_an_error_naming_it():
    model, x0 = af.Model("usa", 1.0, 2), af.init.uniform(10, 2, seed=0)
    with pytest.raises(AttnflowError, match="observables='broken'.*ZeroDivisionError"):
        af.simulate(model, x0, 0.05, dt=0.01, observables={"broken": lambda t, x: 1 / 0})
    with pytest.raises(NonFiniteError, match="'blowup'.*t = 0.02"):
        af.simulate(model, x0, 0.05, dt=0.01, save_every=0.01,
                    observables={"blowup": lambda t, x: np.inf if t > 0.015 else 0.0})


@pytest.mark.parametrize("observables", [("entropy",), {"x": order}, {"energy": order}, {"r": 3.0}, [order]])
def test_bad_observables_are_refused(observables):
    with pytest.raises(AttnflowError) as info:
        af.simulate(af.Model("usa", 1.0, 2), af.init.uniform(10, 2), 0.1, dt=0.01, method="euler",
                    observables=("energy", observables) if isinstance(observables, dict) else observables)
    assert str(info.value).startswith("observables=")
