"""Test-wide settings: a non-interactive matplotlib, and one torch thread per test process
(pytest runs with -n 2 on 2 cores: two threads per process would oversubscribe the machine)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
