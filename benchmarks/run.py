"""Run every benchmark in this folder and write their tables to benchmarks/RESULTS.md.

    python benchmarks/run.py            # all benchmarks
    python benchmarks/run.py particles  # only some
Each benchmark module has a main() that prints Markdown; ratios are measured side by side in one run.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
MODULES = ("particles", "pde", "sweep")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}")


def main(names: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    chosen = names or [m for m in MODULES if (HERE / f"{m}.py").exists()]
    parts = [f"# Benchmark results\n\nMachine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. "
             f"Command: `python benchmarks/run.py {' '.join(names)}`.\n"]
    for name in chosen:
        buffer = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(buffer):
            importlib.import_module(name).main()
        parts.append(buffer.getvalue() + f"\n_({name}: {time.perf_counter() - start:.0f} s)_\n")
        print(parts[-1], flush=True)
    (HERE / "RESULTS.md").write_text("\n".join(parts))


if __name__ == "__main__":
    main(sys.argv[1:])
