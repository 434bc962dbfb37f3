"""Bad input: one clear error naming the parameter; the CLI exits 2 without a traceback."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow.errors import AttnflowError


def error_of(call):
    with pytest.raises(AttnflowError) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize("kwargs, name", [
    ({"kind": "usa", "beta": -1.0, "dim": 2}, "beta"),
    ({"kind": "usa", "beta": float("nan"), "dim": 2}, "beta"),
    ({"kind": "usa", "beta": float("inf"), "dim": 2}, "beta"),
    ({"kind": "usa", "beta": 1.0, "dim": 1}, "dim"),
    ({"kind": "softmax", "beta": 1.0, "dim": 2}, "kind"),
    ({"kind": "sa", "beta": 1.0, "dim": 3, "Q": np.eye(2)}, "Q"),
    ({"kind": "sa", "beta": 1.0, "dim": 3, "V": np.ones((3, 4))}, "V"),
    ({"kind": "sa", "beta": 1.0, "dim": 3, "norm": "mid"}, "norm"),
    ({"kind": "sa", "beta": 1.0, "dim": 3, "diffusion": -0.1}, "diffusion"),
])
def test_model_rejects_bad_parameters(kwargs, name):
    assert error_of(lambda: af.Model(**kwargs)).startswith(f"{name}=")


def test_init_rejects_bad_sizes():
    assert error_of(lambda: af.init.uniform(0, 2)).startswith("n=")
    assert error_of(lambda: af.init.uniform(10, 1)).startswith("dim=")
    assert "dim must be >= 5" in error_of(lambda: af.init.equiangular(5, 0.3, dim=3))
    assert error_of(lambda: af.init.equiangular(5, -0.5)).startswith("rho=")


@pytest.mark.parametrize("kwargs, name", [
    ({"dt": 0.0}, "dt"), ({"dt": -1e-3}, "dt"), ({"t_end": -1.0}, "t_end"),
    ({"method": "leapfrog"}, "method"), ({"engine": "fmm"}, "engine"), ({"dt": None}, "dt"),
    ({"method": "dopri5", "rtol": 0.0}, "rtol"), ({"observables": ("entropy",)}, "observables"),
])
def test_simulate_rejects_bad_arguments(kwargs, name):
    model = af.Model("usa", 1.0, 2)
    x0 = af.init.uniform(10, 2)
    arguments = {"t_end": 0.1, "dt": 0.01, "method": "euler", **kwargs}
    t_end = arguments.pop("t_end")
    assert error_of(lambda: af.simulate(model, x0, t_end, **arguments)).startswith(f"{name}=")


def test_tokens_must_be_on_the_sphere_with_the_right_shape():
    model = af.Model("usa", 1.0, 3)
    assert error_of(lambda: af.simulate(model, 2 * af.init.uniform(10, 3), 0.1, dt=0.01)).startswith("x0=")
    assert error_of(lambda: af.simulate(model, af.init.uniform(10, 2), 0.1, dt=0.01)).startswith("x0=")
    assert error_of(lambda: af.velocity(model, np.ones(3))).startswith("x=")


def test_circle_engine_refuses_what_it_cannot_do_exactly():
    x3 = af.init.uniform(10, 3)
    assert "engine='circle' needs dim=2" in error_of(lambda: af.velocity(af.Model("sa", 1.0, 3), x3, engine="circle"))
    x2 = af.init.uniform(10, 2)
    message = error_of(lambda: af.velocity(af.Model("sa", 1.0, 2, Q=2 * np.eye(2)), x2, engine="circle"))
    assert "identity" in message


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "attnflow", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args, name", [
    (["--beta", "-1"], "beta"),
    (["--dim", "1"], "dim"),
    (["--n", "0"], "n"),
    (["--dt", "0", "--method", "euler"], "dt"),
    (["--t-end", "-1", "--dt", "0.1"], "t_end"),
    (["--method", "midpoint", "--dt", "0.1"], "method"),
    (["--engine", "circle", "--dim", "3", "--dt", "0.001"], "engine"),
    (["--out", "run.csv", "--dt", "0.1"], "out"),
])
def test_cli_exits_2_with_one_line(args, name):
    result = run_cli("simulate", "--t-end", "0.01", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert name in result.stderr


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_all_finite_agrees_with_an_elementwise_check(dtype):
    """_array.all_finite (a finite sum, else max |t|) = torch.isfinite(t).all() on tensors with NaN, +-inf, both,
    none, empty, and huge finite values whose sum overflows; small, and large enough to be summed by NumPy."""
    from attnflow._array import all_finite

    big = torch.finfo(dtype).max
    cases = [[1.0, 2.0], [float("nan")], [1.0, float("inf")], [-float("inf"), 0.0], [float("nan"), float("inf")],
             [big, -big], [big, big], [-big, -big, 1.0], []]
    for values in cases:
        tensor = torch.tensor(values, dtype=dtype)
        assert all_finite(tensor) == bool(torch.isfinite(tensor).all()), values
        large = torch.cat([torch.zeros(2**15, dtype=dtype), tensor])  # summed by NumPy (PyTorch's parallel size)
        assert all_finite(large) == bool(torch.isfinite(large).all()), values
    random = torch.randn(50, 3, dtype=dtype)
    random[7, 1] = float("nan")
    assert not all_finite(random)


@pytest.mark.parametrize("norm", ["post", "pre", "ngpt", "peri"])
@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_velocity_names_non_finite_tokens(norm, kind, bad):
    """af.velocity checks x's finiteness through its result on the dense engine (NaN and infinities in one token
    reach every velocity); whatever the entry, the engine, beta or batch, the error names x."""
    import attnflow as af
    from attnflow import sphere

    for dim, beta, engine in ((3, 5.0, None), (3, 0.0, None), (2, 5.0, "dense"), (2, 5.0, None)):
        x = sphere.uniform(12, dim, torch.Generator().manual_seed(1))
        x[4, 1] = bad
        model = af.Model(kind, beta, dim, norm=norm)
        if engine is None and dim == 2 and norm != "post":
            continue  # the circle engine is post-LN's
        for tokens in (x, x[None].repeat(3, 1, 1)):
            with pytest.raises(af.errors.ParameterError, match="x="):
                af.velocity(model, tokens, engine=engine)
