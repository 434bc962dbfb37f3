"""The fused circle kernel (interaction/circle_kernel.py) against independent computations: the PyTorch
tensor path of the Fourier–Bessel series, the direct pairwise sum, libm's sine and cosine; and the
thread policy (threads.py)."""

import math
import time

import numpy as np
import pytest
import torch

from attnflow import threads
from attnflow.errors import ParameterError
from attnflow.interaction import circle, circle_kernel

BETAS = (0.5, 1.0, 5.0, 20.0, 100.0)


def angles(n, seed, spread=2 * math.pi):
    return torch.from_numpy(np.random.default_rng(seed).uniform(0, spread, n))


def relative_error(value, reference):
    return float((value - reference).abs().max() / reference.abs().max())


@pytest.mark.parametrize("kind", ["usa", "sa"])
@pytest.mark.parametrize("beta", BETAS)
def test_kernel_equals_the_pytorch_path(kind, beta):
    theta = angles(3001, seed=int(beta * 10))  # not a multiple of LANES or TASK
    reference = circle.torch_angular_velocity(kind, beta, theta)
    assert relative_error(circle.angular_velocity(kind, beta, theta), reference) <= 1e-13


@pytest.mark.parametrize("kind", ["usa", "sa"])
def test_kernel_equals_the_pairwise_sum(kind):
    """docs/science.md §1 directly: dtheta_i/dt = -(1/n) sum_j e^{beta cos(theta_i - theta_j)} sin(theta_i - theta_j),
    SA divided by (1/n) sum_j e^{beta cos(theta_i - theta_j)}."""
    beta, theta = 3.0, angles(517, seed=1)
    difference = theta[:, None] - theta[None, :]
    weights = torch.exp(beta * torch.cos(difference))
    expected = -(weights * torch.sin(difference)).mean(1)
    if kind == "sa":
        expected = expected / weights.mean(1)
    assert relative_error(circle.angular_velocity(kind, beta, theta), expected) <= 1e-13


@pytest.mark.parametrize("kind", ["usa", "sa"])
def test_kuramoto_beta_zero(kind):
    """beta = 0: dtheta_i/dt = -(1/n) sum_j sin(theta_i - theta_j) = r sin(psi - theta_i) (SA: the same)."""
    theta = angles(1000, seed=2)
    order = torch.exp(1j * theta).mean()
    expected = order.abs() * torch.sin(order.angle() - theta)
    assert relative_error(circle.angular_velocity(kind, 0.0, theta), expected) <= 1e-13


@pytest.mark.parametrize("n", [1, 2, 63, 65, 1025])
def test_odd_sizes(n):
    theta = angles(n, seed=n)
    for kind in ("usa", "sa"):
        reference = circle.torch_angular_velocity(kind, 5.0, theta)
        value = circle.angular_velocity(kind, 5.0, theta)
        assert float((value - reference).abs().max()) <= 1e-13 * max(1.0, float(reference.abs().max()))


def test_a_single_token_does_not_move():
    assert float(circle.angular_velocity("usa", 5.0, torch.tensor([1.3], dtype=torch.float64)).abs()) <= 1e-13


@pytest.mark.parametrize("kind", ["usa", "sa"])
def test_batched_equals_each_system_alone(kind):
    beta = 5.0
    theta = torch.stack([angles(777, seed=s, spread=1.0 + s) for s in range(4)])  # different moments per system
    a, b, i0 = circle.bessel_coefficients(beta)
    batched = circle_kernel.velocity(kind, a, b, i0, math.exp(beta), theta.numpy(), np.empty((4, 777)))
    for system in range(4):
        alone = circle.torch_angular_velocity(kind, beta, theta[system])
        assert relative_error(torch.from_numpy(batched[system]), alone) <= 1e-13


def test_moments_are_the_means_of_the_harmonics():
    theta = angles(2049, seed=3)[None]
    k = torch.arange(1, 41, dtype=torch.float64)[:, None]
    re, im = circle_kernel.moments(theta.numpy(), 40)
    np.testing.assert_allclose(re[0], torch.cos(k * theta).mean(1).numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(im[0], torch.sin(k * theta).mean(1).numpy(), rtol=0, atol=1e-14)


def test_the_kernel_sine_and_cosine_match_libm():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-40, 40, 4000), rng.uniform(-1e6, 1e6, 64),
                        np.arange(-8, 9) * np.pi / 4, [0.0, -0.0, 1e-300]])
    cos1, sin1 = np.empty(circle_kernel.LANES), np.empty(circle_kernel.LANES)
    for start in range(0, len(x), circle_kernel.LANES):
        stop = min(start + circle_kernel.LANES, len(x))
        circle_kernel._first_harmonics(x, start, stop, cos1, sin1)
        np.testing.assert_allclose(cos1[:stop - start], np.cos(x[start:stop]), rtol=0, atol=2.3e-16)
        np.testing.assert_allclose(sin1[:stop - start], np.sin(x[start:stop]), rtol=0, atol=2.3e-16)
        assert not cos1[stop - start:].any() and not sin1[stop - start:].any()


def test_float32_within_its_precision():
    theta = angles(4000, seed=5)
    value = circle.angular_velocity("sa", 5.0, theta.float())
    assert value.dtype == torch.float32
    assert relative_error(value.double(), circle.torch_angular_velocity("sa", 5.0, theta)) <= 1e-6


def test_other_devices_use_the_pytorch_path():
    theta = angles(100, seed=6).to("meta")  # shapes only: the kernel would need the numbers
    assert circle.angular_velocity("sa", 5.0, theta).device.type == "meta"


def test_serial_and_parallel_kernels_agree_bitwise():
    theta = angles(5 * circle_kernel.TASK + 17, seed=7).numpy()[None]
    a, b, i0 = circle.bessel_coefficients(5.0)
    serial = circle_kernel.velocity("sa", a, b, i0, math.exp(5.0), theta, np.empty_like(theta), parallel=False)
    parallel = circle_kernel.velocity("sa", a, b, i0, math.exp(5.0), theta, np.empty_like(theta), parallel=True)
    assert np.array_equal(serial, parallel)


def test_serial_and_parallel_kernels_are_cached_apart():
    """Numba indexes its disk cache by function name and signature, not by the `parallel` flag: compiled under one
    name, the variant cached first was loaded for both and the parallel kernels ran on one thread."""
    for name in ("moments", "series", "task_moments", "causal_series"):
        variants = {key: passes[name] for key, passes in circle_kernel.COMPILED.items()}  # (parallel, points)
        assert all(kernel.targetoptions["parallel"] is parallel for (parallel, _), kernel in variants.items())
        assert len({kernel._cache._cache_file._index_name for kernel in variants.values()}) == 4  # Numba internals


def test_thread_override_and_small_work(monkeypatch):
    monkeypatch.setenv(threads.ENVIRONMENT, "2")
    with threads.kernel_threads(10, "test") as count:
        assert count == min(2, threads.numba.config.NUMBA_NUM_THREADS)
    monkeypatch.setenv(threads.ENVIRONMENT, "x")
    with pytest.raises(ParameterError, match=threads.ENVIRONMENT):
        with threads.kernel_threads(10, "test"):
            pass
    monkeypatch.delenv(threads.ENVIRONMENT)
    with threads.kernel_threads(threads.GRAIN - 1, "test") as count:
        assert count == 1


def measure(tuner, parallel_seconds, calls=1000, serial_seconds=1e-4):
    """Run the tuner's measuring windows with calls of the given costs; the calls it took."""
    taken = 0
    while True:
        count, measuring = tuner.choose(2)
        assert measuring
        tuner.record(count, 1000, serial_seconds if count == 1 else parallel_seconds)
        taken += 1
        if tuner.measuring is None:
            return taken


def test_the_tuner_keeps_the_faster_choice():
    tuner = threads._Tuner()
    assert measure(tuner, 0.5e-4) == 2 * threads.WINDOW + 2  # short calls: WINDOW of each after a first one
    assert tuner.choose(2) == (2, False)
    tuner.cost[2] = 3.0  # 2 threads found slower (a busy machine)
    assert tuner.choose(2) == (1, False)


