"""Secrets never appear in anything produced (RELIABILITY.md S5): the redactor and a canary run."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sys
import urllib.parse
from typing import TYPE_CHECKING

import httpx

from juggler.triage._config import load_config
from juggler.triage._redact import MASK, Redactor
from juggler.triage.deliver import (
    Backoff,
    deliver_github,
    send_slack,
    send_webhook,
    webhook_payload,
    write_memos,
)
from juggler.triage.synth.llm import synthesise

from .test_deliver_webhooks import LocalServer, Reply, Seen
from .test_memo import sample_triage

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from juggler.triage.deliver import DeliveryResult


def forms(secret: str) -> set[str]:
    """The spellings a leak could take: raw, URL-encoded (3 ways), base64 (std, url-safe)."""
    raw = secret.encode()
    return {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def test_scrubs_raw_url_encoded_and_base64_forms() -> None:
    """Every form of a secret is masked, also inside a longer base64 stream."""
    secret = "sk-live/ABC+def=123"
    r = Redactor.from_values([secret])
    for form in forms(secret):
        assert r.scrub(f"x {form} y") == f"x {MASK} y", form
    for prefix in (b"", b"a", b"ab"):
        stream = base64.b64encode(prefix + secret.encode() + b"tail").decode()
        assert not any(f in r.scrub(stream) for f in forms(secret) if len(f) > 8)
        assert MASK in r.scrub(stream)


def test_url_secrets_mask_their_token_parts() -> None:
    """A webhook URL is masked whole, and its token path segment on its own."""
    url = "https://hooks.example.com/services/T01/B02/tOkEnPaRt123456"
    r = Redactor.from_values([url])
    assert r.scrub(f"POST {url} failed") == f"POST {MASK} failed"
    assert "tOkEnPaRt123456" not in r.scrub("path /services/T01/B02/tOkEnPaRt123456 x")
    assert "pa55word99" not in Redactor.from_values(["https://u:pa55word99@h/x"]).scrub(
        "auth pa55word99"
    )


def test_short_values_are_not_secrets() -> None:
    """Values too short to be credentials are ignored rather than shredding output."""
    r = Redactor.from_values(["1", "abc", None, ""])
    assert r.scrub("abc 1") == "abc 1"


def test_environment_token_key_secret_values_are_scrubbed() -> None:
    """Every *_TOKEN / *_KEY / *_SECRET variable's value is a secret."""
    env = {"GH_TOKEN": "ghp_canaryvalue01", "X_API_KEY": "key-canary-02", "HOME": "/root/home"}
    r = Redactor.from_environ(env)
    assert r.scrub("ghp_canaryvalue01 key-canary-02 /root/home") == f"{MASK} {MASK} /root/home"


def test_httpx_status_error_is_described_without_the_url() -> None:
    """httpx puts the full URL in HTTPStatusError; describe() scrubs it."""
    url = "https://hooks.example.com/hook/secret-token-xyz"
    request = httpx.Request("POST", url)
    exc = httpx.HTTPStatusError("x", request=request, response=httpx.Response(500, request=request))
    try:
        httpx.Response(500, request=request).raise_for_status()
    except httpx.HTTPStatusError as raised:
        exc = raised
    assert "secret-token-xyz" in str(exc)  # the trap is real
    described = Redactor.from_values([url]).describe(exc)
    assert "secret-token-xyz" not in described
    assert described.startswith("HTTPStatusError")


CANARIES = {
    "JUGGLER_WEBHOOK_SECRET": "canary-hmac-secret-7f3e91",
    "JUGGLER_LLM_API_KEY": "sk-canary-llm-key-5b2d8a",
    "SLACK_BOT_TOKEN": "xoxb-canary-slack-token-4c1e",
}
TOKEN = "CanaryPathToken9d8e7f6a"


def _scan(blob: bytes, secrets: list[str]) -> list[str]:
    return [
        f"{secret!r} as {form!r}"
        for secret in secrets
        for form in forms(secret)
        if form.encode() in blob
    ]


