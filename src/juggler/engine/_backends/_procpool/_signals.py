"""Make SIGTERM take the same shutdown ladder as Ctrl-C (RELIABILITY.md R5, R8)."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

__all__ = ["sigterm_as_sigint"]


@contextlib.contextmanager
def sigterm_as_sigint() -> Iterator[None]:
    """Within the block, a SIGTERM is handled exactly like a SIGINT.

    ``asyncio.Runner`` turns the first SIGINT into cancellation of the main task and a
    second into ``KeyboardInterrupt``; re-raising SIGTERM as SIGINT gives a ``docker stop``
    or ``systemctl stop`` the same graceful path (grace, then kill) as a first Ctrl-C.
    Enter it before ``asyncio.Runner.run`` so the runner's SIGINT handler is the one reached.
    Does nothing outside the main thread (signal handlers can only be set there).

    Example:
        with sigterm_as_sigint(), asyncio.Runner() as runner:
            runner.run(main())
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _forward(signum: int, frame: FrameType | None) -> None:
        signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, _forward)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
