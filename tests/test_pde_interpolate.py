"""`pde.solve(..., interpolate=True)`: observations through DOPRI5's continuous extension (pde/adaptive.py) agree
with a run that lands on every observation time, to the order of the tolerances, in far fewer steps."""

import numpy as np
import pytest

import attnflow as af
from attnflow import pde
from attnflow.errors import ParameterError
from attnflow.pde import initial

CASES = [  # (model, initial density, t_end, zonal): nonlinear runs, the perturbation of order one
    (af.Model("usa", 3.0, 2), initial.uniform_modes(128, [0.05, 0.05, 0.05]), 0.3, False),
    (af.Model("sa", 4.0, 3), initial.sphere_modes(16, [0.1, 0.1]), 0.5, False),
    (af.Model("usa", 4.0, 8, diffusion=0.05), initial.zonal_modes(48, 8, [0.05, 0.05]), 0.5, True),
]


@pytest.mark.parametrize("model, rho0, t_end, zonal", CASES, ids=["circle-spectral", "sphere-sht", "zonal"])
def test_dense_output_agrees_with_landing_in_fewer_steps(model, rho0, t_end, zonal):
    options = dict(save_every=t_end / 5, observe_every=t_end / 100, zonal=zonal, rtol=1e-9, atol=1e-11,
                   method=None if model.dim > 2 else "spectral")
    landed = pde.solve(model, rho0, t_end, **options)
    dense = pde.solve(model, rho0, t_end, interpolate=True, **options)
    assert dense.attrs["interpolate"] == 1 and landed.attrs["interpolate"] == 0
    assert dense.attrs["steps"] < landed.attrs["steps"] / 2
    scale = np.abs(landed.density.values).max()
    assert np.abs(dense.density.values - landed.density.values).max() <= 1e-6 * scale
    assert np.allclose(dense.mode_amplitude.values, landed.mode_amplitude.values, rtol=1e-6, atol=1e-9)
    assert np.abs(dense.mass.values - 1).max() <= 1e-12  # the extension is a combination of mass-1 states


def test_only_dopri5_methods_interpolate():
    with pytest.raises(ParameterError, match="interpolate"):
        pde.solve(af.Model("usa", 5.0, 2), initial.uniform_modes(64, [0.05]), 0.1, method="fv", interpolate=True)
    with pytest.raises(ParameterError, match="interpolate"):
        pde.solve(af.Model("usa", 5.0, 2), initial.uniform_modes(64, [0.05]), 0.1, interpolate="yes")
