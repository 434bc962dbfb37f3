"""What the theory predicts (SCIENCE.md §3–4), with NumPy/SciPy."""

from .linear import dominant_mode, growth_rates
from . import equiangular  # noqa: E402  (equiangular model, SCIENCE.md §4)

__all__ = ["dominant_mode", "growth_rates"]
