"""Dense output of dopri5: the continuous extension between steps (order 4), and a run observing through it
agreeing with a run forced to land on every observation time."""

import math

import numpy as np
import pytest
import torch

import attnflow as af
from attnflow.steppers import dopri5_step


class Logistic:
    def rate(self, y):
        return y * (1 - y)


def exact(y0, t):
    return 1 / (1 + (1 / y0 - 1) * math.exp(-t))


def test_the_continuous_extension_is_exact_at_the_ends_and_of_local_order_five():
    """One step of size h from y0: |dense(theta) - y(theta h)| = O(h^5) (a 4th-order interpolant)."""
    y0 = torch.tensor([0.2], dtype=torch.float64)
    errors = []
    for h in (0.8, 0.4, 0.2, 0.1):
        y_new, _, _, dense = dopri5_step(Logistic(), y0, h, Logistic().rate(y0))
        assert float(dense(0.0)[0]) == 0.2
        assert abs(float(dense(1.0)[0]) - float(y_new[0])) < 1e-15
        errors.append(max(abs(float(dense(theta)[0]) - exact(0.2, theta * h)) for theta in (0.3, 0.5, 0.7)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 4.3) & (orders < 5.7)), orders


def observed(rtol, land):
    """order_parameter and the first token at 41 times of an S^2 run: read from dense output, or landed on."""
    model, x0 = af.Model("sa", 4.0, 3), af.init.uniform(60, 3, seed=5)
    every = 0.025
    ds = af.simulate(model, x0, 1.0, method="dopri5", rtol=rtol, atol=rtol * 1e-3,
                     save_every=every if land else 1.0, observe_every=every,
                     observables=("order_parameter", {"first": lambda t, x: x[0],
                                                      "off_sphere": lambda t, x: (x.norm(dim=1) - 1).abs().max()}))
    return ds


@pytest.fixture(scope="module")
def reference():
    return observed(1e-12, land=True)


def test_dense_output_agrees_with_landing_and_converges_with_the_tolerance(reference):
    errors = []
    for rtol in (1e-4, 1e-6, 1e-8):
        ds = observed(rtol, land=False)
        assert np.array_equal(ds.obs_time.values, reference.obs_time.values)
        assert ds.attrs["steps"] < observed(rtol, land=True).attrs["steps"]
        assert ds["off_sphere"].max() < 1e-14  # interpolated states are retracted before observing
        errors.append(max(np.abs(ds["order_parameter"] - reference["order_parameter"]).max(),
                          np.abs(ds["first"] - reference["first"]).max()))
    errors = np.array(errors)
    assert errors[-1] < 1e-6
    assert np.all(errors[1:] < errors[:-1] / 10), errors  # ~ h^5 ~ rtol: two decades per 100x


def test_tight_dense_output_matches_landing_to_1e_6(reference):
    ds = observed(1e-10, land=False)
    assert np.abs(ds["first"] - reference["first"]).max() < 1e-6
    assert ds["time"].values.tolist() == [0.0, 1.0]
