"""Experiment `causal`: the metastable clusters of causal attention against Rényi centres, and the final collapse
onto the first token (docs/science.md §7; Karagodin, Polyanskiy, Rigollet 2024).

SA with the causal mask on the circle (V = I, circle engine, dopri5), tokens i.i.d. uniform in their order.
At each time of TIMES the clusters are counted by `clusters.find_clusters` (linking radius beta^{-1/2}, every
group of >= 2 tokens a cluster; lone tokens counted apart) and the Rényi and strong Rényi centres
(theory/renyi.py, delta = 4 beta^{-1/2}) of the configuration are counted; the Rényi count of the start is the
prediction, and Rényi's parking count 1 + M((2 pi - alpha)/alpha) its n -> infinity limit. Each (beta, n) is
one ensemble of `seeds` systems (independent seeds per n). The paper's picture (n = 200, d = 2, beta = 64) is
one run saved at FIGURE_TIMES. The collapse onto the first token is run at small beta to the end, and the
late-phase rate of max_i |x_i - x_1| (fitted where COLLAPSE_WINDOW[0] < it < COLLAPSE_WINDOW[1]) compared with
the derived c/2 = 1/2 (theory/rates.py, R3).

Results: `causal.nc` over (beta, n, seed, time), `causal_picture.nc` over (time, token), `causal_collapse.nc`
over (beta, seed, time).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from .. import init, plots
from ..clusters import find_clusters
from ..growth import exponential_rate
from ..integrate import simulate
from ..model import Model
from ..plots.experiments import causal as figures
from ..saveat import SaveAt
from ..theory.rates import causal_collapse_rate
from ..theory.renyi import parking_count, renyi_centers, renyi_delta, strong_renyi_centers
from . import Section, experiment, quiet, save_datasets, steps

SIZES = {"quick": {"betas": (16.0, 64.0), "ns": (50, 200), "seeds": 3, "collapse_betas": (1.0,),
                   "collapse_seeds": 2},
         "full": {"betas": (9.0, 16.0, 36.0, 64.0, 100.0), "ns": (50, 200, 1000, 10_000), "seeds": 20,
                  "collapse_betas": (1.0, 2.0), "collapse_seeds": 20}}
TIMES = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
METASTABLE = 10.0  # the time of the table's cluster count: clusters formed (rate ~1 inside one), few merges yet
FIGURE = {"n": 200, "beta": 64.0, "seed": 1, "times": (0.0, 10.0, 75.0, 150.0, 300.0)}  # seed 1: 10 centres, 7 strong
COLLAPSE_N, COLLAPSE_T_END, COLLAPSE_WINDOW = 100, 150.0, (1e-12, 1e-6)
TOLERANCES = {"rtol": 1e-6, "atol": 1e-8}


def causal_run(beta: float, x0: np.ndarray, times, **tolerances) -> xr.Dataset:
    """SA with the causal mask on the circle from tokens x0 ((n, 2) or a batch (B, n, 2)), saved at `times`."""
    return simulate(Model("sa", beta, 2, mask="causal"), x0, t_end=float(times[-1]), method="dopri5",
                    saveat=SaveAt(ts=np.asarray(times)), observables=(), **(tolerances or TOLERANCES))


def counts(x: np.ndarray, beta: float) -> tuple[int, int, int, int]:
    """(clusters of >= 2 tokens, lone tokens, Rényi centres, strong Rényi centres) of tokens x (n, 2)."""
    found = find_clusters(x, radius=beta ** -0.5, contrast=1e-9, min_mass=0.0)
    return (found.count, int((found.labels < 0).sum()), len(renyi_centers(x, beta=beta)),
            len(strong_renyi_centers(x, beta=beta)))


def ensemble(beta: float, n: int, seeds: int) -> xr.Dataset:
    """`seeds` systems of n tokens: the counts at each time, and how far the start's strong Rényi centres and
    its other Rényi centres have moved by each time (max_k |x_k(t) - x_k(0)|)."""
    x0 = np.stack([init.uniform(n, 2, seed=10_000 * n + seed) for seed in range(seeds)])
    x = causal_run(beta, x0, TIMES).x.values  # (time, seed, token, component)
    table = np.array([[counts(x[t, s], beta) for t in range(len(TIMES))] for s in range(seeds)])
    moved = np.linalg.norm(x - x[:1], axis=-1)  # (time, seed, token)
    strong, other = np.zeros((seeds, len(TIMES))), np.zeros((seeds, len(TIMES)))
    for s in range(seeds):
        centres, firm = renyi_centers(x[0, s], beta=beta), strong_renyi_centers(x[0, s], beta=beta)
        loose = np.setdiff1d(centres, firm)
        strong[s] = moved[:, s, firm].max(axis=1)
        other[s] = moved[:, s, loose].max(axis=1) if len(loose) else 0.0
    names = ("clusters", "lone_tokens", "renyi", "strong_renyi")
    return xr.Dataset({name: (("seed", "time"), table[..., i]) for i, name in enumerate(names)}
                      | {"strong_moved": (("seed", "time"), strong), "renyi_moved": (("seed", "time"), other)},
                      coords={"seed": np.arange(seeds), "time": list(TIMES), "beta": beta, "n": n})


def picture() -> xr.Dataset:
    """The paper's picture: one run (FIGURE), the angles and which tokens are (strong) Rényi centres at each time."""
    beta = FIGURE["beta"]
    ds = causal_run(beta, init.uniform(FIGURE["n"], 2, seed=FIGURE["seed"]), FIGURE["times"])
    flags = {"renyi": np.zeros(ds.angle.shape, bool), "strong_renyi": np.zeros(ds.angle.shape, bool)}
    for t, x in enumerate(ds.x.values):
        flags["renyi"][t, renyi_centers(x, beta=beta)] = True
        flags["strong_renyi"][t, strong_renyi_centers(x, beta=beta)] = True
    return xr.Dataset({"angle": (("time", "token"), ds.angle.values)}
                      | {name: (("time", "token"), flag) for name, flag in flags.items()},
                      coords={"time": ds.time.values}, attrs={"beta": beta, "n": FIGURE["n"], "seed": FIGURE["seed"],
                                                              "delta": renyi_delta(beta)})


