"""Experiment `kuramoto`: synchronisation on the circle at beta = 0 (docs/science.md §1–2).

The order parameter r(t) = |mu_1| from three independent computations: particles sampled
from rho_0 (circle engine, RK4), the mean-field PDE (`attnflow.pde.solve`, finite volumes)
and the exact Möbius (Watanabe–Strogatz) reduction of theory/kuramoto.py (K1–K2); then the
exponential approach to 1: 1 - r ~ e^{-t} for the density (positive at the antipode of the
limit) and ~ e^{-2t} for n particles once the last token has left the antipode (t >~ log n).

The results are one Dataset (`kuramoto.nc`): r of the exact reduction (`t_exact`), of the PDE
(`t_pde`) and 1 - r of the particles (`t_particles`), the rates of 1 - r fitted on the late windows
(`fit`), the PDE's largest error, and the reduction's error against the Ott–Antonsen law.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .. import init, observables, pde, plots
from ..growth import exponential_rate
from ..integrate import simulate
from ..model import Model
from ..plots.experiments import kuramoto as figures
from ..theory import kuramoto
from . import Section, experiment, quiet, save_datasets

MOMENTS = (0.05, 0.02j)  # m_1, m_2 of rho_0 = (1/2pi)(1 + 2 Re sum_k conj(m_k) e^{ik theta})
POISSON = 0.2  # the Poisson-kernel start m_k = 0.2^k on which the reduction is checked against Ott–Antonsen
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
    """c in 1 - r ~ C e^{-ct}: `exponential_rate` of 1 - r over t in window (where 1 - r > 0)."""
    t, gap = np.asarray(t), np.asarray(gap)
    return -exponential_rate(t, gap, (t >= window[0]) & (t <= window[1]) & (gap > 0))


def results(scale: str, progress=quiet) -> xr.Dataset:
    """r(t) three ways, the late-window rates of 1 - r, and the errors of the PDE and of the reduction."""
    size = SIZES[scale]
    model = Model(kind="usa", beta=0.0, dim=2)
    progress("mean-field PDE (1/2)")
    ds_pde = pde.solve(model, initial_density(size["grid"]), size["t_end"], method="fv", save_every=0.5,
                       observe_every=0.25, kmax=1)
    t_pde, r_pde = ds_pde.obs_time.values, ds_pde.mode_amplitude.values[:, 0]
    t_exact = np.linspace(0, size["particle_t_end"], 401)
    r_exact = np.abs(kuramoto.order_parameter(t_exact, MOMENTS))
    poisson = np.abs(kuramoto.order_parameter(t_exact, [POISSON**k for k in range(1, 40)]))
    theta0 = pde.initial.sample(initial_density(4096), size["n"], seed=0)
    progress("particles (2/2)")
    ds = simulate(model, init.from_angles(theta0), t_end=size["particle_t_end"], dt=0.02, method="rk4",
                  save_every=0.25, observables=())
    t_part = ds.time.values
    gap_part = np.array([observables.w2_to_dirac(x) ** 2 / 2 for x in ds.x.values])  # 1 - r = W2^2 / 2
    late = (0.6 * size["t_end"], size["t_end"])
    particle_late = (0.75 * size["particle_t_end"], size["particle_t_end"])
    rates = {"mean_field_exact": fitted_rate(t_exact, 1 - r_exact, late),
             "pde_fv": fitted_rate(t_pde, 1 - r_pde, late),
             "particles_early": fitted_rate(t_part, gap_part, late),
             "particles_late": fitted_rate(t_part, gap_part, particle_late)}
    return xr.Dataset(
        {"r_exact": ("t_exact", r_exact), "r_pde": ("t_pde", r_pde), "gap_particles": ("t_particles", gap_part),
         "rate": ("fit", list(rates.values())),
         "pde_max_error": float(np.abs(r_pde - np.abs(kuramoto.order_parameter(t_pde, MOMENTS))).max()),
         "ott_antonsen_error": float(np.abs(poisson - kuramoto.ott_antonsen(t_exact, POISSON)).max())},
        coords={"t_exact": t_exact, "t_pde": t_pde, "t_particles": t_part, "fit": list(rates)},
        attrs={"n": size["n"], "grid": size["grid"], "t_end": size["t_end"],
               "particle_t_end": size["particle_t_end"], "late_window": list(late),
               "particle_late_window": list(particle_late), "moments_real": [complex(m).real for m in MOMENTS],
               "moments_imag": [complex(m).imag for m in MOMENTS]})


def complex_text(m: complex) -> str:
    """0.05, 0.02i or 0.05 + 0.02i."""
    if m.imag == 0:
        return f"{m.real:g}"
    return f"{m.imag:g}i" if m.real == 0 else f"{m.real:g} {'+' if m.imag > 0 else '−'} {abs(m.imag):g}i"


def summary(ds: xr.Dataset) -> list[dict]:
    """The entry of summary.json."""
    return [{"rates": {str(fit): float(rate) for fit, rate in zip(ds.fit.values, ds.rate.values)},
             "pde_max_error": float(ds.pde_max_error), "n": int(ds.attrs["n"]), "grid": int(ds.attrs["grid"])}]


def markdown(ds: xr.Dataset) -> str:
    """The section's text, every number from `ds`."""
    a = ds.attrs
    m1, m2 = (complex(re, im) for re, im in zip(a["moments_real"], a["moments_imag"]))
    rate = {str(fit): float(value) for fit, value in zip(ds.fit.values, ds.rate.values)}
    return (
        f"$\\rho_0 = \\frac{{1}}{{2\\pi}}(1 + 2 \\operatorname{{Re}} \\sum_k \\bar m_k e^{{ik\\theta}})$ with m₁ = {complex_text(m1)}, "
        f"m₂ = {complex_text(m2)} (r(0) = {abs(m1):g}). At β = 0, SA = USA is the Kuramoto model with identical oscillators. The "
        "exact mean-field solution comes from the Möbius (Watanabe–Strogatz) reduction (theory/kuramoto.py, K1–K2: "
        "four complex ODEs; it reproduces the Ott–Antonsen law r' = r(1 − r²)/2 to "
        f"{float(ds.ott_antonsen_error):.0e} for Poisson-kernel starts). The PDE (`attnflow.pde.solve`, method fv) "
        f"matches it to {float(ds.pde_max_error):.1e} in r on [0, {a['t_end']:g}]; the particles (n = {a['n']}) follow "
        "it within sampling noise O(n^−1/2).\n\n"
        "Approach to 1: the mean-field density keeps mass near the antipode of the limit, which leaves it "
        "only at rate 1, so $1 - r \\sim C e^{-t}$ (fitted on the late window: exact "
        f"{rate['mean_field_exact']:.4f}, PDE {rate['pde_fv']:.4f}); n particles follow the same law "
        f"(fitted {rate['particles_early']:.3f}) until the last one has left the antipode (t ≳ log n), then "
        f"$1 - r = W_2^2/2 \\sim e^{{-2t}}$ (fitted {rate['particles_late']:.4f}): the point-mass rate c = 1 of W₂ "
        "(theory/rates.py at β = 0).\n\n![The order parameter $r(t)$ at β = 0: exact mean field, PDE and particles (left); $1 - r$ on a log scale with the rates $e^{-t}$ (density) and $e^{-2t}$ (particles) (right).](kuramoto.png)\n")


@experiment("kuramoto", order=340)
def run(out: Path, scale: str, progress=quiet) -> Section:
    ds = results(scale, progress)
    datasets = save_datasets(out, "kuramoto", scale, {"kuramoto": ds})
    plots.save(figures.figure(ds), out / "kuramoto.png")
    return Section("Synchronisation at β = 0 (Kuramoto)", markdown(ds), ["kuramoto.png"], {"kuramoto": summary(ds)},
                   datasets)
