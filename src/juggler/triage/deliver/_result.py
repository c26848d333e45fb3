"""The record of one delivery: what was sent where, how many tries, and what went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, final


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One try at a delivery.

    Attributes:
        number: 1 for the first try.
        status_code: The HTTP status, or ``None`` when no answer came (timeout, refused).
        error: Why it failed (scrubbed of secrets), or ``None`` on success.
        elapsed_s: How long the try took.
        waited_s: Backoff slept before this try.
    """

    number: int
    status_code: int | None
    error: str | None
    elapsed_s: float
    waited_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "number": self.number,
            "status_code": self.status_code,
            "error": self.error,
            "elapsed_s": round(self.elapsed_s, 3),
            "waited_s": round(self.waited_s, 3),
        }


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryResult:
    """What one delivery channel did. Delivery functions return this and never raise.

    Attributes:
        channel: ``"file"``, ``"github"``, ``"slack"`` or ``"webhook"``.
        target: Where it went, safe to print (secrets scrubbed: a webhook's URL shows as
            ``https://host/[REDACTED]``).
        delivered: True if the receiver accepted it.
        attempts: Every try, in order (empty for local channels).
        error: Why it was not delivered (scrubbed), or ``None``.
        detail: Channel-specific facts (paths written, annotations emitted, idempotency key).
    """

    channel: str
    target: str
    delivered: bool
    attempts: tuple[Attempt, ...] = ()
    error: str | None = None
    detail: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form, for the run report and ``--json`` output."""
        return {
            "channel": self.channel,
            "target": self.target,
            "delivered": self.delivered,
            "attempts": [a.to_json() for a in self.attempts],
            "error": self.error,
            "detail": dict(self.detail),
        }

    def describe(self) -> str:
        """One line for stderr: ``webhook https://host/…: not delivered after 3 tries (...)``."""
        tries = len(self.attempts)
        how = f" after {tries} {'try' if tries == 1 else 'tries'}" if tries else ""
        if self.delivered:
            return f"{self.channel} {self.target}: delivered{how}"
        return f"{self.channel} {self.target}: not delivered{how} ({self.error})"
