"""What one run of a shared ``Runtime`` sees of its backend: a ``CpuBackend`` tagged with its id.

The lease never starts or stops the shared workers; closing it only tells the backend that
the run is over. It counts the run's queued items, and holds a call back while the runtime's
bound on queued items is reached (a run with nothing queued always gets through, so every
run makes progress).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._protocol import Outcome, SharedCpuBackend


@final
class QueueBound:
    """The runtime-wide bound on items handed to the backend and not finished yet."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.queued = 0
        self._waiters: list[asyncio.Future[None]] = []

    def full(self) -> bool:
        return self.queued >= self.limit

    async def acquire(self, count: int, holder: RunLease) -> None:
        """Wait until ``count`` more items fit, or until ``holder`` has none queued (a run
        with nothing queued always gets through: every run makes progress)."""
        while holder.queued > 0 and self.queued + count > self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.queued += count

    def release(self, count: int) -> None:
        self.queued -= count
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


@final
class RunLease:
    """One run's view of the shared backend (implements ``CpuBackend``)."""

    def __init__(self, shared: SharedCpuBackend, run_id: str, bound: QueueBound) -> None:
        self.shared = shared
        self.run_id = run_id
        self.queued = 0
        self._bound = bound

    @property
    def workers(self) -> int:
        return self.shared.workers

    @property
    def call_target_s(self) -> float | None:
        """How long one hand-over should take, when the backend says (see ``_run``)."""
        target: float | None = getattr(self.shared, "call_target_s", None)
        return target

    async def start(self) -> None:
        """The shared workers are running already."""

    async def run_many(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
    ) -> list[Outcome]:
        count = len(items)
        await self._bound.acquire(count, self)
        self.queued += count
        try:
            return await self.shared.run_many_for(
                self.run_id, fn, items, item_ids=item_ids, timeout_s=timeout_s
            )
        finally:
            self.queued -= count
            self._bound.release(count)

    async def aclose(self, *, grace_s: float = 1.5) -> None:
        """The run is over: its calls were cancelled already; the workers stay up."""
        self.shared.forget(self.run_id)

    def statistics(self) -> Any:
        return self.shared.statistics()
