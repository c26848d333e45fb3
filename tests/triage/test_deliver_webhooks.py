"""Generic webhooks against a real local server: retries, signatures, idempotency (S6).

``LocalServer`` is also used by the LLM, Slack and canary tests: a real HTTP server on
127.0.0.1 in a thread, scripted per request, that records every request it receives.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from juggler.triage._redact import Redactor
from juggler.triage.deliver import Backoff, send_webhook, verify_signature, webhook_payload
from juggler.triage.deliver.webhooks import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from juggler.triage.synth import build_memo

from .test_memo import sample_triage

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Reply:
    """What the handler does for one request: status + body, hang, or a stream of chunks.

    ``hang_s`` waits before answering; ``stall_s`` waits after the chunks, holding the
    connection open (a stream that stops mid-answer).
    """

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"ok",
        *,
        content_type: str = "text/plain",
        hang_s: float = 0.0,
        chunks: list[bytes] | None = None,
        stall_s: float = 0.0,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.hang_s = hang_s
        self.chunks = chunks
        self.stall_s = stall_s


class LocalServer:
    """A real HTTP server on 127.0.0.1:<free port>, answering by a script.

    ``script(n, seen)`` returns the :class:`Reply` for the n-th request (1-based). A hanging
    reply waits on an event that ``__exit__`` sets, so no handler thread outlives the test.
    """

    def __init__(self, script: Callable[[int, Seen], Reply]) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; requests are recorded in .seen

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                seen = Seen("POST", self.path, dict(self.headers.items()), body, time.monotonic())
                with outer._lock:
                    outer.seen.append(seen)
                    n = len(outer.seen)
                reply = outer.script(n, seen)
                if reply.hang_s and outer._release.wait(reply.hang_s):
                    return  # test over: drop the connection without answering
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    if reply.chunks is None:
                        self.send_header("Content-Length", str(len(reply.body)))
                        self.end_headers()
                        self.wfile.write(reply.body)
                    else:
                        self.end_headers()
                        for chunk in reply.chunks:
                            self.wfile.write(chunk)
                            self.wfile.flush()
                        if reply.stall_s:
                            outer._release.wait(reply.stall_s)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its deadline); that is the point of the test

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False
        self._server.block_on_close = True  # server_close joins handler threads: no leaks
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-http"
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


SECRET = "whsec-test-4f7a9c2e1b"


def test_retries_500_then_timeout_then_200_with_constant_key_and_valid_signatures() -> None:
    """500, then a hang past the timeout, then 200: three tries, one key, all signed right."""

    def script(n: int, _seen: Seen) -> Reply:
        return {1: Reply(500, b"boom"), 2: Reply(hang_s=10.0)}.get(n, Reply(200))

    memo = build_memo(sample_triage())
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    with LocalServer(script) as server:
        result = send_webhook(
            f"{server.url}/hooks/abc",
            webhook_payload(memo, sample_triage()),
            secret=SECRET,
            backoff=Backoff(attempts=4, base_s=0.05, cap_s=1.0, timeout_s=0.5),
            sleep=sleep,
        )
        seen = list(server.seen)
    assert result.delivered
    assert [a.status_code for a in result.attempts] == [500, None, 200]
    assert result.attempts[0].error == "HTTP 500 Internal Server Error"
    assert "timed out" in (result.attempts[1].error or "")
    assert sleeps == [0.05, 0.1]  # exponential backoff
    assert [a.waited_s for a in result.attempts] == [0.0, 0.05, 0.1]
    assert len(seen) == 3
    keys = {s.headers[IDEMPOTENCY_HEADER] for s in seen}
    assert keys == {dict(result.detail)["idempotency_key"]}
    assert [s.headers["X-Juggler-Attempt"] for s in seen] == ["1", "2", "3"]
    for s in seen:
        assert verify_signature(
            secret=SECRET,
            body=s.body,
            timestamp=s.headers[TIMESTAMP_HEADER],
            signature=s.headers[SIGNATURE_HEADER],
        )
        assert json.loads(s.body)["memo"]["headline"] == memo.headline
    assert seen[0].body == seen[2].body  # the same payload on every try


def test_gives_up_after_the_last_attempt_and_records_why() -> None:
    """Always 503: every attempt is recorded, the result is a failure, nothing raises."""
    with LocalServer(lambda n, s: Reply(503, b"down")) as server:
        result = send_webhook(
            f"{server.url}/h/tok-123456789",
            {"x": 1},
            backoff=Backoff(attempts=3, base_s=0.01, timeout_s=2),
        )
    assert not result.delivered
    assert len(result.attempts) == 3
    assert result.error == "HTTP 503 Service Unavailable"
    assert "tok-123456789" not in json.dumps(result.to_json())
    assert result.target == f"{server.url}/…"


def test_client_error_is_not_retried() -> None:
    """A 400 means the receiver refused this payload: one attempt only."""
    with LocalServer(lambda n, s: Reply(400, b"bad")) as server:
        result = send_webhook(server.url, {"x": 1}, backoff=Backoff(attempts=4, base_s=0.01))
        assert len(server.seen) == 1
    assert not result.delivered
    assert [a.status_code for a in result.attempts] == [400]


def test_connection_refused_is_a_failed_result_not_an_exception() -> None:
    """Nothing listening: every attempt fails with a scrubbed error; no exception escapes."""
    with LocalServer(lambda n, s: Reply()) as server:
        url = f"{server.url}/dead/secret-path-token"
    result = send_webhook(url, {"x": 1}, backoff=Backoff(attempts=2, base_s=0.01, timeout_s=1))
    assert not result.delivered
    assert len(result.attempts) == 2
    assert "secret-path-token" not in json.dumps(result.to_json())
    assert "ConnectError" in (result.error or "")


def test_no_secret_means_no_signature_headers() -> None:
    """Without a secret the request is unsigned, but still carries the idempotency key."""
    with LocalServer(lambda n, s: Reply()) as server:
        result = send_webhook(server.url, {"x": 1})
        (seen,) = server.seen
    assert result.delivered
    assert SIGNATURE_HEADER not in seen.headers
    assert IDEMPOTENCY_HEADER in seen.headers


def test_reuses_a_caller_client_without_closing_it() -> None:
    """A client passed in is used and left open for its owner."""
    with LocalServer(lambda n, s: Reply()) as server, httpx.Client() as client:
        assert send_webhook(server.url, {"x": 1}, client=client).delivered
        assert not client.is_closed


def test_unserialisable_payload_is_a_failed_result() -> None:
    """A payload json cannot encode fails cleanly before any request."""
    result = send_webhook("http://127.0.0.1:9/x", {"x": object()})
    assert not result.delivered
    assert result.attempts == ()
    assert "TypeError" in (result.error or "")


def test_backoff_is_exponential_and_capped() -> None:
    """Waits double from the base and stop at the cap."""
    policy = Backoff(base_s=0.5, cap_s=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


class TestVerifySignature:
    """The receiver's check: constant-time, tamper-evident, replay-resistant."""

    body = b'{"event":"juggler.triage.memo"}'
    now = 1_764_321_000.0

    def signed(self, at: float) -> tuple[str, str]:
        ts = str(int(at))
        return ts, sign(SECRET, ts, self.body)

    def test_accepts_a_fresh_valid_signature(self) -> None:
        """A signature made now with the right secret verifies."""
        ts, sig = self.signed(self.now)
        assert verify_signature(
            secret=SECRET, body=self.body, timestamp=ts, signature=sig, now=self.now
        )

    def test_rejects_a_tampered_body(self) -> None:
        """One changed byte in the body fails."""
        ts, sig = self.signed(self.now)
        assert not verify_signature(
            secret=SECRET, body=self.body + b" ", timestamp=ts, signature=sig, now=self.now
        )

    def test_rejects_a_tampered_timestamp(self) -> None:
        """The timestamp is signed: moving it forward to dodge the window fails."""
        _, sig = self.signed(self.now - 600)
        assert not verify_signature(
            secret=SECRET, body=self.body, timestamp=str(int(self.now)), signature=sig, now=self.now
        )

    def test_rejects_a_replay_older_than_five_minutes(self) -> None:
        """A valid signature from 301 s ago is a replay; from 299 s ago it is fine."""
        ts, sig = self.signed(self.now - 301)
        assert not verify_signature(
            secret=SECRET, body=self.body, timestamp=ts, signature=sig, now=self.now
        )
        ts, sig = self.signed(self.now - 299)
        assert verify_signature(
            secret=SECRET, body=self.body, timestamp=ts, signature=sig, now=self.now
        )

    def test_rejects_the_wrong_secret_and_malformed_headers(self) -> None:
        """Wrong key, missing headers, garbage timestamp, non-ASCII signature: all rejected."""
        ts, sig = self.signed(self.now)
        assert not verify_signature(
            secret="other", body=self.body, timestamp=ts, signature=sig, now=self.now
        )
        for timestamp, signature in [(None, sig), (ts, None), ("soon", sig), (ts, "sha256=é")]:
            assert not verify_signature(
                secret=SECRET,
                body=self.body,
                timestamp=timestamp,
                signature=signature,
                now=self.now,
            )


