"""The Axes a figure helper draws on: the caller's, or one of a new figure."""

import matplotlib.pyplot as plt


def axes_or_new(ax, size=(6, 4)):
    """`ax`, or the Axes of a new figure of `size` (inches) when `ax` is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax
