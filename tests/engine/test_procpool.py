"""Functional tests of the supervised process pool (real worker processes, no signals sent)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar

import psutil
import pytest

from juggler.engine._backends._procpool import (
    FileRange,
    ProcessPool,
    check_importable,
    sigterm_as_sigint,
)
from juggler.engine._backends._procpool._faults import (
    Fault,
    burn,
    digest,
    noop,
    read_range,
    run_with_faults,
)
from juggler.engine._backends._procpool._protocol import FrameReader, encode_frame
from juggler.engine._backends._procpool._state import Job
from juggler.engine._backends._procpool._supervisor import _enlarge_pipe
from juggler.engine._backends._protocol import Failed, Ok, Raised
from juggler.engine._errors import ConfigError, ItemTimeout, PoisonItem, PoolClosed
from tests.pool_helpers import ids, plain, run

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

T = TypeVar("T")


def double(x: int) -> int:
    return 2 * x


class _StageLike:
    """What a placement decorator leaves at module level in place of the function."""

    def __init__(self, fn: Callable[[int], int]) -> None:
        self.fn = fn


def triple(x: int) -> int:
    return 3 * x


_plain_triple = triple
triple = _StageLike(triple)  # type: ignore[assignment]


def _assert_gone(pids: tuple[int, ...]) -> None:
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie", pid


def test_results_come_back_in_order_and_workers_exit() -> None:
    """Every item gets ``Ok(fn(item))`` in input order; aclose leaves no worker behind."""

    async def body() -> tuple[int, ...]:
        async with ProcessPool(workers=2) as pool:
            assert pool.workers == 2
            items = list(range(3000))
            outcomes = await pool.run_many(double, items, item_ids=ids(3000), timeout_s=None)
            assert plain(outcomes) == [Ok(2 * i) for i in items]
            stats = pool.statistics()
            assert len(stats.worker_pids) == 2
            assert stats.items_done == 3000
            assert stats.deaths == 0
            assert stats.batch_size_mean > 4, "adaptive batching did not grow batches"
            return stats.worker_pids

    pids = run(body)
    _assert_gone(pids)


def test_exceptions_are_raised_outcomes_not_crashes() -> None:
    """R5: user exceptions come back as ``Raised`` with a traceback; no worker dies."""

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            items: list[Any] = [1, Fault("raise", key=1), 3, Fault("raise", key=2)]
            outcomes = await pool.run_many(run_with_faults, items, item_ids=ids(4), timeout_s=None)
            assert plain(outcomes)[0] == Ok(digest(1))
            assert plain(outcomes)[2] == Ok(digest(3))
            for outcome in (outcomes[1], outcomes[3]):
                assert isinstance(outcome, Raised)
                assert isinstance(outcome.error, ValueError)
                assert "run_with_faults" in outcome.traceback
            stats = pool.statistics()
            assert stats.deaths == 0
            assert stats.restarts == 0

    run(body)


def test_check_importable_rejects_what_a_worker_cannot_import() -> None:
    """Lambdas and local functions raise ConfigError before any item runs."""

    def local(x: int) -> int:
        return x

    with pytest.raises(ConfigError, match="lambda or local"):
        check_importable(lambda x: x)
    with pytest.raises(ConfigError, match="lambda or local"):
        check_importable(local)
    assert check_importable(double).qualname == "double"

    async def body() -> None:
        pool = ProcessPool(workers=1)
        with pytest.raises(ConfigError):
            await pool.run_many(local, [1], item_ids=["a"], timeout_s=None)
        await pool.aclose()

    run(body)


def test_stage_wrapper_at_module_level_is_unwrapped_in_the_worker() -> None:
    """A Stage-like object with ``.fn`` under the function's name resolves to ``.fn``."""

    async def body() -> None:
        async with ProcessPool(workers=1) as pool:
            outcomes = await pool.run_many(_plain_triple, [1, 2], item_ids=ids(2), timeout_s=None)
            assert plain(outcomes) == [Ok(3), Ok(6)]

    run(body)


def test_constructor_rejects_fork_and_bad_values() -> None:
    """``fork`` is never allowed; nonsense sizes are ConfigError."""
    with pytest.raises(ConfigError, match="fork"):
        ProcessPool(start_method="fork")
    with pytest.raises(ConfigError):
        ProcessPool(workers=0)
    with pytest.raises(ConfigError):
        ProcessPool(max_worker_deaths=0)
    with pytest.raises(ConfigError):
        ProcessPool(batch_size=0)


