"""Causal attention (Model(mask="causal"), docs/science.md §7) in every engine: the dense engine
against an obvious masked double loop, the circle engine's prefix moments against the dense engine, the first
token at rest, batches against single systems, and runs end to end (library and CLI)."""

import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import attnflow as af
from attnflow import sphere
from attnflow.cli import app
from attnflow.errors import AttnflowError
from attnflow.flow import CircleFlow
from attnflow.growth import exponential_rate
from attnflow.interaction import circle, circle_kernel, circle_steps, dense
from attnflow.steppers import euler_step, rk4_step
from attnflow.theory.rates import causal_collapse_rate


def masked_double_loop(kind, beta, x, Q=None, K=None, V=None):
    """A_i = sum_{j<=i} w_ij V x_j with w_ij = e^{beta<Q x_i, K x_j>} / Z_i, Z_i = sum_{k<=i} e^{...} (SA) or i
    (USA, i counted from 1): the definition, one pair at a time."""
    n, d = x.shape
    Q, K, V = (np.eye(d) if m is None else m for m in (Q, K, V))
    out = np.zeros_like(x)
    for i in range(n):
        weights = [math.exp(beta * float((Q @ x[i]) @ (K @ x[j]))) for j in range(i + 1)]
        total = sum(w * (V @ x[j]) for j, w in enumerate(weights))
        out[i] = total / (sum(weights) if kind == "sa" else i + 1)
    return out


