"""The save schedule: exact step indices for fixed steps, times for adaptive ones, the short form of simulate."""

import numpy as np
import pytest

import attnflow as af
from attnflow.errors import AttnflowError


def step_times(count, dt, t_end):
    return np.array([min(k * dt, t_end) for k in range(count + 1)])


@pytest.mark.parametrize("t_end, dt, save_every, observe_every", [
    (0.2, 0.01, 0.027, 0.01), (0.105, 0.01, 0.03, 0.004), (1.0, 1e-3, 0.05, 0.005), (0.3, 0.1, 0.3, 0.1)])
def test_regular_grids_are_every_rounded_stride_of_steps(t_end, dt, save_every, observe_every):
    """Independently: count = the steps to reach t_end, a grid of `every` is every round(every/dt)-th step,
    and the first and last steps are always in."""
    steps = af.SaveAt(save_every=save_every, observe_every=observe_every).steps(t_end, dt)
    count = int(np.ceil(round(t_end / dt, 6)))
    assert steps.count == count
    for every, indices in ((save_every, steps.save), (observe_every, steps.observe)):
        stride = max(1, int(np.floor(every / dt + 0.5)))
        expected = [k for k in range(count + 1) if k % stride == 0 or k == count]
        assert indices.tolist() == expected
    assert [steps.time(k) for k in range(count + 1)] == step_times(count, dt, t_end).tolist()


def test_explicit_times_go_to_their_nearest_step():
    t_end, dt = 0.105, 0.01  # the last step is shorter: t_11 = 0.105
    ts = np.random.default_rng(0).uniform(0, t_end, 40)
    steps = af.SaveAt(ts=ts, obs_ts=[0.104, 0.101]).steps(t_end, dt)
    times = step_times(steps.count, dt, t_end)
    nearest = {int(np.argmin(np.abs(times - t))) for t in ts}
    assert steps.save.tolist() == sorted(nearest | {0, steps.count})
    assert steps.observe.tolist() == [0, 10, 11]  # 0.101 -> t_10 = 0.1, 0.104 -> t_11 = 0.105


def test_adaptive_times_span_the_run_without_slivers():
    saves, observes = af.SaveAt(save_every=0.02, observe_every=0.002).times(0.2)
    assert saves[0] == 0 and saves[-1] == 0.2 and len(saves) == 11
    assert observes[0] == 0 and observes[-1] == 0.2 and len(observes) == 101
    assert np.diff(observes).min() > 0.0019
    saves, observes = af.SaveAt(ts=[0.3, 0.1]).times(0.5)
    assert saves.tolist() == [0.0, 0.1, 0.3, 0.5] and observes.tolist() == saves.tolist()
    saves, observes = af.SaveAt().times(1.0)  # the defaults: t_end / 50 and a tenth of it
    assert len(saves) == 51 and len(observes) == 501


def test_explicit_times_in_a_run_are_the_steps_of_an_every_step_run():
    model, x0 = af.Model("usa", 4.0, 3), af.init.uniform(40, 3, seed=1)
    every_step = af.simulate(model, x0, 0.1, dt=0.01, save_every=0.01, observe_every=0.01)
    ds = af.simulate(model, x0, 0.1, dt=0.01, saveat=af.SaveAt(ts=[0.031, 0.07], obs_ts=[0.049]))
    assert ds.time.values.tolist() == [0.0, 0.03, 0.07, 0.1]
    assert np.array_equal(ds.x.values, every_step.x.sel(time=ds.time.values).values)
    assert np.allclose(ds.obs_time.values, [0.0, 0.05, 0.1], rtol=0, atol=1e-15)
    assert np.array_equal(ds.energy.values, every_step.energy.values[[0, 5, 10]])
    assert ds.attrs["save_every"] == "none" and ds.attrs["save_times"] == [0.031, 0.07]


def test_the_short_form_is_saveat():
    model, x0 = af.Model("sa", 2.0, 2), af.init.uniform(30, 2, seed=2)
    short = af.simulate(model, x0, 0.2, dt=0.01, save_every=0.05, observe_every=0.02)
    full = af.simulate(model, x0, 0.2, dt=0.01, saveat=af.SaveAt(save_every=0.05, observe_every=0.02))
    for name in short.variables:
        assert np.array_equal(short[name].values, full[name].values), name
    assert short.attrs["save_every"] == full.attrs["save_every"] == 0.05


@pytest.mark.parametrize("make, name", [
    (lambda model, x0: af.simulate(model, x0, 0.1, dt=0.01, save_every=0.05, saveat=af.SaveAt()), "saveat"),
    (lambda model, x0: af.SaveAt(save_every=0.1, ts=[0.1]), "save_every"),
    (lambda model, x0: af.SaveAt(observe_every=-1.0), "observe_every"),
    (lambda model, x0: af.SaveAt(ts=[0.1, np.nan]), "ts"),
    (lambda model, x0: af.simulate(model, x0, 0.1, dt=0.01, saveat=af.SaveAt(obs_ts=[0.2])), "obs_ts"),
    (lambda model, x0: af.simulate(model, x0, 0.1, dt=0.01, saveat={"ts": [0.1]}), "saveat"),
])
def test_bad_schedules_are_refused_naming_the_parameter(make, name):
    with pytest.raises(AttnflowError) as info:
        make(af.Model("usa", 1.0, 2), af.init.uniform(10, 2, seed=0))
    assert str(info.value).startswith(f"{name}=")
