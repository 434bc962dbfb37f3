"""Sweep specs: grids (products, zips, ranges, seeds), validation, and the CLI's one-line refusals."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from attnflow.cli import app
from attnflow.errors import AttnflowError
from attnflow.sweep import SpecError, load_spec, parse_spec, plan

BASE = {"task": "simulate", "fixed": {"t_end": 0.1, "dt": 0.05}}


def test_product_zip_and_seeds_enumerate_every_combination_in_c_order():
    spec = parse_spec({**BASE, "grid": {"beta": [1, 2, 3], "kind": ["sa", "usa"]},
                       "zip": [{"n": [4, 8], "method": ["rk4", "euler"]}], "seeds": 2})
    assert spec.dims == ("beta", "kind", "n_method", "seed")
    assert spec.shape == (3, 2, 2, 2)
    expected = [(b, k, n, m, s) for b, k, (n, m), s in
                itertools.product([1.0, 2.0, 3.0], ["sa", "usa"], [(4, "rk4"), (8, "euler")], [0, 1])]
    got = [(p["beta"], p["kind"], p["n"], p["method"], p["seed"]) for p in spec.points()]
    assert got == expected
    assert all(p["t_end"] == 0.1 and p["dim"] == 2 for p in spec.points())  # fixed values and defaults


def test_ranges_and_linspace_match_python_and_numpy():
    spec = parse_spec({**BASE, "grid": {"n": {"range": [4, 20, 5]}, "beta": {"linspace": [0, 2, 5]},
                                        "seed": {"range": [3]}}})
    assert spec.axes[0].values["n"] == list(range(4, 20, 5))
    assert spec.axes[1].values["beta"] == list(np.linspace(0, 2, 5))
    assert spec.axes[2].values["seed"] == [0, 1, 2]
    floats = parse_spec({**BASE, "grid": {"beta": {"range": [0.5, 1.0, 0.1]}, "n": [4]}})
    assert np.allclose(floats.axes[0].values["beta"], np.arange(0.5, 1.0 - 1e-9, 0.1))


def test_yaml_and_toml_give_the_same_spec_and_digest(tmp_path):
    (tmp_path / "s.yaml").write_text("task: simulate\nfixed: {t_end: 0.1, dt: 0.05, n: 4}\ngrid:\n  beta: [1, 2]\n"
                                     "seeds: 2\n")
    (tmp_path / "s.toml").write_text('task = "simulate"\nseeds = 2\n[fixed]\nt_end = 0.1\ndt = 0.05\nn = 4\n'
                                     '[grid]\nbeta = [1, 2]\n')
    a, b = load_spec(tmp_path / "s.yaml"), load_spec(tmp_path / "s.toml")
    assert a == b and a.digest() == b.digest()
    exponent = parse_spec(yaml.safe_load("task: simulate\nfixed: {t_end: 0.1, n: 4}\ngrid: {beta: [1], dt: [5e-2]}"))
    assert exponent.point(0)["dt"] == 0.05  # YAML 1.1 reads 5e-2 as a string
    changed = parse_spec({**BASE, "grid": {"beta": [1, 2.5], "n": [4]}, "seeds": 2})
    assert changed.digest() != a.digest()
    assert json.loads(json.dumps(a.canonical())) == a.canonical()


@pytest.mark.parametrize("data, words", [
    ({**BASE, "grid": {"betta": [1]}}, ["grid.betta", "unknown parameter", "beta"]),
    ({**BASE, "grid": {"beta": []}}, ["grid.beta", "empty"]),
    ({**BASE}, ["empty grid"]),
    ({**BASE, "grid": {"beta": ["hot"]}}, ["grid.beta", "'hot'", "finite number"]),
    ({**BASE, "grid": {"n": [2.5]}, "fixed": {"beta": 1, "t_end": 0.1, "dt": 0.05}}, ["grid.n", "integer"]),
    ({**BASE, "grid": {"kind": ["mlp"]}}, ["grid.kind", "sa, usa"]),
    ({**BASE, "grid": {"beta": [1]}, "colour": 1}, ["unknown key 'colour'"]),
    ({**BASE, "zip": [{"beta": [1, 2], "n": [4]}]}, ["zip[0]", "different lengths"]),
    ({**BASE, "grid": {"beta": [1], "t_end": [1]}}, ["'t_end' is given twice"]),
    ({**BASE, "grid": {"beta": [1]}}, ["needs parameter 'n'"]),
    ({**BASE, "grid": {"beta": [1], "n": [4]}, "record": ["entropy"]}, ["record", "'entropy'", "energy"]),
    ({"task": "nonesuch", "grid": {"beta": [1]}}, ["task='nonesuch'", "simulate"]),
])
def test_malformed_specs_name_the_problem(data, words):
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


GRID = {**BASE, "grid": {"beta": [1], "n": [4]}}


@pytest.mark.parametrize("data, words", [
    ([GRID], ["spec: must be a mapping with keys task, import, fixed, grid, zip, seeds, record, store"]),
    ({"grid": {"beta": [1]}}, ["spec: task:", "registered task"]),
    ({**GRID, "task": 3}, ["spec: task:", "registered task"]),
    ({**GRID, "import": [1]}, ["spec: import:", "module name"]),
    ({**GRID, "fixed": [1]}, ["spec: fixed:", "mapping"]),
    ({**GRID, "grid": [1]}, ["spec: grid:", "mapping"]),
    ({**BASE, "grid": {"beta": 1, "n": [4]}}, ["spec: grid.beta:", "a list of values", "{range: [start, stop, step]}"]),
    ({**BASE, "grid": {"beta": {"arange": [1]}, "n": [4]}}, ["spec: grid.beta:", "{linspace: [start, stop, num]}"]),
    ({**BASE, "grid": {"beta": {"range": [0, 1, 2, 3]}, "n": [4]}}, ["spec: grid.beta.range:", "[start, stop, step]"]),
    ({**BASE, "grid": {"beta": {"range": ["a"]}, "n": [4]}}, ["spec: grid.beta.range:", "numbers"]),
    ({**BASE, "grid": {"beta": {"range": [True]}, "n": [4]}}, ["spec: grid.beta.range:", "numbers"]),
    ({**BASE, "grid": {"beta": {"range": [0, 1, 0]}, "n": [4]}}, ["spec: grid.beta:", "step must be non-zero"]),
    ({**BASE, "grid": {"beta": {"range": [3, 1]}, "n": [4]}}, ["spec: grid.beta:", "empty"]),
    ({**BASE, "grid": {"beta": {"linspace": [0, 1]}, "n": [4]}}, ["spec: grid.beta.linspace:", "[start, stop, num]"]),
    ({**BASE, "grid": {"beta": {"linspace": [0, 1, 2.0]}, "n": [4]}}, ["grid.beta.linspace:", "num an integer >= 1"]),
    ({**BASE, "grid": {"beta": {"linspace": [0, 1, 0]}, "n": [4]}}, ["grid.beta.linspace:", "num an integer >= 1"]),
    ({**BASE, "grid": {"n": {"range": [1.0, 3.0]}}, "fixed": {"beta": 1, "t_end": 0.1}}, ["grid.n", "1.0", "integer"]),
    ({**GRID, "zip": "n"}, ["spec: zip[0]:", "mapping"]),
    ({**GRID, "zip": [{}]}, ["spec: zip[0]:", "non-empty mapping"]),
    ({**BASE, "grid": {"n": [4]}, "zip": [{"betta": [1]}]}, ["spec: zip[0].betta:", "unknown parameter 'betta'"]),
    ({**BASE, "zip": [{"beta": [1, "x"], "n": [4, 4]}]}, ["spec: zip[0].beta:", "'x'", "finite number"]),
    ({**BASE, "grid": {"beta": [1], "n": [4]}, "zip": [{"n": [5]}]}, ["'n' is given twice"]),
    ({**GRID, "seeds": True}, ["spec: seeds:", "a list of values"]),
    ({**GRID, "seeds": "8"}, ["spec: seeds:", "a list of values"]),
    ({**GRID, "seeds": 0}, ["spec: seeds:", "empty"]),
    ({**GRID, "seeds": [1.5]}, ["spec: seeds:", "1.5", "integer"]),
    ({**GRID, "grid": {"beta": [1], "n": [4], "seed": [1]}, "seeds": 2}, ["'seed' is given twice"]),
    ({**GRID, "fixed": {"t_end": float("nan"), "dt": 0.05}}, ["spec: fixed.t_end:", "nan", "finite number"]),
    ({**GRID, "fixed": {"t_end": "inf", "dt": 0.05}}, ["spec: fixed.t_end:", "inf", "finite number"]),
    ({**GRID, "fixed": {"t_end": True, "dt": 0.05}}, ["spec: fixed.t_end:", "True", "finite number"]),
    ({**GRID, "fixed": {"t_end": None, "dt": 0.05}}, ["spec: fixed.t_end:", "None", "finite number"]),
    ({**GRID, "fixed": {"t_end": 0.1, "dt": 0.05, "colour": 1}}, ["spec: fixed.colour:", "unknown parameter"]),
    ({**BASE, "grid": {"beta": [1], "n": [True]}}, ["spec: grid.n:", "True", "integer"]),
    ({**BASE, "grid": {"beta": [1], "n": ["4"]}}, ["spec: grid.n:", "'4'", "integer"]),
    ({**GRID, "grid": {"beta": [1], "n": [4], "kind": [1]}}, ["spec: grid.kind:", "one of sa, usa"]),
    ({**GRID, "grid": {"beta": [1], "n": [4], "engine": ["fast"]}}, ["spec: grid.engine:", "dense, circle"]),
    ({**GRID, "record": []}, ["spec: record:", "non-empty list"]),
    ({**GRID, "record": [3]}, ["spec: record:", "output name"]),
    ({**GRID, "store": 3}, ["spec: store:", ".zarr"]),
])
def test_every_malformed_entry_is_one_line_naming_its_place(data, words):
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    message = str(info.value)
    assert "\n" not in message and "pydantic" not in message and "Input should" not in message, message
    for word in words:
        assert word in message, message


def test_short_forms_mean_their_long_forms():
    """A single item stands for a list of one, `seeds: n` for {range: [n]}, null for an empty entry."""
    long = parse_spec({**BASE, "import": ["json"], "grid": {"beta": [1]}, "zip": [{"n": [4, 8], "seed": [3, 4]}],
                       "record": ["energy"]})
    short = parse_spec({**BASE, "import": "json", "grid": {"beta": [1]}, "zip": {"n": [4, 8], "seed": [3, 4]},
                        "record": "energy"})
    assert short == long and short.digest() == long.digest()
    assert parse_spec({**GRID, "seeds": 3}) == parse_spec({**GRID, "seeds": {"range": [3]}}) \
        == parse_spec({**GRID, "seeds": [0, 1, 2]})
    assert parse_spec({**GRID, "zip": None, "store": None}) == parse_spec(GRID)
    assert parse_spec({"task": "cluster_count", "fixed": None, "grid": {"beta": [1], "n": [4]}}).fixed["kind"] == "usa"
    assert parse_spec({**BASE, "grid": {"beta": {"range": 3}, "n": [4]}}).axes[0].values["beta"] == [0.0, 1.0, 2.0]


def test_values_take_the_parameter_types():
    spec = parse_spec({"task": "simulate", "fixed": {"t_end": "1e-1", "rtol": 1, "engine": None},
                       "grid": {"beta": ["2", 3, 4.5], "n": {"range": [5, 0, -2]}, "dt": [None, 0.05],
                                "kind": ["sa"]}})
    assert spec.fixed["t_end"] == 0.1 and spec.fixed["rtol"] == 1.0 and spec.fixed["engine"] is None
    assert all(type(v) is float for v in (spec.fixed["t_end"], spec.fixed["rtol"], *spec.axes[0].values["beta"]))
    assert spec.axes[0].values["beta"] == [2.0, 3.0, 4.5]
    assert spec.axes[1].values["n"] == list(range(5, 0, -2))
    assert spec.axes[2].values["dt"] == [None, 0.05]
    assert spec.axes[3].values["kind"] == ["sa"]


def test_the_digest_is_the_sha256_of_the_canonical_json():
    """The digest stores were written with: SHA-256 of the sorted JSON of task, imports, fixed values with the
    task's defaults, axes and record, written out here by hand."""
    import hashlib

    from attnflow.sweep import get

    spec = parse_spec({"task": "cluster_count", "fixed": {"kind": "sa"}, "grid": {"beta": {"range": [2, 4]},
                       "n": [64]}, "seeds": 2})
    task = get("cluster_count")
    fixed = {"kind": "sa", **{name: p.default for name, p in task.parameters.items()
                              if name not in ("kind", "beta", "n", "seed")}}
    canonical = {"task": "cluster_count", "import": [], "fixed": fixed,
                 "axes": [["beta", {"beta": [2.0, 3.0]}], ["n", {"n": [64]}], ["seed", {"seed": [0, 1]}]],
                 "record": list(task.default_record)}
    assert spec.digest() == hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def test_points_that_cannot_run_are_refused_before_the_sweep():
    spec = parse_spec({**BASE, "fixed": {"t_end": 0.1, "dt": 0.03}, "grid": {"beta": [1], "n": [4]}})
    with pytest.raises(SpecError, match="grid point beta=1.0, n=4: dt=0.03"):
        plan(spec)
    spec = parse_spec({**BASE, "grid": {"beta": [1.0, -1.0], "n": [4]}})
    with pytest.raises(SpecError, match="beta=-1.0"):
        plan(spec)
    varying = parse_spec({**BASE, "grid": {"beta": [1], "n": [4], "t_end": [0.1, 0.2]}, "fixed": {"dt": 0.05}})
    with pytest.raises(SpecError, match="keep its parameters fixed"):
        plan(varying)


