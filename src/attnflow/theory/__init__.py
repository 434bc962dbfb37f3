"""What the theory predicts (docs/science.md §3–4), with NumPy/SciPy."""

from ..spectrum import funk_hecke_factor, growth_rates  # the kernel's spectrum: the linear rates
from .basins import PredictedClusters, harmonic_dimension, linear_phase_end, linear_potential, predicted_clusters
from .linear import (DominantModeInterval, dominant_mode, dominant_mode_table, emergence_time, finite_n_mode,
                     harmonic_component, mode_transition, predicted_angles, predicted_sites)
from .second_order import second_order_modes
from . import equiangular, kuramoto, long_context, rates  # docs/science.md §4
from . import noise, stationary  # docs/science.md §6
from . import renyi  # docs/science.md §7

__all__ = ["DominantModeInterval", "PredictedClusters", "dominant_mode", "dominant_mode_table", "emergence_time",
           "finite_n_mode", "funk_hecke_factor", "growth_rates", "harmonic_component", "harmonic_dimension",
           "linear_phase_end", "linear_potential", "mode_transition", "predicted_angles", "predicted_clusters", "predicted_sites",
           "second_order_modes"]
