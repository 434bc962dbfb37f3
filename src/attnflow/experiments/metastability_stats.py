"""Experiment `metastability_statistics`: how often the first metastable state has k* clusters (docs/science.md §3).

At finite n the initial mode amplitudes are O(n^{-1/2}) and random, so when two rates are close the
runner-up can win. For each (beta, n) and `seeds` i.i.d. uniform starts on the circle (USA), the
tokens are integrated (`attnflow.simulate`: RK4, gamma_max dt = 0.1, all seeds at once as an ensemble)
until the first metastable state, an event of each run: the largest mode amplitude first reaches 1/2 at
t_c, and the state is read at the first step at or after t_c + 2 / gamma_{k*}. Its clusters are counted by
`find_clusters_density` on the smoothed angle density (arcs above twice the uniform density, mass
>= 2%). Three predictors are scored against that count:
* plain:   k* = argmax_k gamma_k (`dominant_mode`);
* finite n: the mode of the actual initial state whose amplitude reaches 1 first under the linear
  growth (`finite_n_mode`).
* basins: the basins of the linear theory's potential at the end of the linear phase
  (`predicted_clusters`): as many clusters as basins, each at the mean initial position of its basin.
Sites: the finite-n mode's angles (2 pi m - arg mu_k(0)) / k and the basin sites vs the found centres;
a run is right when the counts agree and every centre lies within 0.25 rad of a predicted site.

The results are one Dataset (`metastability_statistics.nc`) over (beta, n, seed): each run's count
and site errors, and per (beta, n) the fractions above (a mean over `seed`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from .. import plots, sphere
from ..clusters import angle_density, find_clusters_density
from ..errors import check
from ..events import Event
from ..integrate import simulate
from ..model import Model
from ..observables import mode_amplitudes
from ..plots.experiments import metastability_stats as figures
from ..saveat import SaveAt
from ..theory import dominant_mode, finite_n_mode, growth_rates, predicted_angles, predicted_clusters
from . import Section, experiment, quiet, save_datasets, steps
from .metastability import single_thread

LEVEL = 0.5
READ_AFTER = 2.0  # the first metastable state is read READ_AFTER / gamma_{k*} after t_c
SITE_TOLERANCE = 0.25
# the (beta, n) product of each scale, plus extra points at large n (n = 10^6 costs ~1 h per point on a CPU core)
GRIDS = {"quick": {"betas": (3.0, 5.0, 7.0, 10.0), "ns": (1000,), "seeds": 20, "extra": ()},
         "full": {"betas": (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0),
                  "ns": (1000, 10000, 20000), "seeds": 20,
                  "extra": ((3.0, 100000), (5.0, 100000), (7.0, 100000), (10.0, 100000),
                            (5.0, 1000000), (7.0, 1000000))}}
MAX_BATCH = 1_000_000  # seed x token entries integrated together (memory O(MAX_BATCH))
HORIZON = 10_000  # the most steps of a run: far beyond any first metastable state (a few hundred steps)


def first_metastable_state(beta: float, kmax: int) -> Event:
    """The first metastable state as an event of a run (module docstring): the largest mode amplitude |mu_k|,
    k <= kmax, reaches LEVEL at t_c, and the run (each system of an ensemble) stops at the first step
    at or after t_c + READ_AFTER / gamma_{k*}."""
    k_star, rates = dominant_mode(beta, 2), growth_rates(beta, 2, kmax)

    def amplitude_reached(t, x):
        return float(mode_amplitudes(x, kmax).max()) - LEVEL

    return Event(amplitude_reached, direction=1, delay=READ_AFTER / rates[k_star - 1],
                 name="first_metastable_state")


def first_metastable_states(beta: float, theta: torch.Tensor, kmax: int) -> np.ndarray:
    """The angles in [0, 2 pi) of each seed of the batch theta (seeds, n) in its first metastable state: one
    `attnflow.simulate` of the ensemble (USA, RK4 with gamma_max dt = 0.1), each seed stopped by the event
    `first_metastable_state`."""
    dt = 0.1 / growth_rates(beta, 2, kmax).max()
    ds = simulate(Model("usa", beta, 2), sphere.from_angles(theta), HORIZON * dt, dt=dt, method="rk4",
                  saveat=SaveAt(ts=[0.0]), observables=(), events=[first_metastable_state(beta, kmax)])
    check(bool(ds.event_first_metastable_state_triggered.all()), "beta", beta,
          f"a value whose runs reach their first metastable state within {HORIZON} steps")
    return ds.angle.isel(time=-1).values


def angles_of(points: np.ndarray) -> np.ndarray:
    """Angles in [0, 2 pi) of unit vectors (m, 2)."""
    return np.mod(np.arctan2(points[:, 1], points[:, 0]), 2 * np.pi)


def circular_error(found: np.ndarray, predicted: np.ndarray) -> float:
    """Largest circular distance from a found angle to its nearest predicted angle (NaN if either is empty)."""
    if len(found) == 0 or len(predicted) == 0:
        return float("nan")
    gap = np.abs(np.angle(np.exp(1j * (found[:, None] - predicted[None, :]))))
    return float(gap.min(axis=1).max())


def _or_none(value: float) -> float | None:
    """JSON has no NaN: an undefined error is written as null."""
    return None if math.isnan(value) else value


def initial_angles(n: int, seed: int) -> torch.Tensor:
    """The seeded i.i.d. uniform start of one run."""
    return 2 * math.pi * torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def score(beta: float, seed: int, start: np.ndarray, end: np.ndarray) -> dict:
    """One run: the count found in its first metastable state `end`, every predictor's count from `start`
    and the site errors (radians) of the two site predictors."""
    k_star = dominant_mode(beta, 2)
    kmax = 2 * k_star + 2
    x0 = np.stack([np.cos(start), np.sin(start)], axis=1)
    found = find_clusters_density(angle_density(np.mod(end, 2 * np.pi)), min_mass=0.02)
    centres = angles_of(found.centers)
    k_finite = finite_n_mode(x0, beta, kmax=kmax)
    basins = predicted_clusters(x0, beta, kmax=kmax)
    return {"beta": beta, "n": len(start), "seed": seed, "k_star": k_star, "k_finite_n": k_finite,
            "k_basins": basins.count, "clusters_found": int(found.count),
            "site_error": _or_none(circular_error(centres, predicted_angles(x0, k_finite))),
            "site_error_basins": _or_none(circular_error(centres, angles_of(basins.sites)))}


def run_point(beta: float, n: int, seeds: int, first_seed: int = 0) -> list[dict]:
    """One (beta, n) point: `seeds` runs integrated in batches of MAX_BATCH tokens, each scored."""
    kmax = 2 * dominant_mode(beta, 2) + 2
    rows = []
    batch = max(1, MAX_BATCH // n)
    for first in range(first_seed, first_seed + seeds, batch):
        group = range(first, min(first + batch, first_seed + seeds))
        theta0 = torch.stack([initial_angles(n, s) for s in group])
        final = first_metastable_states(beta, theta0, kmax)
        rows += [score(beta, s, start.numpy(), end) for s, start, end in zip(group, theta0, final)]
    return rows


def dataset(rows: list[dict]) -> xr.Dataset:
    """The scored runs over (beta, n, seed), points not run NaN: clusters found, each predictor's count and
    the site errors; k* per beta."""
    runs = xr.Dataset({key: ("run", [np.nan if r[key] is None else r[key] for r in rows])
                       for key in ("clusters_found", "k_finite_n", "k_basins", "site_error", "site_error_basins")},
                      coords={key: ("run", [r[key] for r in rows]) for key in ("beta", "n", "seed")})
    ds = runs.set_index(run=["beta", "n", "seed"]).unstack("run")
    return ds.assign(k_star=("beta", [dominant_mode(beta, 2) for beta in ds.beta.values]))


def fractions(ds: xr.Dataset) -> xr.Dataset:
    """`ds` with, per (beta, n), the fractions of runs (`.mean("seed")`) whose count found is k*, the finite-n
    mode, the basin count, and whose sites (finite-n mode, basins) are right (count agrees, every centre
    within SITE_TOLERANCE)."""
    found, ran = ds.clusters_found, ds.clusters_found.notnull()

    def share(hit):
        return hit.where(ran).mean("seed")

    def right(count, error):
        return share((found == count) & (error <= SITE_TOLERANCE))

    return ds.assign(seeds=ran.sum("seed"), fraction_k_star=share(found == ds.k_star),
                     fraction_finite_n=share(found == ds.k_finite_n), fraction_basins=share(found == ds.k_basins),
                     fraction_sites_ok=right(ds.k_finite_n, ds.site_error),
                     fraction_basin_sites_ok=right(ds.k_basins, ds.site_error_basins)
                     ).assign_attrs(site_tolerance=SITE_TOLERANCE)


def summarise(ds: xr.Dataset) -> list[dict]:
    """Per (beta, n) run: the fractions of `fractions` and the counts found, as the rows of summary.json."""
    table = []
    for beta in ds.beta.values:
        for n in ds.n.values:
            point = ds.sel(beta=beta, n=n)
            if int(point.seeds) == 0:
                continue
            found = point.clusters_found.values[~np.isnan(point.clusters_found.values)]
            table.append({"beta": float(beta), "n": int(n), "seeds": int(point.seeds), "k_star": int(point.k_star),
                          **{key: float(point[key]) for key in ("fraction_k_star", "fraction_finite_n",
                                                                "fraction_basins", "fraction_sites_ok",
                                                                "fraction_basin_sites_ok")},
                          "counts": {int(c): int(np.sum(found == c)) for c in np.unique(found)}})
    return table


def markdown_table(table: list[dict]) -> str:
    """The summary as a Markdown table: the fraction of runs each predictor gets right."""
    lines = ["| β | n | seeds | k* | P(count = k*) | P(count = finite-n mode) | P(count = basins) | "
             f"P(mode sites within {SITE_TOLERANCE} rad) | P(basin sites within {SITE_TOLERANCE} rad) | counts found |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in table:
        counts = ", ".join(f"{k}: {v}" for k, v in row["counts"].items())
        lines.append(f"| {row['beta']:g} | {row['n']} | {row['seeds']} | {row['k_star']} | "
                     f"{row['fraction_k_star']:.2f} | {row['fraction_finite_n']:.2f} | {row['fraction_basins']:.2f} | "
                     f"{row['fraction_sites_ok']:.2f} | {row['fraction_basin_sites_ok']:.2f} | {counts} |")
    return "\n".join(lines)


def finished_point(out: Path, beta: float, n: int, seeds: int) -> list[dict]:
    """`run_point`, kept in out/metastability_statistics_points/ as soon as it is done: a rerun into the same
    folder (after an interruption of the hours-long full grid) reads finished points instead of redoing them."""
    path = out / "metastability_statistics_points" / f"beta{beta:g}_n{n}_seeds{seeds}.json"
    if path.exists():
        return json.loads(path.read_text())
    rows = run_point(beta, n, seeds)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(rows))
    partial.replace(path)  # atomic: a file under the final name is always complete
    return rows


@experiment("metastability_statistics", order=12)
def run(out: Path, scale: str, progress=quiet) -> Section:
    grid = GRIDS[scale]
    points = [(beta, n) for n in grid["ns"] for beta in grid["betas"]] + list(grid["extra"])
    with single_thread():
        rows = [row for beta, n in steps(progress, points, lambda p: f"β = {p[0]:g}, n = {p[1]}")
                for row in finished_point(out, beta, n, grid["seeds"])]
    ds = fractions(dataset(rows))
    datasets = save_datasets(out, "metastability_statistics", scale, {"metastability_statistics": ds})
    plots.save(figures.figure(ds), out / "metastability_statistics.png")
    table = summarise(ds)
    markdown = (__doc__.split("\n\n", 1)[1].split("\n\nThe results", 1)[0].strip() + "\n\n"
                + markdown_table(table) + "\n\n![Over (β, n) and seeds: how often the first metastable state has $k^*$ "
                f"clusters, and how often the predicted sites are within {SITE_TOLERANCE:g} rad of the found clusters "
                "(basins and single-mode phase).](metastability_statistics.png)\n")
    return Section("How often the first metastable state has k* clusters", markdown,
                   ["metastability_statistics.png"], {"metastability_statistics": table}, datasets)
