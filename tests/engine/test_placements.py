"""``cpu`` and ``auto`` placements with real worker processes."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

import pytest

import juggler
from juggler import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _burn(x: int) -> int:
    deadline = time.thread_time() + 0.02
    acc = x
    while time.thread_time() < deadline:
        acc = (acc * 31 + 7) % 1_000_003
    return x


def _nap(x: int) -> int:
    time.sleep(0.02)
    return x


def _fail_once_per_item(job: tuple[str, int]) -> int:
    directory, x = job
    marker = os.path.join(directory, str(x))
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise ConnectionError(f"first try of {x}")
    return x


def test_cpu_stage_runs_in_other_processes_and_keeps_order() -> None:
    """Items run in worker processes (not this one) and results keep input order."""
    report = juggler.Pipeline(juggler.cpu(_pid_and_square), workers=2).run(range(300))
    pids = {pid for pid, _ in report.results}
    assert os.getpid() not in pids
    assert [sq for _, sq in report.results] == [x * x for x in range(300)]


def test_cpu_stage_retries_user_errors(tmp_path: Path) -> None:
    """A user exception in a worker follows the stage's retries, like any placement."""
    stage = juggler.cpu(_fail_once_per_item, retries=1, backoff_base_s=0.01)
    report = juggler.Pipeline(stage, workers=2).run((str(tmp_path), x) for x in range(5))
    assert report.results == list(range(5))
    assert report.stage("_fail_once_per_item").retried == 5


def test_cpu_stage_needs_an_importable_function() -> None:
    """Lambdas cannot reach a spawned worker: refused when the stage is built."""
    with pytest.raises(ConfigError, match="module level"):
        juggler.cpu(lambda x: x)


def test_auto_moves_gil_bound_work_to_processes() -> None:
    """Pure-Python CPU work declared ``auto`` is measured and moved; the report says why."""
    report = juggler.Pipeline(juggler.auto(_burn), workers=2).run(range(60))
    assert report.results == list(range(60))
    stage = report.stage("_burn")
    assert stage.placement == "auto→cpu"
    assert stage.decision is not None
    assert stage.decision.startswith("moved to processes")


def test_auto_keeps_io_bound_work_in_threads() -> None:
    """Sleeping work uses no CPU: it stays in threads, and the decision records it."""
    report = juggler.Pipeline(juggler.auto(_nap)).run(range(30))
    stage = report.stage("_nap")
    assert stage.placement == "auto"
    assert stage.decision is not None
    assert "waiting on I/O" in stage.decision


def test_auto_with_an_unimportable_function_stays_in_threads() -> None:
    """GIL-bound but not importable by a worker: stays, and the decision explains why."""

    def local_burn(x: int) -> int:
        return _burn(x)

    report = juggler.Pipeline(juggler.auto(local_burn)).run(range(20))
    decision = report.stage("local_burn").decision
    assert decision is not None
    assert "cannot be imported" in decision


class _HoldsALock(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()  # cannot be pickled back to the parent


def _raise_unpicklable(x: int) -> int:
    raise _HoldsALock(f"item {x} broke")


def test_unpicklable_exception_from_a_worker_keeps_its_name() -> None:
    """An exception that cannot cross the pipe is still reported by its own type and text."""
    stage = juggler.cpu(_raise_unpicklable, on_error="skip")
    report = juggler.Pipeline(stage, workers=1).run([7])
    [failure] = report.failures
    assert failure.error_type == "_HoldsALock"
    assert "item 7 broke" in failure.message
