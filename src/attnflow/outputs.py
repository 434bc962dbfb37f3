"""Output paths that never cost a user their data.

Every store and file attnflow writes carries the attribute `attnflow_output` (what it holds:
"particle-run", "pde-run", "sweep"). attnflow deletes or replaces only paths that carry it,
and only when asked (`overwrite`); anything else at an output path is refused before any work
starts. Results are written under a temporary name beside the target and renamed into place
once complete (`publish`), so a target path never holds a half-written result.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .errors import ParameterError

MARK = "attnflow_output"


def written_by_attnflow(path) -> str | None:
    """The `attnflow_output` mark of the NetCDF file or Zarr store at `path`, or None if it has none
    (a path that does not exist, a user's file or folder, a file that cannot be read)."""
    path = Path(path)
    try:
        if path.is_dir():
            for name in (".zattrs", "zarr.json"):
                if (path / name).is_file():
                    attrs = json.loads((path / name).read_text())
                    attrs = attrs.get("attributes", attrs)
                    return attrs.get(MARK) if isinstance(attrs.get(MARK), str) else None
            return None
        if path.is_file() and path.suffix == ".nc":
            import h5py
            with h5py.File(path, "r") as handle:
                mark = handle.attrs.get(MARK)
            return mark.decode() if isinstance(mark, bytes) else (str(mark) if mark is not None else None)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None


def check_writable_parent(path: Path, parameter: str) -> None:
    """The folder that will hold `path` exists and can be written."""
    parent = path.resolve().parent
    if not parent.is_dir():
        raise ParameterError(parameter, str(path), f"a path in an existing folder ({parent} does not exist)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(parameter, str(path), f"a path in a writable folder ({parent} is not writable)")


def check_target(path: Path, parameter: str, kind: str, overwrite: bool) -> None:
    """Refuse `path` if it holds anything but an attnflow result of `kind` that may be overwritten."""
    if not (path.exists() or path.is_symlink()):
        return
    mark = written_by_attnflow(path)
    if mark is None:
        what = "folder" if path.is_dir() else "file"
        raise ParameterError(parameter, str(path), f"a new path: an existing {what} that attnflow did not write is "
                                                   "there, and attnflow never deletes or overwrites it")
    if mark != kind:
        raise ParameterError(parameter, str(path), f"a new path: it holds an attnflow {mark}, not a {kind}")
    if not overwrite:
        raise ParameterError(parameter, str(path), "a new path: it holds an earlier attnflow result; "
                                                   "pass --overwrite (overwrite=True) to replace it")


def remove(path: Path, kind: str) -> None:
    """Delete `path` if it is an attnflow result of `kind` (and only then)."""
    if written_by_attnflow(path) != kind:
        raise ParameterError("out", str(path), f"an attnflow {kind} (refusing to delete what attnflow did not write)")
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def publish(temporary: Path, target: Path, kind: str) -> None:
    """Move the complete result `temporary` to `target`, replacing an attnflow result of `kind` there.

    A file replaces a file atomically (os.replace); a store folder replacing an old one is swapped
    through a third name, so at every moment `target` holds either the old or the new result."""
    if target.exists() and target.is_dir():
        retired = target.with_name(f".{target.name}.replaced-{os.getpid()}")
        if written_by_attnflow(target) != kind:
            raise ParameterError("out", str(target), f"an attnflow {kind} (refusing to replace it)")
        target.rename(retired)
        temporary.rename(target)
        shutil.rmtree(retired)
    else:
        if target.exists() and written_by_attnflow(target) != kind:
            raise ParameterError("out", str(target), f"an attnflow {kind} (refusing to replace it)")
        os.replace(temporary, target)
