"""Experiment `pde_sphere`: the mean-field PDE on S^2 (docs/science.md §3, §8), by spherical harmonics.

* Growth: from (1/4 pi)(1 + 1e-7 sum_l (2l + 1) P_l(<x, e_l>)) (tilted axes e_l), the Gegenbauer amplitudes
  sqrt(S_l) grow at the fitted rates, compared with gamma_l(beta, 3), for two betas.
* The pattern: beta = 6 (k* = 3) from the uniform density plus a few low harmonics, the PDE density on a
  Mollweide (equal-area) map next to n particles drawn from the same initial density (rejection sampling).
* Particles against the PDE: the von Mises–Fisher-smoothed L2 distance between the particles' empirical
  measure and the PDE density at a time of the linear phase, against n (slope against n^{-1/2}).

The results: `pde_sphere.nc` (fitted and predicted rates over (beta, degree), the distances over `n`) and the
pattern run `pde_sphere_pattern.nc` with its particles `pde_sphere_particles.nc`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr
from scipy.special import eval_legendre

from .. import plots
from ..growth import exponential_rate
from ..integrate import simulate
from ..model import Model
from ..pde import initial, solve
from ..pde.geometry import Sphere
from ..pde.kernels import HarmonicKernel
from ..pde.sht import transforms
from ..plots.experiments import pde_sphere as figures
from ..theory import dominant_mode, growth_rates
from . import Section, experiment, quiet, save_datasets, steps

GROWTH_BETAS, DEGREES = (3.0, 6.0), 4
PATTERN_BETA, PATTERN_AMPLITUDES = 6.0, (0.02, 0.03, 0.04, 0.02)
DISTANCE_BETA, DISTANCE_TIME, DISTANCE_KAPPA = 3.0, 0.3, 10.0
SIZES = {"quick": {"nlat": 16, "t_end": 0.06, "particles": 1000, "n": (500, 1000, 2000, 4000), "dt": 0.01},
         "full": {"nlat": 48, "t_end": 0.1, "particles": 20_000, "n": (1000, 4000, 16_000, 32_000), "dt": 0.005}}


def axes(count: int, seed: int = 1) -> np.ndarray:
    """`count` fixed tilted unit vectors (the axes e_l of the initial harmonics)."""
    x = np.random.default_rng(seed).standard_normal((count, 3))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def modal_density(amplitudes, x: np.ndarray) -> np.ndarray:
    """(1/4 pi)(1 + sum_l eps_l (2l + 1) P_l(<x, e_l>)) at points x (..., 3): the analytic `sphere_modes`."""
    e = axes(len(amplitudes))
    terms = sum(a * (2 * l + 1) * eval_legendre(l, x @ e[l - 1]) for l, a in enumerate(amplitudes, 1))
    return (1 + terms) / (4 * np.pi)


def growth(nlat: int) -> xr.Dataset:
    """Fitted rates of sqrt(S_l), l = 1..DEGREES, from 1e-7 perturbations, against gamma_l(beta, 3)."""
    fitted, predicted = [], []
    for beta in GROWTH_BETAS:
        rates = growth_rates(beta, 3, DEGREES)
        t_end = 0.3 / rates.max()
        ds = solve(Model("usa", beta, 3), initial.sphere_modes(nlat, [1e-7] * DEGREES, axes(DEGREES)), t_end,
                   save_every=t_end, observe_every=t_end / 10, kmax=DEGREES)
        fitted.append(exponential_rate(ds.obs_time.values, ds.mode_amplitude.values))
        predicted.append(rates)
    return xr.Dataset({"fitted_gamma": (("beta", "degree"), np.array(fitted)),
                       "gamma": (("beta", "degree"), np.array(predicted))},
                      coords={"beta": list(GROWTH_BETAS), "degree": np.arange(1, DEGREES + 1)})


def pattern(size: dict) -> tuple[xr.Dataset, xr.Dataset]:
    """The beta = 6 run from the modal density, and particles drawn from the same density."""
    model = Model("usa", PATTERN_BETA, 3)
    rho0 = initial.sphere_function(size["nlat"], lambda x: modal_density(PATTERN_AMPLITUDES, x))
    run = solve(model, rho0, size["t_end"], save_every=size["t_end"] / 4, observe_every=size["t_end"] / 40,
                underresolved="warn")
    bound = 1.05 * (1 + sum(a * (2 * l + 1) for l, a in enumerate(PATTERN_AMPLITUDES, 1))) / (4 * np.pi)
    x0 = initial.sphere_sample(lambda x: modal_density(PATTERN_AMPLITUDES, x), bound, size["particles"], seed=0)
    particles = simulate(model, x0, size["t_end"], dt=size["dt"], method="rk4", save_every=size["t_end"] / 4,
                         observables=())
    return run, particles


def smoothed_l2(tokens: np.ndarray, density: np.ndarray, kappa: float) -> float:
    """|| K_kappa * (mu_n - rho) ||_{L2(dA)}: both smoothed by the von Mises–Fisher kernel of concentration kappa
    (the tokens directly, `initial.sphere_from_particles`; the density by its Funk–Hecke multipliers
    lambda_l(kappa, 3) / lambda_0(kappa, 3))."""
    geometry = Sphere(*density.shape)
    smooth_tokens = initial.sphere_from_particles(tokens, geometry.nlat, kappa)
    multipliers = HarmonicKernel.build("sa", kappa, 3, geometry.max_modes).weight
    coefficients = geometry.coefficients(density) * torch.as_tensor(multipliers / multipliers[0])[:, None]
    inverse = transforms(geometry.nlat, geometry.nlon, geometry.max_modes + 1).inverse
    smooth_density = inverse(coefficients).numpy()
    return float(np.sqrt(geometry.mass((smooth_tokens - smooth_density) ** 2)))


def distances(size: dict) -> xr.Dataset:
    """The smoothed L2 distance between particles and the PDE at DISTANCE_TIME against n, and its slope in log n."""
    model = Model("usa", DISTANCE_BETA, 3)
    rho0 = initial.sphere_function(size["nlat"], lambda x: modal_density(PATTERN_AMPLITUDES, x))
    rho_t = solve(model, rho0, DISTANCE_TIME, save_every=DISTANCE_TIME).density.values[-1]
    bound = 1.05 * (1 + sum(a * (2 * l + 1) for l, a in enumerate(PATTERN_AMPLITUDES, 1))) / (4 * np.pi)
    values = []
    for n in size["n"]:
        x0 = initial.sphere_sample(lambda x: modal_density(PATTERN_AMPLITUDES, x), bound, n, seed=n)
        ds = simulate(model, x0, DISTANCE_TIME, dt=DISTANCE_TIME / 10, method="rk4", save_every=DISTANCE_TIME,
                      observables=())
        values.append(smoothed_l2(ds.x.values[-1], rho_t, DISTANCE_KAPPA))
    slope = exponential_rate(np.log(size["n"]), values, min_points=2)
    return xr.Dataset({"smoothed_l2": ("n", values), "slope": slope}, coords={"n": list(size["n"])})


def results(scale: str, progress=quiet) -> dict[str, xr.Dataset]:
    size = SIZES[scale]
    parts = {}
    tasks = (("growth", lambda: growth(min(size["nlat"], 12))), ("pattern", lambda: pattern(size)),
             ("distance", lambda: distances(size)))
    for name, compute in steps(progress, tasks, lambda task: task[0]):
        parts[name] = compute()
    run, particles = parts["pattern"]
    summary = xr.merge([parts["growth"], parts["distance"]]).assign(
        k_star=dominant_mode(PATTERN_BETA, 3), mass_error=float(np.abs(run.mass.values - 1).max()),
        pattern_steps=run.attrs["steps"], pattern_wall_time=run.attrs["wall_time"])
    summary = summary.assign_attrs(nlat=size["nlat"], t_end=size["t_end"], particles=size["particles"],
                                   pattern_beta=PATTERN_BETA, distance_beta=DISTANCE_BETA,
                                   distance_time=DISTANCE_TIME, kappa=DISTANCE_KAPPA)
    return {"pde_sphere": summary, "pde_sphere_pattern": run, "pde_sphere_particles": particles}


def summary(ds: xr.Dataset) -> list[dict]:
    return [{"beta": ds.beta.values.tolist(), "gamma": ds.gamma.values.tolist(),
             "fitted_gamma": ds.fitted_gamma.values.tolist(), "n": [int(n) for n in ds.n.values],
             "smoothed_l2": ds.smoothed_l2.values.tolist(), "slope": float(ds.slope),
             "mass_error": float(ds.mass_error), "pattern_wall_time": float(ds.pattern_wall_time)}]


def markdown(ds: xr.Dataset) -> str:
    a = ds.attrs
    rows = ["| β | " + " | ".join(f"l = {l}" for l in ds.degree.values) + " |",
            "|---|" + "---|" * ds.sizes["degree"]]
    rows += [f"| {float(b):g} | " + " | ".join(f"{f:.3f} / {g:.3f}" for f, g in zip(
        ds.fitted_gamma.sel(beta=b).values, ds.gamma.sel(beta=b).values)) + " |" for b in ds.beta.values]
    distance = ["| n | " + " | ".join(f"{int(n):,}" for n in ds.n.values) + " |",
                "|---|" + "---|" * ds.sizes["n"],
                "| smoothed L2 | " + " | ".join(f"{v:.2e}" for v in ds.smoothed_l2.values) + " |"]
    return (
        "The mean-field equation on S² solved by spherical harmonics (torch-harmonics; exact Funk–Hecke "
        f"velocity, 3/2-rule dealiasing, adaptive DOPRI5) on a {a['nlat']} × {2 * a['nlat']} Legendre–Gauss grid. "
        "Growth of the Gegenbauer amplitudes √S_l from a perturbation 1e-7, fitted rate / γ_l(β, 3):\n\n"
        + "\n".join(rows) + "\n\n"
        f"The pattern at β = {a['pattern_beta']:g} (k* = {int(ds.k_star)}), t = {a['t_end']:g}: the PDE density "
        f"on an equal-area map and {a['particles']:,} particles from the same initial density (mass error "
        f"{float(ds.mass_error):.1e}, {int(ds.pattern_steps)} steps in {float(ds.pattern_wall_time):.1f} s).\n\n"
        "![The PDE density on S² (Mollweide) next to the particles from the same initial density; the growth "
        "rates; the particle–PDE distance against n.](pde_sphere.png)\n\n"
        f"Particles against the PDE at β = {a['distance_beta']:g}, t = {a['distance_time']:g}: the L2 distance "
        f"after von Mises–Fisher smoothing (κ = {a['kappa']:g}); fitted slope {float(ds.slope):.2f} in log n "
        "against the −1/2 of the law of large numbers.\n\n" + "\n".join(distance) + "\n")


@experiment("pde_sphere", order=210)
def run(out: Path, scale: str, progress=quiet) -> Section:
    datasets = save_datasets(out, "pde_sphere", scale, results(scale, progress))
    ds = datasets["pde_sphere"]
    plots.save(figures.figure(ds, datasets["pde_sphere_pattern"], datasets["pde_sphere_particles"]),
               out / "pde_sphere.png")
    return Section("The mean-field PDE on the sphere", markdown(ds), ["pde_sphere.png"],
                   {"pde_sphere": summary(ds)}, datasets)
