"""Upload bodies: a total size cap before and while reading (S2), streamed to disk in chunks.

Starlette's multipart parser caps parts and part sizes but not the whole body, so the cap is
this ASGI middleware: a declared ``Content-Length`` over it is answered 413 before a byte is
read; a chunked body is cut off at the first chunk past it. Files go to the run's folder
under names of our own (``log-1.gz``): the uploaded filename is only a label (S7).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_KEPT_SUFFIXES = (".tar.gz", ".tgz", ".gz", ".zip", ".tar", ".xml", ".log", ".txt", ".json")
_LABEL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_PROJECT = re.compile(r"[A-Za-z0-9._/@+-]{0,200}")
_BLOCK = 1 << 20


class BodyTooLarge(HTTPException):
    """The request body passed the cap while it was being read."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"upload larger than the cap of {cap} bytes")


class BodyLimit:
    """ASGI middleware: no request body larger than ``max_bytes`` is read (S2)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, cap: int) -> None:
    body = json.dumps({"detail": f"upload larger than the cap of {cap} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True, slots=True, kw_only=True)
class Saved:
    """The files of one upload, saved in the run's folder, with their labels."""

    logs: tuple[Path, ...]
    baseline: tuple[Path, ...]
    labels: tuple[str, ...]
    baseline_labels: tuple[str, ...]
    project: str
    csrf: str = ""


def label_of(filename: str | None, fallback: str) -> str:
    """A filename as a display label: control characters dropped, length capped."""
    text = _LABEL_CHARS.sub("", filename or "").strip()
    return text[:200] or fallback


def check_project(project: str) -> str:
    if not _PROJECT.fullmatch(project):
        raise HTTPException(400, "project: use letters, digits and . _ / @ + - (200 at most)")
    return project


def _suffix(label: str) -> str:
    lower = label.lower()
    return next((s for s in _KEPT_SUFFIXES if lower.endswith(s)), ".log")


async def save_upload(request: Request, folder: Path, *, max_files: int) -> Saved:
    """Save a multipart (``log``, ``baseline``, ``project`` fields) or raw-body upload."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        return await _save_form(request, folder, max_files)
    project = check_project(request.query_params.get("project", ""))
    label = label_of(request.query_params.get("name"), "upload.log")
    path = folder / f"log-1{_suffix(label)}"
    await _stream_body(request, path)
    if path.stat().st_size == 0:
        raise HTTPException(400, "the upload is empty: send the log as the request body")
    return Saved(logs=(path,), baseline=(), labels=(label,), baseline_labels=(), project=project)


async def _stream_body(request: Request, path: Path) -> None:
    fh = await asyncio.to_thread(open, path, "wb")
    try:
        pending = bytearray()
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= _BLOCK:
                await asyncio.to_thread(fh.write, bytes(pending))
                pending.clear()
        if pending:
            await asyncio.to_thread(fh.write, bytes(pending))
    finally:
        await asyncio.to_thread(fh.close)


async def _save_form(request: Request, folder: Path, max_files: int) -> Saved:
    async with request.form(max_files=max_files, max_fields=16) as form:
        project = form.get("project", "")
        project = check_project(project if isinstance(project, str) else "")
        csrf = form.get("csrf", "")
        logs, labels = await _save_files(form.getlist("log"), folder, "log")
        baseline, baseline_labels = await _save_files(form.getlist("baseline"), folder, "good")
    if not logs:
        raise HTTPException(400, "no log: send the failed build's log in the 'log' field")
    return Saved(
        logs=logs,
        baseline=baseline,
        labels=labels,
        baseline_labels=baseline_labels,
        project=project,
        csrf=csrf if isinstance(csrf, str) else "",
    )


async def _save_files(
    values: list[Any], folder: Path, stem: str
) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    paths: list[Path] = []
    labels: list[str] = []
    for value in values:
        if not isinstance(value, UploadFile):
            continue
        label = label_of(value.filename, f"{stem}.log")
        path = folder / f"{stem}-{len(paths) + 1}{_suffix(label)}"
        with open(path, "wb") as fh:  # noqa: ASYNC230 -- the copy below runs in a thread
            await asyncio.to_thread(shutil.copyfileobj, value.file, fh, _BLOCK)
        if path.stat().st_size == 0:
            path.unlink()
            continue
        paths.append(path)
        labels.append(label)
    return tuple(paths), tuple(labels)
