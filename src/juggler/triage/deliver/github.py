"""GitHub Actions: the job summary, ``::error`` annotations, and safe printing of log text.

Workflow commands are lines on stdout that the runner acts on (``::add-mask::``,
``::stop-commands::``, ``::error::``...). Log excerpts are untrusted, so (RELIABILITY.md M11,
CVE-2020-15228, actions/toolkit#702):

* inside an annotation every property and the message are escaped with the toolkit's rules
  (``%``, ``\\r``, ``\\n`` in data; also ``:`` and ``,`` in properties), so the annotation
  stays one line and no excerpt line can start a command of its own;
* any other untrusted text is printed between ``::stop-commands::<random token>`` and
  ``::<token>::``, which turns command processing off in between.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .._redact import NO_SECRETS
from ..synth._escape import scrub_value, visible_controls
from ..synth.render import MAX_MARKDOWN_CHARS, render_markdown
from ._result import DeliveryResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._redact import Redactor
    from ..synth import Memo, MemoFinding

#: GitHub's cap on one step's summary.
MAX_SUMMARY_BYTES = 1024 * 1024
#: GitHub shows at most 10 error annotations per step; more are dropped silently.
MAX_ANNOTATIONS = 10
_MESSAGE_LINES = 6
_MESSAGE_CHARS = 2000
# "tests/test_api.py:57:", "src/Foo.java:[84,31]", "(src/a.test.tsx:89:22)", "main.go:12:3".
_SOURCE = re.compile(
    r"(?P<file>/?(?:[\w.@+-]+/)*[\w.@+-]+\.(?:py|pyx|java|kt|kts|scala|groovy|js|jsx|mjs|cjs|ts|"
    r"tsx|go|rs|c|cc|cpp|cxx|h|hh|hpp|cs|rb|php|swift|m|mm))[:(]\[?(?P<line>\d+)"
)


def in_github_actions(environ: Mapping[str, str] | None = None) -> bool:
    """True when running as a GitHub Actions step."""
    env = os.environ if environ is None else environ
    return env.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """The toolkit's ``escapeData``: ``%``, ``\\r``, ``\\n`` percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """The toolkit's ``escapeProperty``: :func:`escape_data` plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    message: str,
    *,
    level: str = "error",
    file: str | None = None,
    line: int | None = None,
    end_line: int | None = None,
    title: str | None = None,
) -> str:
    """One workflow-command line: ``::error file=…,line=…,endLine=…,title=…::message``."""
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
    if line is not None:
        props.append(f"line={line}")
        if end_line is not None and end_line > line:
            props.append(f"endLine={end_line}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{escape_data(visible_controls(message))}"


def _source_of(f: MemoFinding, workspace: str | None) -> tuple[str, int, int | None]:
    """Where to pin the annotation: the source file the excerpt names, else the log lines."""
    for match in _SOURCE.finditer(f.excerpt):
        path = match.group("file")
        if "node_modules/" in path or path.startswith(("usr/", "opt/")):
            continue
        if workspace and path.startswith(workspace.rstrip("/") + "/"):
            path = path[len(workspace.rstrip("/")) + 1 :]
        elif path.startswith("/"):
            continue  # outside the checkout: GitHub could not place it
        return path, int(match.group("line")), None
    return f.path, f.line_start, f.line_end


def build_annotations(
    memo: Memo,
    *,
    max_annotations: int = MAX_ANNOTATIONS,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """``::error`` lines for the top findings (at most ``max_annotations``)."""
    env = os.environ if environ is None else environ
    workspace = env.get("GITHUB_WORKSPACE")
    out = []
    for f in memo.findings[: max(0, min(max_annotations, MAX_ANNOTATIONS))]:
        file, line, end = _source_of(f, workspace)
        lines = f.excerpt.split("\n")[:_MESSAGE_LINES]
        message = "\n".join([f"{f.title or f.kind} ({f.location})", *lines])[:_MESSAGE_CHARS]
        out.append(
            annotation(
                message,
                file=file,
                line=line,
                end_line=end,
                title=f"juggler: {f.family} {f.kind}"[:200],
            )
        )
    return out


def write_untrusted(text: str, stream: TextIO) -> None:
    """Print untrusted text with workflow-command processing turned off around it.

    The token is random per call (and checked absent from the text), so the text cannot
    guess it and turn processing back on early.
    """
    token = secrets.token_hex(16)
    while token in text:
        token = secrets.token_hex(16)
    stream.write(f"::stop-commands::{token}\n{text}\n::{token}::\n")
    stream.flush()


def append_step_summary(
    memo: Memo,
    *,
    environ: Mapping[str, str] | None = None,
    redactor: Redactor = NO_SECRETS,
) -> DeliveryResult:
    """Append the Markdown memo to ``$GITHUB_STEP_SUMMARY``, keeping the file ≤ 1 MiB.

    Never raises: no summary file, no room or an I/O error come back as a failed result.
    """
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return DeliveryResult(
            channel="github",
            target="$GITHUB_STEP_SUMMARY",
            delivered=False,
            error="GITHUB_STEP_SUMMARY is not set",
        )
    target = redactor.scrub(path)
    try:
        used = Path(path).stat().st_size if Path(path).exists() else 0
        room = MAX_SUMMARY_BYTES - used - 2
        limit = min(MAX_MARKDOWN_CHARS, room)
        text = render_markdown(memo, redactor=redactor, max_chars=max(limit, 0))
        while len(text.encode()) > room and limit > 200:
            limit //= 2  # multi-byte characters: shrink until the bytes fit
            text = render_markdown(memo, redactor=redactor, max_chars=limit)
        if room < 200 or len(text.encode()) > room:
            return DeliveryResult(
                channel="github",
                target=target,
                delivered=False,
                error=f"step summary is full ({used} of {MAX_SUMMARY_BYTES} bytes used)",
            )
        with open(path, "a", encoding="utf-8") as handle:
            # One write call: the summary file is append-only and read after the step.
            handle.write(("\n" if used else "") + text)
    except OSError as exc:
        return DeliveryResult(
            channel="github", target=target, delivered=False, error=redactor.describe(exc)
        )
    return DeliveryResult(
        channel="github",
        target=target,
        delivered=True,
        detail=(("bytes", str(len(text.encode()))),),
    )


def deliver_github(
    memo: Memo,
    *,
    environ: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    redactor: Redactor = NO_SECRETS,
    max_annotations: int = MAX_ANNOTATIONS,
    enabled: bool | None = None,
) -> DeliveryResult:
    """In GitHub Actions: append the job summary and print the annotations. Never raises.

    Outside Actions it does nothing and says so (``delivered=False``).

    Args:
        memo: The memo.
        environ: The environment (``os.environ``): ``GITHUB_ACTIONS``,
            ``GITHUB_STEP_SUMMARY``, ``GITHUB_WORKSPACE``.
        stream: Where workflow commands go (stdout by default: the runner reads it).
        redactor: Scrubs secrets from everything written.
        max_annotations: At most 10 (GitHub's per-step limit).
        enabled: ``None`` (config ``github = "auto"``): only when ``GITHUB_ACTIONS=true``;
            ``True`` (``"on"``) or ``False`` (``"off"``) force it.
    """
    env = os.environ if environ is None else environ
    active = in_github_actions(env) if enabled is None else enabled
    if not active:
        return DeliveryResult(
            channel="github",
            target="GitHub Actions",
            delivered=False,
            error="not in GitHub Actions",
        )
    memo = scrub_value(memo, redactor)
    summary = append_step_summary(memo, environ=env, redactor=redactor)
    out = sys.stdout if stream is None else stream
    lines = build_annotations(memo, max_annotations=max_annotations, environ=env)
    try:
        for line in lines:
            out.write(redactor.scrub(line) + "\n")
        out.flush()
    except (OSError, ValueError) as exc:
        return DeliveryResult(
            channel="github",
            target="GitHub Actions",
            delivered=False,
            error=redactor.describe(exc),
            detail=summary.detail,
        )
    return DeliveryResult(
        channel="github",
        target="GitHub Actions",
        delivered=summary.delivered,
        error=summary.error,
        detail=(*summary.detail, ("annotations", str(len(lines)))),
    )
