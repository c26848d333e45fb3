"""Retries with exponential backoff and jitter, on virtual time (exact assertions)."""

from __future__ import annotations

import asyncio
import random
import typing

import pytest

import juggler
from juggler import ConfigError, RetryPolicy
from juggler.testing import run_virtual


def test_backoff_doubles_and_is_capped() -> None:
    """Waits are base, 2 x base, 4 x base... never above the cap."""
    policy = RetryPolicy(retries=6, backoff_base_s=1, backoff_max_s=10, jitter=0)
    assert [policy.backoff_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_jitter_only_shortens_and_stays_within_its_fraction() -> None:
    """With jitter 0.5, every wait lies in [d/2, d] and they are not all equal."""
    policy = RetryPolicy(retries=3, backoff_base_s=2, jitter=0.5)
    rng = random.Random(7)
    waits = [policy.backoff_s(2, rng) for _ in range(200)]
    assert all(2.0 <= w <= 4.0 for w in waits)
    assert len(set(waits)) > 100


def test_retry_on_and_no_retry_on_select_errors() -> None:
    """Only listed types retry; ``no_retry_on`` wins; attempts are capped by ``retries``."""
    policy = RetryPolicy(retries=2, retry_on=(OSError,), no_retry_on=(FileNotFoundError,))
    assert policy.should_retry(ConnectionError(), 1)
    assert not policy.should_retry(ValueError(), 1)
    assert not policy.should_retry(FileNotFoundError(), 1)
    assert not policy.should_retry(ConnectionError(), 3)


def test_negative_retries_is_a_config_error() -> None:
    """Nonsense options are refused before anything runs."""
    with pytest.raises(ConfigError):
        juggler.aio(_flaky, retries=-1)


class _Calls:
    times: typing.ClassVar[list[float]] = []
    fail_first = 3


async def _flaky(x: int) -> int:
    _Calls.times.append(asyncio.get_running_loop().time())
    if len(_Calls.times) <= _Calls.fail_first:
        raise ConnectionError("boom")
    return x


def test_retry_backoff_is_exponential_on_virtual_time() -> None:
    """Three failures wait 1 s, 2 s, 4 s; the fourth attempt succeeds at t=7, exactly."""
    _Calls.times, _Calls.fail_first = [], 3
    stage = juggler.aio(_flaky, retries=3, backoff_base_s=1, jitter=0)
    report = run_virtual(juggler.Pipeline(stage).run_async([5]))
    assert report.results == [5]
    assert _Calls.times == [0, 1, 3, 7]
    assert report.stage("_flaky").retried == 3


def test_item_fails_after_its_last_retry_with_attempt_count() -> None:
    """``retries=2`` gives exactly 3 attempts (backoff 1 s, 2 s), then a recorded failure."""
    _Calls.times, _Calls.fail_first = [], 99
    stage = juggler.aio(_flaky, retries=2, backoff_base_s=1, jitter=0, on_error="skip")
    report = run_virtual(juggler.Pipeline(stage).run_async([1]))
    assert report.results == []
    assert _Calls.times == [0, 1, 3]
    [failure] = report.failures
    assert (failure.attempts, failure.error_type, failure.message) == (3, "ConnectionError", "boom")


def test_errors_outside_retry_on_fail_at_once() -> None:
    """An error type not in ``retry_on`` is not retried."""
    _Calls.times, _Calls.fail_first = [], 99
    stage = juggler.aio(_flaky, retries=5, retry_on=(TimeoutError,), on_error="skip")
    report = run_virtual(juggler.Pipeline(stage).run_async([1]))
    assert len(_Calls.times) == 1
    assert report.failures[0].attempts == 1
