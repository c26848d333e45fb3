"""One blocking POST with retries and exponential backoff, recorded attempt by attempt.

Shared by the Slack and webhook channels. Retried: timeouts, connection errors, HTTP 5xx,
408 and 429. Not retried: other 4xx (the receiver refused this payload; sending it again
would be refused again) and redirects (never followed: see :func:`._deadline.deadline_client`).

Bounded: a channel is over within :meth:`Backoff.budget_s` (attempts × timeout plus the
backoff waits), however its receiver behaves — each attempt under a hard deadline
(:class:`._deadline.Deadline`), each wait cut to what the budget has left.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

import httpx

from ._result import Attempt

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._redact import Redactor
    from ._deadline import Deadline

_RETRY_STATUS = frozenset({408, 429})


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """How often and how patiently to retry.

    Attributes:
        attempts: Tries in total (1 = no retry).
        base_s: Wait before the second try; doubles for each later one.
        cap_s: Longest single wait.
        timeout_s: Per-try limit for connecting, sending and reading.
    """

    attempts: int = 4
    base_s: float = 0.5
    cap_s: float = 8.0
    timeout_s: float = 10.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based): base·2^(retry-1), capped."""
        return min(self.cap_s, self.base_s * 2.0 ** (retry - 1))

    def budget_s(self) -> float:
        """The most one channel may take: attempts × timeout plus every backoff wait."""
        waits = sum(self.delay(n) for n in range(1, max(1, self.attempts)))
        return max(1, self.attempts) * self.timeout_s + waits


def safe_target(url: str, redactor: Redactor) -> str:
    """A printable form of ``url``: scheme and host only (paths and queries hold tokens)."""
    try:
        split = urllib.parse.urlsplit(url)
        host = split.hostname or "?"
        port = f":{split.port}" if split.port else ""
    except ValueError:
        return "[invalid URL]"
    tail = "/…" if split.path not in ("", "/") or split.query else ""
    return redactor.scrub(f"{split.scheme}://{host}{port}{tail}")


def _retry_after(response: httpx.Response, cap_s: float) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return min(cap_s, max(0.0, float(value)))
    except ValueError:
        return None


def post_with_retries(
    client: httpx.Client,
    url: str,
    *,
    body: bytes,
    headers_for: Callable[[int], dict[str, str]],
    backoff: Backoff,
    redactor: Redactor,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
) -> tuple[bool, tuple[Attempt, ...], str | None]:
    """POST ``body`` to ``url`` until accepted or out of attempts.

    Args:
        client: A blocking httpx client (the caller owns and closes it).
        url: The endpoint; never printed (it may hold a token).
        body: The request body.
        headers_for: Headers for attempt ``n`` (1-based): lets a signature be fresh per try
            while an idempotency key stays constant.
        backoff: Attempts, waits and per-try timeout.
        redactor: Scrubs every error message recorded.
        sleep: Injected for tests.
        deadline: The client's :class:`Deadline` (from :func:`deadline_client`): each
            attempt is cut at ``timeout_s`` however slowly its answer drips. Without one,
            only httpx's per-operation timeouts bound an attempt.

    Returns:
        ``(delivered, attempts, error)``; ``error`` is the last failure, scrubbed.
    """
    attempts: list[Attempt] = []
    error: str | None = None
    waited = 0.0
    ends = time.monotonic() + backoff.budget_s()
    for number in range(1, backoff.attempts + 1):
        started = time.monotonic()
        status: int | None = None
        retryable = True
        wait: float | None = None
        limit = min(backoff.timeout_s, ends - started)
        try:
            with deadline.limit(limit) if deadline is not None else contextlib.nullcontext():
                response = client.post(
                    url, content=body, headers=headers_for(number), timeout=limit
                )
            status = response.status_code
            if response.is_success:
                attempts.append(
                    Attempt(
                        number=number,
                        status_code=status,
                        error=None,
                        elapsed_s=time.monotonic() - started,
                        waited_s=waited,
                    )
                )
                return True, tuple(attempts), None
            # Not raise_for_status(): its message embeds the URL, token and all.
            error = f"HTTP {status} {response.reason_phrase}".strip()
            retryable = status >= 500 or status in _RETRY_STATUS
            wait = _retry_after(response, backoff.cap_s)
        except httpx.TimeoutException as exc:
            error = f"timed out after {limit:g} s ({type(exc).__name__})"
        except httpx.TransportError as exc:
            # The deadline's timer cut the socket under a read: a timeout, not a fault.
            error = (
                f"timed out after {limit:g} s (deadline)"
                if deadline is not None and deadline.expired
                else redactor.describe(exc)
            )
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, ValueError) as exc:
            # InvalidURL and StreamError are not HTTPError subclasses; a bad URL must still
            # end as a failed result, not an exception out of an io thread.
            error = redactor.describe(exc)
            retryable = isinstance(exc, httpx.TransportError)
        attempts.append(
            Attempt(
                number=number,
                status_code=status,
                error=redactor.scrub(error),
                elapsed_s=time.monotonic() - started,
                waited_s=waited,
            )
        )
        if not retryable or number == backoff.attempts:
            break
        waited = wait if wait is not None else backoff.delay(number)
        # The next try needs some time of its own; past the budget there is no next try.
        waited = min(waited, max(0.0, ends - time.monotonic() - 0.05))
        if ends - time.monotonic() - waited < 0.05:
            break
        sleep(waited)
    return False, tuple(attempts), redactor.scrub(error or "not attempted")
