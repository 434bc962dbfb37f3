"""The in-process (t, beta) phase diagram against attnflow.simulate and the equiangular theory."""

import numpy as np
import pytest

import attnflow as af
from attnflow.experiments.phase_diagram import min_inner_products, transition
from attnflow.theory import equiangular as eq


@pytest.mark.parametrize("dim", [4, 16])  # dim < n and dim > n (reduced to the span)
def test_batched_runs_match_simulate(dim):
    betas, seeds, n = [0.0, 2.5], 2, 6
    got = min_inner_products(betas, dim, seeds, t_end=4.0, observations=5, n=n)
    for b, beta in enumerate(betas):
        for seed in range(seeds):
            ds = af.simulate(af.Model(kind="sa", beta=beta, dim=dim), af.init.uniform(n, dim, seed=seed), t_end=4.0,
                             dt=0.1, method="rk4", save_every=1.0, observables=())
            x = ds.x.values
            expected = np.einsum("tid,tjd->tij", x, x).min(axis=(1, 2))
            np.testing.assert_allclose(got[b, seed], expected, atol=1e-10)


def test_high_dimension_follows_the_equiangular_clustering_time():
    beta, t_star = 2.0, eq.clustering_time(32, 2.0, 0.0, 0.999)
    times = np.linspace(0, 10, 41)
    smallest = min_inner_products([beta], 1024, 4, 10.0, 41)[0]
    for run in smallest:
        t_cross = times[np.nonzero(run > 0.999)[0][0]]
        assert abs(t_cross - t_star) < 0.75


def test_transition_marks():
    times = np.arange(6.0)
    assert transition(times, np.array([0, 0, 0.2, 0.6, 1, 1])) == (2.0, 3.0, 4.0)
    assert np.isnan(transition(times, np.zeros(6))[0])


@pytest.mark.slow
def test_sweep_engine_and_in_process_agree(tmp_path):
    from attnflow.experiments.phase_diagram import _fractions_in_process, _fractions_sweep

    size = {"betas": np.array([0.0, 2.0]), "seeds": 2, "t_end": 8.0, "observations": 9}
    swept, local = _fractions_sweep(size, tmp_path), _fractions_in_process(size)
    for dim in swept:
        np.testing.assert_array_equal(swept[dim], local[dim])
