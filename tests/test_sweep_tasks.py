"""The built-in sweep tasks (cluster_count, phase_diagram, simulate) and the figures of sweep stores."""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.special import iv

import attnflow as af
from attnflow.sweep import DONE, SweepStore, get, parse_spec, plan
from attnflow.sweep.cluster_count import metastable_time
from attnflow.plots.sweep import open_sweep, phase_diagram, plot_store


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def params(name, **given):
    spec = parse_spec({"task": name, "fixed": given, "seeds": 1})
    return spec.point(0), spec.record


@pytest.mark.parametrize("beta, n", [(5.0, 400), (7.0, 1000)])
def test_metastable_time_is_log_sqrt_n_over_the_circle_rate(beta, n):
    rates = [k * k * iv(k, beta) / beta for k in range(1, 30)]  # gamma_k on the circle, docs/science.md §3
    k_star = int(np.argmax(rates)) + 1
    assert metastable_time(beta, n, "usa", 2.0) == pytest.approx(2 * math.log(math.sqrt(n)) / rates[k_star - 1],
                                                                 rel=1e-10)


def test_cluster_count_finds_the_predicted_three_clusters_at_beta_5():
    p, record = params("cluster_count", beta=5.0, n=400)
    counts = []
    for seed in range(3):
        out = get("cluster_count").run({**p, "seed": seed}, record)
        assert out["dominant_mode"] == 3
        counts.append(int(out["cluster_count"]))
    assert counts.count(3) >= 2, counts


@pytest.mark.slow
def test_cluster_counts_approach_k_star_as_n_grows():
    """beta = 6 (k* = 3): at n = 1024 most seeds show 3 clusters, at n = 64 fewer do (docs/science.md §3)."""
    task = get("cluster_count")
    hits = {}
    for n in (64, 1024):
        p, record = params("cluster_count", beta=6.0, n=n)
        counts = [task.run({**p, "seed": seed}, record)["cluster_count"] for seed in range(10)]
        hits[n] = sum(int(c) == 3 for c in counts)
    assert hits[1024] >= 8 and hits[1024] > hits[64], hits


def test_phase_diagram_records_the_smallest_pairwise_inner_product():
    p, record = params("phase_diagram", beta=1.0, dim=3, n=8, t_end=12.0, observations=4)
    out = get("phase_diagram").run(p, record)
    x0 = af.init.uniform(8, 3, seed=0)
    smallest = min(float(x0[i] @ x0[j]) for i, j in itertools.product(range(8), repeat=2))
    assert out["min_inner_product"][0] == pytest.approx(smallest, abs=1e-12)
    assert out["clustered"][0] == 0 and out["clustered"][-1] == 1  # at beta = 1 the tokens collapse
    assert np.array_equal(out["clustered"], (out["min_inner_product"] > 0.999).astype(float))


def test_phase_diagram_task_agrees_with_the_batched_in_process_integration():
    """The sweep task (attnflow.simulate, dopri5) against experiments.phase_diagram's own batched RK4."""
    from attnflow.experiments.phase_diagram import min_inner_products

    betas, dim = [1.0, 4.0], 8
    batched = min_inner_products(betas, dim, seeds=2, t_end=6.0, observations=4, dt=0.05)
    for b, beta in enumerate(betas):
        for seed in range(2):
            p, record = params("phase_diagram", beta=beta, dim=dim, t_end=6.0, observations=4, rtol=1e-9)
            out = get("phase_diagram").run({**p, "seed": seed}, record)
            np.testing.assert_allclose(out["min_inner_product"], batched[b, seed], atol=1e-6)


