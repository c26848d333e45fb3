"""Sources for an event loop: :func:`~._sources.iter_sources` stepped in a worker thread.

Classifying an input may decompress and spool it (seconds for a large ``.gz``); done in the
loop's thread that would stall every other stage of the run. Each step runs in a thread of
the loop's default executor instead, one at a time, so the sources still arrive in order
and a run's pipeline pulls them only as fast as it takes them (back-pressure).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import IO, TYPE_CHECKING

from ._document import DEFAULT_LIMITS, Limits
from ._sources import iter_sources

if TYPE_CHECKING:
    import os
    from collections.abc import AsyncIterator, Iterable

    from .._errors import InputError
    from ._sources import Source
    from ._spool import SpillArea

__all__ = ["aiter_sources"]

_END = object()


async def aiter_sources(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    limits: Limits = DEFAULT_LIMITS,
    stdin: IO[bytes] | None = None,
    spill: SpillArea | None = None,
) -> AsyncIterator[Source | InputError]:
    """:func:`~._sources.iter_sources` as an async iterator; each step runs in a thread."""
    sources = iter_sources(inputs, limits=limits, stdin=stdin, spill=spill)
    try:
        while True:
            item = await asyncio.to_thread(next, sources, _END)
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        # A step still running in its thread (cancelled run) cannot be closed; it stops at
        # its next block once the run's spill area is closed.
        close = getattr(sources, "close", None)  # a generator's
        if close is not None:
            with contextlib.suppress(ValueError):
                close()
