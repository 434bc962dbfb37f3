"""Run every benchmark in this folder and write their tables to benchmarks/RESULTS.md.

    python benchmarks/run.py            # all benchmarks
    python benchmarks/run.py particles  # only some: their sections are replaced, the others kept
Each benchmark module has a main() that prints Markdown; ratios are measured side by side in one run.
Each section in RESULTS.md sits between <!-- name --> and <!-- /name --> with its own machine and date.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import platform
import re
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
MODULES = ("particles", "pde", "sweep", "statistics", "busy", "small", "ensembles", "sphere", "causal")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}")


def sections(text: str) -> dict[str, str]:
    """The marked sections of an existing RESULTS.md, by module name."""
    return dict(re.findall(r"<!-- (\w+) -->\n(.*?)<!-- /\1 -->", text, flags=re.S))


def main(names: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    chosen = names or [m for m in MODULES if (HERE / f"{m}.py").exists()]
    results = HERE / "RESULTS.md"
    kept = sections(results.read_text()) if results.exists() else {}
    for name in chosen:
        buffer = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(buffer):
            importlib.import_module(name).main()
        kept[name] = (f"_Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. Command: "
                      f"`python benchmarks/run.py {name}` ({time.perf_counter() - start:.0f} s)._\n\n"
                      + buffer.getvalue())
        print(kept[name], flush=True)
        write(results, kept)  # after every benchmark: a later failure keeps the finished ones


def write(results: Path, kept: dict[str, str]) -> None:
    order = [m for m in MODULES if m in kept] + [m for m in kept if m not in MODULES]
    results.write_text("# Benchmark results\n\n" + "\n".join(f"<!-- {m} -->\n{kept[m]}<!-- /{m} -->\n"
                                                             for m in order))


if __name__ == "__main__":
    main(sys.argv[1:])