def test_canary_secrets_appear_nowhere(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Canaries in config, env and the log itself: 0 hits in every byte the run produces.

    The webhook answers 500 then times out; the LLM server answers 500 once and then
    echoes the key; Slack answers 403; GitHub delivery writes a summary and annotations.
    """
    calls = {"webhook": 0, "llm": 0}

    def script(n: int, seen: Seen) -> Reply:
        if seen.path.startswith("/hook/"):
            calls["webhook"] += 1
            return Reply(500, b"nope") if calls["webhook"] == 1 else Reply(hang_s=10)
        if seen.path.startswith("/v1/"):
            calls["llm"] += 1
            if calls["llm"] == 1:
                return Reply(500, b"bad key " + CANARIES["JUGGLER_LLM_API_KEY"].encode())
            echo = f"Your key is {CANARIES['JUGGLER_LLM_API_KEY']} and token {TOKEN}"
            chunk = json.dumps({"choices": [{"delta": {"content": echo}}]})
            return Reply(
                200, content_type="text/event-stream", chunks=[f"data: {chunk}\n\n".encode()]
            )
        return Reply(403, b"invalid_token")

    with LocalServer(script) as server:
        webhook_url = f"{server.url}/hook/{TOKEN}?sig={TOKEN}x"
        slack_url = f"{server.url}/services/T0/B0/{TOKEN}slack"
        env = {
            **CANARIES,
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "JUGGLER_WEBHOOK_URLS": webhook_url,
            "JUGGLER_SLACK_WEBHOOK_URL": slack_url,
            "JUGGLER_LLM_URL": f"{server.url}/v1",
        }
        config = load_config(environ=env, cwd=tmp_path)
        redactor = config.redactor(env)
        secrets = [*CANARIES.values(), TOKEN, webhook_url, slack_url]
        # The log itself leaks secrets (a verbose curl): the memo must not repeat them.
        triage = sample_triage()
        triage["findings"][0]["excerpt"] += (
            f"\ncurl -H 'Authorization: Bearer {CANARIES['JUGGLER_LLM_API_KEY']}' {webhook_url}"
            f"\nencoded {base64.b64encode(CANARIES['SLACK_BOT_TOKEN'].encode()).decode()}"
        )
        triage["causes"][0]["description"] += f" token={urllib.parse.quote(TOKEN)}"
        llm = config.llm_settings(env)
        memos = [asyncio.run(synthesise(triage, llm=llm, redactor=redactor)) for _ in range(2)]
        assert memos[1].source == "llm"  # the echoing answer was used, scrubbed
        results: list[DeliveryResult] = []
        for n, memo in enumerate(memos):
            results.append(write_memos(tmp_path / f"out{n}", triage, memo, redactor=redactor))
        memo = memos[1]
        results.append(
            send_webhook(
                webhook_url,
                webhook_payload(memo, triage),
                secret=config.webhook_secret(env),
                backoff=Backoff(attempts=2, base_s=0.01, timeout_s=0.3),
                redactor=redactor,
            )
        )
        assert config.slack_webhook_url is not None
        results.append(send_slack(config.slack_webhook_url, memo, redactor=redactor))
        stdout = io.StringIO()
        results.append(deliver_github(memo, environ=env, stream=stdout, redactor=redactor))
        for result in results:
            sys.stderr.write(result.describe() + "\n")  # what the CLI would print
        sent = b"".join(s.body for s in server.seen if not s.path.startswith("/v1/"))
        llm_requests = b"".join(s.body for s in server.seen if s.path.startswith("/v1/"))
    assert [r.delivered for r in results[2:4]] == [False, False]
    assert [a.status_code for a in results[2].attempts] == [500, None]
    captured = capfd.readouterr()
    produced = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    blobs = {
        "files": b"\n".join(produced),
        "results": json.dumps([r.to_json() for r in results]).encode(),
        "stdout": stdout.getvalue().encode() + captured.out.encode(),
        "stderr": captured.err.encode(),
        "repr": repr(config).encode() + repr(llm).encode(),
        "notes": json.dumps([m.notes for m in memos]).encode(),
        "sent to receivers": sent,
        "sent to the LLM": llm_requests,
    }
    assert len(produced) >= 7  # 2 × 3 memo files + the step summary
    assert "not delivered" in captured.err
    hits = {name: _scan(blob, secrets) for name, blob in blobs.items()}
    assert hits == {key: [] for key in blobs}


def test_repr_does_not_show_the_secrets() -> None:
    """Printing a redactor (say in a debug log) does not print what it hides."""
    assert "hunter2-secret" not in repr(Redactor.from_values(["hunter2-secret"]))
