"""Deficit round-robin: how runs that share a backend's workers take turns.

Each run (owner) with work has a deficit, in seconds of worker time. The owner at the head
of the ring is served while its deficit is positive; each batch cut for it is charged at its
estimated cost (items × the owner's measured time per item), and the estimate is corrected
when the batch's real duration comes back. An owner out of credit gets one quantum and goes
to the back of the ring. So every owner with work gets the same worker time per round,
whatever its batch sizes, and each keeps its own adaptive batching.

Newcomers start at the front with one quantum of credit: a small run submitted next to a
large one is served at the next free slot. While two or more owners have work, batches are
capped to ``CONTENDED_BATCH_S`` of estimated work and workers are kept only two batches deep,
so a newcomer never waits behind a long queue already written into a worker's pipe.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from collections.abc import Iterable

QUANTUM_S = 0.02
"""Credit per round: about one adaptive batch (the pool aims at 20 ms per batch)."""
CONTENDED_BATCH_S = 0.005
"""Largest batch, in estimated seconds, while owners compete (a newcomer's worst wait)."""
_DEFAULT_ITEM_S = 0.001
"""Cost assumed for an item of a function not measured yet."""


@final
class _Owner:
    __slots__ = ("charged", "deficit", "per_item", "turn")

    def __init__(self) -> None:
        self.deficit = QUANTUM_S
        self.per_item: dict[Any, float] = {}  # function reference -> seconds per item
        self.charged: dict[int, float] = {}  # batch seq -> estimated seconds charged
        self.turn = 0


@final
class FairShare:
    """Deficit round-robin over the owners of a shared backend's jobs.

    Works on any job object with ``owner``, ``ref``, ``finished`` and ``has_work()``.
    """

    def __init__(self) -> None:
        self.owners: dict[Any, _Owner] = {}
        self._ring: deque[Any] = deque()
        self.contended = False

    def join(self, owner: Any) -> None:
        if owner not in self.owners:
            self.owners[owner] = _Owner()

    def leave(self, owner: Any) -> None:
        self.owners.pop(owner, None)
        if owner in self._ring:
            self._ring.remove(owner)

    def pick(self, jobs: Iterable[Any]) -> Any | None:
        """The job to cut the next batch from, or ``None`` when no job has work."""
        waiting: dict[Any, list[Any]] = {}
        for job in jobs:
            if not job.finished and job.has_work():
                waiting.setdefault(job.owner, []).append(job)
        self.contended = len(waiting) > 1
        if not waiting:
            return None
        ring = self._ring
        for owner in [o for o in ring if o not in waiting]:
            # An owner with nothing queued keeps no credit (classic DRR); it re-enters as new.
            ring.remove(owner)
        for owner in waiting:
            if owner not in ring:
                state = self.owners.setdefault(owner, _Owner())
                state.deficit = max(state.deficit, QUANTUM_S)
                ring.appendleft(owner)
        while True:
            for _ in range(len(ring)):
                state = self.owners[ring[0]]
                if state.deficit > 0:
                    queue = waiting[ring[0]]
                    state.turn += 1
                    return queue[state.turn % len(queue)]
                ring.rotate(-1)  # out of credit: the next owner's turn
            # Every owner is out of credit: a new round gives each the quanta it takes for
            # the least indebted to be in credit again (the same amount to all: fair).
            rounds = min(int(-self.owners[o].deficit / QUANTUM_S) + 1 for o in ring)
            for owner in ring:
                self.owners[owner].deficit += rounds * QUANTUM_S

    def batch_cap(self, job: Any) -> int:
        """Most items in the next batch of ``job``: bounded while owners compete."""
        if not self.contended or job.owner not in self.owners:
            return 1 << 30
        per_item = self.owners[job.owner].per_item.get(job.ref, _DEFAULT_ITEM_S)
        return max(1, int(CONTENDED_BATCH_S / max(per_item, 1e-7)))

    def charge(self, job: Any, seq: int, count: int) -> None:
        """A batch of ``count`` items of ``job`` was cut: charge its estimated cost."""
        state = self.owners.get(job.owner)
        if state is None:
            return
        cost = count * state.per_item.get(job.ref, _DEFAULT_ITEM_S)
        state.deficit -= cost
        state.charged[seq] = cost

    def observe(self, job: Any, seq: int, count: int, elapsed_s: float) -> None:
        """Batch ``seq`` came back after ``elapsed_s`` of worker time: correct the charge."""
        state = self.owners.get(job.owner)
        if state is None:
            return
        estimated = state.charged.pop(seq, None)
        if estimated is not None:
            state.deficit += estimated - elapsed_s
        old = state.per_item.get(job.ref)
        measured = elapsed_s / max(count, 1)
        state.per_item[job.ref] = measured if old is None else 0.7 * old + 0.3 * measured
