"""Figure files: written marked as attnflow's, and never over a file attnflow did not write."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from ..errors import ParameterError
from ..outputs import check_writable_parent

FIGURE_FORMATS = {".png": "Software", ".pdf": "Creator", ".svg": "Creator"}  # format: its metadata key
FIGURE_MARK = "attnflow figure"


def figure_written_by_attnflow(path) -> bool:
    """True if the image at `path` carries attnflow's metadata mark (see `save`)."""
    try:
        with open(path, "rb") as handle:
            return FIGURE_MARK.encode() in handle.read(1 << 22)
    except OSError:
        return False


def check_figure_path(path, parameter: str) -> Path:
    """Before any work: an image path with a known extension, in a writable folder, and not a file
    that attnflow did not write (attnflow replaces only its own figures)."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_FORMATS:
        raise ParameterError(parameter, str(path), f"an image path ending in {', '.join(FIGURE_FORMATS)}")
    check_writable_parent(path, parameter)
    if path.is_dir() or (path.exists() and not figure_written_by_attnflow(path)):
        raise ParameterError(parameter, str(path), "a new path: something attnflow did not write is there, and "
                                                   "attnflow never overwrites it")
    return path


def save(figure, path) -> None:
    """Write `figure` (tight layout unless it has its own layout engine, 110 dpi, marked as attnflow's in
    its metadata) and close it."""
    path = Path(path)
    if figure.get_layout_engine() is None:
        figure.tight_layout()
    key = FIGURE_FORMATS.get(path.suffix.lower())
    figure.savefig(path, dpi=110, metadata={key: FIGURE_MARK} if key else None)
    plt.close(figure)