def test_the_tuner_measures_long_calls_once_and_ever_more_rarely():
    """A call longer than WINDOW_SECONDS is a window by itself, and the span between measurements doubles
    while the same choice keeps winning (a busy machine: the parallel choice is measured rarely)."""
    tuner = threads._Tuner()
    spans = []
    for first in (True, False, False, False):  # each choice's first call is not counted
        assert measure(tuner, parallel_seconds=1.0, serial_seconds=0.1) == (4 if first else 2)
        spans.append(tuner.left)
        for _ in range(tuner.left):
            assert tuner.choose(2) == (1, False)
    assert spans == [threads.EXPLOIT * threads.WINDOW * 2**i for i in range(4)]
    measure(tuner, parallel_seconds=0.01, serial_seconds=0.1)  # the machine became quiet: back to the base span
    assert tuner.left == threads.EXPLOIT * threads.WINDOW and tuner.choose(2) == (2, False)


def test_a_first_call_is_not_a_measurement():
    """The first call of a choice may load compiled code or start a thread pool (12 ms against 0.6 ms for a block of
    two circle steps): were it counted, a quiet machine's first parallel window would lose to one thread."""
    tuner = threads._Tuner()
    while tuner.measuring is not None:
        count, _ = tuner.choose(2)
        first_parallel = count == 2 and count not in tuner.warm
        tuner.record(count, 1000, 1.0 if first_parallel else 0.5e-4 if count == 2 else 1e-4)
    assert tuner.choose(2) == (2, False)


