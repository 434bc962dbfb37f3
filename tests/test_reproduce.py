"""`attnflow reproduce` and `attnflow predict`: report files, summary.json, bad input."""

import base64
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.special import iv
from typer.testing import CliRunner

import attnflow.experiments as registry
from attnflow.cli import app
from attnflow.experiments import Experiment, Section
from attnflow.experiments.report import markdown_to_html, write_report

runner = CliRunner()


def fake_experiment(name, beta):
    def run(out: Path, scale: str, progress=None) -> Section:
        figure, ax = plt.subplots()
        ax.plot([0, 1], [0, beta])
        figure.savefig(out / f"{name}.png")
        plt.close(figure)
        markdown = f"Scale {scale}.\n\n| a | b |\n|---|---|\n| 1 | {beta} |\n\n![{name}]({name}.png)\n"
        row = {"beta": beta, "dim": 2, "n": 10, "k_star": 3, "clusters_found": 3, "site_error_max": float("nan"),
               "growth_rates_predicted": [1.0], "growth_rates_fitted": [1.1]}
        return Section(f"Fake {name}", markdown, [f"{name}.png"], {"experiments": [row], name: [1]})
    return Experiment(name, int(beta), run)


@pytest.fixture
def fakes(monkeypatch):
    experiments = [fake_experiment("first", 5.0), fake_experiment("second", 7.0)]
    monkeypatch.setattr(registry, "available", lambda: experiments)
    return experiments