def tokens(n, dim, seed):
    x = np.random.default_rng(seed).standard_normal((n, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def relative(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("dim, parameters", [(2, False), (3, True), (9, True)])
def test_dense_engine_equals_the_masked_double_loop(kind, dim, parameters):
    """Both dense paths: whole systems at once, and row blocks (a small budget)."""
    rng = np.random.default_rng(dim)
    Q, K, V = (rng.standard_normal((dim, dim)) if parameters else None for _ in range(3))
    x = tokens(130, dim, seed=dim)
    expected = masked_double_loop(kind, 2.5, x, Q, K, V)
    for budget in (dense.DEFAULT_MEMORY_BUDGET, 130 * 8 * 24):
        got = dense.attention(kind, 2.5, torch.from_numpy(x), Q, K, V, memory_budget=budget, causal=True)
        assert relative(got, expected) <= 1e-13


@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("beta", [0.5, 4.0, 25.0, 100.0])
def test_circle_engine_equals_dense_engine(kind, beta):
    model = af.Model(kind, beta, 2, mask="causal")
    x = af.init.uniform(700, 2, seed=int(beta))
    expected = af.velocity(model, x, engine="dense")
    assert relative(af.velocity(model, x, engine="circle"), expected) <= 1e-12
    theta = sphere.angles(torch.from_numpy(x))
    omega = circle.torch_angular_velocity(kind, beta, theta, causal=True)
    tangent = np.stack((-np.sin(theta.numpy()), np.cos(theta.numpy())), axis=-1)
    assert relative(omega.numpy()[:, None] * tangent, expected) <= 1e-12


def test_masking_changes_every_token_but_the_last_usa():
    """Token n sees every token, and 1/n is then USA's unmasked normalisation: its velocity is unchanged."""
    x = af.init.uniform(300, 2, seed=1)
    causal = af.velocity(af.Model("usa", 5.0, 2, mask="causal"), x)
    full = af.velocity(af.Model("usa", 5.0, 2), x)
    assert relative(causal[-1], full[-1]) <= 1e-13
    assert (np.abs(causal[:-1] - full[:-1]).max(axis=1) > 1e-6).mean() > 0.9


@pytest.mark.parametrize("engine", ["circle", "dense"])
def test_a_prefix_of_the_tokens_moves_as_if_alone(engine):
    """Token i sees only j <= i: the velocities of the first m tokens do not depend on the tokens after them."""
    x = af.init.uniform(2500, 2, seed=2)
    model = af.Model("sa", 9.0, 2, mask="causal")
    assert relative(af.velocity(model, x, engine=engine)[:1200], af.velocity(model, x[:1200], engine=engine)) <= 1e-13


@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_the_first_token_is_at_rest(kind):
    """V = I: token 1 sees itself alone, so dx_1/dt = P_{x_1} x_1 = 0 (exactly in the circle engine, whose
    prefix moment is e^{ik theta_1} itself; to rounding in the dense engine, which projects x_1 onto its own
    tangent space); Q, K do not matter."""
    x = af.init.uniform(500, 2, seed=3)
    model = af.Model(kind, 12.0, 2, mask="causal")
    theta = sphere.angles(torch.from_numpy(x))
    assert float(circle.angular_velocity(kind, 12.0, theta, causal=True)[0]) == 0.0
    assert float(circle.torch_angular_velocity(kind, 12.0, theta, causal=True)[0]) == 0.0
    size = math.exp(12.0) if kind == "usa" else 1.0  # |A_1| = e^{beta |x_1|^2} (USA) or 1 (SA)
    assert np.abs(af.velocity(model, x, engine="dense")[0]).max() <= 4e-16 * size
    rng = np.random.default_rng(4)
    Q, K = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    general = af.Model(kind, 1.0, 3, Q=Q, K=K, mask="causal")
    y = tokens(50, 3, seed=5)
    size = math.exp(float((Q @ y[0]) @ (K @ y[0]))) if kind == "usa" else 1.0
    assert np.abs(af.velocity(general, y)[0]).max() <= 4e-16 * size
    ds = af.simulate(model, x, t_end=0.5, dt=0.05, method="rk4", observables=())
    assert np.array_equal(ds.angle.values[:, 0], np.full(ds.sizes["time"], ds.angle.values[0, 0]))


@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_a_batch_gives_each_system_its_numbers_alone(kind):
    theta = torch.from_numpy(np.random.default_rng(6).uniform(0, 2 * np.pi, (3, 2 * circle_kernel.TASK + 77)))
    beta = np.array([2.0, 8.0, 30.0])
    batched = circle.angular_velocity(kind, beta, theta, causal=True)
    batched_torch = circle.torch_angular_velocity(kind, beta, theta, causal=True)
    x = sphere.from_angles(theta[:, :300])
    batched_dense = dense.attention(kind, beta, x, causal=True)
    for system, value in enumerate(beta):
        assert torch.equal(batched[system], circle.angular_velocity(kind, float(value), theta[system], causal=True))
        alone = circle.torch_angular_velocity(kind, float(value), theta[system], causal=True)
        assert relative(batched_torch[system], alone) <= 1e-13
        assert torch.equal(batched_dense[system], dense.attention(kind, float(value), x[system], causal=True))


def test_serial_and_parallel_kernels_agree_bitwise():
    theta = np.random.default_rng(7).uniform(0, 2 * np.pi, (2, 5 * circle_kernel.TASK + 17))
    a, b, i0 = circle.bessel_coefficients(5.0)
    serial, parallel = (circle_kernel.velocity("sa", a, b, i0, math.exp(5.0), theta, np.empty_like(theta),
                                               parallel=flag, causal=True) for flag in (False, True))
    assert np.array_equal(serial, parallel)


@pytest.mark.parametrize("method, step", [("euler", euler_step), ("rk4", rk4_step)])
def test_compiled_steps_equal_the_steps_one_at_a_time(method, step):
    theta = torch.from_numpy(np.random.default_rng(8).uniform(0, 2 * np.pi, (2, 1500)))
    steps = np.array([1e-3] * 4 + [2.5e-4])
    flow, expected = CircleFlow(af.Model("usa", 5.0, 2, mask="causal")), theta
    for h in steps:
        expected = step(flow, expected, float(h))
    assert torch.equal(circle_steps.advance("usa", 5.0, theta, steps, method, causal=True), expected)


def test_every_scheme_noise_and_the_layer_take_the_mask():
    x = tokens(40, 3, seed=9)
    for norm in af.normalization.NORMS:
        model = af.Model("sa", 2.0, 3, norm=norm, mask="causal")
        assert relative(af.velocity(model, x[:20]), af.velocity(model, x)[:20]) <= 1e-13
    ds = af.simulate(af.Model("sa", 4.0, 3, diffusion=0.01, mask="causal"), x, t_end=0.2, dt=0.02, method="euler")
    assert ds.attrs["mask"] == "causal" and bool(np.isfinite(ds.x.values).all())
    attention = masked_double_loop("sa", 2.0, x)
    got = af.layer.attention(x, 2.0, kind="sa", norm="pre", h=1.0, mask="causal")  # unit tokens: x + A, normalised
    expected = (x + attention) / np.linalg.norm(x + attention, axis=1, keepdims=True)
    assert relative(got, expected) <= 1e-13


def test_simulate_runs_with_the_mask_end_to_end():
    x0 = af.init.uniform(200, 2, seed=10)
    model = af.Model("sa", 16.0, 2, mask="causal")
    circle_run = af.simulate(model, x0, t_end=1.0, dt=0.02, method="rk4", save_every=0.5)
    dense_run = af.simulate(model, x0, t_end=1.0, dt=0.02, method="rk4", save_every=0.5, engine="dense")
    adaptive = af.simulate(model, x0, t_end=1.0, method="dopri5", save_every=0.5, rtol=1e-10, atol=1e-12)
    assert circle_run.attrs["mask"] == "causal" and circle_run.attrs["engine"] == "circle"
    assert relative(circle_run.x.values[-1], dense_run.x.values[-1]) <= 1e-10
    assert relative(adaptive.x.values[-1], circle_run.x.values[-1]) <= 1e-7


def test_a_bad_mask_is_rejected_naming_it():
    for call in (lambda: af.Model("sa", 1.0, 2, mask="bogus"),
                 lambda: af.layer.attention(tokens(5, 2, seed=0), 1.0, mask="bogus")):
        with pytest.raises(AttnflowError, match="^mask='bogus'"):
            call()
    with pytest.raises(AttnflowError, match="^mask='causal'"):
        af.pde.solve(af.Model("usa", 1.0, 2, mask="causal"), np.full(64, 1 / (2 * np.pi)), 0.1)


def test_cli_simulate_with_the_mask(tmp_path):
    out = tmp_path / "causal.nc"
    result = CliRunner().invoke(app, ["simulate", "--mask", "causal", "--kind", "sa", "--beta", "9", "--n", "50",
                                      "--t-end", "0.2", "--dt", "0.05", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "mask=causal" in result.output and af.load(out).attrs["mask"] == "causal"
    again = CliRunner().invoke(app, ["rerun", str(out), "--out", str(tmp_path / "again.nc")])
    assert again.exit_code == 0, again.output  # the mask is read back from the file
    assert np.array_equal(af.load(tmp_path / "again.nc").x.values, af.load(out).x.values)
    bad = CliRunner().invoke(app, ["simulate", "--mask", "bad", "--n", "10"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


@pytest.mark.skipif(not torch.cuda.is_available(), reason="PyTorch's fused attention runs on CUDA")
def test_fused_attention_on_cuda_equals_the_masked_double_loop():
    """SA in float32 on CUDA: SDPA with is_causal for the first block of rows, the lower-right aligned causal
    mask for the others (a small budget makes three blocks)."""
    x = tokens(600, 4, seed=11)
    expected = masked_double_loop("sa", 6.0, x)
    for budget in (dense.DEFAULT_MEMORY_BUDGET, 200 * 4 * 4):
        got = dense.attention("sa", 6.0, torch.from_numpy(x).float().cuda(), memory_budget=budget, causal=True)
        assert relative(got.double().cpu(), expected) <= 1e-5


@pytest.mark.parametrize("kind, beta", [("sa", 2.0), ("usa", 1.0)])
def test_the_collapse_onto_the_first_token_has_the_derived_rate(kind, beta):
    """Equation (R3) of theory/rates.py: max_i |x_i - x_1| ~ C e^{-c t/2}, c = 1 (SA) or e^beta (USA)."""
    c = causal_collapse_rate(beta, kind)
    x0 = af.init.clusters(30, 3, centers=1, spread=0.3, seed=0)
    ds = af.simulate(af.Model(kind, beta, 3, mask="causal"), x0, t_end=40 / c, dt=0.05 / c, method="rk4",
                     save_every=0.5 / c, observables=())
    distance = np.linalg.norm(ds.x.values - ds.x.values[:, :1], axis=2).max(axis=1)
    late = (distance > 1e-10) & (distance < 1e-3)
    assert abs(-exponential_rate(ds.time.values, distance, late) / c - 1) <= 0.01
