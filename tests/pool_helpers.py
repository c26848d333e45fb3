"""Helpers shared by the process-pool tests (functional and chaos)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

from juggler.engine._backends._protocol import Ok, Outcome

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

T = TypeVar("T")


def run(coro_fn: Callable[[], Awaitable[T]], limit_s: float = 15) -> T:
    """Run an async test body on a fresh event loop (no pytest-asyncio), with a deadline."""

    async def main() -> T:
        async with asyncio.timeout(limit_s):
            return await coro_fn()

    return asyncio.run(main())


def ids(n: int) -> list[str]:
    return [f"item-{i}" for i in range(n)]


def plain(outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes without their timing, so they compare by value."""
    return [Ok(o.value) if isinstance(o, Ok) else o for o in outcomes]
