"""A pool of daemon threads owned by one ``io`` stage, driven from the event loop.

Why not ``ThreadPoolExecutor``: its threads are joined at interpreter exit, so one stuck
blocking call would hang the program's exit (RELIABILITY.md §9), and ``asyncio.to_thread``
shares the loop's small default pool (6 threads on 2 cores) between every caller.

Completions are handed to the loop in bulk: a thread appends its result to a shared list and
wakes the loop only if no wake-up is already pending, so a busy pool costs one self-pipe write
per batch of completions rather than one per item.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

from .._errors import ItemTimeout

if TYPE_CHECKING:
    from collections.abc import Callable


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadPoolStatistics:
    """Threads alive, busy and abandoned (stuck past a timeout; they cannot be killed)."""

    threads: int
    busy: int
    abandoned_threads: int
    done: int


class _Job:
    __slots__ = ("abandoned", "arg", "finished", "fn", "future", "thread")

    @property
    def thread_name(self) -> str:
        return self.thread.name if self.thread is not None else "?"

    def __init__(self, fn: Callable[[Any], Any], arg: Any, future: asyncio.Future[Any]) -> None:
        self.fn = fn
        self.arg = arg
        self.future = future
        self.finished = False
        self.abandoned = False
        self.thread: threading.Thread | None = None


_STOP = None


def _was_abandoned(job: _Job) -> bool:
    # A function, not ``job.abandoned`` inline: the loop thread may have set it since this
    # thread last looked, which a type checker's narrowing cannot know.
    return job.abandoned


@final
class ThreadPool:
    """``size`` daemon threads running blocking calls for coroutines on one event loop."""

    def __init__(self, size: int, *, name: str) -> None:
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._completed: list[tuple[_Job | None, bool, Any]] = []
        self._wakeup_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: dict[threading.Thread, asyncio.Future[None]] = {}
        self._busy = 0
        self._abandoned = 0
        self._done = 0
        self._serial = 0
        self._stuck: set[threading.Thread] = set()

    def start(self) -> None:
        """Start the threads; call on the event loop that will await the results."""
        self._loop = asyncio.get_running_loop()
        for _ in range(self._size):
            self._spawn()

    async def run(
        self,
        fn: Callable[[Any], Any],
        arg: Any,
        *,
        timeout_s: float | None,
        stage: str,
        where: list[str] | None = None,
    ) -> Any:
        """Run ``fn(arg)`` in a thread and return its result.

        ``where``, if given, receives the name of the thread that ran the call, also when
        the call raised or timed out.

        Raises:
            ItemTimeout: The call ran past ``timeout_s``; its thread is abandoned and replaced.
            Exception: Whatever ``fn`` raised.
        """
        assert self._loop is not None, "ThreadPool.start() was not called"
        future: asyncio.Future[Any] = self._loop.create_future()
        job = _Job(fn, arg, future)
        self._jobs.put(job)
        try:
            if timeout_s is None:
                return await future
            try:
                async with asyncio.timeout(timeout_s) as scope:
                    return await future
            except TimeoutError:
                if scope.expired():
                    self._abandon(job)
                    raise ItemTimeout(stage=stage, timeout_s=timeout_s) from None
                raise
        finally:
            if where is not None:
                where.append(job.thread_name)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the pool's live threads (Linux/BSD: per-thread clocks)."""
        total = 0.0
        for thread in list(self._threads):
            ident = thread.ident
            if ident is None or not thread.is_alive():
                continue
            try:
                total += time.clock_gettime(time.pthread_getcpuclockid(ident))
            except (OSError, AttributeError):  # thread just exited, or no per-thread clocks
                continue
        return total

    def statistics(self) -> ThreadPoolStatistics:
        return ThreadPoolStatistics(
            threads=len(self._threads),
            busy=self._busy,
            abandoned_threads=self._abandoned,
            done=self._done,
        )

    async def aclose(self, *, grace_s: float = 1.0) -> None:
        """Stop the threads: idle ones at once, busy ones when their call returns.

        Calls still running after ``grace_s`` are abandoned: their daemon threads never hold
        up the process' exit.
        """
        if self._loop is None:
            return
        for _ in range(len(self._threads)):
            self._jobs.put(_STOP)
        with self._lock:
            stuck = set(self._stuck)
        exits = [done for thread, done in self._threads.items() if thread not in stuck]
        if exits:
            await asyncio.wait(exits, timeout=grace_s)

    def _abandon(self, job: _Job) -> None:
        with self._lock:
            if job.finished:
                return
            job.abandoned = True
            if job.thread is None:
                return  # never started: no thread will pick it up now
            self._abandoned += 1
            self._stuck.add(job.thread)
        self._spawn()  # keep the pool at full strength while the stuck thread lingers

    def _spawn(self) -> None:
        assert self._loop is not None
        self._serial += 1
        thread = threading.Thread(
            target=self._work, name=f"juggler-{self._name}-{self._serial}", daemon=True
        )
        self._threads[thread] = self._loop.create_future()
        thread.start()

    def _work(self) -> None:
        get, lock = self._jobs.get, self._lock
        me = threading.current_thread()
        while True:
            job = get()
            if job is _STOP:
                break
            with lock:
                if job.abandoned or job.future.cancelled():
                    continue
                job.thread = me
                self._busy += 1
            try:
                value: Any = job.fn(job.arg)
                ok = True
            except BaseException as exc:  # handed to the awaiting coroutine, not swallowed
                value, ok = exc, False
            with lock:
                self._busy -= 1
                job.finished = True
                if _was_abandoned(job):
                    # The loop gave up on this call and already started a replacement.
                    self._abandoned -= 1
                    self._stuck.discard(me)
                    break
                wake = self._queue_completion(job, ok, value)
            if wake:
                self._wake_loop()
        with lock:
            wake = self._queue_completion(None, True, me)
        if wake:
            self._wake_loop()

    def _queue_completion(self, job: _Job | None, ok: bool, value: Any) -> bool:
        """Queue a result for the loop (lock held); True if the loop needs a wake-up."""
        self._completed.append((job, ok, value))
        if self._wakeup_pending:
            return False
        self._wakeup_pending = True
        return True

    def _wake_loop(self) -> None:
        loop = self._loop
        assert loop is not None
        try:
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting any more

    def _drain(self) -> None:
        with self._lock:
            completed, self._completed = self._completed, []
            self._wakeup_pending = False
        for job, ok, value in completed:
            if job is None:
                exited = self._threads.pop(value, None)
                if exited is not None and not exited.done():
                    exited.set_result(None)
                continue
            self._done += 1
            future = job.future
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