def test_unpicklable_item_and_result_affect_only_their_item() -> None:
    """An item or a result that cannot be pickled is ``Raised(PicklingError)``, alone."""

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            items: list[Any] = [1, threading.Lock(), Fault("unpicklable_result"), 4]
            outcomes = await pool.run_many(run_with_faults, items, item_ids=ids(4), timeout_s=None)
            assert plain(outcomes)[0] == Ok(digest(1))
            assert plain(outcomes)[3] == Ok(digest(4))
            for outcome in outcomes[1:3]:
                assert isinstance(outcome, Raised)
                assert isinstance(outcome.error, pickle.PicklingError)
            assert pool.statistics().deaths == 0

    run(body)


def test_spawn_start_method_and_file_range_by_reference(tmp_path: Path) -> None:
    """``spawn`` works too; a FileRange is read by the worker, not pickled as bytes."""
    data = bytes(range(256)) * 40
    path = tmp_path / "log.bin"
    path.write_bytes(data)
    ranges = [FileRange(str(path), start, min(start + 1000, len(data))) for start in (0, 5000)]
    assert len(pickle.dumps(ranges[0])) < 200

    async def body() -> None:
        async with ProcessPool(workers=1, start_method="spawn") as pool:
            outcomes = await pool.run_many(read_range, ranges, item_ids=ids(2), timeout_s=None)
            assert plain(outcomes) == [Ok(data[0:1000]), Ok(data[5000:6000])]

    run(body)
    with pytest.raises(ConfigError):
        FileRange(str(path), 10, 5)


def test_timeout_inside_a_batch_kills_only_that_item() -> None:
    """A hanging item in a batch times out alone; the others of its batch finish."""

    async def body() -> None:
        async with ProcessPool(workers=1, batch_size=8) as pool:
            items: list[Any] = [0, 1, 2, Fault("hang"), 4, 5, 6, 7]
            started = time.monotonic()
            outcomes = await pool.run_many(run_with_faults, items, item_ids=ids(8), timeout_s=0.5)
            elapsed = time.monotonic() - started
            assert isinstance(outcomes[3], Failed)
            assert isinstance(outcomes[3].error, ItemTimeout)
            assert outcomes[3].error.item_id == "item-3"
            assert [o for i, o in enumerate(plain(outcomes)) if i != 3] == [
                Ok(digest(i)) for i in (0, 1, 2, 4, 5, 6, 7)
            ]
            assert 0.5 <= elapsed < 1.5
            stats = pool.statistics()
            assert (stats.deaths, stats.kills, stats.timeouts) == (0, 1, 1)

    run(body)


