"""Slack incoming webhooks: the memo as Block Kit, within Slack's limits, never raising.

Limits respected (api.slack.com/reference/block-kit/blocks): at most 50 blocks per message,
3,000 characters per section text, 150 per header. Log excerpts go in code blocks; all text
is escaped for Slack's mrkdwn (``&``, ``<``, ``>``), so a log line cannot ping ``<!channel>``
or forge a link.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from .._redact import NO_SECRETS, Redactor
from ..synth._escape import scrub_value, visible_controls
from ._http import Backoff, post_with_retries, safe_target
from ._result import DeliveryResult

if TYPE_CHECKING:
    from ..synth import Memo

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
_EXCERPT_LINES = 12


def slack_text(text: str) -> str:
    """Escape untrusted text for Slack mrkdwn (the three characters Slack asks to escape)."""
    return visible_controls(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    # ``` inside an excerpt would end Slack's code block early; a zero-width space breaks it.
    return slack_text(text).replace("```", "`\u200b``")


def _cap(text: str, limit: int = MAX_SECTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cap(text)}}


def _code_section(title: str, excerpt: str) -> dict[str, Any]:
    lines = excerpt.split("\n")[:_EXCERPT_LINES]
    head = f"{title}\n```"
    room = MAX_SECTION_CHARS - len(head) - 4
    raw = "\n".join(lines)
    body = _code(raw)
    while len(body) > room:
        # Cut the raw text, not the escaped one, so no "&amp;" is split in half.
        raw = raw[: max(0, len(raw) - (len(body) - room) - 1)]
        body = _code(raw) + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"{head}{body}\n```"}}


def build_blocks(memo: Memo, *, max_blocks: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    """The memo as Block Kit blocks: at most ``max_blocks``, sections ≤ 3,000 characters."""
    icon = {"failed": ":x:", "passed": ":white_check_mark:"}.get(memo.outcome, ":grey_question:")
    said = {"failed": "Build failed", "passed": "Build passed"}.get(
        memo.outcome, "Build status unknown"
    )
    header = _cap(said, MAX_HEADER_CHARS)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        _section(f"{icon} *{slack_text(memo.headline)}*"),
    ]
    if memo.summary:
        quoted = "\n".join(f">{slack_text(line)}" for line in memo.summary.split("\n"))
        blocks.append(_section(f"{quoted}\n_Summary by an LLM; verify it._"))
    if memo.failing_tests:
        tests = "\n".join(f"• `{slack_text(t)}`" for t in memo.failing_tests[:15])
        blocks.append(_section(f"*Failing tests*\n{tests}"))
    for f in memo.findings:
        title = f"*{f.rank}. {slack_text(f.title or f.kind)}* · `{slack_text(f.location)}`"
        blocks.append(_code_section(title, f.excerpt) if f.excerpt else _section(title))
    for c in memo.causes:
        fix = f"\n*Fix:* {slack_text(c.fix)}" if c.fix else ""
        blocks.append(
            _section(f"*Known cause: {slack_text(c.name)}*\n{slack_text(c.description)}{fix}")
        )
    if memo.incidents:
        rows = "\n".join(
            f"• {slack_text(i.project)}: {slack_text(i.cause)} → {slack_text(i.fix)}"
            for i in memo.incidents
        )
        blocks.append(_section(f"*Similar past incidents*\n{rows}"))
    if memo.next_steps:
        steps = "\n".join(f"{n}. {slack_text(s)}" for n, s in enumerate(memo.next_steps, 1))
        blocks.append(_section(f"*Next steps*\n{steps}"))
    footer = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"juggler triage · {memo.source} memo"}],
    }
    if len(blocks) + 1 > max_blocks:
        blocks = blocks[: max_blocks - 2]
        blocks.append(_section("_… more in the full memo._"))
    blocks.append(footer)
    return blocks


def send_slack(
    webhook_url: str,
    memo: Memo,
    *,
    backoff: Backoff | None = None,
    redactor: Redactor = NO_SECRETS,
    client: httpx.Client | None = None,
) -> DeliveryResult:
    """Post the memo to a Slack incoming webhook. Blocking; never raises.

    The webhook URL is a secret (its path is the token): it is added to the redactor and
    only ``https://hooks.slack.com/…`` is ever shown.
    """
    redactor = redactor.merged(Redactor.from_values([webhook_url]))
    memo = scrub_value(memo, redactor)
    payload = {"text": _cap(slack_text(memo.headline)), "blocks": build_blocks(memo)}
    body = json.dumps(payload, ensure_ascii=False).encode()
    own = client is None
    http = client or httpx.Client(follow_redirects=False)
    try:
        delivered, attempts, error = post_with_retries(
            http,
            webhook_url,
            body=body,
            headers_for=lambda _n: {"Content-Type": "application/json"},
            backoff=backoff or Backoff(),
            redactor=redactor,
        )
    finally:
        if own:
            http.close()
    return DeliveryResult(
        channel="slack",
        target=safe_target(webhook_url, redactor),
        delivered=delivered,
        attempts=attempts,
        error=error,
        detail=(("blocks", str(len(payload["blocks"]))),),
    )
