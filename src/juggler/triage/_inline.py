"""Whether a triage scans inline (in this process) or on worker processes.

Starting the worker pool (a forkserver, then one process per core importing the scan's
modules) cost 0.58 s of the 0.815 s small-log triage when this was first measured; a small
input is scanned by a thread of this process instead. Where the pool starts to pay is
measured, not derived. Generated CI output through the CLI, inline against
``--workers 2``, median of 3 (2026-12-04, after the scan got faster): 2 MB 0.52 / 0.72 s,
4 MB 0.86 / 0.99 s, 6 MB 1.15 / 1.07 s, 8 MB 1.32 / 1.05 s. The lines cross near 5 MB, so
inputs up to 5 MiB run inline. ``bench/triage_speed.py``'s crossover table re-measures it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import juggler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: Inputs up to this many bytes (all logs and baselines together) are scanned inline.
INLINE_MAX_BYTES = 5 * 1024 * 1024
#: Compressed inputs count as this many times their size (logs compress about 10:1).
_EXPANSION = 10
_COMPRESSED = (".gz", ".tgz", ".bz2", ".xz", ".zst", ".zip", ".tar")


def _size_of(path: str, budget: int) -> int:
    """Bytes ``path`` will give the scan, counting at most past ``budget`` (then stops)."""
    if path == "-":
        return budget + 1  # stdin: its size is unknown until read
    try:
        if not os.path.isdir(path):
            size = os.path.getsize(path)
            return size * _EXPANSION if path.lower().endswith(_COMPRESSED) else size
    except OSError:
        return 0  # refused later by ingest, with its reason
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            total += _size_of(os.path.join(root, name), budget - total)
            if total > budget:
                return total
    return total


def runs_inline(paths: Iterable[str | os.PathLike[str]], limit: int | None = None) -> bool:
    """True when the inputs are small enough that the pool would not pay its start-up."""
    budget = INLINE_MAX_BYTES if limit is None else limit
    total = 0
    for path in paths:
        total += _size_of(os.fspath(path), budget - total)
        if total > budget:
            return False
    return True


def place(fn: Callable[..., Any], *, name: str, inline: bool) -> Any:
    """A ``cpu`` stage, or an ``io`` one (threads of this process) when scanning inline."""
    return juggler.io(fn, name=name) if inline else juggler.cpu(fn, name=name)