def collapse(betas, seeds: int) -> xr.Dataset:
    """Runs at small beta to COLLAPSE_T_END: max_i |x_i - x_1| at each time, its late-phase rate, and c/2 (R3)."""
    times = np.arange(COLLAPSE_T_END + 1)
    rows = []
    for beta in betas:
        x0 = np.stack([init.uniform(COLLAPSE_N, 2, seed=seed) for seed in range(seeds)])
        x = causal_run(beta, x0, times, rtol=1e-10, atol=1e-12).x.values
        distance = np.linalg.norm(x - x[:, :, :1], axis=-1).max(axis=-1)  # (time, seed)
        rates = [late_rate(times, distance[:, s]) for s in range(seeds)]
        rows.append(xr.Dataset({"distance": (("time", "seed"), distance), "rate": ("seed", rates),
                                "predicted_rate": causal_collapse_rate(beta, "sa")},
                               coords={"beta": beta, "time": times, "seed": np.arange(seeds)}))
    return xr.concat(rows, "beta").assign_attrs(n=COLLAPSE_N, window=list(COLLAPSE_WINDOW))


def late_rate(t: np.ndarray, distance: np.ndarray) -> float:
    """c in distance ~ C e^{-c t} over COLLAPSE_WINDOW (nan with fewer than 3 points there: not collapsed)."""
    late = (distance > COLLAPSE_WINDOW[0]) & (distance < COLLAPSE_WINDOW[1])
    return -exponential_rate(t, distance, late) if late.sum() >= 3 else math.nan


def results(scale: str, progress=quiet) -> xr.Dataset:
    """`ensemble` over (beta, n) of the scale, with Rényi's parking count per beta."""
    size = SIZES[scale]
    cases = [(beta, n) for beta in size["betas"] for n in size["ns"]]
    runs = [ensemble(beta, n, size["seeds"])
            for beta, n in steps(progress, cases, lambda c: f"β = {c[0]:g}, n = {c[1]}")]
    ds = xr.concat(runs, "case", coords="all").set_index(case=["beta", "n"]).unstack("case")
    ds = ds.transpose("beta", "n", "seed", "time")
    parking = [parking_count(float(beta)) for beta in ds.beta.values]
    return ds.assign(parking=("beta", parking)).assign_attrs(seeds=size["seeds"], metastable_time=METASTABLE,
                                                             delta="4 beta^-1/2", linking_radius="beta^-1/2")


