"""The supervised process pool (``engine/_backends/_procpool``) as a backend that runs share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

from ._procpool._supervisor import ProcessPool

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._procpool._stats import PoolStatistics
    from ._protocol import Outcome


@final
class LocalBackend:
    """Worker processes on this machine; implements ``SharedCpuBackend``.

    Fairness between runs is the pool's (``owner=``, deficit round-robin in ``_fair``);
    isolation is the pool's too: strikes, timeouts and cancellation are per call, and a
    worker killed for one call's sake requeues the other calls' batches without a strike.
    """

    def __init__(
        self, *, workers: int | None, preload: Sequence[str] = (), grace_s: float = 1.5
    ) -> None:
        self.pool = ProcessPool(workers=workers, preload=preload, grace_s=grace_s)

    @property
    def workers(self) -> int:
        return self.pool.workers

    async def start(self) -> None:
        await self.pool.start()

    async def run_many(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
    ) -> list[Outcome]:
        return await self.pool.run_many(fn, items, item_ids=item_ids, timeout_s=timeout_s)

    async def run_many_for(
        self,
        owner: str,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
    ) -> list[Outcome]:
        return await self.pool.run_many(
            fn, items, item_ids=item_ids, timeout_s=timeout_s, owner=owner
        )

    def forget(self, owner: str) -> None:
        self.pool.forget_owner(owner)

    async def aclose(self, *, grace_s: float = 1.5) -> None:
        await self.pool.aclose(grace_s=grace_s)

    def statistics(self) -> PoolStatistics:
        return self.pool.statistics()

    def worker_states(self) -> tuple[tuple[int | str, str], ...]:
        stats = self.pool.statistics()
        busy = set(stats.busy_worker_pids)
        return tuple((pid, "busy" if pid in busy else "idle") for pid in stats.worker_pids)
