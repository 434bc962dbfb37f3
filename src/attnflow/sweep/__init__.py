"""Parameter sweeps on Dask, resumable, into one Zarr store (docs/sweep.md).

    from attnflow.sweep import run_sweep
    report = run_sweep("examples/cluster_count.yaml", out="clusters.zarr")   # LocalCluster
    report = run_sweep(spec, out="s.zarr", scheduler="tcp://10.0.0.1:8786") # an existing cluster
    ds = xarray.open_zarr("clusters.zarr")                                    # also while it runs

`spec.py` parses and validates the description, `tasks.py` is the open registry of tasks
(`simulation.py`, `cluster_count.py`, `phase_diagram.py` are the built-in ones), `store.py`
the Zarr store and its resume bookkeeping, `runner.py` the Dask side; the figures are in `attnflow.plots.sweep`.
"""

from .runner import Failure, SweepReport, execute, local_cluster, run_sweep
from .spec import Axis, Spec, SpecError, load_spec, parse_spec
from .store import DONE, FAILED, PENDING, SweepStore, plan
from .tasks import TASKS, Output, Parameter, Task, get, register

__all__ = ["Axis", "DONE", "FAILED", "Failure", "Output", "PENDING", "Parameter", "Spec", "SpecError",
           "SweepReport", "SweepStore", "TASKS", "Task", "execute", "get", "load_spec", "local_cluster",
           "parse_spec", "plan", "register", "run_sweep"]