def summary(ds: xr.Dataset) -> list[dict]:
    """The rows of summary.json, one per (beta, n): means over seeds."""
    at = ds.sel(time=ds.attrs["metastable_time"])
    rows = []
    for beta in ds.beta.values:
        for n in ds.n.values:
            start, meta, end = (d.sel(beta=beta, n=n) for d in (ds.isel(time=0), at, ds.isel(time=-1)))
            rows.append({"beta": float(beta), "n": int(n), "parking": float(ds.parking.sel(beta=beta)),
                         "renyi_start": float(start.renyi.mean()), "strong_start": float(start.strong_renyi.mean()),
                         "clusters_metastable": float(meta.clusters.mean()),
                         "lone_metastable": float(meta.lone_tokens.mean()),
                         "within_one": float((abs(meta.clusters - start.renyi) <= 1).mean()),
                         "clusters_end": float(end.clusters.mean()), "renyi_end": float(end.renyi.mean()),
                         "strong_moved": float(meta.strong_moved.max()), "renyi_moved": float(meta.renyi_moved.max()),
                         "strong_moved_end": float(end.strong_moved.max())})
    return rows


def _collapse_table(fall: xr.Dataset) -> list[str]:
    table = [f"| β | seeds collapsed by t = {float(fall.time[-1]):g} | median rate | rate range | derived c/2 |",
             "|---|---|---|---|---|"]
    for b in range(fall.sizes["beta"]):
        rates = fall.rate.values[b][np.isfinite(fall.rate.values[b])]
        fitted = f"{np.median(rates):.4f} | {rates.min():.3f}–{rates.max():.3f}" if len(rates) else "– | –"
        table.append(f"| {float(fall.beta[b]):g} | {len(rates)}/{fall.sizes['seed']} | {fitted} | "
                     f"{float(fall.predicted_rate[b]):.2g} |")
    return table


