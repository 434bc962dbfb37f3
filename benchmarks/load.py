"""The "busy machine" of the benchmarks: other processes keeping every core busy, started by the benchmark.

`busy()` runs one pure-Python busy loop per core (each ends by itself after LOAD_SECONDS, and is killed when the
block ends); `quiet_and_busy(measure)` returns measure() without and with that load.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

LOAD_SECONDS = 600


@contextlib.contextmanager
def busy(processes: int | None = None):
    """`processes` (default: one per core) pure-Python busy loops, bounded in time, killed on exit."""
    code = f"import time\nend = time.time() + {LOAD_SECONDS}\nwhile time.time() < end:\n    pass\n"
    loops = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(processes or os.cpu_count())]
    try:
        time.sleep(0.5)  # the loops are running
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def quiet_and_busy(measure):
    """(measure() on the machine as it is, measure() with `busy()` load)."""
    quiet = measure()
    with busy():
        return quiet, measure()


DESCRIPTION = "busy: one busy-loop process per core started by the benchmark (`benchmarks/load.py`)"
