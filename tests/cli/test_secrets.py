"""Canary secrets never appear in anything a triage produces (RELIABILITY.md S5)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import urllib.parse
from typing import TYPE_CHECKING

from tests.triage.test_deliver_webhooks import LocalServer, Reply

if TYPE_CHECKING:
    from pathlib import Path

LOG = """\
##[group]Run npm test
> shop@1.0.0 test
> jest

FAIL src/cart.test.ts
  ● cart › applies the discount

    expect(received).toBe(expected) // Object.is equality

    Expected: 90
    Received: 100

Tests:       1 failed, 12 passed, 13 total
npm ERR! Test failed.  See above for more details.
##[error]Process completed with exit code 1.
##[endgroup]
"""

TOKEN_IN_URL = "T0K3N-in-path-5e1f9a2c7b"
SLACK_TOKEN = "xoxb-1234-canary-5678-slack"
LLM_KEY = "sk-canary-llm-key-9f8e7d6c"
HMAC_SECRET = "hmac-canary-secret-4b3a2910"


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, urllib.parse.quote(secret, safe="").encode(), base64.b64encode(raw)]


def test_no_canary_in_any_byte_produced(tmp_path: Path) -> None:
    """Webhook failing then timing out, --debug, trace, memos, KB: zero canary hits."""
    log = tmp_path / "ci.log"
    log.write_text(LOG)
    out = tmp_path / "memo"
    replies = [Reply(500, b"boom"), Reply(hang_s=5.0)]

    def script(n: int, seen: object) -> Reply:
        return replies[min(n, len(replies)) - 1]

    with LocalServer(script) as hook, LocalServer(lambda n, s: Reply(500, b"no")) as llm:
        env = {
            **os.environ,
            "JUGGLER_WEBHOOK_URLS": f"{hook.url}/hooks/{TOKEN_IN_URL}",
            "JUGGLER_SLACK_WEBHOOK_URL": f"{hook.url}/services/{SLACK_TOKEN}",
            "JUGGLER_WEBHOOK_SECRET": HMAC_SECRET,
            "JUGGLER_WEBHOOK_ATTEMPTS": "2",
            "JUGGLER_WEBHOOK_TIMEOUT_S": "0.5",
            "JUGGLER_WEBHOOK_BACKOFF_S": "0.05",
            "JUGGLER_LLM_API_KEY": LLM_KEY,
            "JUGGLER_LLM_URL": f"{llm.url}/v1",
            "JUGGLER_LLM_MODEL": "tiny",
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "juggler",
                "triage",
                str(log),
                "--debug",
                "--quiet",
                "--kb",
                str(tmp_path / "kb.sqlite3"),
                "--learn",
                "--cause",
                "canary-run",
                "--out-dir",
                str(out),
                "--trace",
                str(tmp_path / "run.html"),
            ],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "juggler",
                "triage",
                str(log),
                "--quiet",
                "--no-kb",
                "--json",
                "--trace",
                str(tmp_path / "run.json"),
            ],
            capture_output=True,
            env=env,
            timeout=120,
            check=True,
        )
    # Exit 4: the hooks were tried and failed (that is what this test wants them to do).
    assert result.returncode == 4, result.stderr.decode()
    # The secrets were really used: both hooks were tried (and failed), the LLM was asked.
    assert b"webhook" in result.stderr
    assert b"not delivered" in result.stderr
    assert any(TOKEN_IN_URL in seen.path for seen in hook.seen)
    assert llm.seen
    produced = {"stdout": result.stdout, "stderr": result.stderr}
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != log:
            produced[str(path)] = path.read_bytes()
    assert any(name.endswith("kb.sqlite3") for name in produced)
    assert any(name.endswith("run.json") for name in produced)
    hits = [
        (where, secret)
        for secret in (TOKEN_IN_URL, SLACK_TOKEN, LLM_KEY, HMAC_SECRET)
        for form in _forms(secret)
        for where, data in produced.items()
        if form in data
    ]
    assert hits == []
