"""Runtime test fixtures: Dask's process-wide helper thread belongs in every baseline."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _dask_offload_thread() -> None:
    """``distributed`` keeps one offload thread for the interpreter's lifetime, by design
    (like the forkserver): start it before the leak check takes its first baseline."""
    from distributed.utils import _offload_executor

    _offload_executor.submit(lambda: None).result()
