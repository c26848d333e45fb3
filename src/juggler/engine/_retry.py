"""Retry policy and its backoff schedule: pure functions, no clock, no loop."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ._errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """When and how long to wait before an item's next attempt.

    Attempt ``n`` (1-based) that fails with a retryable error is followed by a wait of
    ``min(backoff_max_s, backoff_base_s * 2 ** (n - 1))``, shortened by up to ``jitter`` of
    itself at random so that many items failing together do not retry in lock-step.

    Args:
        retries: Extra attempts after the first one; ``0`` means no retry.
        backoff_base_s: The wait after the first failure.
        backoff_max_s: The longest wait.
        jitter: Fraction of each wait that may be removed at random (0 gives exact waits).
        retry_on: Exception types worth another attempt.
        no_retry_on: Exception types never retried, even when they match ``retry_on``.
    """

    retries: int = 0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    jitter: float = 0.1
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    no_retry_on: tuple[type[BaseException], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigError(f"retries must be >= 0, got {self.retries}")
        if self.backoff_base_s < 0 or self.backoff_max_s < 0:
            raise ConfigError("backoff_base_s and backoff_max_s must be >= 0")
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"jitter must be within [0, 1], got {self.jitter}")

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether ``error``, raised by attempt number ``attempt``, earns another attempt."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, self.no_retry_on):
            return False
        return isinstance(error, self.retry_on)

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        delay = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** (attempt - 1))
        if self.jitter and delay:
            delay -= delay * self.jitter * (rng or random).random()
        return delay
