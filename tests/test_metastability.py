"""Growth-rate fits, inner-product histograms, the batched circle velocity and the linear phase in simulation."""

import math

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow.errors import ParameterError
from attnflow.experiments.metastability_stats import (circular_error, dataset, first_metastable_state,
                                                     first_metastable_states, fractions, initial_angles, run_point,
                                                     summarise)
from attnflow.growth import fit_dataset, fit_ensemble_growth_rates, fit_growth_rates, linear_window
from attnflow.interaction import circle
from attnflow.observables import inner_product_histogram
from attnflow.theory import dominant_mode, growth_rates


def test_fit_recovers_exponential_rates_within_the_window():
    t = np.linspace(0, 1, 101)
    rates = np.array([3.0, 7.0, -1.0])
    start = np.array([1e-3, 2e-3, 5e-3])
    amplitudes = start * np.exp(rates * t[:, None])
    saturated = amplitudes.copy()
    saturated[t > 0.6] = 0.5  # a non-linear plateau after the window must not spoil the fit
    window = linear_window(t, saturated, saturation=0.05)
    # the largest amplitude 2e-3 e^{7 t} passes 0.05 at t = log(25) / 7
    assert t[window.stop - 1] <= math.log(25) / 7 < t[window.stop]
    np.testing.assert_allclose(fit_growth_rates(t, saturated), rates, rtol=1e-10)


def test_ensemble_fit_of_runs_with_different_starts():
    t = np.linspace(0, 0.5, 51)
    runs = [a * np.exp(np.array([2.0, 5.0]) * t[:, None]) for a in ([1e-3, 3e-3], [4e-3, 1e-4], [2e-3, 2e-3])]
    runs[0] = np.concatenate([runs[0], np.ones((5, 2))])  # longer runs are cut to the shortest
    np.testing.assert_allclose(fit_ensemble_growth_rates(np.linspace(0, 0.55, 56), runs), [2.0, 5.0], rtol=1e-10)


def test_fit_window_keeps_min_points_and_rejects_bad_input():
    t = np.linspace(0, 1, 10)
    amplitudes = np.full((10, 2), 0.9)
    assert linear_window(t, amplitudes, min_points=4) == slice(0, 4)
    with pytest.raises(ParameterError, match="amplitudes"):
        fit_growth_rates(t, np.ones((9, 2)))
    with pytest.raises(ParameterError, match="saturation"):
        linear_window(t, amplitudes, saturation=-1)


def test_inner_product_histogram_against_numpy_and_uniform_law():
    x = af.init.uniform(300, 4, seed=0)
    density, edges = inner_product_histogram(x, bins=20)
    gram = x @ x.T
    expected, _ = np.histogram(gram[np.triu_indices(300, 1)], bins=20, range=(-1, 1), density=True)
    np.testing.assert_allclose(density, expected, atol=1e-9)
    # on S^2 the inner product of two uniform points is uniform on [-1, 1]: density 1/2
    density, _ = inner_product_histogram(af.init.uniform(3000, 3, seed=1), bins=10)
    np.testing.assert_allclose(density, 0.5, atol=0.01)
    with pytest.raises(ParameterError, match="bins"):
        inner_product_histogram(x, bins=0)


def test_batched_velocity_matches_the_pairwise_sum():
    theta = 2 * math.pi * torch.rand(3, 200, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    beta = 5.0
    diff = theta[:, :, None] - theta[:, None, :]
    direct = -(torch.exp(beta * torch.cos(diff)) * torch.sin(diff)).mean(2)  # docs/science.md §1, USA on the circle
    torch.testing.assert_close(circle.angular_velocity("usa", beta, theta), direct, rtol=1e-12, atol=1e-12)


def test_first_metastable_state_of_each_seed_against_its_own_run():
    """The ensemble's event against each seed run alone, observed at every step: the largest of |mu_k|,
    k <= kmax, first reaches 1/2 at step c, and the state read is the one 2 / gamma_{k*} = 20 steps later."""
    torch.set_num_threads(1)
    beta, n, kmax = 5.0, 400, 8
    theta0 = torch.stack([initial_angles(n, s) for s in range(3)])
    final = first_metastable_states(beta, theta0, kmax)
    dt = 0.1 / growth_rates(beta, 2, kmax).max()
    assert first_metastable_state(beta, kmax).delay == pytest.approx(20 * dt, rel=1e-12)
    for s in range(3):
        ds = af.simulate(af.Model("usa", beta, 2), af.sphere.from_angles(theta0[s]), 200 * dt, dt=dt,
                         save_every=dt, observe_every=dt, observables=("modes",), kmax=kmax)
        c = int(np.argmax(ds.mode_amplitude.max("mode").values >= 0.5))
        assert c > 0
        np.testing.assert_array_equal(final[s], ds.angle.isel(time=c + 20).values)


def test_circular_error_wraps_around():
    assert circular_error(np.array([0.05]), np.array([2 * np.pi - 0.05, 3.0])) == pytest.approx(0.1)


def test_linear_phase_rates_in_a_small_simulation():
    """beta = 5, n = 5000 on the circle: the median over 3 seeds of the fitted rates of modes 2..4 within 10%."""
    torch.set_num_threads(1)
    fits = []
    for seed in range(3):
        ds = af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(5000, 2, seed=seed), t_end=0.12, dt=2e-3,
                         method="rk4", save_every=0.12, observe_every=4e-3, observables=("modes",), kmax=6,
                         engine="circle")
        fits.append(fit_dataset(ds))
    np.testing.assert_allclose(np.median(fits, axis=0)[1:4], growth_rates(5.0, 2, 6)[1:4], rtol=0.1)


