"""Whether a triage scans inline (in this process) or on worker processes.

Starting the worker pool (a forkserver, then one process per core importing the scan's
modules) cost 0.58 s of the 0.815 s small-log triage (the rest: 0.237 s of imports). A
chunk scan costs a core 0.087 s per MB on hit-dense loghub text (1.73 CPU-s per 20 MB,
measured with ``time.process_time`` around ``scan_chunk``), less on CI logs. Two workers
save at most half of the scan, so the pool pays off from about 0.58 / (0.087 / 2) = 13 MB:
inputs up to 8 MiB are scanned by a thread of this process. ``bench/triage_speed.py``'s
crossover table (default vs ``--workers 2`` by size) re-measures it on a machine.
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