def test_reproduce_writes_report_html_and_summary(tmp_path, fakes):
    out = tmp_path / "report"
    result = runner.invoke(app, ["reproduce", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scale"] == "quick"
    assert [row["beta"] for row in summary["experiments"]] == [5.0, 7.0]
    assert summary["experiments"][0]["site_error_max"] is None  # NaN becomes null: strict JSON
    assert summary["first"] == [1] and summary["second"] == [1]
    markdown = (out / "report.md").read_text()
    assert markdown.index("Fake first") < markdown.index("Fake second")
    page = (out / "report.html").read_text()
    encoded = base64.b64encode((out / "first.png").read_bytes()).decode()
    assert encoded in page and page.count("data:image/png;base64,") == 2
    assert "<table>" in page and "<td>7.0</td>" in page
    assert "attnflow reproduce --quick --out" in page  # the provenance block names the command


def test_reproduce_only_and_full(tmp_path, fakes):
    out = tmp_path / "only"
    result = runner.invoke(app, ["reproduce", "--full", "--only", "second", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scale"] == "full" and [row["beta"] for row in summary["experiments"]] == [7.0]


def test_reproduce_unknown_experiment_exits_2_without_traceback(tmp_path):
    process = subprocess.run([sys.executable, "-c", "from attnflow.cli import main; main()", "reproduce", "--only",
                              "nope", "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert process.returncode == 2
    assert "--only='nope' is not allowed" in process.stderr and "Traceback" not in process.stderr
    assert not (tmp_path / "x").exists()


def test_markdown_to_html_renders_commonmark_tables_math_and_captioned_figures(tmp_path):
    figure, ax = plt.subplots()
    figure.savefig(tmp_path / "f.png")
    plt.close(figure)
    page = markdown_to_html("# T\n\ntext with `code` and **bold**, rate $e^{\\gamma_k t}$ and $a_k b_k$\n\n"
                            "- one\n- two\n\n![m](missing.png)\n\n![growth of $\\mu_k$](f.png)\n\n"
                            "```\na < b\n```\n", tmp_path)
    assert "<pre><code>a &lt; b\n</code></pre>" in page
    assert "<h1>T</h1>" in page and "<code>code</code>" in page and "<strong>bold</strong>" in page
    assert '<span class="math inline">e^{\\gamma_k t}</span>' in page  # underscores untouched, for KaTeX
    assert '<span class="math inline">a_k b_k</span>' in page
    assert "<li>two</li>" in page and "missing figure" in page
    assert '<figcaption><b>Figure 1.</b> growth of <span class="math inline">\\mu_k</span></figcaption>' in page


def test_report_html_bundles_katex_and_provenance_and_formats_percentages(tmp_path):
    from attnflow.experiments.report import percent_change

    write_report([], tmp_path, "quick")
    page = (tmp_path / "report.html").read_text()
    assert "katex.render" in page and "data:font/woff2;base64," in page and "url(fonts/" not in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # nothing fetched
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["provenance"]) == {"attnflow", "commit", "command", "date", "machine"}
    assert summary["provenance"]["command"] in (tmp_path / "report.md").read_text()
    assert [percent_change(v, 1.0) for v in (0.9999, 1.0, 1.2, 0.5, 1.0312)] == \
        ["−0.01%", "0%", "+20%", "−50%", "+3.1%"]


def test_write_report_without_sections(tmp_path):
    summary = write_report([], tmp_path, "quick")
    assert summary["experiments"] == [] and (tmp_path / "report.html").exists()


def test_predict_prints_rates_and_writes_the_plot(tmp_path):
    plot = tmp_path / "gamma.png"
    result = runner.invoke(app, ["predict", "--beta", "5", "--dim", "2", "--n", "20000", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.stat().st_size > 1000
    assert "k* = 3 for" in result.output
    emergence = math.log(math.sqrt(20000)) / (9 * iv(3, 5.0) / 5)  # log(sqrt n) / gamma_3, gamma_3 = 9 I_3(5) / 5
    assert f"{emergence:.6g}" in result.output


def test_predict_clusters_from_saved_tokens(tmp_path):
    """Three planted bumps saved as .npy and as a run's first snapshot: the basins are listed with their angles."""
    import attnflow as af

    angles = np.repeat([0.5, 2.2, 4.4], 500) + 0.1 * np.random.default_rng(0).standard_normal(1500)
    x0 = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    np.save(tmp_path / "x0.npy", x0)
    af.save(af.simulate(af.Model("usa", 5.0, 2), x0, 0.01, dt=0.01, save_every=0.01), tmp_path / "run.nc")
    for source in ("x0.npy", "run.nc"):
        result = runner.invoke(app, ["predict", "--beta", "5", "--tokens", str(tmp_path / source),
                                     "--plot", str(tmp_path / "g.png")])
        assert result.exit_code == 0, result.output
        assert "predicted first metastable clusters: 3 " in result.output
        listed = [float(v) for v in re.findall(r"│ (\d\.\d{4}) │\n", result.output)]
        np.testing.assert_allclose(sorted(listed), [0.5, 2.2, 4.4], atol=0.02)
    result = runner.invoke(app, ["predict", "--beta", "5", "--dim", "3", "--tokens", str(tmp_path / "x0.npy")])
    assert "tokens=" in str(result.exception)  # `main` turns it into one line and exit 2


def test_predict_bad_beta_exits_2():
    process = subprocess.run([sys.executable, "-c", "from attnflow.cli import main; main()", "predict", "--beta",
                              "-1"], capture_output=True, text=True)
    assert process.returncode == 2 and "beta=-1.0 is not allowed" in process.stderr


@pytest.mark.slow
def test_reproduce_quick_metastability_circle(tmp_path):
    """The real quick run: k* and the cluster count at beta = 5 and 7, and modes 2..4 within 10% of gamma_k."""
    from attnflow.theory import dominant_mode, growth_rates

    result = runner.invoke(app, ["reproduce", "--quick", "--only", "metastability_circle", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "summary.json").read_text())["experiments"]
    assert [row["beta"] for row in rows] == [5.0, 7.0]
    for row in rows:
        assert row["k_star"] == dominant_mode(row["beta"], 2)
        predicted = growth_rates(row["beta"], 2, 6)
        assert abs(row["growth_rates_fitted"][1] / predicted[1] - 1) < 0.1
        assert abs(row["growth_rates_fitted"][2] / predicted[2] - 1) < 0.1
        assert abs(row["growth_rates_fitted"][3] / predicted[3] - 1) < 0.1
    assert rows[0]["clusters_found"] == 3
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()


def test_plots_backend_is_agg_unless_the_user_chose_one():
    """attnflow.plots selects Agg on import, but keeps a backend chosen by MPLBACKEND."""
    code = "import attnflow.plots, matplotlib; print(matplotlib.get_backend().lower())"
    env = {key: value for key, value in __import__("os").environ.items() if key != "MPLBACKEND"}
    chosen = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert chosen.stdout.strip() == "agg", chosen.stderr
    chosen = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, "MPLBACKEND": "svg"})
    assert chosen.stdout.strip() == "svg", chosen.stderr


# experiment module, a small scale for it, and the dims of each Dataset its section and summary use
SMALL = {
    "equiangular": ({"n": 3, "random_n": 4, "dims": (8,)},
                    {"equiangular": {"case", "time", "fine_time", "tail", "dim"}}),
    "clustering_rates": ({"n": 8, "betas": (1.0, 2.0), "dims": (2,)},
                         {"clustering_rates": {"kind", "beta", "dim", "snapshot"}}),
    "counterexample": ({"n": 10, "betas": (0.5, 2.0)}, {"antipodal_counterexample": {"beta", "time"}}),
    "long_context": ({"layer_n": (20, 40)}, {"long_context": {"kind", "gamma", "n", "layer_n"}}),
    "kuramoto": ({"n": 50, "grid": 64, "t_end": 3.0, "particle_t_end": 4.0},
                 {"kuramoto": {"t_exact", "t_pde", "t_particles", "fit"}}),
    "phase_diagram": ({"betas": np.array([2.0, 4.0]), "seeds": 2, "t_end": 20.0, "observations": 11},
                      {"phase_diagram": {"dim", "beta", "time", "fine_beta"}}),
    "pde_circle": ({"grid": 256, "particles": 100, "steps": 20, "w1_n": (100, 200), "seeds": 1},
                   {"pde_circle": {"beta", "mode", "w1_n", "noise_seed"}, "pde_circle_beta5": {"time", "angle"},
                    "pde_circle_beta7_particles": {"time", "token"}}),
    "pde_sphere": ({"nlat": 8, "t_end": 0.02, "particles": 100, "n": (100, 200), "dt": 0.01},
                   {"pde_sphere": {"beta", "degree", "n"}, "pde_sphere_pattern": {"time", "lat", "lon"},
                    "pde_sphere_particles": {"time", "token"}}),
    "noisy_transitions": ({"cases": ((1.5, 2), (4.0, 2), (4.0, 3)), "loop_beta": 4.0, "ratios": (1.03,),
                           "grid": {2: 32, 3: 24}, "t_end": 1.0,
                           "particles": {2: {"n": 50, "seeds": 2, "dt": 0.01, "observations": 10},
                                         3: {"n": 30, "seeds": 2, "dt": 0.01, "observations": 10}}},
                          {"noisy_transitions": {"case"}, "noisy_transitions_pde_d2": {"start", "ratio"},
                           "noisy_transitions_pde_d3": {"start", "ratio"},
                           "noisy_transitions_particles_d2": {"start", "ratio", "seed", "obs_time"},
                           "noisy_transitions_particles_d3": {"start", "ratio", "seed", "obs_time"},
                           "noisy_transitions_beta4_d2": {"point", "mode"}}),
    "causal": ({"betas": (16.0,), "ns": (30, 60), "seeds": 2, "collapse_betas": (1.0,), "collapse_seeds": 1},
               {"causal": {"beta", "n", "seed", "time"}, "causal_picture": {"time", "token"},
                "causal_collapse": {"beta", "seed", "time"}}),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_experiment_writes_its_datasets_and_draws_its_figures_from_them(name, tmp_path, monkeypatch):
    """At a small scale: the Datasets are written (<stem>.nc, with provenance) with the dims the section uses,
    the figures are written and marked as attnflow's, and the summary's numbers are the Datasets'."""
    import importlib

    import attnflow as af
    from attnflow.plots import figure_written_by_attnflow

    module = importlib.import_module(f"attnflow.experiments.{name}")
    size, dims = SMALL[name]
    monkeypatch.setitem(module.SIZES, "quick", size)
    section = module.run(tmp_path, "quick")
    for stem, expected in dims.items():
        saved = af.load(tmp_path / f"{stem}.nc")
        assert expected <= set(saved.dims), (stem, saved.dims)
        assert saved.attrs["experiment"] and saved.attrs["history"] and saved.attrs["Conventions"] == "CF-1.10"
        assert stem in section.datasets
    assert section.figures and all(figure_written_by_attnflow(tmp_path / figure) for figure in section.figures)
    assert all(f"]({figure})" in section.markdown for figure in section.figures)
    (key, entries), = section.summary.items()
    assert entries and json.dumps(entries, allow_nan=True)
    first = next(iter(section.datasets.values()))
    numbers = {value for entry in entries for value in _floats(entry)}
    variables = {float(v) for var in first.data_vars.values() if var.dtype.kind == "f" for v in var.values.ravel()}
    assert numbers & variables  # the summary is read off the Dataset


def _floats(value):
    """Every float in a nested summary entry."""
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _floats(item)
    elif isinstance(value, list):
        for item in value:
            yield from _floats(item)
