"""Experiments `metastability_circle` and `metastability_sphere`: the paper's runs (docs/science.md §3, §5).

Circle (USA, d = 2): beta = 5 (n = 2 10^4, T = 0.6) and beta = 7 (T = 0.1) from i.i.d. uniform
tokens. Two site predictors from the initial tokens: the dominant mode's phase,
theta_m = (2 pi m - arg mu_{k*}) / k*, and the basins of the linear potential at the end of the linear
phase (`predicted_clusters`, which also predicts the count). For each: trajectories with the basin sites
drawn over them, the histogram of angles at the intermediate time (half of T, the paper's step 3000 of
6000 and close to its step 450 for beta = 7), gamma_k against k, the mode amplitudes on a log
scale with the predicted slopes, and a table: k*, clusters found (`find_clusters` in the first
metastable state, read at the observed emergence time + 2 / gamma_{k*} as in
`metastability_stats`, and at T), site errors of both predictors (first state), predicted vs fitted growth rates of modes 1..6 (`growth.fit_ensemble_growth_rates` on the
seed-averaged power, since single runs of the slow modes pick up a seed-dependent quadratic forcing of
relative order n^{-1/2}; the per-seed fits are in the JSON; on the circle also the same fit of the
second-order amplitudes of `theory.second_order`, which predicts that forcing), predicted vs
observed emergence time (observed: first time the largest amplitude reaches 1/2).

Sphere (USA, d = 3, beta = 6, k* = 3): the same on S^2 with the dense engine; the mode predictor's
sites are the maxima of the degree-k* component of the initial empirical measure; plus the histograms of the
pairwise inner products at t = 0, the predicted emergence time and T.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .. import init, plots
from ..clusters import find_clusters
from ..growth import fit_dataset, fit_ensemble_growth_rates, linear_window
from ..integrate import simulate
from ..model import Model
from ..observables import inner_product_histogram
from ..theory import (dominant_mode, emergence_time, growth_rates, linear_potential, predicted_clusters,
                      predicted_sites, second_order_modes)
from . import Section, experiment, quiet, steps
from .report import percent_change

KMAX = 8
FIT_MODES = 6
EMERGENCE_LEVEL = 0.5
# (beta, n, T, dt, fit seeds) per scale; rk4 with gamma_max dt <= 0.1 (the paper: Euler, dt = 1e-4)
CIRCLE = {"quick": [(5.0, 20000, 0.6, 2e-3, 6), (7.0, 20000, 0.1, 1e-3, 6)],
          "full": [(5.0, 20000, 0.6, 1e-4, 10), (7.0, 20000, 0.1, 1e-4, 10)]}
SPHERE = {"quick": (6.0, 1500, 0.4, 4e-3, 1), "full": (6.0, 3000, 0.4, 2e-3, 4)}


@contextmanager
def single_thread():
    """Run torch on one intra-op thread inside the block (restored after). These experiments integrate
    many modest tensors; on a shared or small machine extra threads cost more in synchronisation than
    they gain (measured here: 5x slower with 2 threads under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def angular_distance(a, b) -> np.ndarray:
    """Geodesic distance between unit vectors a (p, d) and b (q, d): (p, q) matrix in [0, pi]."""
    return np.arccos(np.clip(np.asarray(a) @ np.asarray(b).T, -1, 1))


def site_error(found_centers, predicted) -> float:
    """Largest distance (rad) from a found cluster centre to its nearest predicted site (nan if none)."""
    if len(found_centers) == 0 or len(predicted) == 0:
        return float("nan")
    return float(angular_distance(found_centers, predicted).min(axis=1).max())


def observed_emergence(ds) -> float:
    """First observation time at which the largest mode amplitude reaches EMERGENCE_LEVEL (nan if never)."""
    reached = np.flatnonzero(ds["mode_amplitude"].values.max(axis=1) >= EMERGENCE_LEVEL)
    return float(ds["obs_time"].values[reached[0]]) if len(reached) else float("nan")


def run_case(beta: float, dim: int, n: int, t_end: float, dt: float, fit_seeds: int, engine=None) -> dict:
    """One experiment: the main run (seed 0) to t_end and extra runs (seeds 1..) through the linear window
    for the growth-rate fits. Returns the numbers and the main run."""
    model = Model("usa", beta, dim)
    k_star = dominant_mode(beta, dim)
    t_emerge = emergence_time(beta, dim, n)
    runs, fits = [], []
    for seed in range(fit_seeds):
        x0 = init.uniform(n, dim, seed=seed)
        length = t_end if seed == 0 else min(t_end, 0.8 * t_emerge)
        ds = simulate(model, x0, length, dt=dt, method="rk4" if dt >= 1e-3 else "euler",
                      save_every=t_end / 120 if seed == 0 else length, observe_every=max(dt, t_end / 150),
                      observables=("modes",), kmax=KMAX, engine=engine)
        fits.append(fit_dataset(ds))
        runs.append((x0, ds))
    x0, ds = runs[0]
    sites = predicted_sites(x0, k_star)
    basins = predicted_clusters(x0, beta)
    emerged = observed_emergence(ds)
    rates = growth_rates(beta, dim, k_star)
    state_time = min(t_end, (emerged if np.isfinite(emerged) else t_end) + 2 / rates[-1])
    first = ds["x"].sel(time=state_time, method="nearest")
    found = find_clusters(first.values)
    final = find_clusters(ds["x"].isel(time=-1).values)
    predicted = growth_rates(beta, dim, FIT_MODES)
    fitted = fit_ensemble_growth_rates(ds["obs_time"].values, [run["mode_amplitude"].values for _, run in runs])
    second_order = (fit_ensemble_growth_rates(ds["obs_time"].values, [
        np.abs(second_order_modes(start, beta, ds["obs_time"].values, FIT_MODES)) for start, _ in runs])
        if dim == 2 else np.full(FIT_MODES, np.nan))
    window = linear_window(ds["obs_time"].values, ds["mode_amplitude"].values)
    return {"beta": beta, "dim": dim, "n": n, "t_end": t_end, "k_star": k_star,
            "clusters_found": int(found.count), "state_time": float(first["time"]),
            "cluster_masses": [round(float(m), 4) for m in found.masses],
            "clusters_found_at_t_end": int(final.count),
            "site_error_at_t_end": site_error(final.centers, basins.sites),
            "predicted_sites": basins.sites.tolist(), "predicted_masses": basins.masses.round(4).tolist(),
            "clusters_predicted": basins.count, "linear_phase_end": basins.time,
            "found_centers": found.centers.tolist(), "site_error_max": site_error(found.centers, basins.sites),
            "mode_sites": sites.tolist(), "site_error_mode": site_error(found.centers, sites),
            "growth_rates_predicted": predicted.tolist(), "growth_rates_fitted": fitted[:FIT_MODES].tolist(),
            "growth_rates_second_order": second_order.tolist(),
            "growth_rate_fit_seeds": fit_seeds,
            "growth_rates_fitted_per_seed": np.array(fits)[:, :FIT_MODES].tolist(),
            "fit_window_end": float(ds["obs_time"].values[window.stop - 1]),
            "emergence_time_predicted": t_emerge, "emergence_time_observed": emerged,
            "_run": ds, "_x0": x0}


CAPTIONS = {"tokens": "Tokens over time with the predicted sites of the basins of the linear potential (on the "
                       "circle: trajectories and the angle histogram against the uniform density; on $S^2$: "
                       "tokens over the potential at three times).",
            "modes": "Growth rates $\\gamma_k$ (left, $k^*$ marked) and the mode amplitudes $|\\mu_k(t)|$ with "
                     "$A_k(0) e^{\\gamma_k t}$ dashed and the end of the fit window dotted (right).",
            "inner_products": "Histogram of the pairwise inner products at $t = 0$, at the predicted emergence "
                              "time and at $T$."}


def _caption(name: str) -> str:
    """The caption of a figure of `_figures`, from its file name (`<stem>_beta<B>_<kind>.png`)."""
    stem, kind = name[:-len(".png")].rsplit("_beta", 1)[1].split("_", 1)
    return f"β = {stem}: " + CAPTIONS[kind]


def _figures(case: dict, out: Path, stem: str) -> list[str]:
    """Trajectories + histogram (circle) or a 3-d scatter (sphere), gamma_k, and mode amplitudes."""
    import matplotlib.pyplot as plt

    ds, beta, k_star = case["_run"], case["beta"], case["k_star"]
    rates = growth_rates(beta, case["dim"], KMAX)
    label = f"β = {beta:g}, d = {case['dim']}, n = {case['n']}"
    names = []
    sites = np.array(case["predicted_sites"])
    if case["dim"] == 2:
        sites = np.arctan2(sites[:, 1], sites[:, 0])
        figure, axes = plt.subplots(1, 2, figsize=(12, 4))
        plots.trajectories(ds["time"].values, ds["angle"].values, sites, ax=axes[0])
        axes[0].set_title(f"{label}: trajectories, predicted sites (k* = {k_star}, {len(sites)} basins)")
        middle = ds["angle"].sel(time=case["t_end"] / 2, method="nearest")
        plots.angle_histogram(middle.values, sites, ax=axes[1],
                              label=f"angles at t = {float(middle['time']):.3g}")
    else:
        figure, axes = plt.subplots(1, 3, figsize=(15, 4))
        potential = lambda points: linear_potential(case["_x0"], beta, case["linear_phase_end"], points)  # noqa: E731
        for ax, t in zip(axes, (0.0, case["emergence_time_predicted"], case["t_end"])):
            snapshot = ds["x"].sel(time=t, method="nearest")
            plots.sphere_map(snapshot.values, sites, potential, ax=ax, label=f"t = {float(snapshot['time']):.3g}")
        figure.suptitle(f"{label}: tokens on S² over the linear potential of the initial tokens at the end of the "
                        "linear phase (red: high); stars: predicted sites (its basins' mean positions)")
    plots.save(figure, out / f"{stem}_tokens.png")
    names.append(f"{stem}_tokens.png")
    figure, axes = plt.subplots(1, 2, figsize=(12, 4))
    plots.growth_rate_plot(rates, k_star, ax=axes[0], label=f"γ_k, {label}")
    plots.mode_amplitudes(ds["obs_time"].values, ds["mode_amplitude"].values, rates, modes=range(1, FIT_MODES + 1),
                          window_end=case["fit_window_end"], ax=axes[1],
                          label=r"amplitudes; dashed: $A_k(0)\,e^{\gamma_k t}$; dotted: fit window end")
    plots.save(figure, out / f"{stem}_modes.png")
    names.append(f"{stem}_modes.png")
    if case["dim"] > 2:
        figure, ax = plt.subplots(figsize=(6, 4))
        for t in (0.0, case["emergence_time_predicted"], case["t_end"]):
            snapshot = ds["x"].sel(time=t, method="nearest")
            density, edges = inner_product_histogram(snapshot.values, bins=80)
            ax.stairs(density, edges, label=f"t = {float(snapshot['time']):.3g}")
        ax.set(xlabel="⟨x_i, x_j⟩", ylabel="density", yscale="log", title=f"pairwise inner products, {label}")
        ax.legend()
        plots.save(figure, out / f"{stem}_inner_products.png")
        names.append(f"{stem}_inner_products.png")
    return names


def _table(cases: list[dict]) -> str:
    head = ("| β | d | n | k* | basins predicted | clusters found (at t) | at T | site error max (rad): basins / "
            "mode | at T: basins | emergence predicted / observed |\n|---|---|---|---|---|---|---|---|---|---|\n")
    rows = "".join(f"| {c['beta']:g} | {c['dim']} | {c['n']} | {c['k_star']} | {c['clusters_predicted']} | "
                   f"{c['clusters_found']} (t = {c['state_time']:.3g}) | {c['clusters_found_at_t_end']} | "
                   f"{c['site_error_max']:.3f} / {c['site_error_mode']:.3f} | {c['site_error_at_t_end']:.3f} | "
                   f"{c['emergence_time_predicted']:.3f} / "
                   f"{c['emergence_time_observed']:.3f} |\n" for c in cases)
    rates = ("\n| β | d | " + " | ".join(f"$\\gamma_{k}$ pred / fit" for k in range(1, FIT_MODES + 1)) + " |\n|---|---|"
             + "---|" * FIT_MODES + "\n")
    for c in cases:
        cells = [f"{p:.2f} / {f:.2f} ({percent_change(f, p)}" + (f"; 2nd order {percent_change(q, p)})"
                                                                 if np.isfinite(q) else ")")
                 for p, f, q in zip(c["growth_rates_predicted"], c["growth_rates_fitted"],
                                    c["growth_rates_second_order"])]
        rates += f"| {c['beta']:g} | {c['dim']} | " + " | ".join(cells) + " |\n"
    second_order = any(np.isfinite(c["growth_rates_second_order"]).any() for c in cases)
    return head + rows + rates + (SECOND_ORDER_NOTE if second_order else "")


SECOND_ORDER_NOTE = ("\n2nd order (circle): the same fit applied to the second-order amplitudes of each seed's "
                     "initial tokens (`theory.second_order`): a slow mode is forced at the sum of two faster "
                     "rates (mode 6 by mode 3 squared), which is what lifts its fitted rate above $\\gamma_k$ at finite $n$.\n")


def _section(cases: list[dict], out: Path, stem: str, title: str, intro: str) -> Section:
    figures = []
    for case in cases:
        figures += _figures(case, out, f"{stem}_beta{case['beta']:g}")
    public = [{key: value for key, value in case.items() if not key.startswith("_")} for case in cases]
    (out / f"{stem}.json").write_text(json.dumps(public, indent=1))
    markdown = intro + "\n\n" + _table(cases) + "\n" + "".join(f"![{_caption(name)}]({name})\n\n" for name in figures)
    return Section(title, markdown, figures, {"experiments": public})


@experiment("metastability_circle", order=10)
def run_circle(out: Path, scale: str, progress=quiet) -> Section:
    with single_thread():
        cases = [run_case(beta, 2, n, t_end, dt, seeds) for beta, n, t_end, dt, seeds
                 in steps(progress, CIRCLE[scale], lambda c: f"β = {c[0]:g}, n = {c[1]}, {c[4]} seeds")]
    intro = ("USA on the circle from i.i.d. uniform tokens (docs/science.md §3). Predicted sites: the basins of the "
             "linear potential $\\Phi_t = \\sum_k \\lambda_k N_k e^{\\gamma_k t} H_k$ of the initial tokens at the end of the linear "
             "phase "
             "(each cluster at its basin's mean initial position; `predicted_clusters`), and, for comparison, the "
             "dominant mode's phase $\\theta_m = (2\\pi m - \\arg \\hat\\mu_{k^*})/k^*$. Clusters found by `find_clusters` in the first "
             "metastable state, read at $t$ = (observed emergence) + $2/\\gamma_{k^*}$, and at the final time $T$; site error "
             "(first state) = largest distance from a found centre to the nearest predicted site. Growth rates: "
             "least-squares "
             "slope of $\\log \\sqrt{\\text{mean over seeds of } |\\mu_k|^2}$ over the linear window (until the largest amplitude "
             f"first exceeds 0.05), {CIRCLE[scale][0][4]} seeds. Observed emergence: first time $\\max_k |\\mu_k| \\ge 1/2$; "
             "predicted: $\\log(\\sqrt{n})/\\gamma_{k^*}$.")
    return _section(cases, out, "metastability_circle", "Metastable clustering on the circle", intro)


@experiment("metastability_sphere", order=11)
def run_sphere(out: Path, scale: str, progress=quiet) -> Section:
    beta, n, t_end, dt, seeds = SPHERE[scale]
    with single_thread():
        progress(f"β = {beta:g}, n = {n}, {seeds} seeds on S²")
        case = run_case(beta, 3, n, t_end, dt, seeds, engine="dense")
    intro = (f"USA on S² (d = 3), β = {beta:g} (k* = {case['k_star']}), dense engine, RK4. Amplitudes "
             "$A_k = \\sqrt{S_k}$ (Gegenbauer powers); predicted sites: the basins of the linear potential (as on the "
             "circle) and, for comparison, the maxima of the degree-$k^*$ component $\\frac1n \\sum_j P_k(\\langle x, x_j\\rangle)$ of the "
             "initial tokens, those at least a quarter of the highest (mode).")
    return _section([case], out, "metastability_sphere", "Metastable clustering on the sphere S²", intro)
