"""The HTTP API under ``/api/v1`` (JSON; its OpenAPI document is served at /openapi.json)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from juggler.triage._service import OUTPUT_FILES, learn_incident, search_incidents
from juggler.triage.kb import Resolution
from juggler.triage.synth.render import CSP as MEMO_CSP

from ._accept import accept_upload, read_document, urls_of, visible_run
from ._access import caller, check_origin
from ._auth import User  # FastAPI reads the annotations at run time

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ._runner import Runner
    from ._settings import ServeSettings
    from ._store import RunRow

_KEEPALIVE_S = 15.0


class Problem(BaseModel):
    detail: str


class RunUrls(BaseModel):
    self: str
    events: str
    memo_md: str
    memo_html: str
    memo_json: str
    timeline: str
    learn: str
    page: str


class RunCreated(BaseModel):
    id: str = Field(description="128 random bits, hex")
    state: Literal["queued"]
    urls: RunUrls


class RunSummary(BaseModel):
    id: str
    owner: str
    project: str
    label: str
    baseline_label: str
    state: Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str
    headline: str
    findings: int
    causes: list[str]


class RunInfo(RunSummary):
    urls: RunUrls
    triage: dict[str, Any] | None = Field(
        description="Once done: the document `juggler triage --json` prints"
    )


class RunList(BaseModel):
    runs: list[RunSummary]


class LearnBody(BaseModel):
    cause: str = Field(min_length=1, max_length=2000)
    fix: str = Field(default="", max_length=4000)
    link: str = Field(default="", max_length=2000)


class Learned(BaseModel):
    incidents: int


class KbHit(BaseModel):
    id: int | None
    project: str
    score: float
    same_project: bool
    cosine: float
    cause: str
    fix: str
    link: str
    created_at: float
    source: str


class KbResults(BaseModel):
    query: str
    results: list[KbHit]


class Health(BaseModel):
    status: Literal["ok"]
    running: int
    queued: int


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    404: {"model": Problem},
}
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["log"],
                    "properties": {
                        "log": {"type": "string", "format": "binary"},
                        "baseline": {"type": "string", "format": "binary"},
                        "project": {"type": "string"},
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    "parameters": [
        {
            "name": "project",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "With a raw body: the project (owner/repo)",
        },
        {
            "name": "name",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "With a raw body: the file's name (a label; .gz/.zip are unpacked)",
        },
    ],
}

router = APIRouter(prefix="/api/v1", responses=_ERRORS)


def _user(request: Request) -> User:
    return caller(request)


CurrentUser = Annotated[User, Depends(_user)]


def _summary(row: RunRow) -> RunSummary:
    return RunSummary.model_validate(row.to_json())


@router.post(
    "/runs",
    status_code=202,
    response_model=RunCreated,
    openapi_extra=_UPLOAD_BODY,
    responses={400: {"model": Problem}, 413: {"model": Problem}, 503: {"model": Problem}},
    summary="Upload a failed build's log (optionally a passing baseline) and triage it",
)
async def create_run(request: Request, user: CurrentUser) -> RunCreated:
    check_origin(request)
    run_id = await accept_upload(request, user)
    return RunCreated(id=run_id, state="queued", urls=RunUrls(**urls_of(run_id)))


@router.get("/runs", response_model=RunList, summary="The caller's recent runs")
async def list_runs(
    request: Request,
    user: CurrentUser,
    project: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=500),
) -> RunList:
    rows = await request.app.state.store.recent(project=project, limit=limit)
    seen = [r for r in rows if user.may_see(r.owner, r.project)][:limit]
    return RunList(runs=[_summary(r) for r in seen])


@router.get("/runs/{run_id}", response_model=RunInfo, summary="A run's state, then its triage")
async def get_run(run_id: str, request: Request, user: CurrentUser) -> RunInfo:
    row = await visible_run(request, user, run_id)
    document = await asyncio.to_thread(read_document, request, row)
    return RunInfo(**row.to_json(), urls=RunUrls(**urls_of(row.id)), triage=document)


@router.get(
    "/runs/{run_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
    summary="Server-Sent Events of the run's progress, then `done`",
)
async def run_events(run_id: str, request: Request, user: CurrentUser) -> Response:
    row = await visible_run(request, user, run_id)
    runner: Runner = request.app.state.runner
    return StreamingResponse(
        _event_stream(request, runner, row),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _event_stream(request: Request, runner: Runner, row: RunRow) -> AsyncIterator[str]:
    events = runner.events.get(row.id)
    if events is None:
        # Finished before this reader came (or before a restart): the store has the end.
        final = await request.app.state.store.get(row.id)
        state = final.state if final is not None else row.state
        yield _sse({"type": "done", "state": state, "error": final.error if final else ""})
        return
    sent = 0
    while True:
        while sent < len(events.items):
            event = events.items[sent]
            sent += 1
            yield _sse(event)
            if event["type"] == "done":
                return
        changed = events.changed
        try:
            await asyncio.wait_for(changed.wait(), _KEEPALIVE_S)
        except TimeoutError:
            yield ": keep-alive\n\n"
        if runner.draining and await request.is_disconnected():
            return


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


def _output(request: Request, row: RunRow, name: str) -> Response:
    settings: ServeSettings = request.app.state.settings
    path = settings.runs_dir / row.id / name
    if not path.is_file():
        raise HTTPException(404, f"no {name} for this run (state: {row.state})")
    body = path.read_bytes()
    headers = {"Cache-Control": "private, no-store"}
    if name == "memo.html":
        headers["Content-Security-Policy"] = MEMO_CSP + "; frame-ancestors 'self'"
    elif name == "timeline.html":
        headers["Content-Security-Policy"] = timeline_csp(body.decode("utf-8", "replace"))
    return Response(body, media_type=OUTPUT_FILES[name], headers=headers)


def _file_route(name: str, media: str) -> None:
    async def handler(run_id: str, request: Request, user: CurrentUser) -> Response:
        row = await visible_run(request, user, run_id)
        return await asyncio.to_thread(_output, request, row, name)

    router.add_api_route(
        f"/runs/{{run_id}}/{name}",
        handler,
        methods=["GET"],
        response_class=Response,
        responses={200: {"content": {media.split(";")[0]: {"schema": {"type": "string"}}}}},
        summary=f"The run's {name}",
        name=f"run_{name.replace('.', '_')}",
    )


for _name in ("memo.md", "memo.html", "memo.json", "timeline.html"):
    _file_route(_name, OUTPUT_FILES[_name])

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)


_STYLE_ATTR = re.compile(r'style="([^"]*)"')


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(html.unescape(text).encode()).digest()).decode()


def timeline_csp(page: str) -> str:
    """The timeline's own inline script and style, pinned by hash, in a sandbox.

    The page is juggler's (its data block is JSON, never run); ``sandbox`` gives it an
    opaque origin, so even a flaw in it could not reach the API or the session cookie.
    """
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(page):
        hashes[kind].append(f"'sha256-{_digest(body)}'")
    attributes = sorted(set(_STYLE_ATTR.findall(page)))
    if attributes:  # colour swatches and bar widths: pinned one by one, never 'unsafe-inline'
        hashes["style"].append("'unsafe-hashes'")
        hashes["style"] += [f"'sha256-{_digest(a)}'" for a in attributes]
    scripts = " ".join(hashes["script"]) or "'none'"
    styles = " ".join(hashes["style"]) or "'none'"
    return (
        "sandbox allow-scripts; default-src 'none'; "
        f"script-src {scripts}; style-src {styles}; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )


@router.post(
    "/runs/{run_id}/learn",
    response_model=Learned,
    responses={409: {"model": Problem}},
    summary="Record what caused this run's failure (cause, fix, link) in the knowledge base",
)
async def learn(run_id: str, body: LearnBody, request: Request, user: CurrentUser) -> Learned:
    check_origin(request)
    return Learned(incidents=await learn_run(request, user, run_id, body))


async def learn_run(request: Request, user: User, run_id: str, body: LearnBody) -> int:
    """Shared by the API and the page's form."""
    row = await visible_run(request, user, run_id)
    document = await asyncio.to_thread(read_document, request, row)
    if document is None:
        raise HTTPException(409, f"the run is {row.state}: only a finished triage can be learned")
    if body.link and not re.match(r"https?://", body.link):
        raise HTTPException(400, "link: give an http(s) address")
    settings: ServeSettings = request.app.state.settings
    return await learn_incident(
        settings.kb_path,
        document,
        project=row.project,
        resolution=Resolution(cause=body.cause, fix=body.fix, link=body.link),
        source=f"run {row.id}",
    )


@router.get("/kb/search", response_model=KbResults, summary="Past incidents like the query")
async def kb_search(
    request: Request,
    user: CurrentUser,
    q: str = Query(max_length=2000),
    project: str = Query(default="", max_length=200),
    k: int = Query(default=10, ge=1, le=50),
) -> KbResults:
    return KbResults(
        query=q, results=[KbHit(**h) for h in await search_visible(request, user, q, project, k)]
    )


async def search_visible(
    request: Request, user: User, q: str, project: str, k: int
) -> list[dict[str, Any]]:
    """KB search limited to incidents of projects the caller may see (or of no project)."""
    settings: ServeSettings = request.app.state.settings
    hits = await search_incidents(settings.kb_path, q, project=project, k=k * 3)
    return [h for h in hits if not h["project"] or user.may_see("", h["project"])][:k]
