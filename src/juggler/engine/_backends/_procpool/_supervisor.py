"""The supervised process pool: spawn and replace workers, batch items, blame and quarantine.

Everything here runs on the event loop thread. The loop watches, per worker, the result pipe
and the process sentinel (``loop.add_reader``), so there is no helper thread per task or per
worker. State changes only in those callbacks and in ``run_many``/``aclose``, which keeps the
bookkeeping single-threaded.

Life of an item: ``run_many`` registers a job; the dispatcher cuts the job's items into
batches (adaptive size, see ``Job.learn``) and sends each batch as one pickle to a ready
worker, keeping each worker ``_PREFETCH`` (or, for very short batches, up to ``_MAX_DEPTH``)
batches deep. The worker answers with one message per
batch. Every batch is at every moment in exactly one place: a worker's ``outstanding`` queue,
its job's ``redo`` queue, or done; that is what makes "0 lost, 0 duplicated" hold.

When a worker dies, its result pipe is drained first (finished batches count), then:

* the batch it was running: if the progress cell names the item in flight, that item gets a
  strike and the batch's other items are queued again; if not (death while unpickling the
  batch or pickling its results), a batch of several items is split in halves (bisection) and
  a single item gets the strike;
* batches queued behind it never started: they are queued again as they are, with no strike.

An item with ``max_worker_deaths`` strikes becomes ``Failed(PoisonItem)``. Deaths we cause
(timeouts, cancellation, shutdown) never strike.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import math
import mmap
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, cast, final

from ..._errors import (
    ConfigError,
    ItemTimeout,
    PoisonItem,
    PoolClosed,
    WorkerCrashed,
)
from .._fair import FairShare
from .._protocol import Failed, Ok, Outcome, Raised
from . import _cleanup
from ._mainguard import check_main_reimportable
from ._protocol import (
    DONE,
    OUT_OF_MEMORY,
    PROGRESS,
    READY,
    FnRef,
    InheritedFd,
    RefCache,
    RemoteError,
    encode_frame,
)
from ._state import Batch, Job, WorkerHandle
from ._stats import DeathRecord, PoolStatistics
from ._worker import OOM_EXIT_CODE, worker_main

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkServerContext, SpawnContext
    from multiprocessing.process import BaseProcess
    from types import TracebackType

__all__ = ["DeathRecord", "PoolStatistics", "ProcessPool"]

_PREFETCH = 2
"""Least batches a worker may hold: one running, one waiting in its pipe so it never idles."""
_MAX_DEPTH = 32
_QUEUE_AHEAD_S = 0.05
"""Queue ~50 ms of work per worker (2..``_MAX_DEPTH`` batches): enough that a worker does not
wait for a parent that the scheduler is slow to run, little enough to keep the tail balanced."""
_READ_CHUNK = 1 << 18
_WORKER_MODULE = "juggler.engine._backends._procpool._worker"
_MAX_STARTUP_FAILURES = 5
"""Workers in a row that die before saying ``READY``: the pool is broken, stop respawning."""
# Room in each worker's result pipe. The default 64 KiB makes a worker with a large result
# (a chunk's counts are a few hundred KiB) wait, before its next item, for the parent to
# read it; this much lets it write and go on. Linux only, up to fs.pipe-max-size.
_RESULT_PIPE_BYTES = 1 << 20


_new_ok = Ok.__new__
# Slot descriptors of the frozen dataclass; mypy cannot type them.
_set_ok_value: Callable[[Ok, Any], None] = Ok.__dict__["value"].__set__
_set_ok_timing: Callable[[Ok, Any], None] = Ok.__dict__["timing"].__set__

_Launched = tuple["BaseProcess", "Connection", "Connection", mmap.mmap]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@final
class ProcessPool:
    """A supervised pool of worker processes behind the ``cpu`` placement.

    Implements :class:`~juggler.engine._backends._protocol.CpuBackend`. Use it as an async
    context manager (``async with ProcessPool() as pool``) or call :meth:`start` and
    :meth:`aclose` yourself.

    Fault handling: a worker death (SIGKILL, a segfault, ``os._exit``, the OOM killer,
    ``MemoryError`` under ``memory_cap_bytes``) only affects the item that worker was running;
    that item gets a strike and runs again on a live worker, the others of its batch are
    simply queued again. An item with ``max_worker_deaths`` strikes is reported as
    ``Failed(PoisonItem)`` and never run again. Exceptions raised by the function are
    returned as ``Raised`` and never count as crashes.

    Batching: ``run_many`` sends items in batches sized from measured item time to about
    20 ms of work (starting at 1 and at most doubling), capped so every worker gets a share
    of the tail. Per-item timeouts still hold inside a batch: each worker stamps a shared
    progress cell with the item index and start time, and the parent kills a worker whose
    current item is over ``timeout_s``.

    Cancellation: cancelling ``run_many`` kills the workers holding its items and replaces
    them. Shutdown: :meth:`aclose` stops dispatch, waits up to ``grace_s`` for batches in
    flight, then closes the pipes and SIGKILLs what is left; cancelling ``aclose`` (a second
    Ctrl-C) kills at once. Workers ignore SIGINT and exit on their own when the parent dies.

    Args:
        workers: Number of worker processes; default ``os.cpu_count()``.
        max_worker_deaths: Strikes after which an item is quarantined.
        memory_cap_bytes: ``RLIMIT_AS`` per worker; an allocation beyond it is a strike
            recorded as ``out_of_memory``.
        start_method: ``"forkserver"`` (default) or ``"spawn"``. ``"fork"`` is refused: the
            parent holds an event loop and maybe threads and SQLite connections.
        grace_s: Default grace period of :meth:`aclose`.
        batch_size: ``None`` (default) sizes batches from measured item time; an int fixes
            the largest batch (``1`` = one item per message).
        preload: Modules of the functions the pool will run. When this pool starts the
            forkserver, the forkserver imports them once, so workers do not each import
            them at their first item (unimportable names are skipped).

    Raises:
        ConfigError: An argument is out of range or the start method is not allowed.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        max_worker_deaths: int = 3,
        memory_cap_bytes: int | None = None,
        start_method: str = "forkserver",
        grace_s: float = 1.5,
        batch_size: int | None = None,
        preload: Sequence[str] = (),
    ) -> None:
        count = os.cpu_count() or 1 if workers is None else workers
        if count < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        if max_worker_deaths < 1:
            raise ConfigError(f"max_worker_deaths must be >= 1, got {max_worker_deaths}")
        if memory_cap_bytes is not None and memory_cap_bytes < 64 << 20:
            raise ConfigError(f"memory_cap_bytes must be >= 64 MiB, got {memory_cap_bytes}")
        if start_method not in ("forkserver", "spawn"):
            raise ConfigError(
                f"start_method must be 'forkserver' or 'spawn', got {start_method!r} "
                "(fork would copy the event loop, threads and open connections)"
            )
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if grace_s < 0:
            raise ConfigError(f"grace_s must be >= 0, got {grace_s}")
        self._count = count
        self._max_deaths = max_worker_deaths
        self._memory_cap = memory_cap_bytes
        self._ctx = cast(
            "SpawnContext | ForkServerContext", multiprocessing.get_context(start_method)
        )
        self._grace_s = grace_s
        self._fixed_batch = batch_size
        self._preload = tuple(preload)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: list[WorkerHandle | None] = [None] * count
        self._jobs: deque[Job] = deque()
        self._ref_for = RefCache()
        self._learned: dict[FnRef, int] = {}
        self._alive_r = -1
        self._alive_w = -1
        self._seq = 0
        self._depth = _PREFETCH
        self._started = False
        self._holds_helpers = False
        self._last_holder = False
        self._closing = False
        self._closed = False
        self._broken: BaseException | None = None
        self._startup_failures = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._spawning: dict[int, dict[str, Any] | None] = {}
        self._spawn_threads: list[threading.Thread] = []
        self._spawn_lock = threading.Lock()
        self._launched: list[tuple[int, _Launched | BaseException]] = []
        # statistics
        self._deaths = 0
        self._kills = 0
        self._restarts = 0
        self._quarantined = 0
        self._timeouts = 0
        self._items_done = 0
        self._batches_done = 0
        self._batch_items_sent = 0
        self._batches_sent = 0
        self._batch_last = 0
        self._recent: deque[dict[str, Any]] = deque(maxlen=64)
        self._fair = FairShare()  # worker time between runs (owners) of a shared Runtime

    # ------------------------------------------------------------------ public API

    @property
    def workers(self) -> int:
        """How many items can run at the same time (the number of worker processes)."""
        return self._count

    async def __aenter__(self) -> ProcessPool:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start every worker and wait until each has reported ready.

        The first pool of a process also starts multiprocessing's forkserver (≈0.1 s,
        blocking the loop once).
        """
        if self._started:
            return
        if self._closing:
            raise PoolClosed("process pool was closed")
        self._loop = asyncio.get_running_loop()
        self._started = True
        try:
            # Before any worker could die re-running the script; reads it, so off the loop.
            await asyncio.to_thread(check_main_reimportable)
        except BaseException:
            self._started = False
            raise
        _cleanup.hold()
        self._holds_helpers = True
        if self._ctx.get_start_method() == "forkserver":
            _preload_worker_in_forkserver(self._preload)
        self._alive_r, self._alive_w = os.pipe()
        try:
            for slot in range(self._count):
                self._spawn(slot)
            await self.wait_until(
                lambda s: s.starting == 0 and len(s.worker_pids) == self._count,
                _allow_broken=False,
            )
        except BaseException:
            self._kill_everything()
            raise

    async def run_many(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
        owner: str | None = None,
    ) -> list[Outcome]:
        """Run ``fn(item)`` for every item; return their outcomes in the same order.

        Args:
            fn: A module-level function (see :func:`check_importable`); sent by reference.
            items: Picklable items. An item that cannot be pickled gets
                ``Raised(PicklingError)`` without touching a worker.
            item_ids: One id per item, used in failure records.
            timeout_s: Per-attempt limit for each item; the worker running an item past it
                is killed and replaced and the item is ``Failed(ItemTimeout)``.
            owner: The run the call belongs to when runs share the pool (a ``Runtime``):
                worker time is shared fairly between owners (``_backends/_fair.py``).

        Returns:
            ``Ok``, ``Raised`` (user exception, never a strike) or ``Failed`` (timeout or
            poison) per item.

        Raises:
            ConfigError: ``fn`` is not importable by a worker, or ``item_ids`` has the
                wrong length, or ``timeout_s`` is not positive.
            PoolClosed: The pool is closing or broken.
        """
        if len(item_ids) != len(items):
            raise ConfigError(f"{len(items)} items but {len(item_ids)} item_ids")
        if timeout_s is not None and timeout_s <= 0:
            raise ConfigError(f"timeout_s must be > 0, got {timeout_s}")
        ref = self._ref_for(fn)
        if self._closing:
            raise PoolClosed("process pool is closing; no new items are accepted")
        if self._broken is not None:
            raise PoolClosed("process pool is broken") from self._broken
        if not self._started:
            await self.start()
        if not items:
            return []
        loop = self._running_loop()
        job = Job(
            ref,
            list(items),
            item_ids,
            timeout_s,
            self._fixed_batch or self._learned.get(ref, 1),
            loop.create_future(),
        )
        job.owner = owner
        if owner is not None:
            self._fair.join(owner)
        self._jobs.append(job)
        self._pump()
        try:
            await job.future
        except asyncio.CancelledError:
            self._abandon(job)
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._jobs.remove(job)
        if job.remaining > 0 or None in job.outcomes:  # pragma: no cover - invariant
            raise RuntimeError("process pool finished a call with items unaccounted for")
        return cast("list[Outcome]", job.outcomes)

    async def aclose(self, *, grace_s: float | None = None) -> None:
        """Stop every worker: wait up to ``grace_s`` for batches in flight, then kill.

        No new batch is dispatched once this is called. Items that did not finish make their
        ``run_many`` raise :class:`PoolClosed`. Cancelling ``aclose`` kills every worker at
        once (a second Ctrl-C) and re-raises the cancellation.
        """
        if self._closed:
            return
        self._closing = True
        grace = self._grace_s if grace_s is None else grace_s
        if not self._started or self._loop is None:
            self._closed = True
            return
        loop = self._running_loop()
        try:
            deadline = loop.time() + grace
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await self.wait_until(lambda s: s.busy == 0, _allow_broken=True)
            for worker in self._live():
                if worker.outstanding:
                    self._kill(worker, "closing")  # the grace is over for its batches
                else:
                    worker.kill_reason = "closing"
                    self._close_requests(worker)  # EOF: an idle worker exits by itself
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.25):
                    await self.wait_until(
                        lambda s: not s.worker_pids and not s.starting, _allow_broken=True
                    )
            for worker in self._live():
                self._kill(worker, "closing")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await self.wait_until(
                        lambda s: not s.worker_pids and not s.starting, _allow_broken=True
                    )
        except BaseException:
            self._kill_everything()
            raise
        self._kill_everything()
        if self._last_holder:
            # The last pool to close stops the forkserver and tracker, so nothing of the run
            # outlives it (RELIABILITY.md R17). Off the loop: it waits for them to exit.
            self._last_holder = False
            await asyncio.to_thread(_cleanup.stop_if_unheld)

    def forget_owner(self, owner: str) -> None:
        """Run ``owner`` of a shared pool has ended: drop its fair-share state."""
        self._fair.leave(owner)

    def statistics(self) -> PoolStatistics:
        """A frozen snapshot of the pool's state."""
        live = self._live()
        busy = [w.pid for w in live if w.outstanding]
        starting = sum(1 for w in live if not w.ready) + len(self._spawning)
        pending = sum(j.remaining for j in self._jobs if not j.finished)
        return PoolStatistics(
            worker_pids=tuple(w.pid for w in live),
            busy_worker_pids=tuple(busy),
            busy=len(busy),
            idle=sum(1 for w in live if w.ready and not w.outstanding),
            starting=starting,
            deaths=self._deaths,
            kills=self._kills,
            restarts=self._restarts,
            quarantined=self._quarantined,
            timeouts=self._timeouts,
            items_done=self._items_done,
            batches_done=self._batches_done,
            batch_size_last=self._batch_last,
            batch_size_mean=(
                self._batch_items_sent / self._batches_sent if self._batches_sent else 0.0
            ),
            pending_items=pending,
            recent_deaths=tuple(DeathRecord(**record) for record in self._recent),
        )

    async def wait_until(
        self, predicate: Callable[[PoolStatistics], bool], *, _allow_broken: bool = False
    ) -> PoolStatistics:
        """Wait until ``predicate(statistics())`` holds; return that snapshot.

        The predicate is checked again after every state change (a worker ready, a batch
        sent or finished, a death), never by polling, so tests can order themselves on the
        pool's own events. Wrap it in ``asyncio.timeout``.

        Raises:
            PoolClosed: The pool broke (workers keep dying before they are ready).
        """
        loop = self._running_loop()
        while True:
            if self._broken is not None and not _allow_broken:
                raise PoolClosed("process pool is broken") from self._broken
            snapshot = self.statistics()
            if predicate(snapshot):
                return snapshot
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    # ------------------------------------------------------------------ internals: setup

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not None and loop is not self._loop:
            raise RuntimeError("ProcessPool is bound to the event loop that started it")
        return loop

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _live(self) -> list[WorkerHandle]:
        return [w for w in self._slots if w is not None]

    def _spawn(self, slot: int, record: dict[str, Any] | None = None) -> None:
        """Start a worker for ``slot`` on a short-lived thread; ``_adopt`` takes it over.

        ``Process.start`` blocks (forkserver socket round trip, or fork+exec for spawn, and
        the forkserver's own start the first time), so it never runs on the loop thread.
        """
        self._spawning[slot] = record
        thread = threading.Thread(
            target=self._launch_in_thread, args=(slot,), name=f"juggler-spawn-{slot}", daemon=True
        )
        self._spawn_threads.append(thread)
        thread.start()

    def _launch_in_thread(self, slot: int) -> None:
        try:
            launched: _Launched | BaseException = self._launch(slot)
        except BaseException as exc:  # handed to the loop thread, which decides
            launched = exc
        with self._spawn_lock:
            self._launched.append((slot, launched))
        loop = self._loop
        if loop is not None:
            # The loop may be closed already; _kill_everything then collects this launch.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._adopt)

    def _launch(self, slot: int) -> _Launched:
        req_r, req_w = self._ctx.Pipe(duplex=False)
        res_r, res_w = self._ctx.Pipe(duplex=False)
        _enlarge_pipe(res_r.fileno(), _RESULT_PIPE_BYTES)
        cell_fd = _shared_memory_fd(PROGRESS.size)
        try:
            cell = mmap.mmap(cell_fd, PROGRESS.size)
            PROGRESS.pack_into(cell, 0, -1, -1, 0.0)
            proc = self._ctx.Process(
                target=worker_main,
                args=(
                    req_r,
                    res_w,
                    InheritedFd(cell_fd),
                    InheritedFd(self._alive_r),
                    self._memory_cap,
                ),
                name=f"juggler-worker-{slot}",
                daemon=True,
            )
            try:
                proc.start()
            except BaseException:
                cell.close()
                req_w.close()
                res_r.close()
                raise
        finally:
            # The child has its own copies now; ours would hide EOF from either side.
            req_r.close()
            res_w.close()
            os.close(cell_fd)
        # We reap our workers ourselves. Left in multiprocessing's registry, another
        # thread's Process.start() would poll (read) their sentinels concurrently with us.
        multiprocessing.process._children.discard(proc)  # type: ignore[attr-defined]
        # The forkserver reports the exit code on the sentinel; reading it must never block.
        os.set_blocking(proc.sentinel, False)
        return proc, req_w, res_r, cell

    def _adopt(self) -> None:
        """Loop thread: register workers the spawn threads have started."""
        with self._spawn_lock:
            launched, self._launched = self._launched, []
        self._spawn_threads = [t for t in self._spawn_threads if t.is_alive()]
        loop = self._loop
        assert loop is not None
        for slot, result in launched:
            record = self._spawning.pop(slot, None)
            if isinstance(result, BaseException):
                self._startup_failures += 1
                if self._startup_failures >= _MAX_STARTUP_FAILURES:
                    self._break(result)
                elif not self._closing:
                    self._spawn(slot, record)
                continue
            proc, req, res, cell = result
            worker = WorkerHandle(proc, req, res, cell, time.monotonic())
            os.set_blocking(worker.req_fd, False)
            os.set_blocking(worker.res_fd, False)
            loop.add_reader(worker.res_fd, self._on_readable, worker)
            loop.add_reader(worker.sentinel, self._on_exit, worker)
            self._slots[slot] = worker
            if record is not None:
                record["replacement_pid"] = worker.pid
                worker.death_record = record
            if self._closing:
                self._kill(worker, "closing")
        self._notify()

    def _break(self, cause: BaseException) -> None:
        """Workers keep dying before they are ready: stop respawning, fail every job."""
        if self._broken is not None:
            return
        self._broken = cause
        for job in list(self._jobs):
            if not job.future.done():
                job.future.set_exception(PoolClosed("worker processes keep dying at start-up"))

    # ------------------------------------------------------------------ internals: dispatch

    def _pump(self) -> None:
        """Top up ready workers to ``self._depth`` batches, round robin, one write each.

        A worker is only topped up once it is down to half its depth, so tiny batches
        (``batch_size=1``) travel several per ``write`` and per wake-up of the worker: the
        pipe write that wakes a sleeping reader was the dominant per-item cost (measured).
        """
        if self._closing or not self._jobs:
            return
        # Until a call's first batch is measured, queue shallow: a deep queue of size-1
        # batches would be sent before the size has had a chance to grow.
        depth = self._depth if all(j.measured for j in self._jobs) else _PREFETCH
        if self._fair.contended:
            depth = _PREFETCH  # runs share the workers: keep queues short, newcomers go next
        low = depth // 2
        eligible = [
            w
            for w in self._slots
            if w is not None and w.ready and w.kill_reason is None and len(w.outstanding) <= low
        ]
        frames: dict[int, list[bytes]] = {}
        for level in range(1, depth + 1):
            for worker in eligible:
                if len(worker.outstanding) >= level:
                    continue
                frame = self._dispatch_one(worker)
                if frame is None:
                    break
                frames.setdefault(id(worker), []).append(frame)
            else:
                continue
            break
        for worker in eligible:
            pending = frames.get(id(worker))
            if pending:
                self._write(worker, pending[0] if len(pending) == 1 else b"".join(pending))

    def _next_job(self) -> Job | None:
        if self._fair.owners:
            return self._fair.pick(self._jobs)
        for _ in range(len(self._jobs)):
            job = self._jobs[0]
            # Round robin: concurrent run_many calls (stage concurrency) share the workers.
            self._jobs.rotate(-1)
            if not job.finished and job.has_work():
                return job
        return None

    def _dispatch_one(self, worker: WorkerHandle) -> bytes | None:
        """Cut the next batch for ``worker`` and return its frame (the caller writes it)."""
        while True:
            job = self._next_job()
            if job is None:
                return None
            indices: Sequence[int]
            if job.redo:
                indices = job.redo.popleft()
                for i in indices:
                    job.retried[i] = job.retried.get(i, 0) + 1
                chunk = [job.items[i] for i in indices]
            else:
                left = len(job.items) - job.next_fresh
                share = math.ceil(left / (self._count * _PREFETCH))
                size = max(1, min(job.batch_size, share, self._fair.batch_cap(job)))
                indices = range(job.next_fresh, job.next_fresh + size)
                job.next_fresh += size
                chunk = job.items[indices.start : indices.stop]
            self._seq += 1
            seq = self._seq
            try:
                payload = pickle.dumps(
                    (seq, job.ref.module, job.ref.qualname, chunk),
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
            except Exception:
                indices = self._drop_unpicklable(job, list(indices))
                if not indices:
                    continue
                chunk = [job.items[i] for i in indices]
                payload = pickle.dumps(
                    (seq, job.ref.module, job.ref.qualname, chunk),
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
            batch = Batch(job, indices, seq)
            if job.owner is not None:
                self._fair.charge(job, seq, len(indices))
            was_idle = not worker.outstanding
            worker.outstanding.append(batch)
            self._batches_sent += 1
            self._batch_items_sent += len(indices)
            self._batch_last = len(indices)
            if was_idle:
                self._arm_timeout(worker)
            self._notify()
            return encode_frame(payload)

    def _drop_unpicklable(self, job: Job, indices: list[int]) -> list[int]:
        """Report items that cannot be pickled as ``Raised``; return the others."""
        keep = []
        for i in indices:
            try:
                pickle.dumps(job.items[i], protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                error = pickle.PicklingError(
                    f"item {job.item_ids[i]} of type {type(job.items[i]).__qualname__} "
                    f"cannot be pickled: {type(exc).__name__}: {exc}"
                )
                error.__cause__ = exc
                self._finish(job, i, Raised(error, ""))
            else:
                keep.append(i)
        return keep

    def _write(self, worker: WorkerHandle, frame: bytes) -> None:
        if worker.out:
            worker.out += frame
            return
        try:
            sent = os.write(worker.req_fd, frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the worker is gone; its sentinel fires and the batch is requeued
        if sent < len(frame):
            worker.out += memoryview(frame)[sent:]
            assert self._loop is not None
            self._loop.add_writer(worker.req_fd, self._on_writable, worker)

    def _on_writable(self, worker: WorkerHandle) -> None:
        try:
            sent = os.write(worker.req_fd, worker.out)
        except BlockingIOError:
            return
        except OSError:
            sent = len(worker.out)
        del worker.out[:sent]
        if not worker.out and self._loop is not None:
            self._loop.remove_writer(worker.req_fd)

    # ------------------------------------------------------------------ internals: results

    def _on_readable(self, worker: WorkerHandle) -> None:
        self._drain(worker)
        self._pump()

    def _drain(self, worker: WorkerHandle) -> None:
        """Read everything the worker wrote so far and act on each complete message."""
        while worker.res_open:
            want = max(_READ_CHUNK, min(worker.reader.wanted(), 1 << 26))
            try:
                data = os.read(worker.res_fd, want)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                worker.res_open = False
                if self._loop is not None:
                    self._loop.remove_reader(worker.res_fd)
                break
            worker.reader.feed(data)
            if len(data) < want:
                break
        for payload in worker.reader.frames():
            self._on_message(worker, payload)

    def _on_message(self, worker: WorkerHandle, payload: bytes) -> None:
        try:
            message = pickle.loads(payload)
        except Exception as exc:
            # A result the parent cannot unpickle fails that batch's items, not the pool.
            if worker.outstanding:
                batch = worker.outstanding.popleft()
                error = RemoteError(type(exc).__name__, f"cannot unpickle results: {exc}")
                for i in batch.indices:
                    self._finish(batch.job, i, Raised(error, ""))
                self._arm_timeout(worker)
            return
        kind = message[0]
        if kind == DONE:
            self._on_done(worker, *message[1:])
        elif kind == READY:
            worker.ready = True
            self._startup_failures = 0
            now = time.monotonic()
            if worker.death_record is not None:
                worker.death_record["replacement_ready_at"] = now
                worker.death_record = None
            self._notify()
        elif kind == OUT_OF_MEMORY:
            worker.oom = (int(message[1]), int(message[2]))

    def _on_done(
        self,
        worker: WorkerHandle,
        seq: int,
        elapsed: float,
        values: list[Any],
        errors: dict[int, tuple[BaseException, str]],
        starts: list[float],
        ended: float,
    ) -> None:
        if not worker.outstanding or worker.outstanding[0].seq != seq:
            return  # cannot happen with one pipe per worker; never misattribute a result
        batch = worker.outstanding.popleft()
        self._batches_done += 1
        job = batch.job
        n = len(batch.indices)
        self._depth = max(_PREFETCH, min(_MAX_DEPTH, int(_QUEUE_AHEAD_S / max(elapsed, 1e-6))))
        if job.owner is not None:
            self._fair.observe(job, seq, n, elapsed)
        if not job.finished:
            job.measured = True
            if not job.redo and self._fixed_batch is None:
                job.learn(n, elapsed)
                self._learned[job.ref] = job.batch_size
            outcomes = job.outcomes
            pid = worker.pid
            if len(starts) != n:  # the function could not even be resolved
                starts = [ended] * n
            # Item k ran from its own stamp to the next one's (the worker's clock is the
            # system-wide CLOCK_MONOTONIC, the same as the parent's time.monotonic()).
            ends = starts[1:]
            ends.append(ended)
            if errors:
                for k, (i, value, t0, t1) in enumerate(
                    zip(batch.indices, values, starts, ends, strict=True)
                ):
                    if outcomes[i] is None:
                        err = errors.get(k)
                        outcomes[i] = (
                            Ok(value, (pid, t0, t1))
                            if err is None
                            else Raised(err[0], err[1], (pid, t0, t1))
                        )
            else:
                # The hot loop of G1 (20,000 no-op items): filling the slots directly
                # skips the frozen dataclass __init__ (0.38 -> 0.24 µs per item, measured).
                for i, value, t0, t1 in zip(batch.indices, values, starts, ends, strict=True):
                    if outcomes[i] is None:
                        ok = _new_ok(Ok)
                        _set_ok_value(ok, value)
                        _set_ok_timing(ok, (pid, t0, t1))
                        outcomes[i] = ok
            job.remaining -= n
            self._items_done += n
            if job.remaining <= 0 and not job.future.done():
                job.future.set_result(None)
        if worker.outstanding and worker.outstanding[0].job.future.cancelled():
            self._kill(worker, "cancelled")  # its next batch belongs to a cancelled call
        self._arm_timeout(worker)
        self._notify()

    def _finish(self, job: Job, index: int, outcome: Outcome) -> None:
        if job.outcomes[index] is not None or job.finished:
            return
        job.outcomes[index] = outcome
        job.remaining -= 1
        self._items_done += 1
        if job.remaining <= 0 and not job.future.done():
            job.future.set_result(None)

    # ------------------------------------------------------------------ internals: timeouts

    def _arm_timeout(self, worker: WorkerHandle) -> None:
        if worker.timer is not None:
            worker.timer.cancel()
            worker.timer = None
        if not worker.outstanding or worker.kill_reason is not None or self._loop is None:
            return
        batch = worker.outstanding[0]
        timeout_s = batch.job.timeout_s
        if timeout_s is None:
            return
        seq, index, started = worker.progress()
        now = self._loop.time()
        if seq == batch.seq and index >= 0:
            if now - started >= timeout_s:
                self._timeout(worker, batch, index)
                return
            when = started + timeout_s
        else:
            # Not started yet (or its results are on their way): it cannot expire before
            # now + timeout_s; look again then.
            when = now + timeout_s
        worker.timer = self._loop.call_at(when, self._arm_timeout, worker)

    def _timeout(self, worker: WorkerHandle, batch: Batch, index: int) -> None:
        worker.timeout_blame = (batch, index)
        self._kill(worker, "timeout")

    # ------------------------------------------------------------------ internals: deaths

    def _kill(self, worker: WorkerHandle, reason: str) -> None:
        if worker.kill_reason is None or reason == "closing":
            worker.kill_reason = worker.kill_reason or reason
        if worker.timer is not None:
            worker.timer.cancel()
            worker.timer = None
        with contextlib.suppress(OSError, ValueError, AttributeError):
            worker.proc.kill()

    def _close_requests(self, worker: WorkerHandle) -> None:
        if self._loop is not None and worker.out:
            self._loop.remove_writer(worker.req_fd)
            worker.out.clear()
        worker.req.close()

    def _on_exit(self, worker: WorkerHandle) -> None:
        """The worker's sentinel fired: it is dead. Account for what it held, replace it."""
        assert self._loop is not None
        loop = self._loop
        loop.remove_reader(worker.sentinel)
        detected_at = time.monotonic()
        self._drain(worker)  # batches it finished before dying still count
        worker.proc.join(1.0)  # the sentinel fired: this returns at once
        exitcode = worker.proc.exitcode
        seq, index, _ = worker.progress()
        self._release(worker)
        slot = self._slots.index(worker)
        self._slots[slot] = None

        sig = _signal_name(-exitcode) if exitcode is not None and exitcode < 0 else None
        code = exitcode if exitcode is not None and exitcode >= 0 else None
        reason: str | None = None
        if worker.oom is not None or code == OOM_EXIT_CODE:
            reason, code = "out_of_memory", None
        planned = worker.kill_reason
        record: dict[str, Any] | None = None
        if planned is None:
            self._deaths += 1
            record = {
                "pid": worker.pid,
                "signal": sig,
                "exit_code": code,
                "reason": reason,
                "detected_at": detected_at,
                "replacement_pid": None,
                "replacement_ready_at": None,
            }
            self._recent.append(record)
            if not worker.ready:
                self._startup_failures += 1
        elif planned != "closing":
            self._kills += 1

        outstanding = list(worker.outstanding)
        worker.outstanding.clear()
        if outstanding:
            first, rest = outstanding[0], outstanding[1:]
            for batch in reversed(rest):
                self._requeue(batch.job, list(batch.indices))
            if planned == "timeout":
                self._blame_timeout(worker, first)
            elif planned is not None:
                self._requeue(first.job, list(first.indices))
            else:
                if worker.oom is not None:
                    seq, index = worker.oom
                self._blame_crash(worker, first, seq, index, (sig, code, reason))

        if self._startup_failures >= _MAX_STARTUP_FAILURES:
            self._break(
                WorkerCrashed(
                    pid=worker.pid,
                    item_id="<startup>",
                    signal=sig,
                    exit_code=code,
                    attempt=self._startup_failures,
                )
            )
        elif not self._closing:
            self._spawn(slot, record)
            self._restarts += 1
        self._notify()
        self._pump()

    def _blame_timeout(self, worker: WorkerHandle, first: Batch) -> None:
        job = first.job
        blame = worker.timeout_blame
        rest = list(first.indices)
        if blame is not None and blame[0] is first:
            item = rest.pop(blame[1])
            timeout_s = job.timeout_s or 0.0
            self._timeouts += 1
            error = ItemTimeout(
                stage=job.ref.qualname, timeout_s=timeout_s, item_id=job.item_ids[item]
            )
            self._finish(job, item, Failed(error, job.attempts(item)))
        if rest:
            self._requeue(job, rest)

    def _blame_crash(
        self,
        worker: WorkerHandle,
        first: Batch,
        seq: int,
        index: int,
        cause: tuple[str | None, int | None, str | None],
    ) -> None:
        job = first.job
        indices = list(first.indices)
        if seq == first.seq and 0 <= index < len(indices):
            # The progress cell names the item in flight: blame it alone.
            item = indices.pop(index)
            if indices:
                self._requeue(job, indices)
            self._strike(job, item, cause)
        elif len(indices) == 1:
            self._strike(job, indices[0], cause)
        else:
            # Died outside any item (unpickling the batch, pickling results): bisect, so
            # the culprit ends up alone within log2(batch) deaths and nobody else is struck.
            half = len(indices) // 2
            self._requeue(job, indices[half:])
            self._requeue(job, indices[:half])

    def _strike(
        self, job: Job, item: int, cause: tuple[str | None, int | None, str | None]
    ) -> None:
        if job.finished:
            return
        strikes = job.strikes[item] = job.strikes.get(item, 0) + 1
        job.last_cause[item] = cause
        if strikes < self._max_deaths:
            self._requeue(job, [item])
            return
        sig, code, reason = cause
        self._quarantined += 1
        error = PoisonItem(
            item_id=job.item_ids[item],
            deaths=strikes,
            signal=sig,
            exit_code=code,
            reason=reason,
        )
        self._finish(job, item, Failed(error, strikes))

    def _requeue(self, job: Job, indices: list[int]) -> None:
        if not job.finished and indices:
            job.redo.appendleft(indices)

    def _abandon(self, job: Job) -> None:
        """``run_many`` was cancelled: drop its items, kill workers still holding them."""
        job.redo.clear()
        job.next_fresh = len(job.items)
        if not job.future.done():
            job.future.cancel()
        for worker in self._live():
            # Only a worker running the call's batch now is killed; one that holds it queued
            # behind another call's batch is killed when it gets there (``_on_done``).
            if worker.outstanding and worker.outstanding[0].job is job:
                self._kill(worker, "cancelled")

    def _release(self, worker: WorkerHandle) -> None:
        """Close every fd the parent holds for ``worker`` and forget its timers."""
        loop = self._loop
        if worker.timer is not None:
            worker.timer.cancel()
            worker.timer = None
        if loop is not None and not loop.is_closed():
            if worker.res_open:
                loop.remove_reader(worker.res_fd)
            if worker.out:
                loop.remove_writer(worker.req_fd)
        worker.res_open = False
        worker.out.clear()
        worker.req.close()
        worker.res.close()
        worker.cell.close()
        with contextlib.suppress(ValueError):
            worker.proc.close()

    def _kill_everything(self) -> None:
        """Synchronous last resort: SIGKILL and reap every worker, close every fd."""
        loop = self._loop
        self._closing = True
        for thread in self._spawn_threads:
            thread.join(10.0)  # a start in progress is bounded by the forkserver round trip
        self._spawn_threads = []
        with self._spawn_lock:
            launched, self._launched = self._launched, []
        self._spawning.clear()
        for _, result in launched:
            if not isinstance(result, BaseException):
                proc, req, res, cell = result
                self._slots.append(WorkerHandle(proc, req, res, cell, time.monotonic()))
        workers = self._live()
        for worker in workers:
            if worker.kill_reason is None:
                worker.kill_reason = "closing"
            with contextlib.suppress(OSError, ValueError, AttributeError):
                worker.proc.kill()
        for worker in workers:
            if loop is not None and not loop.is_closed():
                loop.remove_reader(worker.sentinel)
            # SIGKILL cannot be ignored: this join is bounded by the kernel tearing down.
            worker.proc.join(2.0)
            self._release(worker)
        self._slots = [None] * self._count
        for job in list(self._jobs):
            if not job.future.done():
                job.future.set_exception(
                    PoolClosed(f"process pool closed with {job.remaining} item(s) unfinished")
                )
        for fd in (self._alive_r, self._alive_w):
            if fd >= 0:
                os.close(fd)
        self._alive_r = self._alive_w = -1
        self._closing = True
        self._closed = True
        if self._holds_helpers:
            self._holds_helpers = False
            self._last_holder = _cleanup.let_go()
        self._notify()


def _preload_worker_in_forkserver(extra: Sequence[str] = ()) -> None:
    """Have the forkserver import the worker module (and ``extra``) once, before any fork.

    Without it every worker imports asyncio and this package again (≈0.2 s per start or
    replacement, measured), then the module of the function it runs. Only possible before
    the forkserver starts; a forkserver already running (started by another pool or
    library) is left as it is. The forkserver skips modules that fail to import.
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:
        return
    modules = list(getattr(server, "_preload_modules", ["__main__"]))
    wanted = [m for m in (_WORKER_MODULE, *extra) if m not in modules]
    if wanted:
        forkserver.set_forkserver_preload([*modules, *wanted])


def _enlarge_pipe(fd: int, size: int) -> None:
    """Ask for ``size`` bytes of pipe buffer; keep the default where that is not possible."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is not None:
        with contextlib.suppress(OSError):  # above fs.pipe-max-size, or not Linux
            fcntl.fcntl(fd, setpipe, size)


def _shared_memory_fd(size: int) -> int:
    """An anonymous shared-memory fd of ``size`` bytes (memfd on Linux, else a temp file)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("juggler-progress", os.MFD_CLOEXEC)
    else:  # pragma: no cover - non-Linux
        fd, path = tempfile.mkstemp(prefix="juggler-progress-")
        os.unlink(path)
    os.ftruncate(fd, size)
    return fd
