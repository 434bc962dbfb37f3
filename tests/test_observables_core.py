"""Order parameters against their pairwise definitions (docs/science.md §3)."""

import numpy as np
import pytest
from scipy.special import eval_gegenbauer

import attnflow as af


@pytest.mark.parametrize("dim", [2, 3, 4, 7])
def test_gegenbauer_power_equals_the_pairwise_sum(dim):
    x = af.init.clusters(200, dim, 3, spread=0.4, seed=dim)
    inner = np.clip(x @ x.T, -1, 1)
    alpha = (dim - 2) / 2
    for k in range(1, 7):
        if dim == 2:
            expected = np.cos(k * np.arccos(inner)).mean()  # C_k^alpha / C_k^alpha(1) -> T_k as alpha -> 0
        else:
            expected = (eval_gegenbauer(k, alpha, inner) / eval_gegenbauer(k, alpha, 1.0)).mean()
        assert af.observables.gegenbauer_power(x, 6)[k - 1] == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_sphere_power_at_high_degree_and_at_the_poles():
    """The Legendre recurrences of the S^2 path stay accurate to degree 60, with tokens on the poles."""
    from scipy.special import eval_legendre

    x = np.concatenate([af.init.clusters(150, 3, 2, spread=0.2, seed=5), [[0, 0, 1.0], [0, 0, -1.0]]])
    inner = np.clip(x @ x.T, -1, 1)
    expected = np.array([eval_legendre(k, inner).mean() for k in range(1, 61)])
    np.testing.assert_allclose(af.observables.gegenbauer_power(x, 60), expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dim", [2, 3])
def test_energy_equals_the_pairwise_sum(dim):
    x = af.init.uniform(300, dim, seed=1)
    for beta in (0.5, 5.0, 30.0):
        expected = np.exp(beta * (x @ x.T)).mean() / (2 * beta)
        assert af.observables.energy(x, beta) == pytest.approx(expected, rel=1e-12)


def test_fourier_modes_and_order_parameter():
    theta = np.array([0.1, 0.7, 2.0, 4.0])
    x = af.init.from_angles(theta)
    modes = af.observables.fourier_modes(x, 3)
    assert np.allclose(modes, [np.exp(-1j * k * theta).mean() for k in (1, 2, 3)], atol=1e-15)
    assert af.observables.order_parameter(x) == pytest.approx(abs(np.exp(1j * theta).mean()))


def test_the_modes_of_the_last_tokens_are_reused_only_while_they_are_unchanged(monkeypatch):
    """fourier_modes keeps the moments of the last tensor asked for (observables of one observation time share one
    kernel pass): a tensor changed in place, or another tensor, is computed afresh; a count beyond the kept one too."""
    import torch
    from attnflow.interaction import circle

    calls = []
    original = circle.point_moments
    monkeypatch.setattr(circle, "point_moments", lambda x, count: calls.append(count) or original(x, count))
    x = torch.as_tensor(af.init.uniform(500, 2, seed=3))

    def pairwise(tokens, kmax):
        theta = np.arctan2(tokens[:, 1].numpy(), tokens[:, 0].numpy())
        return np.exp(-1j * np.arange(1, kmax + 1)[:, None] * theta).mean(1)

    np.testing.assert_allclose(af.observables.fourier_modes(x, 12), pairwise(x, 12), atol=1e-14)
    np.testing.assert_allclose(af.observables.fourier_modes(x, 5), pairwise(x, 5), atol=1e-14)
    assert calls == [12]
    x[:250] = x[:250].flip(1)  # in place: the version counter moves
    np.testing.assert_allclose(af.observables.fourier_modes(x, 5), pairwise(x, 5), atol=1e-14)
    np.testing.assert_allclose(af.observables.fourier_modes(x.clone(), 5), pairwise(x, 5), atol=1e-14)
    np.testing.assert_allclose(af.observables.fourier_modes(x, 20), pairwise(x, 20), atol=1e-14)
    assert calls == [12, 5, 5, 20]


def test_the_default_modes_and_energy_on_the_circle_read_one_kernel_pass(monkeypatch):
    import torch
    from attnflow import observe
    from attnflow.interaction import circle

    calls = []
    original = circle.point_moments
    monkeypatch.setattr(circle, "point_moments", lambda x, count: calls.append(count) or original(x, count))
    x = torch.as_tensor(af.init.uniform(300, 2, seed=4))
    values = observe.evaluate(observe.default_set(["modes", "energy"], 5.0, 4), 0.0, x)
    assert len(calls) == 1
    np.testing.assert_allclose(values["mode_amplitude"], af.observables.mode_amplitudes(x.clone(), 4), rtol=1e-14)
    assert values["energy"] == pytest.approx(af.observables.energy(x.clone(), 5.0), rel=1e-14)
