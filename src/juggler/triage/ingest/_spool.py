"""Streams of bytes (decompressed members, stdin) spooled to private temp files.

Workers read plain files by byte range, so everything that is not a plain file on disk is
written once, block by block, to a file of its own in a :class:`SpillArea`: a folder made
with ``mkdtemp`` (mode 0700) under the system temp folder, removed when the area is closed,
at interpreter exit, and, should the process be killed, by the next run that finds it (its
name carries the pid that made it). Nothing is ever written under a name from the input.

Memory stays bounded whatever the input's size: one block in hand, plus the first
:data:`~._decode.SAMPLE_BYTES` (or the read-ahead a bomb check needs) held to classify it.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import tempfile
import threading
from typing import IO, TYPE_CHECKING, Final, Self

from .._errors import UnsupportedInput

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import TracebackType

__all__ = ["SPILL_PREFIX", "SpillArea", "default_area", "spool", "take"]

#: Name prefix of spill folders; the pid of the process that made one follows it.
SPILL_PREFIX: Final = "juggler-spill-"


class SpillArea:
    """A private temp folder for spooled inputs, made on first use, removed by :meth:`close`.

    Use it as a context manager around a run so its files go away however the run ends
    (normal exit, an exception, Ctrl-C). Closing it also makes a spool still being written
    (in another thread) stop at its next block.
    """

    def __init__(self, parent: str | None = None) -> None:
        self._parent = parent
        self._path: str | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def path(self) -> str | None:
        """The folder, or ``None`` while nothing was spooled."""
        return self._path

    def _folder(self) -> str:
        with self._lock:
            if self._closed:
                raise RuntimeError("spill area is closed")
            if self._path is None:
                parent = self._parent or tempfile.gettempdir()
                sweep_stale(parent)
                self._path = tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-", dir=parent)
            return self._path

    def create(self) -> tuple[str, IO[bytes]]:
        """A new empty file in the area: its path and a binary handle open for writing."""
        fd, path = tempfile.mkstemp(dir=self._folder(), suffix=".spool")
        return path, os.fdopen(fd, "wb")

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Remove the folder and everything in it; further spools stop."""
        with self._lock:
            self._closed = True
            path, self._path = self._path, None
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def sweep_stale(parent: str) -> None:
    """Remove spill folders left in ``parent`` by processes that no longer run (SIGKILL)."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(SPILL_PREFIX):
            continue
        pid_text = entry.name[len(SPILL_PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False) and entry.stat().st_uid == os.getuid():
                    shutil.rmtree(entry.path, ignore_errors=True)


_default: SpillArea | None = None
_default_lock = threading.Lock()


def default_area() -> SpillArea:
    """The process-wide area used when a caller gives none (removed at interpreter exit)."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = SpillArea()
            atexit.register(_default.close)
        return _default


def take(blocks: Iterable[bytes], want: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``want`` bytes or more of ``blocks`` (fewer at its end), and the rest.

    Raises:
        Whatever reading ``blocks`` raises (a cap passed while decompressing).
    """
    it = iter(blocks)
    parts: list[bytes] = []
    size = 0
    while size < want:
        block = next(it, None)
        if block is None:
            break
        parts.append(block)
        size += len(block)
    return b"".join(parts), it


def spool(
    first: bytes,
    rest: Iterator[bytes],
    *,
    name: str,
    area: SpillArea,
    cap: int | None = None,
) -> tuple[str, int, bool]:
    """Write ``first`` and then every block of ``rest`` to a new file of ``area``.

    Args:
        first: Bytes already read (the sample).
        rest: The remaining blocks; read until exhausted or ``cap``.
        name: Display name of the input, for errors.
        area: Where the file goes.
        cap: Stop after this many bytes (the rest is not read).

    Returns:
        The file's path, its size, and whether ``cap`` cut it short.

    Raises:
        UnsupportedInput: The spill file could not be written (disk full), or the area was
            closed while writing (the run is ending).
        Whatever reading ``rest`` raises; the partial file is removed first.
    """
    try:
        path, fh = area.create()
    except (OSError, RuntimeError) as err:
        raise UnsupportedInput(name, f"cannot spool to a temp file ({err})") from None
    size, cut = 0, False
    try:
        with fh:
            for block in itertools.chain((first,), rest):
                if area.closed:
                    raise UnsupportedInput(name, "reading stopped: the run is ending")
                if cap is not None and size + len(block) > cap:
                    fh.write(block[: cap - size])
                    size, cut = cap, True
                    break
                fh.write(block)
                size += len(block)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise UnsupportedInput(name, f"cannot spool to a temp file ({err})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path, size, cut
