"""The sweep task `phase_diagram`: has a run collapsed to one cluster by time t? (docs/science.md §4)

n tokens (32 by default) i.i.d. uniform on S^{dim-1} follow SA (or USA); at `observations` equally
spaced times 0 .. t_end the task records the smallest pairwise inner product min_{i,j} <x_i, x_j>
and whether it exceeds `threshold` (0.999): "all tokens in one cluster". The (t, beta) phase
diagram is the mean of `clustered` over the seed dimension (`attnflow.plots.sweep.phase_diagram`).
"""

from __future__ import annotations

import numpy as np

from .. import init as initial
from ..errors import check
from ..integrate import simulate
from ..model import KINDS, Model
from .tasks import Output, Parameter, Task, register

RECORDS = ("clustered", "min_inner_product")
PARAMETERS = {
    "beta": Parameter("float", help="inverse temperature beta >= 0"),
    "dim": Parameter("int", help="ambient dimension d >= 2"),
    "n": Parameter("int", 32, "number of tokens"),
    "seed": Parameter("int", 0, "seed of the initial tokens"),
    "kind": Parameter("str", "sa", "sa or usa", choices=KINDS),
    "t_end": Parameter("float", 20.0, "last time of the diagram"),
    "observations": Parameter("int", 21, "times, equally spaced from 0 to t_end (>= 2)"),
    "threshold": Parameter("float", 0.999, "all pairwise inner products above it: one cluster"),
    "rtol": Parameter("float", 1e-6, "relative tolerance of dopri5"),
}


def check_point(p: dict, record) -> None:
    Model(kind=p["kind"], beta=p["beta"], dim=p["dim"])
    check(p["n"] >= 2, "n", p["n"], "an integer >= 2")
    check(p["seed"] >= 0, "seed", p["seed"], "an integer >= 0")
    check(p["t_end"] > 0, "t_end", p["t_end"], "a number > 0")
    check(p["observations"] >= 2, "observations", p["observations"], "an integer >= 2")
    check(-1 < p["threshold"] < 1, "threshold", p["threshold"], "a number in (-1, 1)")
    check(p["rtol"] > 0, "rtol", p["rtol"], "a number > 0")


def outputs(p: dict, record) -> dict[str, Output]:
    times = np.linspace(0.0, p["t_end"], p["observations"])
    return {name: Output(("time",), (p["observations"],), {"time": times}) for name in record}


def min_inner_product_over_time(x: np.ndarray) -> np.ndarray:
    """min_{i,j} <x_i, x_j> for each saved time of x (time, token, component)."""
    return np.einsum("tid,tjd->tij", x, x).min(axis=(1, 2))


def run(p: dict, record) -> dict[str, np.ndarray]:
    every = p["t_end"] / (p["observations"] - 1)
    model = Model(kind=p["kind"], beta=p["beta"], dim=p["dim"])
    ds = simulate(model, initial.uniform(p["n"], p["dim"], seed=p["seed"]), p["t_end"], method="dopri5",
                  rtol=p["rtol"], save_every=every, observe_every=every, observables=())
    smallest = min_inner_product_over_time(ds["x"].values)
    check(len(smallest) == p["observations"], "observations", p["observations"],
          f"a count that divides t_end evenly (got {len(smallest)} saved times)")
    values = {"min_inner_product": smallest, "clustered": (smallest > p["threshold"]).astype(np.float64)}
    return {name: values[name] for name in record}


register(Task("phase_diagram", PARAMETERS, records=RECORDS, default_record=RECORDS, run=run, outputs=outputs,
              check=check_point, help="single-cluster indicator over time, for (t, beta) phase diagrams"))