def test_moments_of_a_tensor():
    theta = angles(1500, seed=8)
    k = torch.arange(1, 13, dtype=torch.float64)[:, None]
    expected = torch.exp(1j * k * theta[None, :]).mean(1).numpy()
    np.testing.assert_allclose(circle.moments(theta, 12), expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(circle.moments(theta.float(), 12), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("beta", [20.0, 1e4])
def test_many_modes_against_a_long_double_pairwise_sum(beta):
    """The recurrence's round-off over M = 44 and 885 modes: SA against docs/science.md §1 summed pairwise in long
    double, the weights scaled by e^{-beta}: dtheta_i/dt = -sum_j w_ij sin(theta_i - theta_j) / sum_j w_ij."""
    theta = angles(300, seed=9)
    difference = theta.numpy().astype(np.longdouble)[:, None] - theta.numpy().astype(np.longdouble)[None, :]
    weights = np.exp(np.longdouble(beta) * (np.cos(difference) - 1))
    expected = torch.from_numpy((-(weights * np.sin(difference)).sum(1) / weights.sum(1)).astype(np.float64))
    assert len(circle.bessel_coefficients(beta)[0]) > 40
    assert relative_error(circle.angular_velocity("sa", beta, theta), expected) <= 1e-13


def test_moments_of_points_against_a_long_double_sum():
    """circle.point_moments (the kernel started from the coordinates, no angles) for one system and a batch."""
    theta = np.random.default_rng(9).uniform(0, 2 * math.pi, (2, 3001))
    x = torch.from_numpy(np.stack([np.cos(theta), np.sin(theta)], axis=-1))
    k = np.arange(1, 11, dtype=np.longdouble)[:, None]
    for s in range(2):
        t = theta[s].astype(np.longdouble)
        expected = (np.cos(k * t).mean(1) + 1j * np.sin(k * t).mean(1)).astype(np.complex128)
        np.testing.assert_allclose(circle.point_moments(x[s], 10), expected, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(circle.point_moments(x, 10)[s], circle.point_moments(x[s], 10))


def test_the_tuner_drops_a_parallel_choice_that_stalls():
    """Kept after a lucky window, the parallel choice is given up once its calls cost more than one thread's."""
    tuner = threads._Tuner()
    measure(tuner, parallel_seconds=0.5e-4)  # quiet windows: 2 threads twice as fast
    assert tuner.choose(2) == (2, False)
    for _ in range(3):  # then every call stalls
        tuner.exploit(2, 1000, 4e-3)
    assert tuner.choose(2) == (1, False)


def test_a_span_of_long_calls_ends_after_its_time():
    """A kept choice is measured again once the calls of its span took SPAN_SECONDS (times the backoff), before its
    EXPLOIT * WINDOW calls are spent: with long calls (a million tokens, a block of steps) a machine that became
    quiet again is followed within seconds, not thousands of calls later."""
    tuner = threads._Tuner()
    call_seconds = 0.3 * threads.SPAN_SECONDS
    for backoff in (1, 2, 4):  # busy windows: one thread kept, for twice as long each time
        measure(tuner, parallel_seconds=1.0, serial_seconds=0.1)
        assert tuner.backoff == backoff and tuner.left == threads.EXPLOIT * threads.WINDOW * backoff
        calls = 0
        while tuner.choose(2) == (1, False):
            tuner.exploit(1, 1000, call_seconds)
            calls += 1
        assert calls == math.ceil(backoff * threads.SPAN_SECONDS / call_seconds - 1e-9)


def test_one_blas_thread_limits_numpys_blas_inside_the_block_only():
    """threads.one_blas_thread: every BLAS library numpy loaded runs on one thread inside, as before after."""
    import numpy as np
    from threadpoolctl import threadpool_info

    from attnflow import threads

    np.linalg.solve(np.eye(3), np.ones(3))  # the BLAS is loaded
    before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    with threads.one_blas_thread():
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == before


def test_torch_threads_are_set_by_the_tuner_and_restored(monkeypatch):
    """kernel_threads(library="torch"): inside, torch runs on the chosen count (ATTNFLOW_NUM_THREADS=1 here, or
    one thread while the tuner measures it first); after, on its count from before. Work below two grains
    leaves torch as it is."""
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv(threads.ENVIRONMENT, "1")
    with threads.kernel_threads(10 * threads.TORCH_GRAIN, "torch-test", library="torch") as count:
        assert count == 1 and torch.get_num_threads() == (1 if before > 1 else before)
    assert torch.get_num_threads() == before
    monkeypatch.delenv(threads.ENVIRONMENT)
    if before > 1:
        with threads.kernel_threads(10 * threads.TORCH_GRAIN, "torch-test-2", library="torch") as count:
            assert count == 1 and torch.get_num_threads() == 1  # the tuner's first window: one thread
        assert torch.get_num_threads() == before
    with threads.kernel_threads(threads.TORCH_GRAIN, "torch-test-3", library="torch") as count:
        assert count == 1 and torch.get_num_threads() == before


@pytest.fixture
def fresh_stall_guard(monkeypatch):
    """A stall guard of three calls per span, fresh, with torch on two threads inside the test."""
    monkeypatch.setattr(threads, "STALL_CALLS", 3)
    monkeypatch.setattr(threads, "_stall_guard", threads._StallGuard())
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_a_stall_of_small_torch_work_moves_the_next_calls_to_one_thread(fresh_stall_guard):
    """threads.torch_block on work too small for the tuner: torch's threads as they are until STALLS calls in a row
    take STALL_SECONDS (one slow call is not enough); the next STALL_CALLS calls on one thread, then torch's count
    again; stalls within a span of calls after the last ones double the span, stalls after a clean span do not.
    torch's count is restored after every call; work torch keeps on one thread anyway is not guarded."""

    def threads_inside(seconds=0.0, work=threads.TORCH_OPERATION_GRAIN + 1):
        with threads.torch_block(work, "guard-test"):
            time.sleep(seconds)
            return torch.get_num_threads()

    def stalls(work=threads.TORCH_OPERATION_GRAIN + 1):
        return [threads_inside(1.5 * threads.STALL_SECONDS, work) for _ in range(threads.STALLS)]

    assert threads_inside() == 2
    threads_inside(1.5 * threads.STALL_SECONDS)  # a hiccup
    assert threads_inside() == 2
    assert stalls() == [2] * threads.STALLS  # the stalled calls themselves ran as they were
    assert [threads_inside() for _ in range(4)] == [1, 1, 1, 2] and torch.get_num_threads() == 2
    stalls()  # again, one call after the span: six calls now
    assert [threads_inside() for _ in range(7)] == [1] * 6 + [2]
    for _ in range(6):  # a span without stalls, then stalls: three calls again
        threads_inside()
    stalls()
    assert [threads_inside() for _ in range(4)] == [1, 1, 1, 2]
    stalls(work=threads.TORCH_OPERATION_GRAIN)
    assert threads_inside(work=threads.TORCH_OPERATION_GRAIN) == 2 and threads_inside() == 2


def test_dense_attention_of_a_small_system_is_guarded(fresh_stall_guard, monkeypatch):
    """A 200-token system (40000 pairs: torch's exponentials go parallel, below the tuner's work) runs its products on
    one thread while the guard holds a stall, and on torch's threads otherwise."""
    from attnflow.interaction import dense

    seen = []
    original = torch.bmm

    def recorded(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "bmm", recorded)
    x = torch.randn(200, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = x / x.norm(dim=1, keepdim=True)
    dense.attention("usa", 5.0, x)
    threads._stall_guard.left = 1  # as after a stall
    dense.attention("usa", 5.0, x)
    assert seen == [2, 2, 1, 1] and torch.get_num_threads() == 2


def plane_velocity(kind, beta, u, causal):
    """The circle dynamics at unit vectors u_i of the plane, from the definition (docs/science.md §1 and §7): dx_i/dt
    = P_{u_i} sum_{j seen} w_ij u_j, w_ij = e^{beta <u_i, u_j>} / (the number of tokens seen) (USA), or the same
    weights normalised to sum to 1 (SA); token i sees all j, or j <= i when `causal`. A pairwise double sum."""
    weights = torch.exp(beta * u @ u.T)
    if causal:
        weights = torch.tril(weights)
    seen = (weights > 0).sum(1, keepdim=True)
    weights = weights / (weights.sum(1, keepdim=True) if kind == "sa" else seen)
    attention = weights @ u
    return attention - (attention * u).sum(1, keepdim=True) * u


@pytest.mark.parametrize("kind", ["usa", "sa"])
@pytest.mark.parametrize("causal", [False, True])
def test_the_kernel_on_points_equals_the_pairwise_sum(kind, causal):
    """circle.tangent_velocity reads the points' directions itself (norms from 1e-200 to 1e200, where the squares
    of the coordinates leave the float range) and writes velocities in the plane."""
    beta, n = 4.0, 1100  # two tasks
    generator = np.random.default_rng(11)
    u = torch.from_numpy(np.stack([np.cos(theta := generator.uniform(0, 2 * math.pi, n)), np.sin(theta)], axis=-1))
    norms = torch.from_numpy(10.0 ** generator.choice([-200.0, -1.0, 0.0, 3.0, 200.0], (n, 1)))
    value = circle.tangent_velocity(kind, beta, norms * u, causal)
    assert value.shape == (n, 2)
    assert relative_error(value, plane_velocity(kind, beta, u, causal)) <= 1e-13


def test_the_kernel_on_points_batched_equals_each_system_alone_bitwise():
    x = torch.from_numpy(np.random.default_rng(12).normal(size=(3, 2500, 2)))
    batched = circle.tangent_velocity("sa", [1.0, 5.0, 9.0], x)
    for system, beta in enumerate((1.0, 5.0, 9.0)):
        assert torch.equal(batched[system], circle.tangent_velocity("sa", beta, x[system]))


def test_a_token_at_the_origin_has_no_direction():
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert not torch.isfinite(circle.tangent_velocity("usa", 1.0, x)).all()


@pytest.mark.parametrize("beta", [5.0, np.array([1.0, 5.0, 5.0])])
def test_series_coefficients_are_one_writable_row_per_system(beta):
    """Kernel-ready (C order, one row per system); writable, or Numba compiles a read-only variant and torch warns."""
    a, b, i0, scale, counts = circle.series_coefficients("usa", beta, 3)
    for array, shape in ((a, (3, a.shape[1])), (b, (3, a.shape[1])), (i0, (3,)), (scale, (3,)), (counts, (3,))):
        assert array.shape == shape and array.flags.c_contiguous and array.flags.writeable
    assert counts.dtype == np.int64 and np.all(scale == np.exp(np.broadcast_to(beta, (3,))))
