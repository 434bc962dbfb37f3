"""Ensembles in `simulate`: a batch (B, n, d) of independent systems in one run equals B separate runs."""

import numpy as np
import pytest

import attnflow as af
from attnflow.errors import ParameterError

BETAS = (1.0, 4.0, 9.0)


def batch(n, dim, seeds=3):
    return np.stack([af.init.uniform(n, dim, seed=s) for s in range(seeds)])


def models(kind, dim, **options):
    return [af.Model(kind, beta, dim, **options) for beta in BETAS]


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("kind, dim, norm", [("usa", 2, "post"), ("sa", 3, "post"), ("sa", 3, "pre")])
def test_a_batch_is_its_systems_run_one_by_one_bit_for_bit(method, kind, dim, norm):
    x0, each = batch(24, dim), models(kind, dim, norm=norm)
    ds = af.simulate(each, x0, 1.0, dt=0.05, method=method, save_every=0.25, observables=("modes", "order_parameter"))
    for s, model in enumerate(each):
        alone = af.simulate(model, x0[s], 1.0, dt=0.05, method=method, save_every=0.25,
                            observables=("modes", "order_parameter"))
        for name in ("x", "mode_amplitude", "order_parameter"):
            assert np.array_equal(ds[name].isel(system=s).values, alone[name].values), name


def test_dopri5_takes_one_step_size_for_the_batch():
    x0, each = batch(20, 2), models("usa", 2)
    ds = af.simulate(each, x0, 2.0, method="dopri5", rtol=1e-10, atol=1e-12, save_every=0.5)
    for s, model in enumerate(each):
        alone = af.simulate(model, x0[s], 2.0, method="dopri5", rtol=1e-10, atol=1e-12, save_every=0.5)
        assert np.abs(ds.x.isel(system=s).values - alone.x.values).max() < 1e-8
    # the shared step is set by the hardest system: at least as many steps as any of them alone
    assert ds.attrs["steps"] >= max(af.simulate(m, x0[s], 2.0, method="dopri5", rtol=1e-10, atol=1e-12,
                                                save_every=0.5).attrs["steps"] for s, m in enumerate(each))


def test_the_dataset_of_an_ensemble():
    x0 = batch(16, 2, seeds=4)
    shared = af.simulate(af.Model("usa", 3.0, 2), x0, 1.0, dt=0.1, save_every=0.5, observe_every=0.1)
    assert shared.x.dims == ("time", "system", "token", "component")
    assert shared.angle.dims == ("time", "system", "token")
    assert shared.mode_amplitude.dims == ("obs_time", "system", "mode")
    assert shared.energy.dims == ("obs_time", "system")
    assert shared.sizes["system"] == 4 and "beta" not in shared.coords and shared.attrs["beta"] == 3.0
    varied = af.simulate([af.Model("usa", b, 2) for b in (1.0, 2.0, 3.0, 4.0)], x0, 1.0, dt=0.1)
    assert list(varied.beta.values) == [1.0, 2.0, 3.0, 4.0] and varied.beta.dims == ("system",)
    # each system's energy with its own beta: E at t = 0 against the pairwise sum
    first = x0 @ x0.transpose(0, 2, 1)
    for s, b in enumerate((1.0, 2.0, 3.0, 4.0)):
        expected = np.exp(b * first[s]).mean() / (2 * b)
        assert varied.energy.isel(obs_time=0, system=s).item() == pytest.approx(expected, rel=1e-12)
    # the mean over systems is one call
    assert varied.energy.mean("system").dims == ("obs_time",)


def test_models_of_an_ensemble_differ_only_in_beta():
    x0 = batch(8, 2, seeds=2)
    with pytest.raises(ParameterError, match="model"):
        af.simulate([af.Model("usa", 1.0, 2), af.Model("sa", 1.0, 2)], x0, 1.0, dt=0.1)
    with pytest.raises(ParameterError, match="model"):
        af.simulate([af.Model("usa", 1.0, 2)] * 3, x0, 1.0, dt=0.1)
    with pytest.raises(ParameterError, match="model"):
        af.simulate([af.Model("usa", 1.0, 2)] * 2, x0[0], 1.0, dt=0.1)


