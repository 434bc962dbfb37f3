"""The equiangular model (docs/science.md §4): ODE against particle runs and closed forms."""

import math

import numpy as np
import pytest

import attnflow as af
from attnflow.errors import ParameterError
from attnflow.theory import equiangular as eq


def _inner_products(ds):
    x = ds.x.values
    r = np.linalg.norm(x, axis=-1)
    theta = x / r[..., None]
    gram = np.einsum("tid,tjd->tij", theta, theta)
    n = gram.shape[1]
    return gram[:, ~np.eye(n, dtype=bool)], r


@pytest.mark.parametrize("kind", ["sa", "usa"])
@pytest.mark.parametrize("norm", ["post", "pre", "ngpt"])
def test_particles_follow_the_ode_to_1e9(kind, norm):
    n, beta, rho0 = 5, 1.0, 0.1
    x0 = af.init.equiangular(n, rho0, dim=7, seed=3)
    model = af.Model(kind=kind, beta=beta, dim=7, norm=norm)
    ds = af.simulate(model, x0, t_end=5.0, method="dopri5", rtol=1e-12, atol=1e-14, save_every=0.5,
                     observables=())
    inner, r = _inner_products(ds)
    sol = eq.solve(n, beta, rho0, ds.time.values, kind, norm)
    assert np.abs(inner - sol.rho[:, None]).max() < 1e-9
    assert np.abs(r - sol.r[:, None]).max() < 1e-9
    assert sol.rho[-1] > 0.9  # the run went somewhere


def test_post_ln_matches_science_md_closed_forms():
    n, beta, rho = 7, 2.5, np.linspace(-0.1, 0.99, 9)
    sa, _ = eq.rate(rho, n, beta, "sa")
    usa, _ = eq.rate(rho, n, beta, "usa")
    expected_sa = (2 * np.exp(beta * rho) * (1 - rho) * ((n - 1) * rho + 1)
                   / (np.exp(beta) + (n - 1) * np.exp(beta * rho)))
    expected_usa = (2 / n) * np.exp(beta * rho) * (1 - rho) * ((n - 1) * rho + 1)
    np.testing.assert_allclose(sa, expected_sa, rtol=1e-13)
    np.testing.assert_allclose(usa, expected_usa, rtol=1e-13)


def test_sa_weights_stay_finite_for_huge_beta():
    a, b = eq.weights(np.array([0.5]), 10, 5000.0, "sa")
    assert a[0] == pytest.approx(1.0) and 0 <= b[0] < 1e-300


@pytest.mark.parametrize("kind,norm", [("sa", "post"), ("usa", "post"), ("sa", "ngpt"), ("usa", "ngpt")])
def test_exponential_asymptotic_rates(kind, norm):
    n, beta = 8, 1.5
    law, c = eq.asymptotics(beta, kind, norm)
    assert law == "exponential"
    t = np.linspace(0, 60 / c, 300)
    sol = eq.solve(n, beta, 0.2, t, kind, norm)
    late = (sol.gap > 1e-25) & (sol.gap < 1e-5)
    slope = np.polyfit(t[late], np.log(sol.gap[late]), 1)[0]
    assert slope == pytest.approx(-c, rel=1e-3)


@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_pre_ln_is_polynomial_t_minus_2(kind):
    law, p = eq.asymptotics(1.0, kind, "pre")
    assert (law, p) == ("polynomial", 2.0)
    t = np.geomspace(1e3, 1e5, 20)
    sol = eq.solve(6, 1.0, 0.3, np.concatenate([[0.0], t]), kind, "pre")
    slope = np.polyfit(np.log(t), np.log(1 - sol.rho[1:]), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.02)


def test_clustering_time_is_the_crossing_of_the_solution():
    n, beta = 32, 3.0
    t_star = eq.clustering_time(n, beta, 0.0, 0.999)
    sol = eq.solve(n, beta, 0.0, [t_star * 0.99, t_star, t_star * 1.01])
    assert sol.rho[0] < 0.999 < sol.rho[2]
    assert sol.rho[1] == pytest.approx(0.999, abs=1e-8)
    # SA from rho0 = 0: for large beta, b = 1/(e^{beta} + n - 1) so the time grows like e^beta
    assert eq.clustering_time(n, 12.0, 0.0) > math.exp(12.0) / (2 * n)


def test_bad_input_names_the_parameter():
    with pytest.raises(ParameterError, match="norm"):
        eq.rate(0.1, 5, 1.0, "sa", "peri")
    with pytest.raises(ParameterError, match="rho0"):
        eq.solve(5, 1.0, -0.5, [1.0])
    with pytest.raises(ParameterError, match="n="):
        eq.solve(1, 1.0, 0.1, [1.0])
