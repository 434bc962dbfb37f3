"""Property-based tests over the Python API (Hypothesis): for any beta, n, d, dtype, Q/K/V and
normalisation, a computation returns a finite result or raises an `AttnflowError` naming what is
wrong; never NaN, inf, another exception, or a hang."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attnflow as af
from attnflow.errors import AttnflowError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
betas = st.one_of(st.floats(0, 50), st.floats(50, 1e6), st.sampled_from([0.0, 353.0, 354.0, 709.0, 1e3, 1e300]))


@st.composite
def models(draw):
    dim = draw(st.integers(2, 5))
    kind = draw(st.sampled_from(["usa", "sa"]))
    norm = draw(st.sampled_from(["post", "pre", "ngpt"]))
    matrices = {}
    for name in ("Q", "K", "V"):
        if draw(st.booleans()):
            scale = draw(st.sampled_from([1e-3, 1.0, 3.0]))
            seed = draw(st.integers(0, 1000))
            matrices[name] = scale * np.random.default_rng(seed).standard_normal((dim, dim))
    return af.Model(kind, draw(betas), dim, norm=norm, **matrices)


@SETTINGS
@given(model=models(), n=st.integers(1, 40), seed=st.integers(0, 100), dtype=st.sampled_from(["float64", "float32"]))
def test_velocity_is_finite_or_refused(model, n, seed, dtype):
    import torch
    x = torch.as_tensor(af.init.uniform(n, model.dim, seed=seed)).to(getattr(torch, dtype))
    try:
        v = af.velocity(model, x)
    except AttnflowError as error:
        assert "=" in str(error)  # names a parameter
        return
    assert v.shape == x.shape and bool(torch.isfinite(v).all())


@SETTINGS
@given(model=models(), n=st.integers(1, 20), method=st.sampled_from(["euler", "rk4", "dopri5"]),
       dtype=st.sampled_from(["float64", "float32"]), dt=st.sampled_from([1e-3, 1e-2, 0.05]))
def test_simulate_is_finite_or_refused(model, n, method, dtype, dt):
    x0 = af.init.uniform(n, model.dim, seed=0)
    try:
        ds = af.simulate(model, x0, t_end=0.05, dt=dt, method=method, dtype=dtype, save_every=0.025,
                         observables=("modes", "energy", "order_parameter"))
    except AttnflowError as error:
        assert "=" in str(error) or "t = " in str(error)
        return
    for name in ds.data_vars:
        assert np.isfinite(ds[name].values).all(), name


@SETTINGS
@given(beta=betas, dim=st.one_of(st.integers(2, 10), st.sampled_from([128, 1024, 10**5])),
       kind=st.sampled_from(["usa", "sa"]), scaled=st.booleans())
def test_linear_theory_is_finite_or_refused(beta, dim, kind, scaled):
    try:
        rates = af.theory.growth_rates(beta, dim, 12, kind=kind, scaled=scaled)
        k_star = af.theory.dominant_mode(beta, dim)
    except AttnflowError as error:
        assert "beta=" in str(error)
        return
    assert np.isfinite(rates).all() and (rates >= 0).all()
    assert k_star >= 1


@SETTINGS
@given(beta=st.floats(0.1, 200), kind=st.sampled_from(["usa", "sa"]), grid=st.sampled_from([32, 64, 128]),
       method=st.sampled_from(["fv", "spectral", "lax-friedrichs"]))
def test_pde_is_finite_or_refused(beta, kind, grid, method):
    rho0 = af.pde.initial.uniform_noise(grid, sigma=0.01, seed=0)
    try:
        ds = af.pde.solve(af.Model(kind, beta, 2), rho0, 0.02, method=method, max_steps=3000)
    except AttnflowError:
        return
    assert np.isfinite(ds.density.values).all()
    assert method != "spectral" or ds.density.values.min() >= -1e-3 * ds.density.values.max()
