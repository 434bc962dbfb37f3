"""Figures: every figure attnflow draws, from arrays or Datasets (matplotlib).

The backend is set here, once for the package: Agg (files, no display) unless the user chose one,
by `MPLBACKEND` (a notebook's inline backend, for one) or by importing `matplotlib.pyplot` first.

* `particles`: tokens over time, on S², angle histograms, growth rates and mode amplitudes
  (`trajectories`, `sphere_map`, `angle_histogram`, `growth_rate_plot`, `mode_amplitudes`);
* `pde`: density snapshots, the space–time map and mode growth of a PDE run;
* `sweep`: the figures of a sweep store (`plot_store`);
* `experiments`: one module per experiment of `attnflow reproduce`, drawing from its Datasets;
* `files`: `save` (marked as attnflow's), `check_figure_path`, `figure_written_by_attnflow`.
"""

import os
import sys

import matplotlib

if "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

from .files import check_figure_path, figure_written_by_attnflow, save  # noqa: E402
from .particles import angle_histogram, growth_rate_plot, mode_amplitudes, sphere_map, trajectories  # noqa: E402

__all__ = ["angle_histogram", "check_figure_path", "figure_written_by_attnflow", "growth_rate_plot",
           "mode_amplitudes", "save", "sphere_map", "trajectories"]
