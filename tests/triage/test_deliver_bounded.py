"""Delivery is bounded (RELIABILITY.md R19): every HTTP channel ends within its budget.

Real receivers on 127.0.0.1 that misbehave as real ones do: one answers ``HTTP/1.1 200 OK``
and then drips one byte every 2 s (each byte used to reset httpx's read timeout, so the
triage hung until it was killed), one never answers, one answers 500, one redirects. Each
channel must end within attempts × timeout plus backoff, and report the failure.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from juggler.triage.deliver import Backoff, send_slack, send_webhook
from juggler.triage.deliver.webhooks import IDEMPOTENCY_HEADER
from juggler.triage.synth import build_memo

from .test_deliver_webhooks import LocalServer, Reply
from .test_memo import sample_triage

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from juggler.triage.deliver import DeliveryResult

POLICY = Backoff(attempts=2, base_s=0.2, cap_s=1.0, timeout_s=1.0)
#: Scheduling slack on a loaded 2-core machine; the budget itself is 2.2 s.
SLACK_S = 0.8


class RawServer:
    """A TCP server on loopback that reads each request and then misbehaves by script.

    ``behaviour(conn, stop)`` writes whatever it likes to the connection; ``stop`` is set
    when the test is over, so no handler outlives it.
    """

    def __init__(self, behaviour: Callable[[socket.socket, threading.Event], None]) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name="raw-http")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hooks/T0K3N-drip-secret"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.requests += 1
            worker = threading.Thread(target=self._handle, args=(conn,))
            worker.start()
            self._threads.append(worker)

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(body) < length:
                    body += conn.recv(65536)
                self.behaviour(conn, self.stop)
            except OSError:
                pass  # the client cut the connection at its deadline: the point of the test

    def __enter__(self) -> RawServer:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._accept.join()
        for worker in self._threads:
            worker.join()
        self._sock.close()


def dripping(interval_s: float) -> Callable[[socket.socket, threading.Event], None]:
    """``HTTP/1.1 200 OK``, then one byte of headers every ``interval_s``, forever."""

    def drip(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(interval_s):
            conn.sendall(b"X")

    return drip


# Faster than the per-try timeout, so a timeout that every byte resets never fires.
drip = dripping(0.4)


def drip_body(conn: socket.socket, stop: threading.Event) -> None:
    """Complete headers announcing a body, then one byte of it every 0.3 s."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    while not stop.wait(0.3):
        conn.sendall(b"x")


def hang(conn: socket.socket, stop: threading.Event) -> None:
    """Read the request, answer nothing."""
    stop.wait(30)


def redirect(conn: socket.socket, stop: threading.Event) -> None:
    """Point the POST elsewhere (a redirect must not be followed: it would carry the body)."""
    conn.sendall(
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/elsewhere\r\n"
        b"Content-Length: 0\r\n\r\n"
    )


def _send(channel: str, url: str) -> DeliveryResult:
    if channel == "slack":
        return send_slack(url, build_memo(sample_triage()), backoff=POLICY)
    return send_webhook(url, {"event": "x"}, secret="s3cr3t-hmac", backoff=POLICY)


@pytest.mark.parametrize("channel", ["webhook", "slack"])
@pytest.mark.parametrize(
    ("behaviour", "tries"), [(drip, 2), (drip_body, 2), (hang, 2), (redirect, 1)]
)
def test_each_channel_ends_within_its_budget(
    channel: str, behaviour: Callable[[socket.socket, threading.Event], None], tries: int
) -> None:
    """Drip, hang, redirect: a failed result within attempts × timeout + backoff."""
    with RawServer(behaviour) as server:
        started = time.monotonic()
        result = _send(channel, server.url)
        elapsed = time.monotonic() - started
    assert not result.delivered
    assert elapsed <= POLICY.budget_s() + SLACK_S, elapsed
    assert len(result.attempts) == tries
    if behaviour is redirect:
        assert result.error == "HTTP 307 Temporary Redirect"
    else:
        assert "timed out" in (result.error or "")
        # Each try is cut at its timeout, not after the drip ends (it never does).
        assert all(a.elapsed_s <= POLICY.timeout_s + 0.5 for a in result.attempts)
    assert "T0K3N-drip-secret" not in str(result.to_json())


