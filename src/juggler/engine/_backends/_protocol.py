"""The seam between a ``cpu`` stage and whatever runs its items in other processes.

A stage never talks to processes directly. It hands a backend a list of items and gets one
``Outcome`` per item back, in the same order. The local supervised pool and the Dask backend
both implement :class:`CpuBackend`; the stage's retry policy stays in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .._errors import ItemError


@dataclass(slots=True, frozen=True)
class Ok:
    """The item's function returned ``value``.

    ``timing`` is ``(pid, start, end)`` of the attempt, on the parent's ``time.monotonic``
    clock, when the backend measured it.
    """

    value: Any
    timing: tuple[int, float, float] | None = None


@dataclass(slots=True, frozen=True)
class Raised:
    """User code raised ``error``; the stage's ``retries`` policy decides what happens next.

    ``traceback`` is the formatted traceback text from the worker (the exception object may be
    a stand-in when the original could not be pickled).
    """

    error: BaseException
    traceback: str
    timing: tuple[int, float, float] | None = None


@dataclass(slots=True, frozen=True)
class Failed:
    """The backend gave up on the item for good (timeout, poison after repeated crashes).

    Such failures are never retried by the stage: the backend already spent the strikes.
    ``attempts`` is how many times the item was started.
    """

    error: ItemError
    attempts: int


Outcome = Ok | Raised | Failed


class CpuBackend(Protocol):
    """Runs items of ``cpu`` stages in worker processes."""

    @property
    def workers(self) -> int:
        """How many items can run at the same time."""
        ...

    async def start(self) -> None:
        """Start the workers. Called once, on the event loop, before the first ``run_many``."""
        ...

    async def run_many(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
    ) -> list[Outcome]:
        """Run ``fn(item)`` for every item and return their outcomes in the same order.

        Cancellation: the items of a cancelled call are abandoned; a worker that is still
        running one is killed and replaced.
        """
        ...

    async def aclose(self, *, grace_s: float = 1.5) -> None:
        """Stop every worker: wait up to ``grace_s`` for in-flight items, then kill."""
        ...

    def statistics(self) -> Any:
        """A frozen snapshot of the backend's state (worker pids, busy/idle counts, ...)."""
        ...


class SharedCpuBackend(CpuBackend, Protocol):
    """A ``CpuBackend`` that many runs share: each call says which run it belongs to.

    The backend keeps one queue per ``owner`` and shares worker time between the owners
    with work (deficit round-robin), so a small run is never stuck behind a large one.
    Cancelling one owner's call kills only the workers running that owner's items.
    """

    async def run_many_for(
        self,
        owner: str,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
    ) -> list[Outcome]:
        """:meth:`CpuBackend.run_many` on behalf of run ``owner``."""
        ...

    def forget(self, owner: str) -> None:
        """Run ``owner`` has ended: drop what the backend kept about it."""
        ...

    def worker_states(self) -> tuple[tuple[int | str, str], ...]:
        """``(worker, state)`` per worker: a pid or an address; ``busy``/``idle``/``starting``."""
        ...
