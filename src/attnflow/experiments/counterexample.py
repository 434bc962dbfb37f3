"""Experiment `antipodal_counterexample`: a start with R_0 > 0 that does not collapse (docs/science.md §4).

Two reflection-symmetric clusters on the circle (USA): a fraction m of the tokens near
angle 0, the rest near pi, tokens in mirror pairs theta, -theta. The dynamics preserve
the mirror symmetry, which forbids the relative rotation of the clusters, so the only
way to one cluster is for the small cluster at pi to split: it does so at the rate
lambda(beta, m) of theory/rates.py (R2), i.e. for beta < beta_c = (1/2) log(m/(1-m)).
Above beta_c the start ends in two clusters although R_0 = (2m-1)^2 > 0.

The results are one Dataset (`antipodal_counterexample.nc`) over beta: the spread of the cluster at
pi at each saved time, R_0, the fitted and the derived split rate, the final mass near pi and W_2.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from .. import init, observables, plots
from ..growth import exponential_rate
from ..integrate import simulate
from ..model import Model
from ..plots.experiments import counterexample as figures
from ..theory.rates import antipodal_split_rate, antipodal_threshold
from . import Section, experiment, quiet, save_datasets, steps

MASS = 0.9
SIZES = {"quick": {"n": 60, "betas": (0.25, 0.5, 0.75, 1.5, 2.0, 3.0)},
         "full": {"n": 200, "betas": (0.25, 0.5, 0.75, 0.9, 1.0, 1.2, 1.35, 1.5, 2.0, 3.0)}}
SMALL_SPREAD, FIT_UNTIL = 0.02, 20.0  # the split rate is fitted while the spread is below 0.02, up to t = 20


def mirror_start(n: int, mass: float, spread: float = 1e-3, seed: int = 0) -> np.ndarray:
    """Angles in mirror pairs: round(mass n / 2) pairs +-d near 0, the other pairs pi +- d (d ~ spread |N(0,1)|)."""
    rng = np.random.default_rng(seed)
    pairs = n // 2
    near = round(mass * pairs)
    d = spread * np.abs(rng.standard_normal(pairs))
    centre = np.where(np.arange(pairs) < near, 0.0, math.pi)
    return np.concatenate([centre + d, np.mod(centre - d, 2 * math.pi)])


def measure(beta: float, n: int, mass: float = MASS, t_end: float = 60.0) -> xr.Dataset:
    """Run USA from `mirror_start`; `exponential_rate` of the spread of the cluster at pi while it is small."""
    theta0 = mirror_start(n, mass)
    far = np.cos(theta0) < 0
    ds = simulate(Model(kind="usa", beta=beta, dim=2), init.from_angles(theta0), t_end=t_end, dt=0.05,
                  method="rk4", save_every=0.5, observables=())
    theta = ds.angle.values
    spread = np.sqrt(np.mean(np.angle(np.exp(1j * (theta[:, far] - math.pi))) ** 2, axis=1))
    t = ds.time.values
    window = (spread < SMALL_SPREAD) & (spread > 1e-12) & (t <= FIT_UNTIL)
    rate = exponential_rate(t, spread, window) if window.sum() >= 3 else math.nan
    return xr.Dataset({"spread": ("time", spread), "R0": observables.r0(init.from_angles(theta0)),
                       "split_rate": rate, "predicted_split_rate": float(antipodal_split_rate(beta, mass, "usa")),
                       "final_mass_near_pi": float(np.mean(np.cos(theta[-1]) < 0)),
                       "final_w2": observables.w2_to_dirac(ds.x.values[-1])},
                      coords={"beta": beta, "time": t}, attrs={"n": n, "mass": mass})


def results(scale: str, progress=quiet) -> xr.Dataset:
    """`measure` at each beta of the scale, with beta_c."""
    size = SIZES[scale]
    runs = [measure(beta, size["n"]) for beta in steps(progress, size["betas"], lambda b: f"β = {b:g}")]
    return xr.concat(runs, "beta").assign_attrs(beta_c=antipodal_threshold(MASS))


def summary(ds: xr.Dataset) -> list[dict]:
    """The rows of summary.json, one per beta."""
    return [{"beta": float(r.beta), "n": int(ds.attrs["n"]), "mass": float(ds.attrs["mass"]), "R0": float(r.R0),
             "split_rate": float(r.split_rate), "predicted_split_rate": float(r.predicted_split_rate),
             "final_mass_near_pi": float(r.final_mass_near_pi), "final_w2": float(r.final_w2)}
            for r in (ds.isel(beta=i) for i in range(ds.sizes["beta"]))]


def markdown(ds: xr.Dataset) -> str:
    """The section's text and table, every number from `ds`."""
    a = ds.attrs
    table = ["| β | fitted split rate | derived λ(β) | final mass near π | final W₂ |", "|---|---|---|---|---|"]
    table += [f"| {r['beta']:g} | {r['split_rate']:.4f} | {r['predicted_split_rate']:.4f} | "
              f"{r['final_mass_near_pi']:.2f} | {r['final_w2']:.3g} |" for r in summary(ds)]
    return (
        f"n = {a['n']} tokens on the circle (USA), a fraction m = {a['mass']:g} near angle 0 and the rest near π, "
        f"in mirror pairs θ, −θ; R₀ = (2m − 1)² = {float(ds.R0[0]):.2f} > 0. The mirror symmetry is "
        "preserved and rules out the relative rotation of the two clusters, so the start collapses to one "
        "cluster only if the cluster at π splits, at the derived rate $\\lambda(\\beta) = m e^{-\\beta} - (1 - m) e^{\\beta}$ "
        f"(theory/rates.py, R2; SA divides it by a positive normaliser, same sign). It stops being stable at "
        f"$\\beta_c = \\frac12 \\log(m/(1 - m))$ = {a['beta_c']:.4f}: below, the tokens at π leave and the run approaches one "
        f"Dirac mass; above, it stays in two clusters (mass {1 - a['mass']:.1f} at π) although R₀ > 0 — the "
        "large-β counterexample to convergence to a single cluster.\n\n"
        + "\n".join(table) + "\n\n![The antipodal two-cluster start below and above $\\beta_c$: the spread of the tokens near π over time (left) and the fitted split rate against $\\lambda(\\beta)$ (right).](antipodal_counterexample.png)\n")


@experiment("antipodal_counterexample", order=320)
def run(out: Path, scale: str, progress=quiet) -> Section:
    ds = results(scale, progress)
    datasets = save_datasets(out, "antipodal_counterexample", scale, {"antipodal_counterexample": ds})
    plots.save(figures.figure(ds), out / "antipodal_counterexample.png")
    return Section("Counterexample: two antipodal clusters at large β", markdown(ds),
                   ["antipodal_counterexample.png"], {"antipodal_counterexample": summary(ds)}, datasets)
