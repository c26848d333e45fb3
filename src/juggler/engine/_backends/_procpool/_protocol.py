"""What travels between the supervisor and its workers, and how it is framed.

Frames use the wire format of :class:`multiprocessing.connection.Connection` (a signed 4-byte
big-endian length, or ``-1`` followed by an 8-byte length for payloads over 2 GiB), so the
worker can use ``Connection.send_bytes``/``recv_bytes`` while the parent reads and writes the
raw pipe without blocking the event loop.

Messages are pickled tuples whose first element is a kind:

* parent → worker: ``(seq, module, qualname, items)``, one pickle per batch;
* worker → parent: ``(READY, pid)``, ``(DONE, seq, elapsed_s, values, errors)`` and
  ``(OUT_OF_MEMORY, seq, index)``.

A shared 24-byte *progress cell* per worker holds ``(seq, index, started_at)`` of the item the
worker is running (``index == SENDING`` once the batch's results are being sent). The parent
reads it to blame exactly the item in flight when a worker dies and to enforce per-item
timeouts inside batches without one message per item.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import struct
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..._errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = [
    "DONE",
    "OUT_OF_MEMORY",
    "PROGRESS",
    "READY",
    "SENDING",
    "FileRange",
    "FnRef",
    "FrameReader",
    "InheritedFd",
    "RemoteError",
    "check_importable",
    "check_placeable",
    "encode_frame",
    "fn_ref",
    "main_has_file",
    "resolve",
]

READY = 0
DONE = 1
OUT_OF_MEMORY = 2

PROGRESS = struct.Struct("<qqd")
"""``(batch seq, item index, time.monotonic() when the item started)``."""
SENDING = -1
"""Progress index meaning "every item of the batch ran; results are being pickled or sent"."""

_SMALL = struct.Struct("!i")
_LARGE = struct.Struct("!Q")


def encode_frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with a length header readable by ``Connection.recv_bytes``."""
    n = len(payload)
    if n > 0x7FFFFFFF:
        return _SMALL.pack(-1) + _LARGE.pack(n) + payload
    return _SMALL.pack(n) + payload


class FrameReader:
    """Reassembles frames from the chunks a non-blocking pipe read returns."""

    __slots__ = ("_buf", "_pos")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        """Append bytes read from the pipe."""
        if self._pos and self._pos == len(self._buf):
            # Everything consumed: start over instead of growing forever.
            self._buf.clear()
            self._pos = 0
        self._buf += data

    def wanted(self) -> int:
        """How many more bytes the frame being assembled needs (at least 1)."""
        available = len(self._buf) - self._pos
        if available < 4:
            return 4 - available
        (n,) = _SMALL.unpack_from(self._buf, self._pos)
        if n == -1:
            if available < 12:
                return 12 - available
            (n,) = _LARGE.unpack_from(self._buf, self._pos + 4)
            return max(1, 12 + int(n) - available)
        return max(1, 4 + int(n) - available)

    def frames(self) -> Iterator[bytes]:
        """Yield every complete payload received so far."""
        buf = self._buf
        while True:
            available = len(buf) - self._pos
            if available < 4:
                break
            (n,) = _SMALL.unpack_from(buf, self._pos)
            header = 4
            if n == -1:
                if available < 12:
                    break
                (n,) = _LARGE.unpack_from(buf, self._pos + 4)
                header = 12
            if available < header + n:
                break
            start = self._pos + header
            self._pos = start + n
            yield bytes(buf[start : self._pos])
        if self._pos > 1 << 20:
            # Compact rarely so a stream of small frames stays O(n).
            del buf[: self._pos]
            self._pos = 0


@dataclass(frozen=True, slots=True)
class FnRef:
    """A function named by module and qualified name, resolved again inside each worker."""

    module: str
    qualname: str


class RemoteError(Exception):
    """Stand-in for an exception raised in a worker that could not cross the pipe.

    Carries the original type name and message so the failure record still names the cause.
    """

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        self.message = message
        super().__init__(type_name, message)

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


def _unwrap(fn: Any) -> Any:
    # A placement decorator may hand us its Stage object; the worker runs the plain function.
    if not hasattr(fn, "__qualname__") and callable(getattr(fn, "fn", None)):
        return fn.fn
    return fn


def fn_ref(fn: Callable[[Any], Any]) -> FnRef:
    """Name ``fn`` for the workers; see :func:`check_importable` for the rules."""
    fn = _unwrap(fn)
    return FnRef(getattr(fn, "__module__", None) or "", getattr(fn, "__qualname__", ""))


_HINT = "define it at module level in an importable module"


