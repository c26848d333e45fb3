"""Slack delivery: Block Kit within Slack's limits, escaped, posted to a real local server."""

from __future__ import annotations

import json

from juggler.triage.deliver import Backoff, send_slack
from juggler.triage.deliver.slack import MAX_BLOCKS, MAX_SECTION_CHARS, build_blocks, slack_text
from juggler.triage.synth import build_memo

from .test_deliver_webhooks import LocalServer, Reply
from .test_memo import sample_triage


def _texts(blocks: list[dict[str, object]]) -> list[str]:
    out = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(str(text["text"]))
    return out


def test_blocks_stay_within_limits_for_a_huge_memo() -> None:
    """100 findings with long excerpts: ≤ 50 blocks, every section ≤ 3,000 characters."""
    findings = [
        {"line_start": n, "title": "<&>" * 400, "excerpt": ("&<>```" * 200 + "\n") * 40}
        for n in range(1, 101)
    ]
    memo = build_memo(sample_triage(findings=findings), max_findings=100)
    blocks = build_blocks(memo)
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(t) <= MAX_SECTION_CHARS for t in _texts(blocks))
    assert blocks[0]["type"] == "header"
    assert blocks[-1]["type"] == "context"


def test_text_is_escaped_for_mrkdwn() -> None:
    """A log line cannot ping <!channel> or forge a <link|label>."""
    assert slack_text("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
    blocks = build_blocks(build_memo(sample_triage()))
    joined = "\n".join(_texts(blocks))
    assert "<script>" not in joined
    assert "&lt;script&gt;" in joined


def test_posts_to_the_webhook_and_hides_its_token() -> None:
    """The payload reaches the server; the record shows only the host."""
    with LocalServer(lambda n, s: Reply(200, b"ok")) as server:
        url = f"{server.url}/services/T000/B000/XXXXXXXXXXXXXXXX"
        result = send_slack(url, build_memo(sample_triage()))
        (seen,) = server.seen
    assert result.delivered
    body = json.loads(seen.body)
    assert body["text"].startswith("Build failed in step")
    assert body["blocks"][0]["type"] == "header"
    assert "XXXXXXXXXXXXXXXX" not in json.dumps(result.to_json())


def test_slack_error_is_reported_not_raised() -> None:
    """Slack answering 404 (a revoked webhook) is a failed result with the status."""
    with LocalServer(lambda n, s: Reply(404, b"no_service")) as server:
        result = send_slack(
            f"{server.url}/services/T/B/revoked-token-123",
            build_memo(sample_triage()),
            backoff=Backoff(attempts=3, base_s=0.01),
        )
    assert not result.delivered
    assert result.error == "HTTP 404 Not Found"
    assert len(result.attempts) == 1
    assert "revoked-token-123" not in json.dumps(result.to_json())
