"""Admission, execution and progress of triage runs on the server's one shared Runtime.

Limits (S8): ``max_runs`` triages run at once and ``max_queued`` more wait; past that a new
upload is refused (the route answers 503 with Retry-After). Each run has a wall-time cap;
over it the run is cancelled and marked so. On shutdown (R16) new runs are refused, running
ones get the grace period, then the rest are cancelled and marked ``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from juggler.triage._service import write_outputs
from juggler.triage.pipeline import triage_async

if TYPE_CHECKING:
    from pathlib import Path

    import juggler

    from ._metrics import Metrics
    from ._settings import ServeSettings
    from ._store import RunStore

log = logging.getLogger("juggler.server")
_PROGRESS_EVERY_S = 0.5
_FINDINGS_SHOWN = 20
# A made-up failed build with a baseline, for the start-up warm-up: it takes the triage
# through every path a real upload takes (scan, diff, rank, recall, memo).
_WARM_UP_LOG = """\
##[group]Run pytest -q
collected 3 items
tests/test_warm.py ..F
=================================== FAILURES ===================================
___________________________________ test_up ____________________________________
    def test_up():
>       assert up() == 2
E       AssertionError: assert 1 == 2
FAILED tests/test_warm.py::test_up - AssertionError: assert 1 == 2
##[error]Process completed with exit code 1.
"""
_WARM_UP_BASELINE = "##[group]Run pytest -q\ncollected 3 items\ntests/test_warm.py ...\n"


class Busy(Exception):
    """No room for another run: the caller answers 503 with ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(slots=True)
class RunEvents:
    """A run's progress events, for any number of Server-Sent-Events readers."""

    items: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    done: bool = False

    def add(self, event: dict[str, Any]) -> None:
        self.items.append(event)
        self.changed.set()
        self.changed = asyncio.Event()
        if event["type"] == "done":
            self.done = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """What one upload asked for: its run id and the files saved for it."""

    run_id: str
    folder: Path
    logs: tuple[Path, ...]
    baseline: tuple[Path, ...]
    project: str
    names: dict[str, str] = field(default_factory=dict)


