"""Test-wide settings: a non-interactive matplotlib, and one torch thread per test process
(pytest runs with -n 2 on 2 cores: two threads per process would oversubscribe the machine)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def product_shapes(monkeypatch):
    """The shapes of the results of torch.bmm and torch.baddbmm called during the test, in order (a list the test
    may clear): the blocks of weights the dense engine computes."""
    shapes = []

    def recorded(original):
        def call(*args, **kwargs):
            result = original(*args, **kwargs)
            shapes.append(tuple(result.shape))
            return result
        return call

    for name in ("bmm", "baddbmm"):
        monkeypatch.setattr(torch, name, recorded(getattr(torch, name)))
    return shapes
