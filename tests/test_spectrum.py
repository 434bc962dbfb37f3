"""The kernel's harmonic coefficients (attnflow.spectrum) against closed forms, mpmath and quadrature."""

import math

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import eval_gegenbauer, spherical_in

from attnflow.errors import ParameterError
from attnflow.spectrum import MAX_MODES, TRUNCATION, bessel_coefficients, funk_hecke_factor, growth_rates


@pytest.mark.parametrize("beta, tolerance", [(0.3, 1e-14), (1.0, 1e-14), (5.0, 1e-14), (40.0, 1e-14), (300.0, 5e-14)])
def test_fourier_bessel_series_reproduces_the_kernel(beta, tolerance):
    """I_0 + 2 sum_k I_k cos k phi = e^{beta cos phi} and (2/beta) sum_k k I_k sin k phi = e^{beta cos phi} sin phi,
    everything times e^{-beta}: to 1e-14 of the kernel's largest value e^beta (the 154 terms at beta = 300 add
    rounding of their own)."""
    a, b, i0 = bessel_coefficients(beta)
    phi = np.linspace(-np.pi, np.pi, 1001)
    k = np.arange(1, len(a) + 1)
    kernel = np.exp(beta * (np.cos(phi) - 1))
    assert np.abs(i0 + np.cos(np.outer(phi, k)) @ b - kernel).max() < tolerance
    assert np.abs(np.sin(np.outer(phi, k)) @ a - kernel * np.sin(phi)).max() < tolerance


def test_fourier_bessel_series_pointwise_relative():
    """At moderate beta the series is exact to 1e-14 relative at every angle, the smallest values included."""
    beta = 1.5
    a, b, i0 = bessel_coefficients(beta)
    phi = np.linspace(0, 2 * np.pi, 777)
    series = i0 + np.cos(np.outer(phi, np.arange(1, len(b) + 1))) @ b
    assert np.abs(series / np.exp(beta * (np.cos(phi) - 1)) - 1).max() < 1e-14


