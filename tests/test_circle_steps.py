"""Compiled blocks of fixed steps on the circle (interaction/circle_steps.py) against the steps taken one at a
time by `steppers` on `flow.CircleFlow`, and `attnflow.simulate` (which uses them) against that loop."""

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow import sphere
from attnflow.flow import CircleFlow
from attnflow.interaction import circle_steps
from attnflow.steppers import euler_step, rk4_step

STEPPERS = {"euler": euler_step, "rk4": rk4_step}


def one_at_a_time(model, theta, steps, method, beta=None):
    flow = CircleFlow(model, beta)
    for h in steps:
        theta = STEPPERS[method](flow, theta, float(h))
    return theta


@pytest.mark.parametrize("kind", ["usa", "sa"])
@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_a_block_equals_the_steps_one_at_a_time(kind, method):
    theta = torch.from_numpy(np.random.default_rng(3).uniform(0, 2 * np.pi, 3000))
    steps = np.array([1e-3] * 6 + [2.5e-4])
    expected = one_at_a_time(af.Model(kind, 5.0, 2), theta, steps, method)
    assert torch.equal(circle_steps.advance(kind, 5.0, theta, steps, method), expected)


def test_a_batch_with_a_beta_per_system_equals_the_steps_one_at_a_time():
    theta = torch.from_numpy(np.random.default_rng(4).uniform(0, 2 * np.pi, (3, 2500)))
    beta = np.array([1.0, 5.0, 12.0])
    steps = np.full(5, 2e-3)
    for method in STEPPERS:
        expected = one_at_a_time(af.Model("usa", 1.0, 2), theta, steps, method, beta)
        assert torch.equal(circle_steps.advance("usa", beta, theta, steps, method), expected)
        alone = [circle_steps.advance("usa", float(b), theta[s], steps, method) for s, b in enumerate(beta)]
        assert torch.equal(torch.stack(alone), expected)


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_simulate_equals_the_steps_one_at_a_time(method):
    """Saves and observations between blocks: every saved state is the one-at-a-time loop's, and the last step
    (shortened to land on t_end) too."""
    model, x0 = af.Model("usa", 5.0, 2), af.init.uniform(2000, 2, seed=5)
    ds = af.simulate(model, x0, 0.0105, dt=1e-3, method=method, save_every=4e-3)
    theta = sphere.angles(sphere.normalize(torch.as_tensor(x0)))  # simulate normalises the tokens first
    saved = {0.0: theta}
    for k in range(1, 12):
        theta = one_at_a_time(model, theta, [min(1e-3, 0.0105 - (k - 1) * 1e-3)], method)
        saved[round(min(k * 1e-3, 0.0105), 12)] = theta
    for time in ds.time.values:
        np.testing.assert_array_equal(ds.x.sel(time=time).values, sphere.from_angles(saved[round(time, 12)]).numpy())


def test_a_measurement_of_the_parallel_choice_takes_a_short_call(monkeypatch):
    """While the tuner measures the parallel choice (threads.probing), advance makes those calls PROBE_STEPS steps
    long (on a busy machine a parallel call can be ten times slower), and the block stays bit for bit the steps
    taken one at a time."""
    from attnflow import threads

    monkeypatch.delenv(threads.ENVIRONMENT, raising=False)
    kernel = "circle euler steps"
    tuner = threads._tuners.get(kernel)
    monkeypatch.setattr(tuner, "measuring", "parallel")
    monkeypatch.setattr(tuner, "cost", {1: 1.0})
    blocks = []
    for variants in circle_steps.COMPILED.values():
        compiled = variants["euler"]
        monkeypatch.setitem(variants, "euler", lambda theta, steps, *rest, compiled=compiled: (
            blocks.append(len(steps)), compiled(theta, steps, *rest)))
    theta = torch.from_numpy(np.random.default_rng(5).uniform(0, 2 * np.pi, threads.GRAIN // 4))
    steps = np.full(7, 1e-3)
    result = circle_steps.advance("usa", 5.0, theta, steps, "euler")
    assert torch.equal(result, one_at_a_time(af.Model("usa", 5.0, 2), theta, steps, "euler"))
    assert blocks[0] == circle_steps.PROBE_STEPS and sum(blocks) == len(steps)
    assert all(length == circle_steps.PROBE_STEPS for length in blocks[:-1])
