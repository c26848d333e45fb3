"""Whether a triage scans inline (in this process) or on worker processes.

Starting the worker pool (a forkserver, then one process per core importing the scan's
modules) costs about half a second; scanning 1 MB of a CI log costs a core about a tenth of
that. So a small input is scanned by threads of this process, and only an input big enough
for the workers to win back their start-up goes to the pool. ``bench/triage_speed.py``
measures both sides of the crossover (its ``inline vs pool`` rows) on this machine.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import juggler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: Inputs up to this many bytes (all logs and baselines together) are scanned inline.
INLINE_MAX_BYTES = 8 * 1024 * 1024
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
