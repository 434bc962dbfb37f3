"""W_2 to the nearest Dirac, R_0, and the local clustering rates (docs/science.md §4, theory/rates.py)."""

import math

import numpy as np
import pytest

import attnflow as af
from attnflow.errors import ParameterError
from attnflow.experiments.clustering_rates import late_phase_rate, measure
from attnflow.experiments.counterexample import measure as measure_antipodal
from attnflow.growth import exponential_rate
from attnflow.theory import rates


def test_w2_matches_closed_form_and_brute_force_minimum():
    x = af.init.uniform(50, 3, seed=1) + np.array([0.0, 0.0, 1.5])
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    xbar = x.mean(0)
    w2 = af.observables.w2_to_dirac(x)
    assert w2 == pytest.approx(math.sqrt(2 - 2 * np.linalg.norm(xbar)), rel=1e-12)
    # no other Dirac mass is closer (the minimiser is xbar/|xbar|)
    z = af.init.uniform(2000, 3, seed=2)
    brute = np.sqrt(np.mean(np.sum((x[None, :, :] - z[:, None, :]) ** 2, axis=-1), axis=1))
    assert w2 <= brute.min() + 1e-12
    assert af.observables.r0(x) == pytest.approx(float(xbar @ xbar), rel=1e-12)


def test_w2_edge_cases():
    z = np.array([[0.0, 1.0, 0.0]])
    assert af.observables.w2_to_dirac(np.repeat(z, 4, axis=0)) == 0.0
    antipodal = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert af.observables.w2_to_dirac(antipodal) == pytest.approx(math.sqrt(2))
    assert af.observables.r0(antipodal) == 0.0


def test_point_mass_rate_values():
    assert rates.point_mass_rate(3.0, "sa") == 1.0
    assert rates.point_mass_rate(3.0, "usa") == pytest.approx(math.exp(3.0))
    assert rates.point_mass_rate(3.0, "usa", "ngpt") == 1.0
    with pytest.raises(ParameterError, match="norm"):
        rates.point_mass_rate(1.0, "sa", "pre")


def test_late_phase_rate_recovers_a_pure_exponential():
    t = np.linspace(0, 10, 200)
    assert late_phase_rate(t, 0.7 * np.exp(-2.5 * t)) == pytest.approx(2.5, rel=1e-10)
    assert math.isnan(late_phase_rate(t, np.full_like(t, 0.5)))


def test_exponential_rate_recovers_a_known_rate_through_small_noise():
    """y = A e^{gamma t} (1 + eps), eps ~ 1e-6: the slope of log y is gamma to about 1e-6 / (t range), per column."""
    t = np.linspace(0.0, 4.0, 81)
    noise = 1 + 1e-6 * np.random.default_rng(0).standard_normal((81, 2))
    y = np.array([0.3, 2e-4]) * np.exp(np.array([-1.7, 3.2]) * t[:, None]) * noise
    np.testing.assert_allclose(exponential_rate(t, y), [-1.7, 3.2], atol=1e-6)
    assert exponential_rate(t, y[:, 1], t >= 2.0) == pytest.approx(3.2, abs=1e-5)
    assert exponential_rate(t, y[:, 0], slice(10, 20)) == pytest.approx(-1.7, abs=1e-4)
    # the least-squares slope of log y, written out independently
    logs = np.log(y[:, 0])
    slope = np.sum((t - t.mean()) * (logs - logs.mean())) / np.sum((t - t.mean()) ** 2)
    assert exponential_rate(t, y[:, 0]) == pytest.approx(slope, rel=1e-12)


def test_exponential_rate_refuses_a_window_with_too_few_points_and_marks_non_positive_columns():
    t = np.linspace(0.0, 1.0, 11)
    with pytest.raises(ParameterError, match="window"):
        exponential_rate(t, np.exp(t), t > 0.85)
    with pytest.raises(ParameterError, match="window"):
        exponential_rate(t, np.exp(t), slice(0, 4), min_points=5)
    with pytest.raises(ParameterError, match="y="):
        exponential_rate(t, np.exp(t)[:-1])
    rates_ = exponential_rate(t, np.stack([np.exp(t), np.where(t > 0.5, 0.0, 1.0)], axis=1))
    assert rates_[0] == pytest.approx(1.0) and math.isnan(rates_[1])


@pytest.mark.parametrize("kind,beta,dim", [("sa", 2.0, 3), ("usa", 2.0, 8), ("sa", 5.0, 2), ("usa", 1.0, 2)])
def test_fitted_w2_rate_is_the_local_rate(kind, beta, dim):
    r = measure(kind, beta, dim, n=24, seed=1)
    assert float(r.R0) > 0.5
    assert float(r.rate) == pytest.approx(rates.point_mass_rate(beta, kind), rel=0.05)


def test_antipodal_split_rate_against_a_finite_difference_of_the_test_particle_velocity():
    m, phi = 0.8, 1e-6
    for beta in (0.3, 1.0, 2.5):
        g = lambda a: math.exp(beta * math.cos(a)) * math.sin(a)  # noqa: E731
        velocity_usa = -((1 - m) * g(phi) + m * g(phi + math.pi))
        normaliser = (1 - m) * math.exp(beta * math.cos(phi)) + m * math.exp(beta * math.cos(phi + math.pi))
        assert rates.antipodal_split_rate(beta, m, "usa") == pytest.approx(velocity_usa / phi, rel=1e-5)
        assert rates.antipodal_split_rate(beta, m, "sa") == pytest.approx(velocity_usa / normaliser / phi, rel=1e-5)
    beta_c = rates.antipodal_threshold(m)
    assert rates.antipodal_split_rate(beta_c, m) == pytest.approx(0.0, abs=1e-12)
    assert rates.antipodal_threshold(0.4) == 0.0


@pytest.mark.parametrize("beta,stays", [(0.5, False), (2.0, True)])
def test_mirror_start_stays_in_two_clusters_only_above_the_threshold(beta, stays):
    r = measure_antipodal(beta, n=20, mass=0.9, t_end=40.0)
    assert float(r.split_rate) == pytest.approx(float(r.predicted_split_rate), rel=0.02)
    assert (float(r.final_mass_near_pi) > 0) == stays
    assert (float(r.final_w2) > 0.1) == stays


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sa", "usa"])
def test_fitted_rates_over_the_full_grid_within_5_percent(kind):
    for beta in (0.1, 0.5, 1.0, 2.0, 4.0, 8.0):
        for dim in (2, 3, 8, 32):
            r = measure(kind, beta, dim, n=64, seed=2)
            assert float(r.relative_error) < 0.05, (beta, dim, float(r.rate), float(r.predicted))
