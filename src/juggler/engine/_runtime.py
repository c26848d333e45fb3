"""``Runtime``: workers started once and shared, fairly, by many pipeline runs.

A run without a runtime makes a private backend and stops it at its end (the CLI's case). A
service opens one ``Runtime`` and passes it to every run: the workers start once, runs in
flight share them by deficit round-robin (``_backends/_fair.py``), and a run's failures,
timeouts and cancellation stay its own. The runtime bounds runs in flight and queued items;
past the bounds a run waits, or raises ``RuntimeBusy`` when asked not to wait.

The runtime lives on one event loop, its home: the loop of ``async with``, or, for the sync
``with`` form, a loop on a thread of its own. A run started from any other loop or thread is
carried over to the home loop and its result carried back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, final

from ._backends._lease import QueueBound, RunLease
from ._backends._procpool._signals import sigterm_as_sigint
from ._errors import ConfigError, RuntimeBusy
from ._placement._threads import ThreadPool

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
    from types import TracebackType

    from ._backends._protocol import SharedCpuBackend
    from ._report import RunReport

# How long a cancelled run started from another thread gets to stop its items.
_CANCEL_WAIT_S = 10.0


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeStatistics:
    """A snapshot of a ``Runtime``.

    Attributes:
        backend: ``"local"`` (worker processes here) or ``"dask"``.
        runs_in_flight: Runs admitted and not finished.
        runs_waiting: Runs waiting for admission (the bounds were reached).
        queued_items: Items handed to the workers and not finished, per run id.
        workers: ``(worker, state)`` per worker: a pid (local) or an address (Dask);
            state ``"busy"``, ``"idle"`` or ``"starting"``.
        runs_started: Runs admitted since the runtime started.
        runs_finished: Runs finished since (done, failed or cancelled).
        runs_refused: ``RuntimeBusy`` raised since.
        max_runs: The bound on runs in flight.
        max_queued_items: The bound on queued items.
        io_threads: Threads the ``io`` stages of every run share.
        io_threads_busy: Of those, running a call now.
    """

    backend: str
    runs_in_flight: int
    runs_waiting: int
    queued_items: dict[str, int] = field(default_factory=dict)
    workers: tuple[tuple[int | str, str], ...] = ()
    runs_started: int = 0
    runs_finished: int = 0
    runs_refused: int = 0
    max_runs: int = 0
    max_queued_items: int = 0
    io_threads: int = 0
    io_threads_busy: int = 0


@final
class Runtime:
    """Workers that many pipeline runs share; fair between runs, isolating their failures.

    Example::

        async with juggler.Runtime(workers=4) as rt:
            reports = await asyncio.gather(
                *(pipeline.run_async(batch, runtime=rt) for batch in batches)
            )

    or, from synchronous code, ``with juggler.Runtime() as rt: pipeline.run(items, runtime=rt)``.

    Args:
        workers: Worker processes (default: one per core). Ignored with ``cluster``.
        cluster: Run ``cpu`` items on Dask instead: a scheduler address
            (``"tcp://host:8786"``), a ``distributed.Client``, or ``"local"`` for a
            ``LocalCluster`` of ``workers`` processes that the runtime starts and stops.
            Needs ``pip install 'juggler[dask]'``.
        max_runs: Runs in flight at once; more wait for a slot.
        max_queued_items: Items handed to the workers and not finished, across runs; a run
            that has items queued waits before queueing more past this bound.
        grace_s: How long items in flight get to finish when the runtime closes.
        preload: Modules of the functions runs will use, imported once by the forkserver.
        io_threads: Threads for the ``io`` stages of every run, started once with the
            runtime; a stage still runs at most its ``concurrency`` calls at once. (A run
            without a runtime starts threads per stage, which under load costs the event
            loop a GIL hand-off per thread started.)

    Raises:
        ConfigError: A bound is below 1, or ``cluster`` is given without Dask installed.
    """

    def __init__(
        self,
        workers: int | None = None,
        cluster: Any = None,
        *,
        max_runs: int = 64,
        max_queued_items: int = 1_000_000,
        grace_s: float = 1.5,
        preload: Sequence[str] = (),
        io_threads: int = 32,
    ) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        if max_runs < 1:
            raise ConfigError(f"max_runs must be >= 1, got {max_runs}")
        if max_queued_items < 1:
            raise ConfigError(f"max_queued_items must be >= 1, got {max_queued_items}")
        if io_threads < 1:
            raise ConfigError(f"io_threads must be >= 1, got {io_threads}")
        self._workers = workers
        self._cluster = cluster
        self._max_runs = max_runs
        self._grace_s = grace_s
        self._preload = tuple(preload)
        self._bound = QueueBound(max_queued_items)
        self._threads = ThreadPool(io_threads, name="io")
        self._backend: SharedCpuBackend | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._leases: dict[str, RunLease] = {}
        self._slot_waiters: list[asyncio.Future[None]] = []
        self._ids = itertools.count(1)
        self._started = 0
        self._finished = 0
        self._refused = 0
        self._closed = False

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Start the workers on the running loop, which becomes the runtime's home."""
        if self._loop is not None:
            raise ConfigError("this Runtime was started already")
        self._loop = asyncio.get_running_loop()
        backend = self._make_backend()
        await backend.start()
        self._backend = backend
        self._threads.start()

    async def aclose(self) -> None:
        """Stop the workers: items in flight get ``grace_s`` to finish, then are killed."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._backend is not None:
                await self._backend.aclose(grace_s=self._grace_s)
        finally:
            await self._threads.aclose(grace_s=self._grace_s)

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> Runtime:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise ConfigError("`with Runtime()` inside an event loop: use `async with`")
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def home() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=home, name="juggler-runtime", daemon=True)
        self._thread.start()
        ready.wait()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result()
        except BaseException:
            self._stop_home(loop)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop = self._loop
        assert loop is not None
        try:
            asyncio.run_coroutine_threadsafe(self.aclose(), loop).result()
        finally:
            self._stop_home(loop)

    def _stop_home(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def _make_backend(self) -> SharedCpuBackend:
        if self._cluster is None:
            from ._backends._local import LocalBackend

            return LocalBackend(workers=self._workers, preload=self._preload, grace_s=self._grace_s)
        from ._backends._dask import DaskBackend

        return DaskBackend(self._cluster, workers=self._workers)

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> RuntimeStatistics:
        """Runs in flight, queued items per run, worker pids and their state."""
        backend = self._backend
        threads = self._threads.statistics()
        return RuntimeStatistics(
            backend="local" if self._cluster is None else "dask",
            runs_in_flight=len(self._leases),
            runs_waiting=len(self._slot_waiters),
            queued_items={rid: lease.queued for rid, lease in self._leases.items() if lease.queued},
            workers=backend.worker_states() if backend is not None else (),
            runs_started=self._started,
            runs_finished=self._finished,
            runs_refused=self._refused,
            max_runs=self._max_runs,
            max_queued_items=self._bound.limit,
            io_threads=threads.threads,
            io_threads_busy=threads.busy,
        )

    # ------------------------------------------------------------------ runs

    @contextlib.asynccontextmanager
    async def lease(self, *, wait: bool) -> AsyncIterator[RunLease]:
        """Admit one run (on the home loop): a slot in flight and a view of the backend."""
        if self._backend is None or self._closed:
            raise ConfigError("the Runtime is not running: use `async with` or `with` first")
        while len(self._leases) >= self._max_runs or self._bound.full():
            if not wait:
                self._refused += 1
                raise RuntimeBusy(
                    f"runtime busy: {len(self._leases)} runs in flight (max {self._max_runs}), "
                    f"{self._bound.queued} items queued (max {self._bound.limit})",
                    runs_in_flight=len(self._leases),
                    queued_items=self._bound.queued,
                )
            waiter = asyncio.get_running_loop().create_future()
            self._slot_waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._slot_waiters:
                    self._slot_waiters.remove(waiter)
        run_id = f"run-{next(self._ids)}-{os.urandom(3).hex()}"
        lease = RunLease(self._backend, run_id, self._bound)
        self._leases[run_id] = lease
        self._started += 1
        try:
            yield lease
        finally:
            del self._leases[run_id]
            self._finished += 1
            self._wake_one()

    @property
    def io_thread_pool(self) -> ThreadPool:
        """The threads every run's ``io`` stages share (for the engine's stage runners)."""
        return self._threads

    def _wake_one(self) -> None:
        for waiter in self._slot_waiters:
            if not waiter.done():
                waiter.set_result(None)
                return

    def _home(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._closed:
            raise ConfigError("the Runtime is not running: use `async with` or `with` first")
        return self._loop

    async def run_here_or_there(
        self, run: Callable[[], Awaitable[RunReport]], items: Iterable[Any] | AsyncIterable[Any]
    ) -> RunReport:
        """Await ``run()`` on the home loop, from whichever loop calls this."""
        home = self._home()
        if home is asyncio.get_running_loop():
            return await run()
        if isinstance(items, AsyncIterable):
            raise ConfigError(
                "async iterables cannot cross event loops: pass a plain iterable, or open the "
                "Runtime with `async with` on this loop"
            )
        done = threading.Event()
        future = asyncio.run_coroutine_threadsafe(_signalling(run, done), home)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            # The run stops its items on the home loop; wait for that without blocking ours.
            await asyncio.get_running_loop().run_in_executor(None, done.wait, _CANCEL_WAIT_S)
            raise

    def run_blocking(
        self, run: Callable[[], Awaitable[RunReport]], items: Iterable[Any] | AsyncIterable[Any]
    ) -> RunReport:
        """Run ``run()`` on the home loop from synchronous code; Ctrl-C/SIGTERM cancel it."""
        home = self._home()
        if isinstance(items, AsyncIterable):
            raise ConfigError("async iterables need run_async() on the Runtime's own loop")
        done = threading.Event()
        future = asyncio.run_coroutine_threadsafe(_signalling(run, done), home)
        with sigterm_as_sigint():
            try:
                return future.result()
            except KeyboardInterrupt:
                future.cancel()
                done.wait(_CANCEL_WAIT_S)  # its items stopped, its workers replaced
                raise


async def _signalling(run: Callable[[], Awaitable[RunReport]], done: threading.Event) -> RunReport:
    try:
        return await run()
    finally:
        done.set()