def check_placeable(fn: Callable[[Any], Any]) -> FnRef:
    """The checks a ``cpu`` stage can pass when it is declared, before its module finishes.

    A decorator runs before the module binds the decorated name, so whether the name leads
    back to the function is checked later, by :func:`check_importable`, when the stage is
    first used. What fails here fails whatever the module does next: a lambda, a nested
    function, or a function typed into an interactive session.

    Raises:
        ConfigError: one sentence naming the function and what to do instead.
    """
    ref = fn_ref(fn)
    if not ref.module or not ref.qualname:
        raise ConfigError(f"cpu stage function {fn!r} has no module or qualified name; {_HINT}")
    if "<lambda>" in ref.qualname or "<locals>" in ref.qualname:
        raise ConfigError(
            f"cpu stage function {ref.module}.{ref.qualname} cannot be imported by a worker "
            f"process (lambda or local function); {_HINT}"
        )
    if ref.module == "__main__" and not main_has_file():
        raise ConfigError(
            f"cpu stage function {ref.qualname} was typed into an interactive session "
            "(python -c, python -, a notebook or the REPL) that worker processes cannot "
            "import; move it into a .py module and import it from there"
        )
    return ref


def main_has_file() -> bool:
    """Whether worker processes can import ``__main__`` again: it was run from a real file."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    # ``python -`` sets ``__file__`` to "<stdin>", which no worker can read back.
    return isinstance(path, str) and _is_file(path)


@functools.lru_cache(maxsize=4)
def _is_file(path: str) -> bool:
    # Asked again on every run; the main script does not come and go while it runs.
    return os.path.isfile(path)


class RefCache:
    """Each function's checked :class:`FnRef`, checked once per backend (a pool or Dask)."""

    def __init__(self) -> None:
        self._refs: dict[Any, FnRef] = {}

    def __call__(self, fn: Callable[[Any], Any]) -> FnRef:
        try:
            return self._refs[fn]
        except (KeyError, TypeError):  # TypeError: an unhashable callable, checked each time
            pass
        ref = check_importable(fn)
        with contextlib.suppress(TypeError):
            self._refs[fn] = ref
        return ref


def check_importable(fn: Callable[[Any], Any]) -> FnRef:
    """Check that a spawned worker can import ``fn`` by module and qualified name.

    Call it when a ``cpu`` stage is first used (a run starts, a pool is handed the function):
    by then the module that declared the stage has bound its name, and a function nobody can
    reach fails before any item runs instead of inside every worker.

    Args:
        fn: The stage function, or a Stage object with a ``.fn`` attribute.

    Returns:
        The reference the workers will resolve.

    Raises:
        ConfigError: ``fn`` fails :func:`check_placeable`, or its module attribute does not
            lead back to it.
    """
    ref = check_placeable(fn)
    target = _unwrap(fn)
    module = sys.modules.get(ref.module)
    if module is None:
        try:
            module = importlib.import_module(ref.module)
        except ImportError as exc:
            raise ConfigError(f"cpu stage function's module {ref.module!r}: {exc}") from exc
    try:
        found = _lookup(module, ref.qualname)
    except AttributeError as exc:
        raise ConfigError(
            f"{ref.module}.{ref.qualname} is not reachable by its name; {_HINT}"
        ) from exc
    if found is not target and getattr(found, "fn", None) is not target:
        raise ConfigError(
            f"{ref.module}.{ref.qualname} names a different object than the stage function; {_HINT}"
        )
    return ref


def _lookup(module: Any, qualname: str) -> Any:
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def resolve(module: str, qualname: str) -> Callable[[Any], Any]:
    """Import the function a :class:`FnRef` names (runs in the worker).

    When the module attribute is a Stage-like wrapper whose ``.fn`` has the same qualified
    name, the wrapped function is returned.
    """
    obj = _lookup(importlib.import_module(module), qualname)
    inner = getattr(obj, "fn", None)
    if callable(inner) and getattr(inner, "__qualname__", None) == qualname:
        obj = inner
    if not callable(obj):
        raise TypeError(f"{module}.{qualname} is not callable")
    fn: Callable[[Any], Any] = obj
    return fn


@dataclass(frozen=True, slots=True)
class FileRange:
    """A byte range of a file, sent to a worker instead of the bytes themselves.

    Pickling a ``FileRange`` costs a few dozen bytes whatever the range's size; the worker
    reads the bytes itself with :meth:`read_bytes`. Use it for large inputs (log chunks):
    the parent never holds the data, and a batch of ranges stays one small message.

    The file must not change while the run is going on; nothing checks that.

    Attributes:
        path: Path of the file, readable by the worker processes.
        start: Offset of the first byte.
        end: Offset one past the last byte (``end >= start``).
    """

    path: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ConfigError(f"bad FileRange [{self.start}, {self.end}) of {self.path!r}")

    @property
    def size(self) -> int:
        """Number of bytes in the range."""
        return self.end - self.start

    def read_bytes(self) -> bytes:
        """Read the range (short if the file is shorter than ``end``)."""
        with open(self.path, "rb") as f:
            f.seek(self.start)
            return f.read(self.end - self.start)


class InheritedFd:
    """A file descriptor handed to a worker process at start (``spawn`` or ``forkserver``).

    Pickling goes through :func:`multiprocessing.reduction.DupFd`, the mechanism
    ``Connection`` objects use, so it only works while a ``Process`` is being started.
    The worker receives a plain ``int``.
    """

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Callable[[Any], int], tuple[Any]]:
        from multiprocessing import reduction  # only needed while spawning

        return _detach_fd, (reduction.DupFd(self.fd),)


def _detach_fd(dup: Any) -> int:
    fd: int = dup.detach()
    return fd