@pytest.mark.parametrize("beta", [0.5, 5.0, 2000.0])
def test_bessel_coefficients_match_mpmath(beta):
    mpmath.mp.dps = 40
    a, b, i0 = bessel_coefficients(beta)
    scale = mpmath.exp(-beta)
    assert i0 == pytest.approx(float(mpmath.besseli(0, beta) * scale), rel=1e-13)
    for k in (1, 2, len(a) // 2, len(a)):
        exact = mpmath.besseli(k, beta) * scale
        assert b[k - 1] == pytest.approx(float(2 * exact), rel=1e-12)
        assert a[k - 1] == pytest.approx(float(2 * k * exact / beta), rel=1e-12)


def test_bessel_cut_where_the_terms_become_negligible():
    beta = 5.0
    a, b, _ = bessel_coefficients(beta)
    largest = max(a.max(), b.max())
    assert max(a[-1], b[-1]) >= TRUNCATION * largest
    mpmath.mp.dps = 40
    next_k = len(a) + 1  # the first mode left out is below the cut
    left_out = float(2 * mpmath.besseli(next_k, beta) * mpmath.exp(-beta) * max(1, next_k / beta))
    assert left_out < TRUNCATION * largest
    assert bessel_coefficients(0.0)[0].tolist() == [1.0]


def test_bessel_coefficients_refuse_beta_beyond_the_mode_limit():
    with pytest.raises(ParameterError, match="beta"):
        bessel_coefficients(1e9)
    assert MAX_MODES == 2**14


@pytest.mark.parametrize("beta", [0.2, 3.0, 50.0])
def test_funk_hecke_on_s2_is_the_spherical_bessel_function(beta):
    """d = 3: lambda_k = Gamma(3/2) (2/beta)^{1/2} I_{k+1/2}(beta) / beta = i_k(beta) / beta (modified spherical
    Bessel function i_k, from e^{beta t} = sum_k (2k+1) i_k(beta) P_k(t))."""
    k = np.arange(1, 13)
    assert np.allclose(funk_hecke_factor(beta, 3, 12), spherical_in(k, beta) / beta, rtol=1e-12, atol=0)


def _quadrature_factor(k: int, beta: float, dim: int) -> float:
    """lambda_k by the Funk–Hecke integral: (1/beta) int_0^pi e^{beta cos phi} P_k(cos phi) sin^{d-2} phi dphi,
    divided by int_0^pi sin^{d-2} phi dphi, P_k = C_k^{(d-2)/2} / C_k^{(d-2)/2}(1) (Chebyshev T_k for d = 2)."""
    if dim == 2:  # T_k(cos phi) = cos k phi: QUADPACK's weighted rule for the oscillating factor
        return quad(lambda phi: np.exp(beta * np.cos(phi)), 0, np.pi, weight="cos", wvar=k)[0] / np.pi / beta
    alpha = (dim - 2) / 2
    weight = lambda phi: np.sin(phi) ** (dim - 2)  # noqa: E731
    legendre = lambda t: eval_gegenbauer(k, alpha, t) / eval_gegenbauer(k, alpha, 1.0)  # noqa: E731
    numerator = quad(lambda phi: np.exp(beta * np.cos(phi)) * legendre(np.cos(phi)) * weight(phi), 0, np.pi,
                     epsabs=1e-16, epsrel=1e-11, limit=200)[0]
    return numerator / quad(weight, 0, np.pi, epsabs=0, epsrel=1e-11)[0] / beta


@pytest.mark.parametrize("k, dim", [(1, 2), (4, 2), (1, 3), (3, 4), (2, 5), (5, 10)])
@pytest.mark.parametrize("beta", [0.7, 6.0])
def test_funk_hecke_factor_matches_quadrature(k, dim, beta):
    assert funk_hecke_factor(beta, dim, k)[-1] == pytest.approx(_quadrature_factor(k, beta, dim), rel=1e-9)


def test_funk_hecke_factor_scaled_and_unscaled_agree():
    factors = funk_hecke_factor(20.0, 4, 8)
    assert np.allclose(funk_hecke_factor(20.0, 4, 8, scaled=True) * math.exp(20.0), factors, rtol=1e-14, atol=0)
    with pytest.raises(ParameterError, match="beta"):
        funk_hecke_factor(0.0, 3, 2)


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_growth_rates_from_the_kernel_spectrum(dim):
    """USA gamma_k = k (k+d-2) lambda_k; SA divides by Z_0 = int e^{beta <x,y>} dsigma(y) = beta lambda_0."""
    beta, kmax = 3.0, 6
    k = np.arange(1, kmax + 1)
    quadrature = np.array([_quadrature_factor(j, beta, dim) for j in range(kmax + 1)])
    usa = growth_rates(beta, dim, kmax, kind="usa")
    assert np.allclose(usa, k * (k + dim - 2) * quadrature[1:], rtol=1e-9, atol=0)
    assert np.allclose(growth_rates(beta, dim, kmax, kind="sa"), usa / (beta * quadrature[0]), rtol=1e-9, atol=0)
    assert np.allclose(growth_rates(beta, dim, kmax, scaled=True), usa * math.exp(-beta), rtol=1e-14, atol=0)


def test_growth_rates_at_beta_zero_and_checks():
    assert growth_rates(0.0, 3, 3).tolist() == [2 / 3, 0.0, 0.0]
    for args, name in [((-1.0, 2, 3), "beta"), ((1.0, 1, 3), "dim"), ((1.0, 2, 0), "kmax"), ((1.0, 2.5, 3), "dim")]:
        with pytest.raises(ParameterError, match=name):
            growth_rates(*args)
    with pytest.raises(ParameterError, match="kind"):
        growth_rates(1.0, 2, 3, kind="softmax")


@pytest.mark.parametrize("beta", [0.5, 6.0, 20.0, 50.0])
def test_kernel_degree_on_s2_against_scipy(beta):
    """d = 3: lambda_l is proportional to I_{l+1/2}(beta) (Funk–Hecke), so the velocity multipliers are
    l (l + 1) ive(l + 1/2, beta) up to one factor; kernel_degree is the last l where they reach 1e-17 of their
    largest (scipy.special.ive, not attnflow's Bessel code)."""
    from scipy.special import ive

    from attnflow.spectrum import TRUNCATION, kernel_degree

    l = np.arange(1, 400)
    size = l * (l + 1) * ive(l + 0.5, beta)
    expected = int(l[size >= TRUNCATION * size.max()][-1])
    assert kernel_degree(beta, 3) == expected
