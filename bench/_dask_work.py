"""Functions bench/dask_backend.py runs on Dask workers (imported there by reference)."""

from __future__ import annotations

import time


def noop(x: int) -> int:
    return x


def burn_20ms(x: int) -> int:
    """About 20 ms of pure-Python CPU work on this thread."""
    deadline = time.thread_time() + 0.02
    acc = 0
    while time.thread_time() < deadline:
        for i in range(100):
            acc += i
    return x
