"""Thresholds with noise (attnflow.theory.noise) against independent computations: mpmath quadrature of the
Funk–Hecke factors and mpmath root finding for beta_*."""

import math

import mpmath as mp
import numpy as np
import pytest

from attnflow.errors import ParameterError
from attnflow.theory import noise


def funk_hecke(beta, dim, k):
    """lambda_k = (1/beta) <e^{beta t} P_k(t)> under the marginal of the uniform measure, t = cos phi with the
    weight sin^{d-2} phi (smooth: no endpoint singularity for the quadrature)."""
    alpha = mp.mpf(dim - 2) / 2

    def p(t):
        return mp.chebyt(k, t) if dim == 2 else mp.gegenbauer(k, alpha, t) / mp.gegenbauer(k, alpha, 1)

    with mp.workdps(30):
        weight = lambda phi: mp.sin(phi) ** (dim - 2)  # noqa: E731
        total = mp.quad(lambda phi: mp.exp(beta * mp.cos(phi)) * p(mp.cos(phi)) * weight(phi), [0, mp.pi])
        return total / mp.quad(weight, [0, mp.pi]) / beta


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_rates_with_noise_against_quadrature(dim):
    beta, diffusion = 3.0, 0.4
    expected = [k * (k + dim - 2) * (float(funk_hecke(beta, dim, k)) - diffusion) for k in range(1, 5)]
    np.testing.assert_allclose(noise.growth_rates(beta, dim, 4, diffusion=diffusion), expected, rtol=1e-10)
    z0 = beta * float(funk_hecke(beta, dim, 0))
    expected_sa = [k * (k + dim - 2) * (float(funk_hecke(beta, dim, k)) / z0 - diffusion) for k in range(1, 5)]
    np.testing.assert_allclose(noise.growth_rates(beta, dim, 4, "sa", diffusion), expected_sa, rtol=1e-10)


@pytest.mark.parametrize("kind", ["usa", "sa"])
def test_the_uniform_state_is_stable_exactly_above_the_critical_diffusion(kind):
    for beta, dim in ((4.0, 2), (1.0, 3), (10.0, 8)):
        threshold = noise.critical_diffusion(beta, dim, kind)
        assert noise.growth_rates(beta, dim, 30, kind, threshold * (1 + 1e-9)).max() < 0
        assert noise.growth_rates(beta, dim, 30, kind, threshold * (1 - 1e-9))[0] > 0
    assert noise.critical_diffusion(4.0, 2) == pytest.approx(float(mp.besseli(1, 4) / 4), rel=1e-13)
    assert noise.critical_diffusion(0.0, 3) == pytest.approx(1 / 3)


@pytest.mark.parametrize("dim", [2, 3, 8, 128])
def test_transition_beta_against_mpmath(dim):
    root = mp.findroot(lambda b: mp.besseli(mp.mpf(dim) / 2 + 1, b) / mp.besseli(mp.mpf(dim) / 2, b) - mp.mpf(1) / dim,
                       noise.transition_beta(dim) * 1.01)
    assert noise.transition_beta(dim) == pytest.approx(float(root), rel=1e-12)


def test_transition_kind_and_bad_input():
    star = noise.transition_beta(3)
    assert noise.transition_kind(0.99 * star, 3) == "continuous"
    assert noise.transition_kind(1.01 * star, 3) == "discontinuous"
    with pytest.raises(ParameterError, match="diffusion"):
        noise.growth_rates(2.0, 2, 3, diffusion=-1.0)
    with pytest.raises(ParameterError, match="beta"):
        noise.transition_kind(-1.0, 2)
    with pytest.raises(ParameterError, match="dim"):
        noise.transition_beta(1)
    with pytest.raises(ParameterError, match="kind"):
        noise.transition_kind(2.0, 2, kind="sa")
    assert math.isfinite(noise.critical_diffusion(900.0, 3, scaled=True))
    with pytest.raises(ParameterError, match="beta"):
        noise.critical_diffusion(900.0, 3)


def test_the_noise_command(tmp_path):
    """`attnflow noise`: the thresholds printed, the diagram drawn, the branch written; bad beta exits 2."""
    import subprocess
    import sys

    import attnflow as af

    command = [sys.executable, "-c", "from attnflow.cli import main; main()", "noise", "--beta", "4", "--dim", "3",
               "--plot", str(tmp_path / "d.png"), "--data", str(tmp_path / "b.nc")]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr  # the console reports on stderr
    assert "discontinuous" in printed and f"{noise.transition_beta(3):.10g}" in printed
    branch = af.load(tmp_path / "b.nc")
    assert branch.attrs["critical_diffusion"] == pytest.approx(noise.critical_diffusion(4.0, 3))
    assert (tmp_path / "d.png").stat().st_size > 10_000
    bad = subprocess.run(command[:4] + ["--beta", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "beta" in bad.stderr and "Traceback" not in bad.stderr
