"""A ``cpu`` stage's hand-overs to the process backend: how many items per call, and what
became of each (its outputs, a retry after its backoff, or a failure for good)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ._backends._protocol import Failed, Ok, Raised
from ._errors import ItemTimeout
from ._run_context import CPU_CALL_TARGET_S, CPU_MAX_BATCH, Item, item_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._report import StageReport
    from ._run_context import RunContext
    from ._stage import Stage

_OUTCOME_NAMES = {Ok: "ok", Raised: "error", Failed: "crash"}


class CpuHandOver:
    """Runs one stage's items in the process backend, in calls sized to their cost.

    Args:
        outputs: Turns an item and its function's value into the items sent downstream.
    """

    def __init__(
        self,
        stage: Stage,
        ctx: RunContext,
        report: StageReport,
        outputs: Callable[[Item, Any, float], list[Item]],
    ) -> None:
        self.stage, self.ctx, self.report = stage, ctx, report
        self._outputs = outputs
        # Items per hand-over: starts at one per worker, then learned from what calls cost.
        self.take = 2
        self._workers = 1
        self._call_target_s = CPU_CALL_TARGET_S

    def learn(self, count: int, elapsed_s: float) -> None:
        """Size the next hand-over so it takes about ``CPU_CALL_TARGET_S``.

        ``count`` items took ``elapsed_s`` spread over up to ``workers`` processes, so one item
        costs about ``elapsed_s * min(count, workers) / count``. Tiny items grow the take to
        the cap (dispatch cost dominates); heavy ones shrink it to a few, so their results go
        downstream as they finish instead of all at the end.
        """
        workers = self._workers
        per_item = elapsed_s * min(count, workers) / count
        if per_item <= 0:
            self.take = CPU_MAX_BATCH
            return
        wanted = int(self._call_target_s * workers / per_item)
        self.take = max(1, min(CPU_MAX_BATCH, wanted))

    async def run(self, items: list[Item], *, attempt: int) -> list[list[Item]]:
        """Run items in the process backend, retrying user errors after their backoff.

        Retries are awaited by the calling worker task; the stage's other tasks keep going.
        """
        stage, report = self.stage, self.report
        backend = await self.ctx.cpu_backend()
        self._workers = backend.workers
        # A backend whose every call costs a scheduler round trip (Dask) asks for longer calls.
        self._call_target_s = getattr(backend, "call_target_s", None) or CPU_CALL_TARGET_S
        loop = asyncio.get_running_loop()
        start = loop.time()
        if report.first_start is None:
            report.first_start = start
        outcomes = await backend.run_many(
            stage.fn,
            [item.value for item in items],
            item_ids=[item_id(item.key) for item in items],
            timeout_s=stage.timeout_s,
        )
        end = loop.time()
        self.ctx.recorder.tick(end)
        report.last_finish = end
        results: list[list[Item]] = []
        rows, name = self.ctx.recorder.rows, stage.name
        for item, outcome in zip(items, outcomes, strict=True):
            timing = getattr(outcome, "timing", None)
            pid, t_start, t_end = timing if timing is not None else (0, start, end)
            # Busy time is the workers' own time per item (what the timeline shows), not the
            # batch's wait in the parent: batches in flight at once would count it twice.
            report.busy_s += max(0.0, t_end - t_start)
            kind = _OUTCOME_NAMES[type(outcome)]
            if isinstance(outcome, Failed) and isinstance(outcome.error, ItemTimeout):
                kind = "timeout"
            row = (name, "cpu", pid, "worker", item.key, attempt, item.queued, t_start, t_end)
            rows.append((*row, kind, None, None))
            if isinstance(outcome, Ok):
                report.succeeded += 1
                results.append(self._outputs(item, outcome.value, end))
            elif isinstance(outcome, Raised):
                if stage.retry.should_retry(outcome.error, attempt):
                    report.retried += 1
                    results.append(await self._retry(item, attempt))
                else:
                    error, tb = outcome.error, outcome.traceback
                    results.append([self.ctx.fail(stage, report, item, attempt, error, tb)])
            else:
                assert isinstance(outcome, Failed)
                failed = self.ctx.fail(stage, report, item, outcome.attempts, outcome.error)
                results.append([failed])
        return results

    async def _retry(self, item: Item, attempt: int) -> list[Item]:
        await asyncio.sleep(self.stage.retry.backoff_s(attempt, self.ctx.rng))
        return (await self.run([item], attempt=attempt + 1))[0]
