"""Time stepping: orders of convergence, tolerances, invariants, and the seed's scheme written out."""

import contextlib

import numpy as np
import pytest
import torch

import attnflow as af


def final_positions(model, x0, t_end, **kw):
    ds = af.simulate(model, x0, t_end, save_every=t_end, observables=(), **kw)
    return ds["x"].isel(time=-1).values


def observed_order(model, x0, t_end, method, steps):
    reference = final_positions(model, x0, t_end, method="dopri5", rtol=1e-13, atol=1e-14)
    errors = [np.abs(final_positions(model, x0, t_end, method=method, dt=t_end / s) - reference).max()
              for s in steps]
    return np.log2(np.array(errors[:-1]) / np.array(errors[1:])), errors


@pytest.mark.parametrize("dim", [2, 3])
def test_rk4_is_fourth_order(dim):
    model = af.Model("usa", 2.0, dim)
    orders, errors = observed_order(model, af.init.uniform(40, dim, seed=1), 0.5, "rk4", [10, 20, 40])
    assert errors[-1] < 1e-7
    assert np.all((orders > 3.7) & (orders < 4.4)), orders


@pytest.mark.parametrize("dim", [2, 3])
def test_euler_is_first_order(dim):
    model = af.Model("sa", 2.0, dim)
    orders, _ = observed_order(model, af.init.uniform(40, dim, seed=2), 0.5, "euler", [100, 200, 400])
    assert np.all((orders > 0.9) & (orders < 1.1)), orders


@pytest.mark.parametrize("tol", [1e-6, 1e-9])
def test_dopri5_meets_its_tolerance(tol):
    model = af.Model("usa", 3.0, 3)
    x0 = af.init.uniform(50, 3, seed=3)
    reference = final_positions(model, x0, 1.0, method="rk4", dt=1e-3)
    ds = af.simulate(model, x0, 1.0, method="dopri5", rtol=tol, atol=tol, save_every=1.0, observables=())
    error = np.abs(ds["x"].isel(time=-1).values - reference).max()
    assert error < 10 * tol
    assert ds.attrs["steps"] < 2000


@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
def test_tokens_stay_on_the_sphere(method):
    model = af.Model("sa", 4.0, 5, Q=np.diag([1.0, 2.0, 1.0, 0.5, 1.0]))
    ds = af.simulate(model, af.init.uniform(100, 5, seed=4), 2.0, dt=0.01, method=method, save_every=0.5,
                     observables=())
    norms = np.linalg.norm(ds["x"].values, axis=-1)
    assert np.abs(norms - 1).max() < 1e-12


@pytest.mark.parametrize("dim", [2, 3])
def test_energy_never_decreases_along_usa(dim):
    model = af.Model("usa", 3.0, dim)
    ds = af.simulate(model, af.init.uniform(300, dim, seed=5), 2.0, dt=1e-2, method="rk4", save_every=0.5,
                     observe_every=0.02)
    energy = ds["energy"].values
    assert np.all(np.diff(energy) >= -1e-12 * energy.max())
    assert energy[-1] > energy[0] * 1.1


def test_euler_on_the_circle_is_the_seeds_scheme():
    """theta <- theta + dt * (-(1/n) sum_j e^{beta cos(theta_i - theta_j)} sin(theta_i - theta_j))."""
    beta, dt, steps, n = 5.0, 1e-3, 200, 100
    x0 = af.init.uniform(n, 2, seed=6)
    theta = np.arctan2(x0[:, 1], x0[:, 0])
    for _ in range(steps):
        diff = theta[:, None] - theta[None, :]
        theta = theta + dt * (-(np.exp(beta * np.cos(diff)) * np.sin(diff)).mean(axis=1))
    for engine in ("circle", "dense"):
        ds = af.simulate(af.Model("usa", beta, 2), x0, steps * dt, dt=dt, method="euler", engine=engine,
                         save_every=steps * dt, observables=())
        x = ds["x"].isel(time=-1).values
        assert np.abs(x - np.stack([np.cos(theta), np.sin(theta)], 1)).max() < 1e-11