def test_final_states_of_different_n_share_one_padded_axis():
    layout = plan(parse_spec({**BASE, "grid": {"beta": [1], "n": [3, 7]}, "record": ["final_state", "energy"]}))
    assert layout["final_state"].dims == ("token", "component") and layout["final_state"].shape == (7, 2)
    assert np.allclose(layout["energy"].coords["time"], [0.0, 0.1])


def write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "task: simulate\nfixed: {t_end: 0.1, dt: 0.05, n: 4}\ngrid:\n  beta: [1]\n"


@pytest.mark.parametrize("text, out, words", [
    ("task: simulate\nfixed: {t_end: 0.1, dt: 0.05, n: 4}\ngrid:\n  betta: [1]\n", "s.zarr", ["unknown parameter"]),
    ("task: simulate\nfixed: {t_end: 0.1, dt: 0.05, n: 4, beta: 1}\ngrid: {}\n", "s.zarr", ["empty grid"]),
    ("task: simulate\nfixed: {t_end: 0.1, dt: 0.05, n: four}\ngrid:\n  beta: [1]\n", "s.zarr", ["fixed.n", "integer"]),
    (GOOD, "blocker/s.zarr", ["out=", "existing directory"]),
    (GOOD, "s.nc", ["out=", ".zarr"]),
    ("task: simulate\ngrid: [beta\n", "s.zarr", ["not valid YAML"]),
])
def test_cli_refuses_malformed_input_with_one_line_and_exit_2(tmp_path, monkeypatch, text, out, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file where a directory should be")
    result = CliRunner().invoke(app, ["sweep", str(write(tmp_path, text)), "--out", out])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for word in words:
        assert word in " ".join(lines), result.output
    assert not (tmp_path / "s.zarr").exists()  # failed before anything was written


def test_a_changed_spec_is_refused_against_an_existing_store(tmp_path):
    from attnflow.sweep import SweepStore

    spec = parse_spec({**BASE, "grid": {"beta": [1], "n": [4]}})
    SweepStore.prepare(tmp_path / "s.zarr", spec, plan(spec))
    changed = write(tmp_path, GOOD.replace("[1]", "[2]"))
    result = CliRunner().invoke(app, ["sweep", str(changed), "--out", str(tmp_path / "s.zarr")])
    assert result.exit_code == 2 and "different spec" in result.output and "--overwrite" in result.output
    (tmp_path / "other.zarr").mkdir()
    result = CliRunner().invoke(app, ["sweep", str(changed), "--out", str(tmp_path / "other.zarr")])
    assert result.exit_code == 2 and "not a sweep store" in result.output


def test_overwrite_replaces_a_store_of_another_spec(tmp_path):
    from attnflow.sweep import PENDING, SweepStore

    old = parse_spec({**BASE, "grid": {"beta": [1], "n": [4]}})
    store = SweepStore.prepare(tmp_path / "s.zarr", old, plan(old))
    store.write(0, {"modes": np.zeros((2, 10)), "energy": np.zeros(2)})
    new = parse_spec({**BASE, "grid": {"beta": [1, 2], "n": [4]}})
    with pytest.raises(AttnflowError, match="different spec"):
        SweepStore.prepare(tmp_path / "s.zarr", new, plan(new))
    replaced = SweepStore.prepare(tmp_path / "s.zarr", new, plan(new), overwrite=True)
    assert replaced.pending() == [0, 1] and (replaced.status() == PENDING).all()


@pytest.mark.parametrize("name", ["cluster_count.yaml", "phase_diagram.yaml", "simulate.toml"])
def test_example_specs_are_valid(name):
    spec = load_spec(Path(__file__).parents[1] / "examples" / name)
    assert spec.size > 1 and plan(spec)
