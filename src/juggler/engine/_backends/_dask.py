"""A Dask cluster as the ``cpu`` backend: same pipelines, same semantics as the local pool.

* Batching: items travel in batches, one Dask task each, sized from measured item time like
  the pool's (``Job.learn``), so a cheap item pays the per-task cost once per batch.
* Fairness: tasks are handed to the scheduler only up to twice the cluster's threads; which
  run's batch goes next is the deficit round-robin of ``_fair`` (Dask's own scheduler never
  sees a queue it could serve unfairly).
* Worker deaths: Dask re-runs a task whose worker died, up to the scheduler's
  ``allowed-failures``; one more death is ``KilledWorker``. On our ``LocalCluster`` that is set
  to ``max_worker_deaths - 1``, so a single item is ``PoisonItem`` after exactly as many deaths
  as locally. A batch of several items that hits ``KilledWorker`` is run again item by item
  (no strike), so the culprit is found and the others finish.
* Timeouts: Dask cannot interrupt a running task. A timed-out item fails on time for the
  pipeline (items with a timeout run one per task; the clock starts when the scheduler has
  the task on a worker, checked every ``min(timeout/4, 0.25 s)``, so the verdict is up to
  that much late); its future is cancelled and, on a cluster we started, the worker running
  it is killed and its nanny starts a new one. On someone else's cluster the worker's thread
  stays busy until the function returns (docs/dask.md).
* Cancellation: the run's futures are cancelled; on our cluster, workers still running its
  items are replaced the same way. Closing: futures cancelled, our client closed, our
  ``LocalCluster`` closed. A cluster passed in by address or ``Client`` is left running for
  its other users.
  Workers of our ``LocalCluster`` exit by themselves when our process dies: distributed's
  process wrapper watches a pipe from the parent (``tests/chaos/test_runtime_signals.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

from .._errors import ConfigError, ItemTimeout, PoisonItem, PoolClosed
from ._fair import FairShare
from ._procpool._protocol import FnRef, RefCache
from ._procpool._state import Job
from ._protocol import Failed, Ok, Outcome, Raised

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_CALL_TARGET_S = 0.5
# Work per task. A task costs a few scheduler round trips, and on a machine whose cores the
# workers keep busy those take the scheduler's and the client's share of CPU too: at 0.1 s a
# task, 200 x 20 ms items on 2 workers ran 1.62-1.75x serial (the local pool 1.86-1.98x);
# at 0.25 s, 1.70-1.73x in the same session. A stage's call (0.5 s per worker) still splits
# into a few tasks per worker, so the end of a run stays balanced.
_BATCH_TARGET_S = 0.25
_MAX_BATCH = 8192
# How often the scheduler is asked for its workers (statistics, threads joining).
_POLL_S = 1.0
# Longest a killed worker's address stays barred while the scheduler notices its death.
_REPLACE_WAIT_S = 10.0


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class DaskStatistics:
    """A snapshot of the Dask backend (``report.stage(...).backend["processes"]``)."""

    scheduler: str
    workers: int
    threads: int
    tasks_in_flight: int
    pending_items: int
    items_done: int
    batches_done: int
    killed_worker_tasks: int
    quarantined: int
    timeouts: int
    restarts: int


@final
class _Task:
    __slots__ = ("future", "indices", "job", "seq", "started", "timer")

    def __init__(self, job: Job, indices: list[int], seq: int, future: Any) -> None:
        self.job = job
        self.indices = indices
        self.seq = seq
        self.future = future
        self.timer: asyncio.TimerHandle | None = None
        self.started: float | None = None  # first seen running (loop clock)


def _check_every(timeout_s: float) -> float:
    """How often a task with a timeout is looked at: a quarter of it, at most 0.25 s."""
    return min(timeout_s / 4, 0.25)


def _learn(job: Job, count: int, elapsed_s: float) -> None:
    """Size the next tasks to about ``_BATCH_TARGET_S`` of work (at most 4x per step)."""
    per_item = max(elapsed_s / max(count, 1), 1e-7)
    ideal = int(_BATCH_TARGET_S / per_item)
    job.batch_size = max(1, min(ideal, 4 * max(count, job.batch_size), _MAX_BATCH))


def _worker_of(key: str, dask_scheduler: Any = None) -> str | None:
    """Runs on the scheduler: the address of the worker processing ``key``, if any."""
    task = dask_scheduler.tasks.get(key)
    worker = getattr(task, "processing_on", None) if task is not None else None
    return None if worker is None else str(worker.address)


def _allowed_failures(dask_scheduler: Any = None) -> int:
    return int(dask_scheduler.allowed_failures)


@final
class DaskBackend:
    """Runs ``cpu`` items on a Dask cluster; implements ``SharedCpuBackend``.

    Args:
        cluster: ``"local"`` (a ``LocalCluster`` of single-threaded worker processes that
            this backend starts and stops), a scheduler address, or a ``distributed.Client``
            (its scheduler is used through a client of our own; theirs is left alone).
        workers: Worker processes of the ``"local"`` cluster (default: one per core).
        max_worker_deaths: Deaths after which an item is ``PoisonItem``.
    """

    def __init__(self, cluster: Any, *, workers: int | None, max_worker_deaths: int = 3) -> None:
        if not (cluster == "local" or isinstance(cluster, str) or hasattr(cluster, "scheduler")):
            raise ConfigError(
                f"cluster={cluster!r}: give 'local', a scheduler address such as "
                "'tcp://host:8786', or a distributed.Client"
            )
        self._spec = cluster
        self._local_workers = workers or os.cpu_count() or 1
        self._max_deaths = max_worker_deaths
        self._client: Any = None
        self._cluster: Any = None  # a LocalCluster we started and must stop
        self._address = ""
        self._threads = 1
        self._allowed_failures = 0
        self._jobs: deque[Job] = deque()
        self._fair = FairShare()
        self._inflight: dict[str, _Task] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self._ref_for = RefCache()
        self._learned: dict[FnRef, int] = {}
        self._seq = 0
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Future[None] | None = None
        self._worker_info: dict[str, Any] = {}
        self._quarantined_workers: set[str] = set()  # being replaced: no new tasks there
        # statistics
        self._items_done = 0
        self._batches_done = 0
        self._killed = 0
        self._quarantined = 0
        self._timeouts = 0
        self._restarts = 0

    # ------------------------------------------------------------------ life cycle

    @property
    def workers(self) -> int:
        """Items that can run at once: the cluster's threads."""
        return self._threads

    #: Each call costs scheduler round trips (tens of ms on a busy machine): stages hand
    #: over about this much work per call, so that cost is paid per call, not per item.
    call_target_s = _CALL_TARGET_S

    async def start(self) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError(
                f"cluster={self._spec!r} needs Dask: pip install 'juggler[dask]' ({exc})"
            ) from exc
        self._loop = asyncio.get_running_loop()
        if self._spec == "local":
            settings = {
                "distributed.scheduler.allowed-failures": self._max_deaths - 1,
                # One task on a worker at a time, the rest queued at the scheduler: a death
                # then marks only the task that was running, as the pool's progress cell does.
                "distributed.scheduler.worker-saturation": 1.0,
            }
            with dask.config.set(settings):
                self._cluster = await LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=self._local_workers,
                    threads_per_worker=1,
                    processes=True,
                    asynchronous=True,
                    dashboard_address=":0",  # any free port: 8787 may be taken
                    silence_logs=logging.ERROR,
                )
            self._address = self._cluster.scheduler_address
        elif isinstance(self._spec, str):
            self._address = self._spec
        else:
            self._address = self._spec.scheduler.address
        try:
            try:
                self._client = await Client(  # type: ignore[no-untyped-call]
                    self._address, asynchronous=True, timeout="10s"
                )
            except (OSError, TimeoutError, ValueError) as exc:
                raise ConfigError(
                    f"cluster={self._address!r}: cannot reach the Dask scheduler: {exc}"
                ) from exc
            await self._client.wait_for_workers(1)
            self._allowed_failures = await self._client.run_on_scheduler(_allowed_failures)
            await self._refresh_workers()
            self._poller = asyncio.ensure_future(self._poll_workers())
        except BaseException:
            await self._shutdown()
            raise

    async def aclose(self, *, grace_s: float = 1.5) -> None:
        """Stop handing out work, give tasks in flight ``grace_s``, then cancel and close."""
        if self._closing:
            return
        self._closing = True
        try:
            if self._watchers:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(grace_s):
                        await asyncio.gather(*self._watchers, return_exceptions=True)
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        self._closing = True
        if self._poller is not None:
            self._poller.cancel()
        futures = [task.future for task in self._inflight.values()]
        for task in self._inflight.values():
            if task.timer is not None:
                task.timer.cancel()
        self._inflight.clear()
        for watcher in self._watchers:
            watcher.cancel()
        for job in self._jobs:
            if not job.future.done():
                job.future.set_exception(
                    PoolClosed(f"Dask backend closed with {job.remaining} item(s) unfinished")
                )
        try:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    if futures:
                        await self._client.cancel(futures)
                await self._client.close()
        finally:
            self._client = None
            if self._cluster is not None:
                cluster, self._cluster = self._cluster, None
                await cluster.close()

    # ------------------------------------------------------------------ runs

    async def run_many(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
    ) -> list[Outcome]:
        return await self.run_many_for("", fn, items, item_ids=item_ids, timeout_s=timeout_s)

    async def run_many_for(
        self,
        owner: str,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
    ) -> list[Outcome]:
        if len(item_ids) != len(items):
            raise ConfigError(f"{len(items)} items but {len(item_ids)} item_ids")
        if timeout_s is not None and timeout_s <= 0:
            raise ConfigError(f"timeout_s must be > 0, got {timeout_s}")
        ref = self._ref_for(fn)
        if self._closing or self._client is None:
            raise PoolClosed("the Dask backend is closed or not started")
        if not items:
            return []
        loop = asyncio.get_running_loop()
        size = 1 if timeout_s is not None else self._learned.get(ref, 1)
        job = Job(ref, list(items), item_ids, timeout_s, size, loop.create_future())
        job.owner = owner
        self._fair.join(owner)
        self._jobs.append(job)
        try:
            self._pump()
            await job.future
        except asyncio.CancelledError:
            self._abandon(job)
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._jobs.remove(job)
        return [o for o in job.outcomes if o is not None]

    def forget(self, owner: str) -> None:
        self._fair.leave(owner)

    # ------------------------------------------------------------------ dispatch

    def _capacity(self) -> int:
        # With a per-item timeout the clock starts at hand-over: queue nothing beyond the
        # threads, so an item's time waiting for a thread is not charged to it.
        if any(j.timeout_s is not None for j in self._jobs if not j.finished):
            return self._threads
        return 2 * self._threads

    def _pump(self) -> None:
        if self._closing or self._client is None:
            return
        from ._dask_task import run_batch

        capacity = self._capacity()
        while len(self._inflight) < capacity:
            job = self._fair.pick(self._jobs)
            if job is None:
                return
            if job.redo:
                indices = job.redo.popleft()
            else:
                # No splitting for balance beyond the learned size: a task costs scheduler
                # round trips, and other calls in flight keep the other threads busy.
                left = len(job.items) - job.next_fresh
                size = max(1, min(job.batch_size, left, self._fair.batch_cap(job)))
                indices = list(range(job.next_fresh, job.next_fresh + size))
                job.next_fresh += size
            self._seq += 1
            seq = self._seq
            chunk = [job.items[i] for i in indices]
            key = f"juggler-{seq}-{os.urandom(4).hex()}"
            where: dict[str, Any] = {}
            healthy = sorted(set(self._worker_info) - self._quarantined_workers)
            if self._quarantined_workers and healthy:
                where = {"workers": healthy, "allow_other_workers": False}
            future = self._client.submit(
                run_batch, job.ref.module, job.ref.qualname, chunk, key=key, pure=False, **where
            )
            task = _Task(job, indices, seq, future)
            self._inflight[key] = task
            self._fair.charge(job, seq, len(indices))
            if job.timeout_s is not None and self._loop is not None:
                task.timer = self._loop.call_later(_check_every(job.timeout_s), self._on_timer, key)
            watcher = asyncio.ensure_future(self._watch(key, task))
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)

    async def _watch(self, key: str, task: _Task) -> None:
        from distributed import KilledWorker

        try:
            pid, results = await task.future
        except asyncio.CancelledError:
            if self._closing or task.job.finished:
                return
            raise
        except KilledWorker:
            if self._inflight.pop(key, None) is task:
                self._on_killed(task)
        except Exception as exc:
            # Not a user error (those come back per item): the batch could not run at all.
            if self._inflight.pop(key, None) is task:
                tb = traceback.format_exc()
                for i in task.indices:
                    self._finish(task.job, i, Raised(exc, tb))
        else:
            if self._inflight.pop(key, None) is task:
                self._on_done(task, pid, results)
        finally:
            if task.timer is not None:
                task.timer.cancel()
        self._pump()

    def _on_done(self, task: _Task, pid: int, results: list[Any]) -> None:
        job = task.job
        self._batches_done += 1
        # Worker times are time.time() of its machine: shift them onto our monotonic clock.
        shift = time.monotonic() - time.time()
        elapsed = sum(end - start for _, _, start, end in results)
        self._fair.observe(job, task.seq, len(results), elapsed)
        if not job.finished and not job.redo and job.timeout_s is None:
            _learn(job, len(results), elapsed)
            self._learned[job.ref] = job.batch_size
        for i, (ok, value, start, end) in zip(task.indices, results, strict=True):
            timing = (pid, start + shift, end + shift)
            if ok:
                self._finish(job, i, Ok(value, timing))
            else:
                error, tb = value
                self._finish(job, i, Raised(error, tb, timing))

    def _on_killed(self, task: _Task) -> None:
        """The batch's workers kept dying (``allowed-failures`` + 1 deaths): find the item."""
        job = task.job
        self._killed += 1
        if job.finished:
            return
        if len(task.indices) > 1:
            for i in reversed(task.indices):  # one by one: only the culprit takes strikes
                job.redo.appendleft([i])
            return
        [item] = task.indices
        deaths = self._allowed_failures + 1
        strikes = job.strikes[item] = job.strikes.get(item, 0) + deaths
        if strikes < self._max_deaths:
            job.redo.appendleft([item])
            return
        self._quarantined += 1
        error = PoisonItem(item_id=job.item_ids[item], deaths=strikes, reason="KilledWorker")
        self._finish(job, item, Failed(error, strikes))

    def _on_timer(self, key: str) -> None:
        task = self._inflight.get(key)
        if task is None or self._closing:
            return
        watcher = asyncio.ensure_future(self._check_timeout(key, task))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)

    async def _check_timeout(self, key: str, task: _Task) -> None:
        """Time a task from when the scheduler has it on a worker, not from hand-over: a
        task waiting for a free (or restarting) worker has not started its item yet."""
        client, loop = self._client, asyncio.get_running_loop()
        timeout_s = task.job.timeout_s or 0.0
        try:
            worker = await client.run_on_scheduler(_worker_of, key=key)
            # On a worker being replaced, the task only waits for the new one.
            running = worker is not None and worker not in self._quarantined_workers
        except Exception:
            running = True  # cannot tell: count the time
        if self._inflight.get(key) is not task:
            return
        now = loop.time()
        if running and task.started is None:
            task.started = now - _check_every(timeout_s) / 2  # seen between two checks
        if task.started is not None and now - task.started >= timeout_s:
            self._on_timeout(key)
            return
        task.timer = loop.call_later(_check_every(timeout_s), self._on_timer, key)

    def _on_timeout(self, key: str) -> None:
        task = self._inflight.pop(key, None)
        if task is None:
            return
        job = task.job
        self._timeouts += 1
        for i in task.indices:
            error = ItemTimeout(
                stage=job.ref.qualname, timeout_s=job.timeout_s or 0.0, item_id=job.item_ids[i]
            )
            self._finish(job, i, Failed(error, job.attempts(i)))
        self._recover([key], [task.future])
        self._pump()

    def _abandon(self, job: Job) -> None:
        """``run_many`` was cancelled: drop its items, cancel its tasks, free their workers."""
        job.redo.clear()
        job.next_fresh = len(job.items)
        if not job.future.done():
            job.future.cancel()
        keys = [k for k, t in self._inflight.items() if t.job is job]
        tasks = [self._inflight.pop(k) for k in keys]
        for task in tasks:
            if task.timer is not None:
                task.timer.cancel()
        if keys:
            self._recover(keys, [t.future for t in tasks])
        self._pump()

    def _recover(self, keys: list[str], futures: list[Any]) -> None:
        """Cancel tasks that must stop; on our own cluster, replace the workers running them."""
        watcher = asyncio.ensure_future(self._recover_async(keys, futures))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)

    async def _recover_async(self, keys: list[str], futures: list[Any]) -> None:
        client = self._client
        if client is None:
            return
        addresses: set[str] = set()
        if self._cluster is not None:
            for key in keys:
                with contextlib.suppress(Exception):
                    address = await client.run_on_scheduler(_worker_of, key=key)
                    if address:
                        addresses.add(address)
        # No new task goes to a worker that is stuck in a cancelled item (Dask would queue
        # one behind it), until it has been replaced.
        self._quarantined_workers |= addresses
        try:
            pids: dict[str, int] = {}
            if addresses and not self._closing:
                with contextlib.suppress(Exception):
                    pids = await client.run(os.getpid, workers=sorted(addresses))
            with contextlib.suppress(Exception):
                await client.cancel(futures)
            # Our LocalCluster's workers are our children: SIGKILL the stuck ones and their
            # nanny starts fresh ones (restart_workers would first wait, seconds, for a
            # graceful close that a thread stuck in user code never gives).
            for pid in pids.values():
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                self._restarts += 1
            async with asyncio.timeout(_REPLACE_WAIT_S):
                while pids and not self._closing and set(pids) & set(self._worker_info):
                    await asyncio.sleep(0.05)
                    await self._refresh_workers()
        except TimeoutError:
            pass
        finally:
            self._quarantined_workers -= addresses
        self._pump()

    def _finish(self, job: Job, index: int, outcome: Outcome) -> None:
        if job.outcomes[index] is not None or job.finished:
            return
        job.outcomes[index] = outcome
        job.remaining -= 1
        self._items_done += 1
        if job.remaining <= 0 and not job.future.done():
            job.future.set_result(None)

    # ------------------------------------------------------------------ statistics

    async def _refresh_workers(self) -> None:
        """Ask the scheduler for its workers (an async client caches only totals)."""
        if self._client is None:
            return
        identity = await self._client.scheduler.identity(n_workers=-1)
        workers = dict(identity.get("workers", {}))
        self._worker_info = workers
        threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
        self._threads = max(1, threads)

    async def _poll_workers(self) -> None:
        while True:
            await asyncio.sleep(_POLL_S)
            with contextlib.suppress(Exception):
                await self._refresh_workers()
                self._pump()  # more threads may have joined

    def statistics(self) -> DaskStatistics:
        return DaskStatistics(
            scheduler=self._address,
            workers=len(self._worker_info),
            threads=self._threads,
            tasks_in_flight=len(self._inflight),
            pending_items=sum(j.remaining for j in self._jobs if not j.finished),
            items_done=self._items_done,
            batches_done=self._batches_done,
            killed_worker_tasks=self._killed,
            quarantined=self._quarantined,
            timeouts=self._timeouts,
            restarts=self._restarts,
        )

    def worker_states(self) -> tuple[tuple[int | str, str], ...]:
        states = []
        for address, worker in sorted(self._worker_info.items()):
            counts = worker.get("metrics", {}).get("task_counts", {})
            executing = int(counts.get("executing", 0) or 0)
            states.append((str(address), "busy" if executing else "idle"))
        return tuple(states)