def test_euler_on_the_sphere_is_the_exponential_map_step():
    """x <- cos(dt|v|) x + sin(dt|v|) v/|v| with v = P_x(sum_j softmax_j(beta <x_i,x_j>) x_j)."""
    beta, dt, steps = 2.0, 1e-2, 50
    x = af.init.uniform(60, 3, seed=7)
    x0 = x.copy()
    for _ in range(steps):
        w = np.exp(beta * x @ x.T)
        a = (w @ x) / w.sum(1, keepdims=True)
        v = a - (a * x).sum(1, keepdims=True) * x
        speed = np.linalg.norm(v, axis=1, keepdims=True)
        x = np.cos(dt * speed) * x + np.sin(dt * speed) * v / speed
    ds = af.simulate(af.Model("sa", beta, 3), x0, steps * dt, dt=dt, method="euler", save_every=steps * dt,
                     observables=())
    assert np.abs(ds["x"].isel(time=-1).values - x).max() < 1e-12


def test_pre_ln_moves_freely_in_space():
    """Pre-LN: dx_i/dt = sum_j A_ij theta_j with attention on the directions, no projection."""
    beta, dt, steps = 1.0, 1e-3, 20
    x = af.init.uniform(30, 4, seed=8) * 1.5
    x0 = x.copy()
    for _ in range(steps):
        theta = x / np.linalg.norm(x, axis=1, keepdims=True)
        w = np.exp(beta * theta @ theta.T)
        x = x + dt * (w @ theta) / w.sum(1, keepdims=True)
    ds = af.simulate(af.Model("sa", beta, 4, norm="pre"), x0, steps * dt, dt=dt, method="euler",
                     save_every=steps * dt, observables=())
    assert np.abs(ds["x"].isel(time=-1).values - x).max() < 1e-12


def test_same_seed_same_result():
    model = af.Model("usa", 1.0, 3, diffusion=0.1)
    runs = [af.simulate(model, af.init.uniform(100, 3, seed=9), 0.2, dt=0.01, method="euler", seed=3)
            for _ in range(2)]
    assert np.array_equal(runs[0]["x"].values, runs[1]["x"].values)
    other = af.simulate(model, af.init.uniform(100, 3, seed=9), 0.2, dt=0.01, method="euler", seed=4)
    assert not np.array_equal(runs[0]["x"].values, other["x"].values)


@pytest.mark.parametrize("dim", [2, 3])
def test_brownian_motion_on_the_sphere(dim):
    """With V = 0 the drift vanishes: E <x(t), x(0)> = exp(-(d-1) D t) for generator D Laplacian."""
    D, t = 0.5, 0.4
    model = af.Model("usa", 1.0, dim, V=np.zeros((dim, dim)), diffusion=D)
    x0 = af.init.uniform(3000, dim, seed=10)
    ds = af.simulate(model, x0, t, dt=0.01, method="euler", save_every=t, observables=(), seed=1)
    correlation = (ds["x"].isel(time=-1).values * x0).sum(1).mean()
    assert abs(correlation - np.exp(-(dim - 1) * D * t)) < 4 * 0.8 / np.sqrt(3000)


def test_observables_recorded_on_a_finer_grid():
    ds = af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(500, 2, seed=11), 0.1, dt=1e-3, method="rk4",
                     save_every=0.05, observe_every=0.005)
    assert ds.sizes["time"] == 3 and ds.sizes["obs_time"] == 21 and ds.sizes["mode"] == 10
    x_last = ds["x"].isel(time=-1).values
    theta = np.arctan2(x_last[:, 1], x_last[:, 0])
    modes = np.abs(np.exp(-1j * np.arange(1, 11)[:, None] * theta[None, :]).mean(1))
    assert np.allclose(ds["mode_amplitude"].isel(obs_time=-1).values, modes, atol=1e-12)
    assert np.allclose(ds["angle"].values % (2 * np.pi), ds["angle"].values)


