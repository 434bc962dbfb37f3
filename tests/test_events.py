"""Events: a terminal event stops the run where fn crosses zero (to the step, refined by dense output for
dopri5); others are recorded; the record is NaN-free."""

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow.errors import AttnflowError

MODEL = af.Model("usa", 1.0, 2)
X0 = af.init.uniform(64, 2, seed=3)  # the order parameter grows from 0.12 to 1; it crosses 0.9 near t = 4.5


def clustered(t, x):
    """r - 0.9: the order parameter crossing 0.9 (docs/science.md §4)."""
    return float(torch.linalg.vector_norm(x.mean(0))) - 0.9


@pytest.fixture(scope="module")
def crossing():
    """Where a finer independent run crosses: RK4 with dt = 2e-3, r(t) linearly interpolated between steps."""
    dt = 2e-3
    ds = af.simulate(MODEL, X0, 6.0, dt=dt, method="rk4", save_every=6.0, observe_every=dt,
                     observables="order_parameter")
    r, t = ds["order_parameter"].values, ds["obs_time"].values
    k = int(np.argmax(r >= 0.9))
    return t[k - 1] + (0.9 - r[k - 1]) / (r[k] - r[k - 1]) * dt


def test_fixed_steps_stop_at_the_end_of_the_crossing_step(crossing):
    dt = 0.05
    ds = af.simulate(MODEL, X0, 20.0, dt=dt, method="rk4", save_every=1.0, observe_every=0.1,
                     observables="order_parameter", until=af.Event(clustered, direction=1))
    t_stop = ds.attrs["event_clustered_time"]
    assert crossing - 1e-6 <= t_stop < crossing + dt
    assert ds.attrs["terminated_by"] == "clustered" and ds.attrs["event_clustered_triggered"] == 1
    assert ds["time"].values[-1] == t_stop and ds["obs_time"].values[-1] == t_stop
    assert np.isclose(t_stop / dt, round(t_stop / dt), atol=1e-9)  # the end of a step
    assert ds["order_parameter"].values[-1] >= 0.9 > ds["order_parameter"].values[-2]
    assert (ds["time"].values[:-1] % 1.0 == 0).all()  # the schedule up to the stop


def test_dopri5_locates_the_crossing_by_dense_output(crossing):
    ds = af.simulate(MODEL, X0, 20.0, method="dopri5", rtol=1e-9, atol=1e-12, save_every=20.0, observe_every=0.5,
                     observables="order_parameter", until=clustered)
    t_stop = ds.attrs["event_clustered_time"]
    assert abs(t_stop - crossing) < 1e-5
    assert ds["time"].values.tolist() == [0.0, t_stop]
    assert abs(ds["order_parameter"].values[-1] - 0.9) < 1e-8  # the state saved there
    assert np.abs(np.linalg.norm(ds["x"].values[-1], axis=1) - 1).max() < 1e-14


@pytest.mark.parametrize("method, dt", [("rk4", 0.01), ("dopri5", None)])
def test_non_terminal_events_are_recorded_and_absent_ones_marked(method, dt):
    events = [af.Event(lambda t, x: t - 0.055, terminal=False, name="clock"),
              af.Event(lambda t, x: np.sin(40 * t), terminal=False, name="wave"),
              af.Event(lambda t, x: t - 0.045, terminal=False, direction=-1, name="down"),
              af.Event(clustered, terminal=False)]
    ds = af.simulate(MODEL, X0, 0.1, dt=dt, method=method, rtol=1e-8, events=events)
    assert ds["time"].values[-1] == 0.1 and ds.attrs["terminated_by"] == "none"
    expected = 0.06 if method == "rk4" else 0.055  # the end of the step, or located along the dense output
    assert ds.attrs["event_clock_triggered"] == 1 and ds.attrs["event_clock_count"] == 1
    assert abs(ds.attrs["event_clock_time"] - expected) < 1e-9
    assert ds.attrs["event_wave_count"] == 1  # sin(40 t) crosses zero at pi/40 = 0.0785 within the run
    assert abs(ds.attrs["event_wave_time"] - (0.08 if method == "rk4" else np.pi / 40)) < 1e-6
    for name in ("down", "clustered"):
        assert ds.attrs[f"event_{name}_triggered"] == 0 and ds.attrs[f"event_{name}_count"] == 0
        assert f"event_{name}_time" not in ds.attrs
    assert not any(isinstance(v, float) and np.isnan(v) for v in ds.attrs.values())


def test_a_run_that_stops_resumes_and_streams(tmp_path):
    options = dict(t_end=0.3, method="dopri5", save_every=0.02, observe_every=0.005, flush_seconds=0,
                   observables=("order_parameter", {"spread": lambda t, x: x.std(0)}),
                   events=[af.Event(lambda t, x: t - 0.133, name="late"),
                           af.Event(lambda t, x: np.cos(60 * t), terminal=False, name="wave")])
    whole = af.simulate(MODEL, X0, out=tmp_path / "whole.nc", **options)
    assert abs(whole.attrs["event_late_time"] - 0.133) < 1e-9
    assert whole.attrs["event_wave_count"] == 3  # cos(60 t) = 0 at pi/120, 3 pi/120, 5 pi/120 before 0.133

    def interrupt(t, t_end):
        if t > 0.07:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        af.simulate(MODEL, X0, out=tmp_path / "part.nc", progress=interrupt, **options)
    resumed = af.simulate(MODEL, X0, out=tmp_path / "part.nc", resume=True, **options)
    for name in [*whole.data_vars, "obs_time", "time"]:
        assert np.array_equal(whole[name].values, resumed[name].values), name
    for key in ("steps", "rejected_steps", "terminated_by", "event_late_time", "event_wave_count", "event_wave_time"):
        assert whole.attrs[key] == resumed.attrs[key], key


def test_bad_events_are_refused():
    with pytest.raises(AttnflowError, match="events="):
        af.simulate(MODEL, X0, 0.05, dt=0.01, events=[lambda t, x: "soon"])
    with pytest.raises(AttnflowError, match="events="):
        af.simulate(MODEL, X0, 0.05, dt=0.01, events=[af.Event(clustered), af.Event(clustered)])
    with pytest.raises(AttnflowError, match="events="):
        af.Event(3.0)