def test_cancelling_run_many_kills_its_workers_and_the_pool_goes_on() -> None:
    """Cancellation kills the workers running the items; replacements serve the next call."""

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            before = set(pool.statistics().worker_pids)
            task = asyncio.create_task(
                pool.run_many(
                    run_with_faults,
                    [Fault("hang", key=i) for i in range(4)],
                    item_ids=ids(4),
                    timeout_s=None,
                )
            )
            await pool.wait_until(lambda s: s.busy == 2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            stats = await pool.wait_until(lambda s: s.idle == 2)
            assert not before & set(stats.worker_pids)
            assert stats.deaths == 0
            assert stats.kills == 2
            outcomes = await pool.run_many(double, [5], item_ids=["x"], timeout_s=None)
            assert plain(outcomes) == [Ok(10)]
            _assert_gone(tuple(before))

    run(body)


def test_concurrent_run_many_calls_share_the_workers() -> None:
    """Several stages' calls interleave on the same workers and each gets its own results."""

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            a, b = await asyncio.gather(
                pool.run_many(double, list(range(500)), item_ids=ids(500), timeout_s=None),
                pool.run_many(_plain_triple, list(range(300)), item_ids=ids(300), timeout_s=1),
            )
            assert plain(a) == [Ok(2 * i) for i in range(500)]
            assert plain(b) == [Ok(3 * i) for i in range(300)]

    run(body)


def test_aclose_waits_grace_then_kills_and_fails_pending_items() -> None:
    """aclose gives in-flight items ``grace_s``, then kills; their call raises PoolClosed."""

    async def body() -> None:
        pool = ProcessPool(workers=1)
        await pool.start()
        pids = pool.statistics().worker_pids
        task = asyncio.create_task(
            pool.run_many(run_with_faults, [Fault("hang")], item_ids=["h"], timeout_s=None)
        )
        await pool.wait_until(lambda s: s.busy == 1)
        started = time.monotonic()
        await pool.aclose(grace_s=0.3)
        assert 0.3 <= time.monotonic() - started < 1.5
        with pytest.raises(PoolClosed):
            await task
        with pytest.raises(PoolClosed):
            await pool.run_many(double, [1], item_ids=["a"], timeout_s=None)
        _assert_gone(pids)

    run(body)


def test_memory_cap_turns_an_allocation_into_strikes() -> None:
    """R11: an allocation over the cap is quarantined as out_of_memory; others are fine."""

    async def body() -> None:
        async with ProcessPool(workers=2, memory_cap_bytes=1 << 30) as pool:
            items: list[Any] = [1, Fault("alloc_gib:4"), 3]
            outcomes = await pool.run_many(run_with_faults, items, item_ids=ids(3), timeout_s=None)
            assert plain(outcomes)[0] == Ok(digest(1))
            assert plain(outcomes)[2] == Ok(digest(3))
            poison = outcomes[1]
            assert isinstance(poison, Failed)
            assert isinstance(poison.error, PoisonItem)
            assert poison.error.reason == "out_of_memory"
            assert poison.error.deaths == 3
            assert pool.statistics().deaths == 3

    rss_before = psutil.Process().memory_info().rss
    run(body)
    assert psutil.Process().memory_info().rss - rss_before < 50 << 20


def test_frame_reader_reassembles_any_chunking() -> None:
    """Frames split at arbitrary points come out whole and in order."""
    rng = random.Random(7)
    payloads = [rng.randbytes(rng.choice([0, 1, 5, 300, 70_000])) for _ in range(40)]
    stream = b"".join(encode_frame(p) for p in payloads)
    reader = FrameReader()
    got: list[bytes] = []
    pos = 0
    while pos < len(stream):
        step = rng.randint(1, 9000)
        reader.feed(stream[pos : pos + step])
        pos += step
        got.extend(reader.frames())
    assert got == payloads


def test_batch_size_grows_by_measurement_and_is_capped() -> None:
    """Sizing: at most doubling per measurement, ~20 ms of work, 1 for slow items."""
    loop = asyncio.new_event_loop()
    try:
        job = Job(check_importable(noop), [], [], None, 1, loop.create_future())
        job.learn(1, 1e-6)
        assert job.batch_size == 2
        job.learn(2, 2e-6)
        assert job.batch_size == 4
        job.learn(4, 4 * 0.005)  # 5 ms per item -> 4 items make 20 ms
        assert job.batch_size == 4
        job.learn(4, 4 * 0.05)  # slow items: one per batch
        assert job.batch_size == 1
    finally:
        loop.close()


def test_burn_is_deterministic() -> None:
    """The chaos workload's result depends only on the item."""
    assert burn((3, 0.1)) == digest((3, 0.1))


def test_sigterm_as_sigint_routes_the_signal() -> None:
    """Inside the block SIGTERM raises KeyboardInterrupt like a first Ctrl-C would."""
    with sigterm_as_sigint(), pytest.raises(KeyboardInterrupt):
        _sigterm_self()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def _sigterm_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(1000):
        time.sleep(0.001)  # Python runs signal handlers between bytecodes, on this thread


def test_outcomes_carry_worker_pid_and_monotonic_timing() -> None:
    """``Ok.timing`` is (worker pid, start, end) on the parent's monotonic clock."""

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            pids = set(pool.statistics().worker_pids)
            before = time.monotonic()
            outcomes = await pool.run_many(
                burn, [(i, 2.0) for i in range(20)], item_ids=ids(20), timeout_s=None
            )
            after = time.monotonic()
            for outcome in outcomes:
                assert isinstance(outcome, Ok)
                assert outcome.timing is not None
                pid, start, end = outcome.timing
                assert pid in pids
                assert before <= start <= end <= after
                assert end - start >= 0.002

    run(body)


def test_result_pipes_have_room_for_large_results() -> None:
    r, w = os.pipe()
    try:
        _enlarge_pipe(r, 1 << 20)
        # Linux: a worker writes a few hundred KiB of result and goes on to its next item.
        assert fcntl.fcntl(r, fcntl.F_GETPIPE_SZ) == 1 << 20
    finally:
        os.close(r)
        os.close(w)


_IMPORT_COUNTING_MODULE = """
import os
with open(os.environ["IMPORT_LOG"], "a") as log:
    log.write(f"{os.getpid()}\\n")

def double(x):
    return 2 * x
"""

_DRIVER = """
if __name__ == "__main__":
    import juggler
    import counted  # not at the top: the forkserver's preload of __main__ must not see it

    report = juggler.Pipeline(juggler.cpu(counted.double), workers=2).run(range(8))
    assert report.results == [2 * x for x in range(8)], report.results
"""


def test_stage_modules_are_imported_once_by_the_forkserver(tmp_path: Path) -> None:
    (tmp_path / "counted.py").write_text(_IMPORT_COUNTING_MODULE)
    (tmp_path / "driver.py").write_text(_DRIVER)
    log = tmp_path / "imports.log"
    env = {**os.environ, "IMPORT_LOG": str(log), "PYTHONPATH": str(tmp_path)}
    subprocess.run([sys.executable, str(tmp_path / "driver.py")], env=env, check=True, timeout=60)
    # The driver imports it, then the forkserver once; the two workers inherit it.
    assert len(log.read_text().split()) == 2
