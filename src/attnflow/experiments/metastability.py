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
relative order n^{-1/2}; the per-seed fits are in the Dataset; on the circle also the same fit of the
second-order amplitudes of `theory.second_order`, which predicts that forcing), predicted vs
observed emergence time (observed: first time the largest amplitude reaches 1/2).

Sphere (USA, d = 3, beta = 6, k* = 3): the same on S^2 with the dense engine; the mode predictor's
sites are the maxima of the degree-k* component of the initial empirical measure; plus the histograms of the
pairwise inner products at t = 0, the predicted emergence time and T.

The results: `<stem>.nc` over beta (the numbers above; clusters, sites and their masses along `cluster`,
`site`, `mode_site`, padded with NaN; growth rates along `mode`, per seed along `seed`) and, per beta, the
main run `<stem>_beta<B>.nc` (seed 0: on the circle the trajectories of TRACKED tokens and every token's angle at
the times read, `kept_record`; the positions on S²; the mode amplitudes).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from .. import init, plots
from ..clusters import find_clusters
from ..growth import fit_dataset, fit_ensemble_growth_rates, linear_window
from ..integrate import simulate
from ..model import Model
from ..plots.experiments import metastability as figures
from ..theory import (dominant_mode, emergence_time, growth_rates, predicted_clusters, predicted_sites,
                      second_order_modes)
from . import Section, experiment, quiet, save_datasets, steps
from .report import percent_change

KMAX = 8
FIT_MODES = 6
EMERGENCE_LEVEL = 0.5
READ_AFTER = 2.0  # the first metastable state is read READ_AFTER / gamma_{k*} after the observed emergence
SATURATION = 0.05  # the linear window ends where the largest amplitude first exceeds it
TRACKED = 400  # tokens whose whole trajectories a circle run keeps (all tokens at a few times)
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


def run_case(beta: float, dim: int, n: int, t_end: float, dt: float, fit_seeds: int,
             engine=None) -> tuple[xr.Dataset, xr.Dataset]:
    """One experiment: the main run (seed 0) to t_end and extra runs (seeds 1..) through the linear window
    for the growth-rate fits. Returns its numbers (at this beta) and the main run."""
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
        fits.append(fit_dataset(ds, SATURATION))
        runs.append((x0, ds))
    x0, ds = runs[0]
    sites = predicted_sites(x0, k_star)
    basins = predicted_clusters(x0, beta)
    emerged = observed_emergence(ds)
    rates = growth_rates(beta, dim, k_star)
    state_time = min(t_end, (emerged if np.isfinite(emerged) else t_end) + READ_AFTER / rates[-1])
    first = ds["x"].sel(time=state_time, method="nearest")
    found = find_clusters(first.values)
    final = find_clusters(ds["x"].isel(time=-1).values)
    t = ds["obs_time"].values
    fitted = fit_ensemble_growth_rates(t, [run["mode_amplitude"].values for _, run in runs], SATURATION)
    second_order = (fit_ensemble_growth_rates(t, [np.abs(second_order_modes(start, beta, t, FIT_MODES))
                                                  for start, _ in runs], SATURATION)
                    if dim == 2 else np.full(FIT_MODES, np.nan))
    window = linear_window(t, ds["mode_amplitude"].values, SATURATION)
    numbers = xr.Dataset(
        {"dim": dim, "n": n, "t_end": t_end, "k_star": k_star, "clusters_found": int(found.count),
         "state_time": float(first["time"]), "cluster_mass": ("cluster", found.masses),
         "clusters_found_at_t_end": int(final.count), "site_error_at_t_end": site_error(final.centers, basins.sites),
         "predicted_site": (("site", "component"), basins.sites), "predicted_mass": ("site", basins.masses),
         "clusters_predicted": basins.count, "linear_phase_end": basins.time,
         "found_center": (("cluster", "component"), found.centers.reshape(-1, dim)),
         "site_error_max": site_error(found.centers, basins.sites),
         "dominant_mode_site": (("mode_site", "component"), sites), "site_error_mode": site_error(found.centers, sites),
         "growth_rate_predicted": ("mode", growth_rates(beta, dim, FIT_MODES)),
         "growth_rate_fitted": ("mode", fitted[:FIT_MODES]), "growth_rate_second_order": ("mode", second_order),
         "growth_rate_fit_seeds": fit_seeds,
         "growth_rate_fitted_per_seed": (("seed", "mode"), np.array(fits)[:, :FIT_MODES]),
         "fit_window_end": float(t[window.stop - 1]), "emergence_time_predicted": t_emerge,
         "emergence_time_observed": emerged, "gamma": ("k", growth_rates(beta, dim, KMAX))},
        coords={"beta": beta, "cluster": np.arange(int(found.count)), "site": np.arange(len(basins.sites)),
                "mode_site": np.arange(len(sites)), "mode": np.arange(1, FIT_MODES + 1), "seed": np.arange(fit_seeds),
                "k": np.arange(1, KMAX + 1)})
    return numbers, (kept_record(ds, (0.0, t_end / 2, float(first["time"]), t_end)) if dim == 2 else ds)


