"""The generic sweep task `simulate`: one `attnflow.simulate` run per grid point.

Records, at `observations` equally spaced times 0 .. t_end (dim `time`), any of the observables of
`simulate` ("modes": |mu_k| = sqrt(S_k), k = 1..kmax, docs/science.md §3; "energy": E_beta, §1;
"order_parameter": |mean x|), and/or "final_state": the tokens at t_end (dims `token`, `component`;
padded with NaN up to the largest n of the grid).
"""

from __future__ import annotations

import math

import numpy as np

from .. import init as initial
from ..errors import AttnflowError, check
from ..integrate import METHODS, simulate
from ..interaction import ENGINES, choose_engine
from ..model import KINDS, Model
from ..normalization import NORMS
from .tasks import Output, Parameter, Task, register

INITS = ("uniform", "clusters", "equiangular")
OBSERVABLE = {"modes": "mode_amplitude", "energy": "energy", "order_parameter": "order_parameter"}

PARAMETERS = {
    "kind": Parameter("str", "usa", "usa or sa", choices=KINDS),
    "beta": Parameter("float", help="inverse temperature beta >= 0"),
    "dim": Parameter("int", 2, "ambient dimension d >= 2"),
    "n": Parameter("int", help="number of tokens"),
    "norm": Parameter("str", "post", "the normalisation scheme: " + ", ".join(NORMS), choices=NORMS),
    "diffusion": Parameter("float", 0.0, "noise strength D >= 0 (method euler)"),
    "init": Parameter("str", "uniform", "initial tokens", choices=INITS),
    "clusters": Parameter("int", 3, "groups for init clusters"),
    "spread": Parameter("float", 0.1, "angular spread for init clusters"),
    "rho": Parameter("float", 0.0, "common inner product for init equiangular"),
    "t_end": Parameter("float", help="final time > 0"),
    "dt": Parameter("float", None, "time step (euler, rk4) or first step (dopri5)", optional=True),
    "method": Parameter("str", "rk4", "euler, rk4 or dopri5", choices=METHODS),
    "rtol": Parameter("float", 1e-6, "relative tolerance of dopri5"),
    "atol": Parameter("float", 1e-9, "absolute tolerance of dopri5"),
    "engine": Parameter("str", None, "dense or circle (default: automatic)", optional=True, choices=ENGINES),
    "seed": Parameter("int", 0, "seed of the initial tokens and of the noise"),
    "kmax": Parameter("int", 10, "highest mode recorded by modes"),
    "observations": Parameter("int", 2, "recorded times, equally spaced from 0 to t_end (>= 2)"),
}


def _model(p: dict) -> Model:
    return Model(kind=p["kind"], beta=p["beta"], dim=p["dim"], norm=p["norm"], diffusion=p["diffusion"])


def check_point(p: dict, record) -> None:
    """Reject a point before the sweep starts (the checks `simulate` would make, and the time grid)."""
    model = _model(p)
    choose_engine(model, p["engine"])
    check(p["n"] >= 1, "n", p["n"], "an integer >= 1")
    check(p["t_end"] > 0, "t_end", p["t_end"], "a number > 0")
    check(p["observations"] >= 2, "observations", p["observations"], "an integer >= 2 (times 0 and t_end at least)")
    check(p["kmax"] >= 1, "kmax", p["kmax"], "an integer >= 1")
    check(p["seed"] >= 0, "seed", p["seed"], "an integer >= 0")
    if p["method"] in ("euler", "rk4"):
        check(p["dt"] is not None and p["dt"] > 0, "dt", p["dt"], f"a number > 0 (required by {p['method']})")
        strides = p["t_end"] / (p["observations"] - 1) / p["dt"]
        check(abs(strides - round(strides)) < 1e-6 and round(strides) >= 1, "dt", p["dt"],
              f"a divisor of t_end/(observations-1) = {p['t_end'] / (p['observations'] - 1):g}")
    check(p["diffusion"] == 0 or p["method"] == "euler", "method", p["method"], "euler when diffusion > 0")
    if p["init"] == "equiangular":
        check(p["dim"] >= p["n"], "dim", p["dim"], f"an integer >= n = {p['n']} for init equiangular")


def outputs(p: dict, record) -> dict[str, Output]:
    times = {"time": np.linspace(0.0, p["t_end"], p["observations"])}
    layout = {}
    for name in record:
        if name == "modes":
            layout[name] = Output(("time", "mode"), (p["observations"], p["kmax"]),
                                  {**times, "mode": np.arange(1, p["kmax"] + 1)})
        elif name == "final_state":
            layout[name] = Output(("token", "component"), (p["n"], p["dim"]))
        else:
            layout[name] = Output(("time",), (p["observations"],), times)
    return layout


def initial_tokens(p: dict):
    if p["init"] == "clusters":
        return initial.clusters(p["n"], p["dim"], p["clusters"], spread=p["spread"], seed=p["seed"])
    if p["init"] == "equiangular":
        return initial.equiangular(p["n"], p["rho"], dim=p["dim"], seed=p["seed"])
    return initial.uniform(p["n"], p["dim"], seed=p["seed"])


def run(p: dict, record) -> dict[str, np.ndarray]:
    every = p["t_end"] / (p["observations"] - 1)
    wanted = tuple(name for name in OBSERVABLE if name in record)
    ds = simulate(_model(p), initial_tokens(p), p["t_end"], dt=p["dt"], method=p["method"], save_every=every,
                  observe_every=every, engine=p["engine"], rtol=p["rtol"], atol=p["atol"], seed=p["seed"],
                  kmax=p["kmax"], observables=wanted)
    results = {}
    for name in wanted:
        values = ds[OBSERVABLE[name]]
        if values.sizes["obs_time"] != p["observations"] or not math.isclose(
                float(values["obs_time"][-1]), p["t_end"], rel_tol=1e-9):
            raise AttnflowError(f"observables recorded at {values.sizes['obs_time']} times, expected "
                                f"{p['observations']} from 0 to t_end")
        results[name] = values.values
    if "final_state" in record:
        results["final_state"] = ds["x"].isel(time=-1).values
    return results


register(Task("simulate", PARAMETERS, records=(*OBSERVABLE, "final_state"), default_record=("modes", "energy"),
              run=run, outputs=outputs, check=check_point,
              help="any attnflow.simulate run; observables at equally spaced times and/or the final state"))
