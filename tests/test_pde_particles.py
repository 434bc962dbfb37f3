"""Particles against the mean-field PDE: W1 between the empirical measure and the density ~ n^{-1/2}."""

import numpy as np
import pytest

import attnflow as af
from attnflow import pde
from attnflow.pde import initial

BETA, T_END = 5.0, 0.1


def mean_w1(n: int, seeds: int) -> float:
    model = af.Model("usa", BETA, 2)
    rho0 = initial.uniform_modes(512, [0.02, 0.05, 0.05, 0.02], phases=[0.0, 1.0, 2.0, 3.0])
    rho_t = pde.solve(model, rho0, T_END, method="spectral", save_every=T_END).density.values[-1]
    distances = []
    for seed in range(seeds):
        theta0 = initial.sample(rho0, n, seed=seed)
        ds = af.simulate(model, af.init.from_angles(theta0), T_END, dt=0.02, method="rk4", save_every=T_END,
                         observables=())
        distances.append(pde.wasserstein1({"particles": ds.angle.values[-1]}, rho_t))
    return float(np.mean(distances))


def test_particles_approach_the_pde():
    """Small version: 30 times more particles, several times closer (n^{-1/2} predicts 5.5)."""
    assert mean_w1(30_000, 2) < 0.4 * mean_w1(1000, 2)


@pytest.mark.slow
def test_w1_between_particles_and_pde_decays_like_inverse_square_root():
    sizes = np.array([1000, 10_000, 100_000, 1_000_000])
    distances = np.array([mean_w1(int(n), 4) for n in sizes])
    slope = np.polyfit(np.log(sizes), np.log(distances), 1)[0]
    assert -0.65 < slope < -0.35
    assert distances[-1] < 0.1 * distances[0]