def kept_record(run: xr.Dataset, times) -> xr.Dataset:
    """The main circle run as written: the angles of TRACKED tokens (a fixed random sample, `token` keeps their
    indices) at every save, every token's angle (`all_tokens`) at the saves nearest `times` (`snapshot_time`:
    the start, T/2, the first metastable state, T), and the mode amplitudes (all 2 10^4 angles at every save
    were 24 MB per run, float64 noise that does not compress)."""
    tokens = np.sort(np.random.default_rng(0).choice(run.sizes["token"], min(TRACKED, run.sizes["token"]),
                                                      replace=False))
    snapshots = run["angle"].sel(time=sorted(set(times)), method="nearest").drop_duplicates("time")
    snapshots = snapshots.rename(time="snapshot_time", token="all_tokens")
    return run.drop_vars("x").isel(token=tokens).assign(snapshot_angle=snapshots)


def rows_of(values: np.ndarray) -> list:
    """The rows of a NaN-padded (entry, component) array, padding dropped, as lists."""
    return [row.tolist() for row in values if not np.isnan(row).all()]


def summary(ds: xr.Dataset) -> list[dict]:
    """The rows of summary.json ("experiments"), one per beta."""
    rows = []
    for c in (ds.isel(beta=i) for i in range(ds.sizes["beta"])):
        masses = c.cluster_mass.values[~np.isnan(c.cluster_mass.values)]
        rows.append({
            "beta": float(c.beta), "dim": int(c.dim), "n": int(c.n), "t_end": float(c.t_end), "k_star": int(c.k_star),
            "clusters_found": int(c.clusters_found), "state_time": float(c.state_time),
            "cluster_masses": [round(float(m), 4) for m in masses],
            "clusters_found_at_t_end": int(c.clusters_found_at_t_end),
            "site_error_at_t_end": float(c.site_error_at_t_end), "predicted_sites": rows_of(c.predicted_site.values),
            "predicted_masses": c.predicted_mass.values[~np.isnan(c.predicted_mass.values)].round(4).tolist(),
            "clusters_predicted": int(c.clusters_predicted), "linear_phase_end": float(c.linear_phase_end),
            "found_centers": rows_of(c.found_center.values), "site_error_max": float(c.site_error_max),
            "mode_sites": rows_of(c.dominant_mode_site.values), "site_error_mode": float(c.site_error_mode),
            "growth_rates_predicted": c.growth_rate_predicted.values.tolist(),
            "growth_rates_fitted": c.growth_rate_fitted.values.tolist(),
            "growth_rates_second_order": c.growth_rate_second_order.values.tolist(),
            "growth_rate_fit_seeds": int(c.growth_rate_fit_seeds),
            "growth_rates_fitted_per_seed": c.growth_rate_fitted_per_seed.values.tolist(),
            "fit_window_end": float(c.fit_window_end), "emergence_time_predicted": float(c.emergence_time_predicted),
            "emergence_time_observed": float(c.emergence_time_observed)})
    return rows


CAPTIONS = {"tokens": "Tokens over time with the predicted sites of the basins of the linear potential (on the "
                       "circle: trajectories and the angle histogram against the uniform density; on $S^2$: "
                       "tokens over the potential at three times).",
            "modes": "Growth rates $\\gamma_k$ (left, $k^*$ marked) and the mode amplitudes $|\\mu_k(t)|$ with "
                     "$A_k(0) e^{\\gamma_k t}$ dashed and the end of the fit window dotted (right).",
            "inner_products": "Histogram of the pairwise inner products at $t = 0$, at the predicted emergence "
                              "time and at $T$."}


def caption(name: str) -> str:
    """The caption of a figure from its file name (`<stem>_beta<B>_<kind>.png`)."""
    stem, kind = name[:-len(".png")].rsplit("_beta", 1)[1].split("_", 1)
    return f"β = {stem}: " + CAPTIONS[kind]


def table(rows: list[dict]) -> str:
    """The cases and their growth rates as Markdown tables (rows of `summary`)."""
    head = ("| β | d | n | k* | basins predicted | clusters found (at t) | at T | site error max (rad): basins / "
            "mode | at T: basins | emergence predicted / observed |\n|---|---|---|---|---|---|---|---|---|---|\n")
    lines = "".join(f"| {c['beta']:g} | {c['dim']} | {c['n']} | {c['k_star']} | {c['clusters_predicted']} | "
                    f"{c['clusters_found']} (t = {c['state_time']:.3g}) | {c['clusters_found_at_t_end']} | "
                    f"{c['site_error_max']:.3f} / {c['site_error_mode']:.3f} | {c['site_error_at_t_end']:.3f} | "
                    f"{c['emergence_time_predicted']:.3f} / "
                    f"{c['emergence_time_observed']:.3f} |\n" for c in rows)
    rates = ("\n| β | d | " + " | ".join(f"$\\gamma_{k}$ pred / fit" for k in range(1, FIT_MODES + 1)) + " |\n|---|---|"
             + "---|" * FIT_MODES + "\n")
    for c in rows:
        cells = [f"{p:.2f} / {f:.2f} ({percent_change(f, p)}" + (f"; 2nd order {percent_change(q, p)})"
                                                                 if np.isfinite(q) else ")")
                 for p, f, q in zip(c["growth_rates_predicted"], c["growth_rates_fitted"],
                                    c["growth_rates_second_order"])]
        rates += f"| {c['beta']:g} | {c['dim']} | " + " | ".join(cells) + " |\n"
    second_order = any(np.isfinite(c["growth_rates_second_order"]).any() for c in rows)
    return head + lines + rates + (SECOND_ORDER_NOTE if second_order else "")