def test_simulate_task_matches_simulate():
    p, _ = params("simulate", beta=2.0, n=5, t_end=0.2, dt=0.05, observations=3, method="rk4")
    out = get("simulate").run(p, ("energy", "final_state"))
    direct = af.simulate(af.Model("usa", 2.0, 2), af.init.uniform(5, 2, seed=0), 0.2, dt=0.05, method="rk4",
                         save_every=0.1, observe_every=0.1, observables=("energy",))
    np.testing.assert_allclose(out["energy"], direct["energy"], rtol=1e-13)
    np.testing.assert_allclose(out["final_state"], direct["x"].isel(time=-1), rtol=1e-13)


def fill(tmp_path, spec_data, values):
    """A sweep store whose points hold values(point) (written directly, no Dask)."""
    spec = parse_spec(spec_data)
    store = SweepStore.prepare(tmp_path / "s.zarr", spec, plan(spec))
    for index in range(spec.size):
        store.write(index, values(spec.point(index)))
    return store


def test_phase_diagram_figure_shows_the_fraction_over_seeds(tmp_path):
    data = {"task": "phase_diagram", "fixed": {"t_end": 2.0, "observations": 3},
            "grid": {"beta": [1.0, 2.0], "dim": [8, 128]}, "seeds": 4}
    # seeds 1 and 2 are clustered from time index `seed` on, seeds 0 and 3 never (by t = 2)
    fill(tmp_path, data, lambda p: {"clustered": ((p["seed"] >= 1) & (np.arange(3) >= p["seed"])).astype(float),
                                    "min_inner_product": np.zeros(3)})
    figure = phase_diagram(open_sweep(tmp_path / "s.zarr"))
    for panel in figure.axes[:2]:  # one panel per dim: rows time, columns beta
        shown = np.asarray(panel.collections[0].get_array()).reshape(3, 2)
        assert np.allclose(shown, np.array([[0, 0], [1, 1], [2, 2]]) / 4)
    path = plot_store(tmp_path / "s.zarr", tmp_path / "phase.png")
    assert path.stat().st_size > 1000


def test_unfinished_points_are_masked_in_figures(tmp_path):
    data = {"task": "cluster_count", "grid": {"beta": [3.0, 5.0], "n": [64]}, "seeds": 3}
    spec = parse_spec(data)
    store = SweepStore.prepare(tmp_path / "s.zarr", spec, plan(spec))
    for index in range(spec.size - 1):  # the last point never finishes
        point = spec.point(index)
        store.write(index, {"cluster_count": point["seed"] + 2.0, "dominant_mode": 3.0, "t_observed": 0.1})
    ds = open_sweep(tmp_path / "s.zarr")
    assert int((ds["status"] == DONE).sum()) == spec.size - 1
    counts = ds["cluster_count"].mean("seed").values[:, 0]
    assert counts[0] == pytest.approx(3.0) and counts[1] == pytest.approx(2.5)  # (2 + 3) / 2, not (2 + 3 + nan)
    assert plot_store(tmp_path / "s.zarr", tmp_path / "c.png").stat().st_size > 1000


def test_simulate_figure_plots_final_values_mean_over_seeds(tmp_path):
    from attnflow.plots.sweep import final_values

    data = {"task": "simulate", "fixed": {"t_end": 1.0, "dt": 0.5, "observations": 3},
            "grid": {"beta": [1.0, 2.0], "n": [4, 8]}, "seeds": 2, "record": ["energy", "final_state"]}
    # energy at t_end = beta * n + seed: the plotted mean over seeds is beta * n + 0.5
    fill(tmp_path, data, lambda p: {"energy": np.array([0.0, 0.0, p["beta"] * p["n"] + p["seed"]]),
                                    "final_state": np.zeros((p["n"], 2))})
    figure = final_values(open_sweep(tmp_path / "s.zarr"))
    lines = figure.axes[0].get_lines()
    assert len(figure.axes) == 1 and len(lines) == 2  # final_state is not a scalar series
    for line, n in zip(lines, (4, 8)):
        assert np.allclose(line.get_xdata(), [1.0, 2.0]) and np.allclose(line.get_ydata(), [n + 0.5, 2 * n + 0.5])