class Runner:
    """Runs triages on the shared runtime, within the server's limits."""

    def __init__(
        self,
        settings: ServeSettings,
        store: RunStore,
        metrics: Metrics,
        runtime: juggler.Runtime | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.runtime = runtime
        self.draining = False
        self._slots = asyncio.Semaphore(settings.max_runs)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running: set[str] = set()
        self._reserved = 0
        self.events: dict[str, RunEvents] = {}

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return len(self._tasks) - len(self._running) + self._reserved

    async def warm_up(self) -> None:
        """Triage a small made-up log once, before the server accepts connections.

        The first upload would otherwise import modules, compile regexes and load templates
        on the event loop, holding every other request (``/healthz`` too) for up to 160 ms
        at a time (``bench/serve_load.py`` S3); the workers would import the scan's modules
        during a user's run. The warm-up run is in no store, metric or list.
        """
        folder = self.settings.runs_dir / ".warm-up"
        started = time.monotonic()
        try:
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            failed, passed = folder / "failed.log", folder / "passed.log"
            await asyncio.to_thread(failed.write_text, _WARM_UP_LOG)
            await asyncio.to_thread(passed.write_text, _WARM_UP_BASELINE)
            result = await triage_async(
                [str(failed)],
                baseline=[str(passed)],
                kb=self.settings.kb_path,
                runtime=self.runtime,
                workers=self.settings.workers,
            )
            await asyncio.to_thread(write_outputs, result, folder / "out")
            log.info(
                "warmed up: a triage of a built-in log took %.2f s", time.monotonic() - started
            )
        except Exception as exc:  # a slower first run is no reason not to serve
            log.warning("warm-up triage failed: %s: %s", type(exc).__name__, exc)
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    def reserve(self) -> None:
        """Hold a place for an upload about to be read, or raise :class:`Busy`."""
        if self.draining:
            raise Busy("the server is shutting down", retry_after=self._retry_after())
        if len(self._tasks) + self._reserved >= self.settings.max_runs + self.settings.max_queued:
            self.metrics.refused.inc()
            raise Busy("the run queue is full", retry_after=self._retry_after())
        self._reserved += 1

    def release(self) -> None:
        self._reserved -= 1

    def _retry_after(self) -> int:
        # A queue's worth of work at a typical run's length, at least a second.
        return max(1, min(60, int(self.metrics.typical_seconds() * (1 + self.queued))))

    def submit(self, job: Submission) -> None:
        """Start a reserved run (the caller has stored its row as ``queued``)."""
        self._reserved -= 1
        events = self.events[job.run_id] = RunEvents()
        events.add({"type": "state", "state": "queued"})
        self._tasks[job.run_id] = asyncio.create_task(self._run(job, events))

    async def _run(self, job: Submission, events: RunEvents) -> None:
        state, error = "failed", ""
        try:
            async with self._slots:
                self._running.add(job.run_id)
                await self.store.started(job.run_id)
                events.add({"type": "state", "state": "running"})
                state, error = await self._triage(job, events)
        except asyncio.CancelledError:
            state, error = "interrupted", "the server stopped before this run finished"
            self.store.finish_now(job.run_id, state, error)
            events.add({"type": "done", "state": state, "error": error})
            raise
        except Exception as exc:  # one run's failure must not touch the server or others
            log.warning("run %s failed: %s", job.run_id, type(exc).__name__)
            state, error = "failed", f"internal error: {type(exc).__name__}"
            await self.store.finish(job.run_id, state, error=error)
        finally:
            self._running.discard(job.run_id)
            self._tasks.pop(job.run_id, None)
            self.metrics.finished.labels(state=state).inc()
            if state != "interrupted":
                # What the run needed is in its document and memos now; the upload (which
                # may hold secrets the redactor scrubbed from those) is not kept. An
                # interrupted run keeps it, so it can be submitted again.
                await asyncio.to_thread(_drop_inputs, job)
        events.add({"type": "done", "state": state, "error": error})
        # Readers connected now have the whole list; later ones read the store.
        asyncio.get_running_loop().call_later(30, self.events.pop, job.run_id, None)

    async def _triage(self, job: Submission, events: RunEvents) -> tuple[str, str]:
        started = time.monotonic()
        ticker = asyncio.create_task(self._tick(events, started))
        try:
            async with asyncio.timeout(self.settings.run_timeout_s):
                result = await triage_async(
                    [str(p) for p in job.logs],
                    baseline=[str(p) for p in job.baseline],
                    kb=self.settings.kb_path,
                    project=job.project,
                    runtime=self.runtime,
                    workers=self.settings.workers,
                )
                outcome = await asyncio.to_thread(write_outputs, result, job.folder, job.names)
        except TimeoutError:
            error = f"cancelled: over the wall-time cap of {self.settings.run_timeout_s:g} s"
            await self.store.finish(job.run_id, "cancelled", error=error)
            return "cancelled", error
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        self.metrics.observe_run(time.monotonic() - started)
        for finding in result.document["findings"][:_FINDINGS_SHOWN]:
            events.add(
                {
                    "type": "finding",
                    "rank": finding["rank"],
                    "title": finding["title"],
                    "path": finding["path"],
                    "line": finding["line_start"],
                }
            )
        refused = result.document["rejected_inputs"]
        state = "failed" if refused and not result.document["inputs"] else "done"
        error = "; ".join(str(r["reason"]) for r in refused)[:2000]
        await self.store.finish(
            job.run_id,
            state,
            error=error,
            headline=outcome.headline,
            findings=outcome.findings,
            causes=outcome.causes,
        )
        return state, error

    async def _tick(self, events: RunEvents, started: float) -> None:
        while True:
            await asyncio.sleep(_PROGRESS_EVERY_S)
            info: dict[str, Any] = {"type": "progress", "elapsed": time.monotonic() - started}
            if self.runtime is not None:
                stats = self.runtime.statistics()
                info["runs_in_flight"] = stats.runs_in_flight
                info["queued_items"] = sum(stats.queued_items.values())
            events.add(info)

    async def drain(self, grace_s: float) -> None:
        """Refuse new runs, give running ones ``grace_s``, cancel the rest (R16)."""
        self.draining = True
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)


def _drop_inputs(job: Submission) -> None:
    for path in (*job.logs, *job.baseline):
        path.unlink(missing_ok=True)


def discard(folder: Path) -> None:
    """Remove a run's folder (a refused or failed upload)."""
    shutil.rmtree(folder, ignore_errors=True)