def test_float32_and_torch_input():
    x0 = torch.as_tensor(af.init.uniform(200, 3, seed=12))
    ds = af.simulate(af.Model("sa", 2.0, 3), x0, 0.1, dt=0.01, dtype="float32", observables=())
    assert ds.attrs["dtype"] == "float32"
    ref = af.simulate(af.Model("sa", 2.0, 3), x0, 0.1, dt=0.01, observables=())
    assert np.abs(ds["x"].values - ref["x"].values).max() < 1e-5


def test_progress_true_reports_in_a_log(capsys, monkeypatch):
    """progress=True: with stderr not a terminal, plain lines of t / t_end (here every step: the clock is fast)."""
    import attnflow.progress as progress
    ticks = iter(range(0, 10**6, 30))
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(ticks)))
    af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(50, 2, seed=0), t_end=0.01, dt=1e-3, progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if "simulate t" in line]
    assert lines and "0.01" in lines[-1]


def test_dopri5_stops_when_its_steps_fall_below_the_time_resolution_of_the_dtype(monkeypatch):
    """A step size that the controller keeps below eps(dtype) * t (float32 rounding noise in the error estimate
    did this, crawling towards max_steps for hours) ends the run at once with an error naming the dtype."""
    from attnflow import integrate

    first = []

    def adapt(self, h, h_step, ratio):
        first.append(h_step)
        return True, 1e-12  # every step accepted, the next one tiny

    monkeypatch.setattr(type(integrate.CONTROLLER), "adapt", adapt)
    with pytest.raises(af.NonFiniteError, match="float32"):
        af.simulate(af.Model("usa", 1.0, 3), af.init.uniform(20, 3, seed=0), 1.0, dt=1e-3, method="dopri5",
                    dtype="float32", max_steps=10**5)
    assert len(first) <= 3  # refused at the second step, not after max_steps
    with pytest.raises(af.NonFiniteError, match="max_steps"):  # float64 resolves such steps: the step budget ends it
        af.simulate(af.Model("usa", 1.0, 3), af.init.uniform(20, 3, seed=0), 1.0, dt=1e-3, method="dopri5",
                    max_steps=50)


def test_a_small_dense_systems_steps_run_on_the_threads_chosen_for_them(monkeypatch):
    """TokenFlow.step_threads: a small system's steps run under the tuner's torch threads (here fixed by
    ATTNFLOW_NUM_THREADS=1), a large one's are left to its attention blocks; the result does not depend on it."""
    import torch

    from attnflow import sphere, threads
    from attnflow.flow import TokenFlow

    model = af.Model("usa", 5.0, 3)
    x = sphere.uniform(200, 3, torch.Generator().manual_seed(3))
    previous = torch.get_num_threads()
    torch.set_num_threads(2)  # the tests run torch on one thread (conftest): give the choice something to change
    monkeypatch.setattr(threads, "_tuners", threads._Tuners())
    seen = []
    original = TokenFlow.rate
    monkeypatch.setattr(TokenFlow, "rate", lambda self, y: (seen.append(torch.get_num_threads()), original(self, y))[1])
    free = af.simulate(model, x, 0.05, dt=0.01, method="rk4", observables=(), save_every=0.05)
    monkeypatch.setenv(threads.ENVIRONMENT, "1")
    seen.clear()
    one = af.simulate(model, x, 0.05, dt=0.01, method="rk4", observables=(), save_every=0.05)
    torch.set_num_threads(previous)
    assert set(seen) == {1} and torch.get_num_threads() == previous
    np.testing.assert_allclose(one.x.values, free.x.values, rtol=0, atol=1e-13)
    large = sphere.uniform(600, 3, torch.Generator().manual_seed(4))  # 3.6e5 pairs: the attention's own tuner
    assert isinstance(TokenFlow(model).step_threads(large, 4), type(contextlib.nullcontext()))
    assert not isinstance(TokenFlow(model).step_threads(x, 4), type(contextlib.nullcontext()))