@pytest.mark.parametrize("secret", ["s", b"bytes-secret"])
def test_sign_accepts_str_and_bytes(secret: str | bytes) -> None:
    """The signature is HMAC-SHA256 over ``timestamp.body``, hex, prefixed ``sha256=``."""
    import hashlib
    import hmac

    key = secret.encode() if isinstance(secret, str) else secret
    expected = hmac.new(key, b"12." + b"body", hashlib.sha256).hexdigest()
    assert sign(secret, "12", b"body") == f"sha256={expected}"


def test_redactor_passed_in_is_applied_to_errors() -> None:
    """Secrets known to the caller's redactor are scrubbed from the record too."""
    with LocalServer(lambda n, s: Reply(500)) as server:
        host = server.url.split("//")[1]
        result = send_webhook(
            server.url,
            {"x": 1},
            backoff=Backoff(attempts=1),
            redactor=Redactor.from_values([host]),
        )
    assert host not in json.dumps(result.to_json())


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/x", "http://[::1/x"])
def test_bad_urls_are_failed_results(url: str) -> None:
    """A malformed or unsupported URL ends as a failed result, never an exception."""
    result = send_webhook(url, {"x": 1}, backoff=Backoff(attempts=3, base_s=0.01))
    assert not result.delivered
    assert result.error


def test_deliver_memo_runs_every_configured_channel(tmp_path: Path) -> None:
    """Files, Slack and two webhooks from one config; one receiver failing does not stop others."""
    from juggler.triage._config import TriageConfig
    from juggler.triage.deliver import deliver_memo

    def script(n: int, seen: Seen) -> Reply:
        return Reply(500) if seen.path == "/bad" else Reply(200)

    triage = sample_triage()
    with LocalServer(script) as server:
        config = TriageConfig(
            out_dir=str(tmp_path / "out"),
            github="off",
            slack_webhook_url=f"{server.url}/services/T/B/slacktoken123",
            webhook_urls=(f"{server.url}/bad", f"{server.url}/good"),
            webhook_attempts=2,
            webhook_backoff_s=0.01,
        )
        env = {"JUGGLER_WEBHOOK_SECRET": SECRET}
        results = deliver_memo(triage, build_memo(triage), config, environ=env)
    assert [(r.channel, r.delivered) for r in results] == [
        ("file", True),
        ("slack", True),
        ("webhook", False),
        ("webhook", True),
    ]
    assert (tmp_path / "out" / "memo.html").is_file()
