"""Generic JSON webhooks: signed (HMAC-SHA256), idempotent across retries, never raising.

Wire format (RELIABILITY.md S6)::

    POST <url>
    Content-Type: application/json
    X-Juggler-Timestamp: 1764321000                 (Unix seconds, fresh on every try)
    X-Juggler-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    Idempotency-Key: 6f1c...                          (the same on every try of one delivery)

A receiver checks the signature with :func:`verify_signature`, which also rejects a timestamp
more than five minutes old (a replay) or ahead, and drops a repeated idempotency key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from .._redact import NO_SECRETS, Redactor
from ..synth._escape import scrub_value
from ._deadline import deadline_client
from ._http import Backoff, post_with_retries, safe_target
from ._result import DeliveryResult

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

    from ..synth import Memo

SIGNATURE_HEADER = "X-Juggler-Signature"
TIMESTAMP_HEADER = "X-Juggler-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Signatures older (or further ahead) than this are rejected as replays.
REPLAY_WINDOW_S = 300.0


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` + hex HMAC-SHA256 of ``timestamp.body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    *,
    secret: str | bytes,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float | None = None,
    tolerance_s: float = REPLAY_WINDOW_S,
) -> bool:
    """Receiver side: True if ``signature`` is valid for ``body`` and the timestamp is fresh.

    Compares in constant time (``hmac.compare_digest``). Rejects a missing or malformed
    header, a tampered body or timestamp, and a timestamp more than ``tolerance_s`` away from
    ``now`` (a replayed request).

    Args:
        secret: The shared HMAC secret.
        body: The raw request body, exactly as received.
        timestamp: The ``X-Juggler-Timestamp`` header.
        signature: The ``X-Juggler-Signature`` header.
        now: The receiver's clock (``time.time()`` by default).
        tolerance_s: Accepted clock distance.
    """
    if not timestamp or not signature:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace"))


def webhook_payload(memo: Memo, triage: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body: an event name, the memo, and the triage's analysis when given."""
    payload: dict[str, Any] = {"event": "juggler.triage.memo", "version": 1, "memo": memo.to_json()}
    if triage is not None and isinstance(triage.get("analysis"), dict):
        payload["analysis"] = triage["analysis"]
    return payload


def send_webhook(
    url: str,
    payload: Mapping[str, Any],
    *,
    secret: str | None = None,
    backoff: Backoff | None = None,
    redactor: Redactor = NO_SECRETS,
    client: httpx.Client | None = None,
    idempotency_key: str | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """POST ``payload`` as JSON to ``url``, signed, retrying 5xx and timeouts with backoff.

    Blocking (run it in an ``io`` thread); it cannot be cancelled mid-request, but it is
    over within ``backoff.budget_s()`` (attempts × timeout plus backoff): each try is cut at
    ``backoff.timeout_s`` however slowly the answer drips (with the default client). The
    payload is scrubbed of secrets before sending.
    Never raises: failures come back as a result with
    ``delivered=False`` and every attempt recorded. The URL, the secret and anything else the
    redactor knows never appear in the result.

    Args:
        url: The receiver.
        payload: JSON-serialisable body (:func:`webhook_payload`).
        secret: HMAC key; without one no signature header is sent.
        backoff: Attempts, waits, per-try timeout.
        redactor: Secrets to scrub from errors; ``url`` and ``secret`` are always added.
        client: A client to reuse (the caller closes it); by default one is made and closed.
        idempotency_key: Sent on every try; random by default.
        clock: Unix time source for the timestamp header (tests).
        sleep: Backoff sleep (tests).
    """
    redactor = redactor.merged(Redactor.from_values([url, secret]))
    policy = backoff or Backoff()
    key = idempotency_key or uuid.uuid4().hex
    target = safe_target(url, redactor)
    try:
        # Scrubbed as data, before encoding: JSON escaping could change how a secret is spelled.
        clean = scrub_value(dict(payload), redactor)
        body = json.dumps(clean, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        return DeliveryResult(
            channel="webhook", target=target, delivered=False, error=redactor.describe(exc)
        )

    def headers_for(attempt: int) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "juggler-triage",
            IDEMPOTENCY_HEADER: key,
            "X-Juggler-Attempt": str(attempt),
        }
        if secret:
            timestamp = str(int(clock()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        return headers

    own = client is None
    http, deadline = (client, None) if client is not None else deadline_client(url)
    try:
        delivered, attempts, error = post_with_retries(
            http,
            url,
            body=body,
            headers_for=headers_for,
            backoff=policy,
            redactor=redactor,
            sleep=sleep,
            deadline=deadline,
        )
    finally:
        if own:
            http.close()
    return DeliveryResult(
        channel="webhook",
        target=target,
        delivered=delivered,
        attempts=attempts,
        error=error,
        detail=(("idempotency_key", key), ("bytes", str(len(body)))),
    )
