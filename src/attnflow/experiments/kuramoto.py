"""Experiment `kuramoto`: synchronisation on the circle at beta = 0 (docs/science.md §1–2).

The order parameter r(t) = |mu_1| from three independent computations: particles sampled
from rho_0 (circle engine, RK4), the mean-field PDE (`attnflow.pde.solve`, finite volumes)
and the exact Möbius (Watanabe–Strogatz) reduction of theory/kuramoto.py (K1–K2); then the
exponential approach to 1: 1 - r ~ e^{-t} for the density (positive at the antipode of the
limit) and ~ e^{-2t} for n particles once the last token has left the antipode (t >~ log n).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .. import init, observables, pde, plots  # noqa: E402
from ..integrate import simulate  # noqa: E402
from ..model import Model  # noqa: E402
from ..theory import kuramoto  # noqa: E402
from . import Section, experiment, quiet  # noqa: E402

MOMENTS = (0.05, 0.02j)  # m_1, m_2 of rho_0 = (1/2pi)(1 + 2 Re sum_k conj(m_k) e^{ik theta})
SIZES = {"quick": {"n": 1000, "grid": 512, "t_end": 15.0, "particle_t_end": 25.0},
         "full": {"n": 20000, "grid": 2048, "t_end": 15.0, "particle_t_end": 30.0}}


def initial_density(points: int) -> np.ndarray:
    """rho_0(theta) = (1/2pi)(1 + 2 Re sum_k conj(m_k) e^{i k theta}), so that ∫ e^{ik theta} rho_0 = m_k."""
    def rho(theta):
        k = np.arange(1, len(MOMENTS) + 1)[:, None]
        waves = np.conj(np.array(MOMENTS))[:, None] * np.exp(1j * k * theta[None, :])
        return (1 + 2 * np.real(waves).sum(0)) / (2 * np.pi)
    return pde.initial.from_function(points, rho)


def fitted_rate(t, gap, window) -> float:
    """c in 1 - r ~ C e^{-ct}: least-squares slope of log(1 - r) over t in window."""
    sel = (t >= window[0]) & (t <= window[1]) & (gap > 0)
    return -float(np.polyfit(t[sel], np.log(gap[sel]), 1)[0])


@experiment("kuramoto", order=340)
def run(out: Path, scale: str, progress=quiet) -> Section:
    size = SIZES[scale]
    model = Model(kind="usa", beta=0.0, dim=2)
    rho0 = initial_density(size["grid"])
    progress("mean-field PDE (1/2)")
    ds_pde = pde.solve(model, rho0, size["t_end"], method="fv", save_every=0.5, observe_every=0.25, kmax=1)
    t_pde, r_pde = ds_pde.obs_time.values, ds_pde.mode_amplitude.values[:, 0]
    t_exact = np.linspace(0, size["particle_t_end"], 401)
    r_exact = np.abs(kuramoto.order_parameter(t_exact, MOMENTS))
    theta0 = pde.initial.sample(initial_density(4096), size["n"], seed=0)
    progress("particles (2/2)")
    ds = simulate(model, init.from_angles(theta0), t_end=size["particle_t_end"], dt=0.02, method="rk4",
                  save_every=0.25, observables=())
    t_part = ds.time.values
    gap_part = np.array([observables.w2_to_dirac(x) ** 2 / 2 for x in ds.x.values])  # 1 - r = W2^2 / 2
    r_part = 1 - gap_part
    exact_at_pde = np.abs(kuramoto.order_parameter(t_pde, MOMENTS))
    late = (0.6 * size["t_end"], size["t_end"])
    rates = {"mean_field_exact": fitted_rate(t_exact, 1 - r_exact, late),
             "pde_fv": fitted_rate(t_pde, 1 - r_pde, late),
             "particles_early": fitted_rate(t_part, gap_part, late),
             "particles_late": fitted_rate(t_part, gap_part, (0.75 * size["particle_t_end"], size["particle_t_end"]))}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].plot(t_exact, r_exact, "k-", lw=1, label="mean field, exact (K1–K2)")
    axes[0].plot(t_pde, r_pde, "C0--", lw=1, label=f"PDE, finite volumes, N = {size['grid']}")
    axes[0].plot(t_part, r_part, "C1:", lw=1.5, label=f"particles, n = {size['n']}")
    axes[0].set(xlabel="t", ylabel="r(t) = |μ̂₁|", title="Kuramoto (β = 0): order parameter")
    axes[0].legend(fontsize=8)
    axes[1].semilogy(t_exact, 1 - r_exact, "k-", lw=1, label="mean field, exact")
    axes[1].semilogy(t_pde, 1 - r_pde, "C0--", lw=1, label="PDE")
    axes[1].semilogy(t_part, gap_part, "C1:", lw=1.5, label="particles (1 − r = W₂²/2)")
    axes[1].semilogy(t_exact, 0.5 * np.exp(-(t_exact - 8)), "k:", lw=0.7, label=r"$\propto e^{-t}$")
    axes[1].semilogy(t_exact, 1e-4 * np.exp(-2 * (t_exact - 10)), "k-.", lw=0.7, label=r"$\propto e^{-2t}$")
    axes[1].set(xlabel="t", ylabel="1 − r", ylim=(1e-20, 2), title="approach to synchrony")
    axes[1].legend(fontsize=8)
    plots.save(fig, out / "kuramoto.png")
    pde_error = float(np.abs(r_pde - exact_at_pde).max())
    markdown = (
        f"$\\rho_0 = \\frac{{1}}{{2\\pi}}(1 + 2 \\operatorname{{Re}} \\sum_k \\bar m_k e^{{ik\\theta}})$ with m₁ = {MOMENTS[0]}, m₂ = {MOMENTS[1]} (r(0) = "
        f"{abs(MOMENTS[0])}). At β = 0, SA = USA is the Kuramoto model with identical oscillators. The exact "
        "mean-field solution comes from the Möbius (Watanabe–Strogatz) reduction (theory/kuramoto.py, K1–K2: "
        "four complex ODEs; it reproduces the Ott–Antonsen law r' = r(1 − r²)/2 to 1e-12 for Poisson-kernel "
        f"starts). The PDE (`attnflow.pde.solve`, method fv) matches it to {pde_error:.1e} in r on "
        f"[0, {size['t_end']:g}]; the particles (n = {size['n']}) follow it within sampling noise O(n^−1/2).\n\n"
        "Approach to 1: the mean-field density keeps mass near the antipode of the limit, which leaves it "
        "only at rate 1, so $1 - r \\sim C e^{-t}$ (fitted on the late window: exact "
        f"{rates['mean_field_exact']:.4f}, PDE {rates['pde_fv']:.4f}); n particles follow the same law "
        f"(fitted {rates['particles_early']:.3f}) until the last one has left the antipode (t ≳ log n), then "
        f"$1 - r = W_2^2/2 \\sim e^{{-2t}}$ (fitted {rates['particles_late']:.4f}): the point-mass rate c = 1 of W₂ "
        "(theory/rates.py at β = 0).\n\n![The order parameter $r(t)$ at β = 0: exact mean field, PDE and particles (left); $1 - r$ on a log scale with the rates $e^{-t}$ (density) and $e^{-2t}$ (particles) (right).](kuramoto.png)\n")
    summary = {"rates": rates, "pde_max_error": pde_error, "n": size["n"], "grid": size["grid"]}
    (out / "kuramoto.json").write_text(json.dumps(summary, indent=1))
    return Section("Synchronisation at β = 0 (Kuramoto)", markdown, ["kuramoto.png"], {"kuramoto": [summary]})