def test_statistics_point_counts_and_predictors():
    torch.set_num_threads(1)
    rows = run_point(5.0, 600, 4)
    assert [r["seed"] for r in rows] == [0, 1, 2, 3]
    ds = fractions(dataset(rows))
    assert ds.clusters_found.dims == ("beta", "n", "seed") and ds.fraction_k_star.dims == ("beta", "n")
    table = summarise(ds)
    assert table[0]["k_star"] == dominant_mode(5.0, 2) == 3
    assert sum(table[0]["counts"].values()) == 4
    # most starts at beta = 5 end in three clusters even at n = 600
    assert table[0]["fraction_k_star"] >= 0.5
    for row in rows:
        assert row["k_basins"] >= 1 and (row["site_error_basins"] is None) == (row["clusters_found"] == 0)
    right = np.mean([r["clusters_found"] == r["k_basins"] and r["site_error_basins"] <= 0.25 for r in rows])
    assert table[0]["fraction_basin_sites_ok"] == right


@pytest.mark.slow
def test_beta5_growth_rates_and_k_star_fraction_at_paper_size():
    """The issue's acceptance numbers: modes 2..5 within 10% (power averaged over 5 seeds, n = 2 10^4), at least
    80% of 20 runs with k* = 3 clusters and the basin sites within 0.25 rad of the clusters in at least 80%."""
    runs = []
    for seed in range(5):
        ds = af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(20000, 2, seed=seed), t_end=0.16, dt=1e-3,
                         method="rk4", save_every=0.16, observe_every=4e-3, observables=("modes",), kmax=6)
        runs.append(ds["mode_amplitude"].values)
    fitted = fit_ensemble_growth_rates(ds["obs_time"].values, runs)
    np.testing.assert_allclose(fitted[1:5], growth_rates(5.0, 2, 6)[1:5], rtol=0.1)
    table = summarise(fractions(dataset(run_point(5.0, 20000, 20))))
    assert table[0]["fraction_k_star"] >= 0.8
    assert table[0]["fraction_basin_sites_ok"] >= 0.8


def test_run_case_small_circle_and_its_figures(tmp_path):
    """The experiment path end to end at a small size: beta = 5, n = 3000 forms k* = 3 clusters near the predicted
    sites; the section's Datasets are written with the variables its summary uses, and its figures exist, marked."""
    torch.set_num_threads(1)
    from attnflow.experiments.metastability import run_case, section
    from attnflow.plots import figure_written_by_attnflow

    numbers, run = run_case(5.0, 2, 3000, 0.45, 2e-3, 2)
    assert int(numbers.k_star) == 3 and int(numbers.clusters_found) == 3
    predicted = float(numbers.emergence_time_predicted)
    assert predicted == pytest.approx(math.log(math.sqrt(3000)) / growth_rates(5.0, 2, 3)[2])
    assert 0.5 * predicted < float(numbers.emergence_time_observed) < 2 * predicted
    assert numbers.growth_rate_fitted_per_seed.dims == ("seed", "mode") and numbers.sizes["seed"] == 2
    assert {"angle", "snapshot_angle", "mode_amplitude"} <= set(run.data_vars)
    result = section([(numbers, run)], tmp_path, "small", "quick", "small", "intro")
    assert all((tmp_path / name).stat().st_size > 10_000 and figure_written_by_attnflow(tmp_path / name)
               for name in result.figures)
    saved = af.load(tmp_path / "small.nc")
    assert saved.attrs["experiment"] == "small" and "history" in saved.attrs and saved.sizes["beta"] == 1
    assert (tmp_path / "small_beta5.nc").exists()
    row = result.summary["experiments"][0]
    assert {"beta", "dim", "n", "k_star", "clusters_found", "site_error_max", "growth_rates_predicted",
            "growth_rates_fitted"} <= set(row)
    assert row["clusters_found"] == len(row["found_centers"]) == len(row["cluster_masses"]) == 3
    assert row["growth_rates_fitted"] == saved.growth_rate_fitted.values[0].tolist()


def test_kept_record_keeps_sampled_trajectories_and_every_angle_at_the_times_read():
    """The circle run as written: a subset of tokens at every save, all tokens at the (nearest saves to the) times
    read, each value the run's own; the time read twice is kept once."""
    from attnflow.experiments.metastability import TRACKED, kept_record

    run = af.simulate(af.Model("usa", 5.0, 2), af.init.uniform(TRACKED + 100, 2, seed=1), 0.02, dt=1e-3,
                      method="rk4", save_every=2e-3)
    kept = kept_record(run, (0.0, 0.0115, 0.0115, 0.02))
    assert kept.sizes["token"] == TRACKED and "x" not in kept
    np.testing.assert_array_equal(kept.angle.values, run.angle.sel(token=kept.token).values)
    np.testing.assert_allclose(kept.snapshot_time.values, [0.0, 0.012, 0.02])
    np.testing.assert_array_equal(kept.snapshot_angle.values,
                                  run.angle.sel(time=kept.snapshot_time.values).values)
    assert kept.snapshot_angle.dims == ("snapshot_time", "all_tokens") and kept.sizes["all_tokens"] == TRACKED + 100


def test_statistics_points_are_kept_and_reused(tmp_path, monkeypatch):
    """A finished (beta, n) point is written at once and read back on a rerun instead of being recomputed."""
    from attnflow.experiments import metastability_stats

    torch.set_num_threads(1)
    first = metastability_stats.finished_point(tmp_path, 5.0, 300, 2)
    assert (tmp_path / "metastability_statistics_points" / "beta5_n300_seeds2.json").exists()
    monkeypatch.setattr(metastability_stats, "run_point", lambda *args: pytest.fail("recomputed a finished point"))
    assert metastability_stats.finished_point(tmp_path, 5.0, 300, 2) == first
