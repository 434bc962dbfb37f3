"""What the theory predicts (SCIENCE.md §3–4), with NumPy/SciPy."""

from .linear import dominant_mode, growth_rates

__all__ = ["dominant_mode", "growth_rates"]