SECOND_ORDER_NOTE = ("\n2nd order (circle): the same fit applied to the second-order amplitudes of each seed's "
                     "initial tokens (`theory.second_order`): a slow mode is forced at the sum of two faster "
                     "rates (mode 6 by mode 3 squared), which is what lifts its fitted rate above $\\gamma_k$ at finite $n$.\n")


def section(cases: list[tuple[xr.Dataset, xr.Dataset]], out: Path, stem: str, scale: str, title: str,
            intro: str) -> Section:
    """Write the Datasets of `cases` (numbers, main run) and their figures; the section from them."""
    numbers = xr.concat([c for c, _ in cases], "beta", join="outer")  # clusters and sites padded with NaN
    datasets = save_datasets(out, stem, scale, {stem: numbers, **{f"{stem}_beta{float(c.beta):g}": run
                                                                  for c, run in cases}})
    names = []
    for i in range(numbers.sizes["beta"]):
        case = numbers.isel(beta=i)
        prefix = f"{stem}_beta{float(case.beta):g}"
        for kind, figure in figures.figures(case, datasets[prefix]).items():
            plots.save(figure, out / f"{prefix}_{kind}.png")
            names.append(f"{prefix}_{kind}.png")
    rows = summary(numbers)
    markdown = intro + "\n\n" + table(rows) + "\n" + "".join(f"![{caption(name)}]({name})\n\n" for name in names)
    return Section(title, markdown, names, {"experiments": rows}, datasets)


@experiment("metastability_circle", order=10)
def run_circle(out: Path, scale: str, progress=quiet) -> Section:
    with single_thread():
        cases = [run_case(beta, 2, n, t_end, dt, seeds) for beta, n, t_end, dt, seeds
                 in steps(progress, CIRCLE[scale], lambda c: f"β = {c[0]:g}, n = {c[1]}, {c[4]} seeds")]
    seeds = int(cases[0][0].growth_rate_fit_seeds)
    intro = ("USA on the circle from i.i.d. uniform tokens (docs/science.md §3). Predicted sites: the basins of the "
             "linear potential $\\Phi_t = \\sum_k \\lambda_k N_k e^{\\gamma_k t} H_k$ of the initial tokens at the end of the linear "
             "phase "
             "(each cluster at its basin's mean initial position; `predicted_clusters`), and, for comparison, the "
             "dominant mode's phase $\\theta_m = (2\\pi m - \\arg \\hat\\mu_{k^*})/k^*$. Clusters found by `find_clusters` in the first "
             f"metastable state, read at $t$ = (observed emergence) + ${READ_AFTER:g}/\\gamma_{{k^*}}$, and at the final time $T$; site error "
             "(first state) = largest distance from a found centre to the nearest predicted site. Growth rates: "
             "least-squares "
             "slope of $\\log \\sqrt{\\text{mean over seeds of } |\\mu_k|^2}$ over the linear window (until the largest amplitude "
             f"first exceeds {SATURATION:g}), {seeds} seeds. Observed emergence: first time $\\max_k |\\mu_k| \\ge "
             f"{EMERGENCE_LEVEL:g}$; predicted: $\\log(\\sqrt{{n}})/\\gamma_{{k^*}}$.")
    return section(cases, out, "metastability_circle", scale, "Metastable clustering on the circle", intro)


@experiment("metastability_sphere", order=11)
def run_sphere(out: Path, scale: str, progress=quiet) -> Section:
    beta, n, t_end, dt, seeds = SPHERE[scale]
    with single_thread():
        progress(f"β = {beta:g}, n = {n}, {seeds} seeds on S²")
        case = run_case(beta, 3, n, t_end, dt, seeds, engine="dense")
    numbers = case[0]
    intro = (f"USA on S² (d = {int(numbers.dim)}), β = {float(numbers.beta):g} (k* = {int(numbers.k_star)}), dense "
             "engine, RK4. Amplitudes "
             "$A_k = \\sqrt{S_k}$ (Gegenbauer powers); predicted sites: the basins of the linear potential (as on the "
             "circle) and, for comparison, the maxima of the degree-$k^*$ component $\\frac1n \\sum_j P_k(\\langle x, x_j\\rangle)$ of the "
             "initial tokens, those at least a quarter of the highest (mode).")
    return section([case], out, "metastability_sphere", scale, "Metastable clustering on the sphere S²", intro)