def markdown(ds: xr.Dataset, scene: xr.Dataset, fall: xr.Dataset) -> str:
    """The section's text and tables, every number from the Datasets."""
    rows = summary(ds)
    t_meta, t_end = ds.attrs["metastable_time"], float(ds.time[-1])
    table = [f"| β | n | parking (n → ∞) | Rényi, t = 0 | strong, t = 0 | clusters, t = {t_meta:g} | "
             f"lone, t = {t_meta:g} | within ±1 | clusters, t = {t_end:g} | strong moved | other Rényi moved |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    table += [f"| {r['beta']:g} | {r['n']} | {r['parking']:.2f} | {r['renyi_start']:.2f} | "
              f"{r['strong_start']:.2f} | {r['clusters_metastable']:.2f} | {r['lone_metastable']:.2f} | "
              f"{100 * r['within_one']:.0f}% | "
              f"{r['clusters_end']:.2f} | {r['strong_moved']:.2g} | {r['renyi_moved']:.2g} |" for r in rows]
    gap = np.array([r["clusters_metastable"] - r["renyi_start"] for r in rows])
    off = [f"β = {r['beta']:g}, n = {r['n']}" for r, g in zip(rows, gap) if abs(g) > 1]
    parking_gap = max(abs(r["renyi_start"] / r["parking"] - 1) for r in rows)
    late = np.array([r["clusters_end"] - r["strong_start"] for r in rows])
    meta = ds.sel(time=t_meta)
    start = ds.isel(time=0)
    more, fewer = float((meta.clusters > start.renyi).mean()), float((meta.clusters < start.renyi).mean())
    rates = fall.rate.values[np.isfinite(fall.rate.values)]
    median_error = abs(np.median(rates) / float(fall.predicted_rate.max()) - 1) if len(rates) else math.nan
    return (
        "SA with the causal mask (token i sees j ≤ i; docs/science.md §7) on the circle, V = I, "
        f"tokens i.i.d. uniform in order, {ds.attrs['seeds']} seeds per point (means over seeds). Clusters: "
        "`clusters.find_clusters` with linking radius β^{−1/2}, a cluster being a group of ≥ 2 tokens ('lone': "
        "tokens in none). Rényi centres: the tokens, scanned in order, farther than δ = 4β^{−1/2} from every "
        "centre kept before; strong Rényi centres: farther than δ from every earlier token (theory/renyi.py). "
        "'Parking': the n → ∞ mean number of Rényi centres on the circle, from Rényi's parking equation. "
        f"'Within ±1': the seeds whose cluster count at t = {t_meta:g} is within one of their Rényi count of the "
        f"start. 'Moved': the largest displacement by t = {t_meta:g} of a strong Rényi centre of the start, and "
        "of another Rényi centre.\n\n" + "\n".join(table) + "\n\n"
        f"**What agrees.** The Rényi count of the start is within {100 * parking_gap:.0f}% of the parking count at "
        f"every point. At t = {t_meta:g} the mean cluster count minus the mean Rényi count of the start lies between "
        f"{gap.min():+.2f} and {gap.max():+.2f}"
        + (": within one cluster at every point. " if not off else f", more than one cluster off at {'; '.join(off)}. ")
        + f"At t = {t_end:g} the mean cluster count minus the mean strong Rényi count of the start lies between "
        f"{late.min():+.2f} and {late.max():+.2f}. The strong Rényi centres of the start moved at most "
        f"{max(r['strong_moved'] for r in rows):.2g} by t = {t_meta:g} (the other Rényi centres up to "
        f"{max(r['renyi_moved'] for r in rows):.2g}), and up to {max(r['strong_moved_end'] for r in rows):.2g} "
        f"by t = {t_end:g}, as their clusters merged.\n\n"
        f"**What does not.** The Rényi centres predict the metastable clusters, they do not count them: at "
        f"t = {t_meta:g}, {100 * more:.0f}% of the runs have more clusters than Rényi centres (a cluster forms "
        f"between centres) and {100 * fewer:.0f}% fewer (a centre nothing follows stays a lone token, or two "
        "clusters have merged); clusters keep merging, so the count falls with time and the agreement depends on "
        "when one looks. Strong Rényi centres are stationary only until their clusters merge.\n\n"
        f"![The paper's picture (n = {scene.attrs['n']}, d = 2, β = {scene.attrs['beta']:g}): tokens on the circle "
        "at several times (token i at radius 1 + i/(4n): a cluster is a ray), Rényi centres in black and strong "
        f"Rényi centres in red, δ = 4β^{{−1/2}}; seed {scene.attrs['seed']}, whose start has both kinds, as the "
        "paper's has.](causal.png)\n\n"
        "**The collapse onto the first token.** Token 1 never moves; linearising at it, token i relaxes at rate "
        "c (1 − 1/i) and token 2's mode, the slowest, drives the others: max_i |x_i − x_1| ~ e^{−ct/2}, c = 1 "
        f"for SA (theory/rates.py, R3). Runs of n = {fall.attrs['n']} from uniform starts, the rate fitted where "
        f"{fall.attrs['window'][0]:g} < max_i |x_i − x_1| < {fall.attrs['window'][1]:g}:\n\n"
        + "\n".join(_collapse_table(fall)) + "\n\n"
        f"The median fitted rate is within {100 * median_error:.1f}% of c/2. A run whose token 2 joined token 1 "
        "long before the others shows a faster apparent rate (token 2's mode has died out and the next slowest, "
        "1 − 1/i, fills the window); a run still metastable at the end is not counted.\n\n"
        "![Left: mean cluster count against the mean Rényi count of the start, per (β, n); middle: the counts over "
        "time; right: max_i |x_i − x_1| over time in the collapse runs, with the slope −1/2.](causal_counts.png)\n")


@experiment("causal", order=360)
def run(out: Path, scale: str, progress=quiet) -> Section:
    ds = results(scale, progress)
    progress("the paper's picture and the collapse onto the first token")
    scene = picture()
    size = SIZES[scale]
    fall = collapse(size["collapse_betas"], size["collapse_seeds"])
    datasets = save_datasets(out, "causal", scale, {"causal": ds, "causal_picture": scene, "causal_collapse": fall})
    plots.save(figures.picture(scene), out / "causal.png")
    plots.save(figures.counts(ds, fall), out / "causal_counts.png")
    return Section("Causal attention: metastable clusters and Rényi centres", markdown(ds, scene, fall),
                   ["causal.png", "causal_counts.png"], {"causal": summary(ds)}, datasets)
