"""Memo files, written atomically: a reader sees the old file or the whole new one, never half.

Each file is written to a temporary file in the same directory (so the rename cannot cross
filesystems), flushed and fsynced, then moved over the target with ``os.replace`` (atomic on
POSIX and Windows). An interrupted run (Ctrl-C, a crash, a full disk) leaves at most a
``.<name>.*.tmp`` file, which the next write of the same target does not trip over.

Runs in an ``io`` thread: these are blocking calls.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._redact import NO_SECRETS
from ..synth.render import render_html, render_json, render_markdown
from ._result import DeliveryResult

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .._redact import Redactor
    from ..synth import Memo

#: File names of the memo formats.
MEMO_FILES = {"md": "memo.md", "html": "memo.html", "json": "memo.json"}


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, then rename).

    Args:
        path: The target; its directory must exist.
        data: Text (written as UTF-8) or bytes.
        mode: Permission bits of the new file.

    Returns:
        The path written.

    Raises:
        OSError: The directory is missing or not writable, or the disk is full; the target
            is then untouched and the temporary file removed.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        # Also on KeyboardInterrupt/cancellation: never leave a half-written temp behind.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)
    return target


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform/filesystem.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_memos(
    out_dir: str | os.PathLike[str],
    triage: Mapping[str, Any],
    memo: Memo,
    *,
    formats: Iterable[str] = ("md", "html", "json"),
    timeline_href: str | None = None,
    redactor: Redactor = NO_SECRETS,
) -> DeliveryResult:
    """Render the memo in each format and write ``memo.md``/``memo.html``/``memo.json``.

    Never raises for I/O: a failure is reported in the result (files already written stay).

    Args:
        out_dir: Directory for the files; created if missing.
        triage: The triage document (the JSON memo embeds it).
        memo: The memo.
        formats: Any of ``"md"``, ``"html"``, ``"json"``.
        timeline_href: Link from the HTML memo to the run's timeline (relative to ``out_dir``).
        redactor: Scrubs secrets from every byte written and from the error message.

    Returns:
        ``channel="file"``; ``detail`` maps each format to the path written.
    """
    directory = Path(out_dir)
    written: list[tuple[str, str]] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            if fmt == "md":
                text = render_markdown(memo, redactor=redactor)
            elif fmt == "html":
                text = render_html(memo, redactor=redactor, timeline_href=timeline_href)
            elif fmt == "json":
                text = render_json(triage, memo, redactor=redactor)
            else:
                raise ValueError(f"unknown memo format {fmt!r} (use md, html or json)")
            path = write_atomic(directory / MEMO_FILES[fmt], text)
            written.append((fmt, str(path)))
    except (OSError, ValueError) as exc:
        return DeliveryResult(
            channel="file",
            target=redactor.scrub(str(directory)),
            delivered=False,
            error=redactor.describe(exc),
            detail=tuple(written),
        )
    return DeliveryResult(
        channel="file",
        target=redactor.scrub(str(directory)),
        delivered=True,
        detail=tuple(written),
    )