@pytest.mark.parametrize("channel", ["webhook", "slack"])
def test_500_is_retried_with_one_idempotency_key(channel: str) -> None:
    """Always 500: every attempt made, within the budget, each try with the same key."""
    with LocalServer(lambda n, s: Reply(500, b"boom")) as server:
        started = time.monotonic()
        result = _send(channel, f"{server.url}/hooks/x")
        elapsed = time.monotonic() - started
        seen = list(server.seen)
    assert not result.delivered
    assert elapsed <= POLICY.budget_s() + SLACK_S
    assert [a.status_code for a in result.attempts] == [500, 500]
    keys = {s.headers[IDEMPOTENCY_HEADER] for s in seen}
    assert keys == {dict(result.detail)["idempotency_key"]}
    assert len(seen) == 2


def test_budget_is_attempts_times_timeout_plus_backoff() -> None:
    """The promise in numbers: 3 × 2 s + 0.5 + 1.0 s of waits."""
    assert Backoff(attempts=3, base_s=0.5, cap_s=8, timeout_s=2).budget_s() == 7.5
    assert Backoff(attempts=1, timeout_s=4).budget_s() == 4


def test_the_reported_case_one_byte_every_two_seconds() -> None:
    """The measured failure: 200 OK then a byte every 2 s, 3 s per try: over in ≤ 3 s."""
    policy = Backoff(attempts=1, timeout_s=3.0)
    with RawServer(dripping(2.0)) as server:
        started = time.monotonic()
        result = send_webhook(server.url, {"x": 1}, backoff=policy)
        elapsed = time.monotonic() - started
    assert not result.delivered
    assert "timed out" in (result.error or "")
    assert elapsed <= policy.budget_s() + SLACK_S


def test_a_long_retry_after_cannot_stretch_the_budget() -> None:
    """A 429 asking for a 60 s wait longer than the budget: give up now, not sleep past it."""
    policy = Backoff(attempts=3, base_s=0.1, cap_s=60.0, timeout_s=0.5)

    def too_many(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 60\r\nContent-Length: 0\r\n\r\n"
        )

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    with RawServer(too_many) as server:
        started = time.monotonic()
        result = send_webhook(server.url, {"x": 1}, backoff=policy, sleep=sleep)
        elapsed = time.monotonic() - started
    assert not result.delivered
    assert [a.status_code for a in result.attempts] == [429]
    assert result.error == "HTTP 429 Too Many Requests"
    assert elapsed <= policy.budget_s() + SLACK_S
    assert sum(sleeps) <= policy.budget_s()


@pytest.mark.timeout(120)
def test_triage_with_a_dripping_webhook_ends_reports_it_and_exits_4(tmp_path: Path) -> None:
    """The reported case end to end: the triage ends, says so, and exits 4."""
    log = tmp_path / "ci.log"
    log.write_text("E   AssertionError: boom\nFAILED tests/a.py::t - AssertionError: boom\n")
    env = {
        **os.environ,
        "JUGGLER_WEBHOOK_ATTEMPTS": "2",
        "JUGGLER_WEBHOOK_TIMEOUT_S": "1",
        "JUGGLER_WEBHOOK_BACKOFF_S": "0.1",
        "JUGGLER_JOURNAL": str(tmp_path / "runs.sqlite3"),
    }
    with RawServer(drip) as server:
        env["JUGGLER_WEBHOOK_URLS"] = server.url
        done = subprocess.run(
            [
                *(sys.executable, "-m", "juggler", "triage", str(log), "--no-kb", "--json"),
                *("--quiet", "--out-dir", str(tmp_path / "memo")),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=100,
            check=False,
        )
    assert done.returncode == 4, done.stderr
    assert "webhook" in done.stderr
    assert "not delivered after 2 tries" in done.stderr
    deliveries = json.loads(done.stdout)["deliveries"]
    [hook] = [d for d in deliveries if d["channel"] == "webhook"]
    assert not hook["delivered"]
    assert all(a["elapsed_s"] <= 1.5 for a in hook["attempts"])
    assert [d["delivered"] for d in deliveries if d["channel"] == "file"] == [True]
