"""Taking an upload in: reserve a place, save the files, store the row, start the run."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException

from ._runner import Busy, Submission, discard
from ._store import new_run_id
from ._uploads import save_upload

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from ._auth import User
    from ._runner import Runner
    from ._settings import ServeSettings
    from ._store import RunRow, RunStore
    from ._uploads import Saved

_RUN_ID = re.compile(r"[0-9a-f]{32}")


class Unavailable(HTTPException):
    """503 with Retry-After: the queue is full or the server is stopping (S8, R16)."""

    def __init__(self, busy: Busy) -> None:
        super().__init__(503, str(busy), headers={"Retry-After": str(busy.retry_after)})


async def accept_upload(
    request: Request, user: User, *, before_start: Callable[[Saved], None] | None = None
) -> str:
    """Save an upload as a new queued run and start it; returns the run id."""
    runner: Runner = request.app.state.runner
    settings: ServeSettings = request.app.state.settings
    store: RunStore = request.app.state.store
    try:
        runner.reserve()
    except Busy as busy:
        raise Unavailable(busy) from None
    run_id = new_run_id()
    folder = settings.runs_dir / run_id
    try:
        saved = await save_upload(request, folder, max_files=settings.max_files)
        if before_start is not None:
            before_start(saved)
        if runner.draining:
            raise Unavailable(Busy("the server is shutting down", 5))
    except BaseException:
        runner.release()
        discard(folder)
        raise
    await store.create(
        run_id,
        owner=user.name,
        project=saved.project,
        label=", ".join(saved.labels)[:500],
        baseline_label=", ".join(saved.baseline_labels)[:500],
    )
    runner.submit(
        Submission(
            run_id=run_id,
            folder=folder,
            logs=saved.logs,
            baseline=saved.baseline,
            project=saved.project,
            names={
                str(path): label
                for path, label in zip(
                    saved.logs + saved.baseline,
                    saved.labels + saved.baseline_labels,
                    strict=True,
                )
            },
        )
    )
    return run_id


async def visible_run(request: Request, user: User, run_id: str) -> RunRow:
    """The run, if it exists and the caller may see it; 404 otherwise (no existence leak)."""
    store: RunStore = request.app.state.store
    row = await store.get(run_id) if _RUN_ID.fullmatch(run_id) else None
    if row is None or not user.may_see(row.owner, row.project):
        raise HTTPException(404, "no such run")
    return row


def read_document(request: Request, row: RunRow) -> dict[str, Any] | None:
    """The run's triage document, once it is done."""
    settings: ServeSettings = request.app.state.settings
    path = settings.runs_dir / row.id / "triage.json"
    if row.state != "done" or not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def urls_of(run_id: str) -> dict[str, str]:
    base = f"/api/v1/runs/{run_id}"
    return {
        "self": base,
        "events": f"{base}/events",
        "memo_md": f"{base}/memo.md",
        "memo_html": f"{base}/memo.html",
        "memo_json": f"{base}/memo.json",
        "timeline": f"{base}/timeline.html",
        "learn": f"{base}/learn",
        "page": f"/runs/{run_id}",
    }
