"""The sweep task `cluster_count`: how many clusters at the first metastable time (docs/science.md §3).

Tokens start i.i.d. uniform on the circle; the dominant mode k* = argmax_k gamma_k(beta, 2) leaves
the linear phase near t_lin = log(sqrt(n)) / gamma_{k*} (its amplitude grows from about n^{-1/2} to
O(1)); the task simulates up to `multiple` * t_lin and counts the clusters there with
`attnflow.clusters.find_clusters`. The theory predicts k* equally spaced clusters.
"""

from __future__ import annotations

import math

import numpy as np

from .. import init as initial
from ..clusters import find_clusters
from ..errors import check
from ..integrate import simulate
from ..model import KINDS, Model
from ..theory import dominant_mode, growth_rates
from .tasks import Output, Parameter, Task, register

RECORDS = ("cluster_count", "dominant_mode", "t_observed")
PARAMETERS = {
    "beta": Parameter("float", help="inverse temperature beta > 0"),
    "n": Parameter("int", help="number of tokens (>= 2)"),
    "seed": Parameter("int", 0, "seed of the initial tokens"),
    "kind": Parameter("str", "usa", "usa or sa", choices=KINDS),
    "multiple": Parameter("float", 2.5, "observation time in units of t_lin = log(sqrt n) / gamma_k*"),
    "rtol": Parameter("float", 1e-6, "relative tolerance of dopri5"),
    "radius": Parameter("float", 0.2, "linking radius (rad) of find_clusters"),
    "min_mass": Parameter("float", 0.01, "smallest cluster mass counted"),
}


def metastable_time(beta: float, n: int, kind: str, multiple: float) -> float:
    """multiple * log(sqrt(n)) / gamma_{k*}(beta, 2) (docs/science.md §3, "When")."""
    k_star = dominant_mode(beta, 2)
    return multiple * math.log(math.sqrt(n)) / growth_rates(beta, 2, k_star, kind=kind)[-1]


def check_point(p: dict, record) -> None:
    check(p["beta"] > 0, "beta", p["beta"], "a number > 0 (at beta = 0 no mode k >= 2 grows)")
    check(p["n"] >= 2, "n", p["n"], "an integer >= 2")
    check(p["seed"] >= 0, "seed", p["seed"], "an integer >= 0")
    check(p["multiple"] > 0, "multiple", p["multiple"], "a number > 0")
    check(p["rtol"] > 0, "rtol", p["rtol"], "a number > 0")
    check(p["radius"] > 0, "radius", p["radius"], "a number > 0")
    check(0 < p["min_mass"] <= 1, "min_mass", p["min_mass"], "a number in (0, 1]")


def outputs(p: dict, record) -> dict[str, Output]:
    return {name: Output() for name in record}


def run(p: dict, record) -> dict[str, np.ndarray]:
    t = metastable_time(p["beta"], p["n"], p["kind"], p["multiple"])
    ds = simulate(Model(kind=p["kind"], beta=p["beta"], dim=2), initial.uniform(p["n"], 2, seed=p["seed"]), t,
                  method="dopri5", rtol=p["rtol"], save_every=t, observe_every=t, observables=())
    found = find_clusters(ds["x"].isel(time=-1).values, radius=p["radius"], min_mass=p["min_mass"])
    values = {"cluster_count": found.count, "dominant_mode": dominant_mode(p["beta"], 2), "t_observed": t}
    return {name: np.asarray(values[name], dtype=np.float64) for name in record}


register(Task("cluster_count", PARAMETERS, records=RECORDS, default_record=RECORDS, run=run, outputs=outputs,
              check=check_point, help="clusters on the circle at the first metastable time vs the predicted k*"))
