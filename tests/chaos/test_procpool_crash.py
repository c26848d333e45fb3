"""Real processes, real signals: the pool's crash, poison, timeout and shutdown promises.

RELIABILITY.md R1-R4, R6-R8, R10 (R5 and R11 are in tests/engine/test_procpool.py).
Ordering comes from the pool's own events (``wait_until``), never from sleeping.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psutil
import pytest

from juggler.engine._backends._procpool import PoolStatistics, ProcessPool
from juggler.engine._backends._procpool._faults import Fault, burn, digest, run_with_faults
from juggler.engine._backends._protocol import Failed, Ok, Outcome, Raised
from juggler.engine._errors import ItemTimeout, PoisonItem
from tests.pool_helpers import ids, plain
from tests.pool_helpers import run as run_with_limit

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = [pytest.mark.crash, pytest.mark.timeout(60)]

T = TypeVar("T")
run = partial(run_with_limit, limit_s=50)  # real signals and restarts: a looser deadline
SCRIPT = Path(__file__).with_name("_pool_script.py")


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def _wait_all_gone(pids: list[int], within_s: float) -> list[int]:
    deadline = time.monotonic() + within_s
    while (alive := _alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.02)  # polling the OS for process exit, not ordering
    return alive


# --------------------------------------------------------------------------- R1


def _progressed(threshold: int, stats: PoolStatistics) -> bool:
    return stats.items_done >= threshold and stats.busy > 0


def _died(deaths: int, stats: PoolStatistics) -> bool:
    return stats.deaths >= deaths


def test_r1_sigkill_storm_loses_and_duplicates_nothing() -> None:
    """R1 (PR variant): 1,000 items, 5 SIGKILLs of busy workers: same output, 0 lost."""
    items = [(i, 2.0) for i in range(1000)]

    async def body() -> tuple[list[Outcome], list[Outcome], int, float, float]:
        async with ProcessPool(workers=2) as pool:
            started = time.monotonic()
            clean = await pool.run_many(burn, items, item_ids=ids(1000), timeout_s=None)
            clean_wall = time.monotonic() - started
        async with ProcessPool(workers=2) as pool:
            rng = random.Random(1)
            started = time.monotonic()
            work = asyncio.create_task(
                pool.run_many(burn, items, item_ids=ids(1000), timeout_s=None)
            )
            for k in range(5):
                threshold = 100 + 150 * k
                stats = await pool.wait_until(partial(_progressed, threshold))
                os.kill(rng.choice(stats.busy_worker_pids), signal.SIGKILL)
                await pool.wait_until(partial(_died, k + 1))
            chaos = await work
            chaos_wall = time.monotonic() - started
            deaths = pool.statistics().deaths
        return clean, chaos, deaths, clean_wall, chaos_wall

    clean, chaos, deaths, clean_wall, chaos_wall = run(body)
    assert deaths == 5
    assert plain(chaos) == plain(clean)
    assert plain(chaos) == [Ok(digest(item)) for item in items]
    assert chaos_wall <= clean_wall + 5 * 0.5 + 5


# --------------------------------------------------------------------------- R2

CRASH_MODES = {
    # mode -> (what the failure record must say, via a predicate on the outcome)
    "sigkill_self": ("signal", "SIGKILL"),
    "segfault": ("signal", "SIGSEGV"),
    "exit0": ("exit_code", 0),
    "exit1": ("exit_code", 1),
}


@pytest.mark.parametrize("mode", sorted(CRASH_MODES))
def test_r2_crash_matrix_worker_deaths(mode: str) -> None:
    """R2: a dying item is quarantined naming its cause; nothing else is touched."""
    field, expected = CRASH_MODES[mode]

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            items: list[Any] = [Fault(mode), *range(100)]
            outcomes = await pool.run_many(
                run_with_faults, items, item_ids=ids(101), timeout_s=None
            )
            failure = outcomes[0]
            assert isinstance(failure, Failed)
            assert isinstance(failure.error, PoisonItem)
            assert getattr(failure.error, field) == expected
            assert failure.error.item_id == "item-0"
            assert failure.attempts == 3
            assert plain(outcomes)[1:] == [Ok(digest(i)) for i in range(100)]
            stats = await pool.wait_until(lambda s: s.idle == 2)
            assert stats.deaths == 3
            for record in stats.recent_deaths:
                assert record.replacement_ready_at is not None
                assert record.replacement_ready_at - record.detected_at <= 1.0
            after = await pool.run_many(
                run_with_faults, list(range(100, 200)), item_ids=ids(100), timeout_s=None
            )
            assert plain(after) == [Ok(digest(i)) for i in range(100, 200)]

    run(body)


NON_CRASH_MODES: dict[str, Callable[[Outcome], bool]] = {
    "sys_exit": lambda o: isinstance(o, Raised) and isinstance(o.error, SystemExit),
    "raise": lambda o: isinstance(o, Raised) and isinstance(o.error, ValueError),
    "unpicklable_result": lambda o: isinstance(o, Raised) and "PicklingError" in repr(o.error),
    "huge_result_mb:64": lambda o: isinstance(o, Ok) and len(o.value) == 64 << 20,
    "stderr_flood": lambda o: isinstance(o, Ok),
}


@pytest.mark.parametrize("mode", sorted(NON_CRASH_MODES))
def test_r2_crash_matrix_modes_that_keep_the_worker(mode: str) -> None:
    """R2: exceptions, unpicklable or huge results and stderr floods cost no worker."""

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            items: list[Any] = [Fault(mode), *range(100)]
            outcomes = await pool.run_many(
                run_with_faults, items, item_ids=ids(101), timeout_s=None
            )
            assert NON_CRASH_MODES[mode](outcomes[0]), outcomes[0]
            assert plain(outcomes)[1:] == [Ok(digest(i)) for i in range(100)]
            assert pool.statistics().deaths == 0

    run(body)


def test_r2_hang_times_out_and_death_is_detected_fast() -> None:
    """R2: ``hang`` with timeout_s=1 is ItemTimeout; an external SIGKILL is seen ≤ 100 ms."""

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            items: list[Any] = [Fault("hang"), *range(100)]
            outcomes = await pool.run_many(run_with_faults, items, item_ids=ids(101), timeout_s=1)
            assert isinstance(outcomes[0], Failed)
            assert isinstance(outcomes[0].error, ItemTimeout)
            assert plain(outcomes)[1:] == [Ok(digest(i)) for i in range(100)]

            await pool.wait_until(lambda s: s.idle == 2)
            victim = pool.statistics().worker_pids[0]
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            stats = await pool.wait_until(
                lambda s: s.deaths == 1 and s.recent_deaths[-1].replacement_ready_at is not None
            )
            record = stats.recent_deaths[-1]
            assert record.pid == victim
            assert record.signal == "SIGKILL"
            assert record.detected_at - killed_at <= 0.1
            assert record.replacement_ready_at is not None
            assert record.replacement_ready_at - record.detected_at <= 1.0

    run(body)


# --------------------------------------------------------------------------- R3, R4


def test_r3_poison_is_quarantined_after_exactly_three_deaths() -> None:
    """R3: 1,000 items, one segfaults every time: PoisonItem(SIGSEGV, attempts=3), 999 ok."""
    items: list[Any] = list(range(1000))
    items[617] = Fault("segfault")

    async def body() -> tuple[list[Outcome], int, float, float]:
        async with ProcessPool(workers=2) as pool:
            started = time.monotonic()
            await pool.run_many(
                run_with_faults, list(range(1000)), item_ids=ids(1000), timeout_s=None
            )
            clean_wall = time.monotonic() - started
        async with ProcessPool(workers=2) as pool:
            started = time.monotonic()
            outcomes = await pool.run_many(
                run_with_faults, items, item_ids=ids(1000), timeout_s=None
            )
            wall = time.monotonic() - started
            return outcomes, pool.statistics().deaths, clean_wall, wall

    outcomes, deaths, clean_wall, wall = run(body)
    poison = outcomes[617]
    assert isinstance(poison, Failed)
    assert isinstance(poison.error, PoisonItem)
    assert (poison.error.signal, poison.attempts, poison.error.deaths) == ("SIGSEGV", 3, 3)
    assert deaths == 3
    assert [o for i, o in enumerate(plain(outcomes)) if i != 617] == [
        Ok(digest(i)) for i in range(1000) if i != 617
    ]
    assert wall <= clean_wall + 3


@pytest.mark.parametrize("mode", ["segfault", "sigkill_on_pickle"])
def test_r4_poison_hidden_in_a_batch_of_64(mode: str) -> None:
    """R4: ≤ 3 + log2(64) = 9 deaths, no innocent quarantined or lost.

    ``segfault`` dies inside the item (blamed through the progress cell); ``sigkill_on_pickle``
    dies while the batch's results are pickled, outside any item, which forces bisection.
    """
    items: list[Any] = list(range(256))
    items[37] = Fault(mode)

    async def body() -> tuple[list[Outcome], int, int]:
        async with ProcessPool(workers=2, batch_size=64) as pool:
            outcomes = await pool.run_many(
                run_with_faults, items, item_ids=ids(256), timeout_s=None
            )
            stats = pool.statistics()
            return outcomes, stats.deaths, stats.quarantined

    outcomes, deaths, quarantined = run(body)
    assert 3 <= deaths <= 9
    assert quarantined == 1
    assert isinstance(outcomes[37], Failed)
    assert isinstance(outcomes[37].error, PoisonItem)
    if mode == "segfault":
        assert outcomes[37].error.signal == "SIGSEGV"
        assert deaths == 3  # the progress cell named the item: no bisection needed
    else:
        assert outcomes[37].error.signal == "SIGKILL"
    assert [o for i, o in enumerate(plain(outcomes)) if i != 37] == [
        Ok(digest(i)) for i in range(256) if i != 37
    ]


# --------------------------------------------------------------------------- R6


def test_r6_cpu_timeout_kills_at_two_seconds_and_replaces() -> None:
    """R6 (cpu): ``hang`` with timeout_s=2 ends at 2.0-2.3 s; a fresh worker replaces it."""

    async def body() -> None:
        async with ProcessPool(workers=2) as pool:
            before = set(pool.statistics().worker_pids)
            started = time.monotonic()
            outcomes = await pool.run_many(
                run_with_faults, [Fault("hang")], item_ids=["h"], timeout_s=2
            )
            elapsed = time.monotonic() - started
            assert isinstance(outcomes[0], Failed)
            assert isinstance(outcomes[0].error, ItemTimeout)
            assert 2.0 <= elapsed <= 2.3
            stats = await pool.wait_until(lambda s: s.idle == 2)
            assert len(before - set(stats.worker_pids)) == 1
            assert (stats.kills, stats.deaths, stats.restarts) == (1, 0, 1)

    run(body)


# --------------------------------------------------------------------------- R7, R8, R10


def _start_script(mode: str) -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), mode],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's job
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), line
    descendants = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    assert len(descendants) >= 2  # the workers, plus the forkserver and resource tracker
    return proc, descendants


def _finish(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(5)
    assert proc.stdout is not None
    proc.stdout.close()


def test_r7_first_ctrl_c_exits_130_within_2s_leaving_no_process() -> None:
    """R7: SIGINT to the process group → exit 130 in ≤ 2 s, no descendant left 2 s later."""
    proc, descendants = _start_script("cancel")
    try:
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(5)
        elapsed = time.monotonic() - sent
        assert code == 130
        assert elapsed <= 2.0
        assert _wait_all_gone(descendants, 2.0) == []
    finally:
        _finish(proc)


def test_r8_second_ctrl_c_kills_at_once() -> None:
    """R8: while the first Ctrl-C waits out the grace, a second one ends it in ≤ 0.5 s."""
    proc, descendants = _start_script("shield")
    try:
        os.killpg(proc.pid, signal.SIGINT)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(0.2)  # still in the grace period: the items are shielded
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(5)
        assert time.monotonic() - sent <= 0.5
        assert code == 130
        assert _wait_all_gone(descendants, 2.0) == []
    finally:
        _finish(proc)


def test_r8_sigterm_behaves_like_the_first_ctrl_c() -> None:
    """R8: one SIGTERM to the program → grace, kill, exit 130 in ≤ 2 s, no orphans."""
    proc, descendants = _start_script("shield")
    try:
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(5)
        elapsed = time.monotonic() - sent
        assert code == 130
        assert 1.5 <= elapsed <= 2.0  # the shielded items got their grace, then were killed
        assert _wait_all_gone(descendants, 2.0) == []
    finally:
        _finish(proc)


def test_r10_parent_sigkill_leaves_no_orphan() -> None:
    """R10: ``kill -9`` of the parent → every worker (and helper) gone within 3 s."""
    proc, descendants = _start_script("cancel")
    try:
        proc.kill()
        proc.wait(5)
        assert _wait_all_gone(descendants, 3.0) == []
    finally:
        for pid in _alive(descendants):
            os.kill(pid, signal.SIGKILL)
        _finish(proc)