def stopping():
    """Models whose runs of 60 or fewer tokens reach a largest mode amplitude of 1/2 (at different times)."""
    return [af.Model("usa", beta, 2) for beta in (1.0, 2.0, 4.0)]


def largest_mode(t, x):
    return float(af.observables.mode_amplitudes(x, 4).max()) - 0.5


@pytest.mark.parametrize("delay", [0.0, 0.35])
def test_each_system_stops_at_its_own_event(delay):
    x0, each = batch(60, 2), stopping()
    event = af.Event(largest_mode, direction=1, delay=delay, name="clustered")
    ds = af.simulate(each, x0, 30.0, dt=0.05, save_every=30.0, observables=(), events=[event])
    stops = []
    for s, model in enumerate(each):
        alone = af.simulate(model, x0[s], 30.0, dt=0.05, save_every=30.0, observables=(), events=[event])
        assert alone.attrs["terminated_by"] == "clustered"
        assert ds.event_clustered_time.values[s] == alone.attrs["event_clustered_time"]
        assert ds.stop_time.values[s] == alone.time.values[-1]
        assert alone.time.values[-1] >= alone.attrs["event_clustered_time"] + delay - 1e-12
        assert np.array_equal(ds.x.isel(time=-1, system=s).values, alone.x.isel(time=-1).values)
        stops.append(alone.time.values[-1])
    assert len(set(stops)) > 1  # the systems did stop at different times
    assert ds.time.values[-1] == max(stops) and ds.attrs["terminated_by"] == "clustered"


def test_an_event_of_an_ensemble_located_by_dopri5_freezes_its_system():
    x0, each = batch(40, 2), stopping()
    event = af.Event(largest_mode, direction=1, name="clustered")
    options = dict(method="dopri5", rtol=1e-9, atol=1e-12, save_every=20.0, observables=(), events=[event])
    ds = af.simulate(each, x0, 20.0, **options)
    for s, model in enumerate(each):
        alone = af.simulate(model, x0[s], 20.0, **options)
        assert ds.stop_time.values[s] == pytest.approx(alone.time.values[-1], abs=1e-6)
        assert np.abs(ds.x.isel(time=-1, system=s).values - alone.x.isel(time=-1).values).max() < 1e-6
        # frozen: the state at the end is the tokens where the largest mode reached 1/2
        assert largest_mode(0, ds.x.isel(time=-1, system=s).values) == pytest.approx(0, abs=1e-8)


def test_a_batch_run_resumes_to_the_same_bits(tmp_path):
    x0, each = batch(30, 2), stopping()
    event = af.Event(largest_mode, direction=1, delay=0.2, name="clustered")
    options = dict(dt=0.05, save_every=0.5, observe_every=0.1, events=[event])
    whole = af.simulate(each, x0, 20.0, **options)
    calls = [0]

    def interrupt(t, t_end):
        calls[0] += 1
        if calls[0] == 8:  # t = 0.7: one system stopped, the others running
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        af.simulate(each, x0, 20.0, out=tmp_path / "run.nc", progress=interrupt, flush_seconds=0.0, **options)
    resumed = af.simulate(each, x0, 20.0, out=tmp_path / "run.nc", resume=True, **options)
    for name in [*whole.data_vars, "obs_time", "time", "beta"]:
        assert np.array_equal(whole[name].values, resumed[name].values, equal_nan=True), name
    assert af.load(tmp_path / "run.nc").x.dims == ("time", "system", "token", "component")


def test_velocity_of_a_batch():
    x0 = batch(12, 3)
    together = af.velocity(models("sa", 3), x0)
    for s, model in enumerate(models("sa", 3)):
        assert np.array_equal(together[s], af.velocity(model, x0[s]))
    shared = af.velocity(af.Model("usa", 2.0, 2), batch(12, 2))
    assert np.array_equal(shared[1], af.velocity(af.Model("usa", 2.0, 2), batch(12, 2)[1]))
