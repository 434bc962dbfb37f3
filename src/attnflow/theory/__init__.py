"""What the theory predicts (SCIENCE.md §3–4), with NumPy/SciPy."""

from .linear import dominant_mode, growth_rates
from . import equiangular, long_context, rates  # SCIENCE.md §4: equiangular model, long context, rates

__all__ = ["dominant_mode", "growth_rates"]
