"""Deficit round-robin between the runs that share a backend (``_backends/_fair.py``).

Simulated: each picked batch "runs" for items × the owner's item cost, and the fair share
is told the real duration, as the pool does when a batch comes back.
"""

from __future__ import annotations

from collections import Counter

from juggler.engine._backends._fair import CONTENDED_BATCH_S, FairShare


class _Job:
    def __init__(self, owner: str, ref: str, items: int) -> None:
        self.owner, self.ref, self.left = owner, ref, items
        self.finished = False

    def has_work(self) -> bool:
        return self.left > 0


def _simulate(jobs: list[_Job], cost: dict[str, float], batches: int) -> Counter[str]:
    fair = FairShare()
    for job in jobs:
        fair.join(job.owner)
    worker_time: Counter[str] = Counter()
    for seq in range(batches):
        job = fair.pick(jobs)
        assert job is not None
        size = min(8, fair.batch_cap(job), job.left)
        fair.charge(job, seq, size)
        elapsed = size * cost[job.owner]
        fair.observe(job, seq, size, elapsed)
        worker_time[job.owner] += elapsed
    return worker_time


def test_an_owner_with_many_jobs_gets_no_more_than_one_with_a_single_job() -> None:
    jobs = [_Job("big", "f", 10**6) for _ in range(8)] + [_Job("small", "f", 10**6)]
    shares = _simulate(jobs, {"big": 0.001, "small": 0.001}, 4000)
    total = sum(shares.values())
    assert 0.45 <= shares["small"] / total <= 0.55


def test_worker_time_is_shared_not_batch_counts() -> None:
    """An owner whose items cost 10x more gets the same worker time, not 10x more."""
    jobs = [_Job("heavy", "f", 10**6), _Job("light", "g", 10**6)]
    shares = _simulate(jobs, {"heavy": 0.010, "light": 0.001}, 4000)
    total = sum(shares.values())
    assert 0.45 <= shares["heavy"] / total <= 0.55


def test_a_newcomer_is_served_next_and_batches_shrink_while_owners_compete() -> None:
    fair = FairShare()
    big = _Job("big", "f", 10**6)
    fair.join("big")
    for seq in range(50):
        job = fair.pick([big])
        assert job is big
        fair.charge(job, seq, 4)
        fair.observe(job, seq, 4, 0.004)
    assert not fair.contended
    assert fair.batch_cap(big) > 10**6
    small = _Job("small", "f", 20)
    fair.join("small")
    assert fair.pick([big, small]) is small
    assert fair.contended
    # 1 ms items: a batch holds about CONTENDED_BATCH_S of work while both have work.
    assert fair.batch_cap(big) == round(CONTENDED_BATCH_S / 0.001)


def test_an_owner_that_leaves_is_forgotten() -> None:
    fair = FairShare()
    fair.join("a")
    job = _Job("a", "f", 3)
    assert fair.pick([job]) is job
    fair.leave("a")
    assert fair.owners == {}
