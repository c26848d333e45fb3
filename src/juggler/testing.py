"""Test helpers: an event loop on virtual time.

On :class:`VirtualTimeLoop` the clock jumps straight to the next timer whenever every task is
waiting (trio's ``MockClock(autojump_threshold=0)``), so sleeps, timeouts and backoff run in no
real time and assertions on time are exact::

    def test_backoff() -> None:
        async def main() -> float:
            await asyncio.sleep(30)
            return asyncio.get_running_loop().time()

        assert juggler.testing.run_virtual(main()) == 30.0

Only code that lives on the loop is safe here: a thread or a process finishing "later" is
invisible to the jump, so use real time for ``io`` and ``cpu`` stages.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import selectors
    from collections.abc import Coroutine

T = TypeVar("T")

__all__ = ["VirtualTimeLoop", "run_virtual"]


class _AutojumpSelector:
    """Wraps the loop's selector: a wait for timers becomes a jump of the virtual clock."""

    def __init__(self, real: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._real = real
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout is None or timeout <= 0:
            return ready if ready or timeout == 0 else self._real.select(timeout)
        self._loop.jump(timeout)
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` starts at 0 and only moves by jumps."""

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = 0.0
        real: selectors.BaseSelector = self._selector  # type: ignore[has-type]
        self._selector = _AutojumpSelector(real, self)

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self._virtual_now += seconds

    def jump(self, timeout: float) -> None:
        """Move the clock to the next timer, ``timeout`` ahead, on a nanosecond grid.

        Rounding to whole nanoseconds keeps sums like ``0.1 * 10`` from drifting, so a test
        can assert ``== 3.0`` after a 1 s and a 2 s wait however many timers fired between.
        """
        self._virtual_now = round(self._virtual_now + timeout, 9)


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh :class:`VirtualTimeLoop`."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)
