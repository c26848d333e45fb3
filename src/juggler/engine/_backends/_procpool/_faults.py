"""Test-only fault injection: items that make their worker crash, hang or misbehave.

Nothing in the engine imports this module; tests and benchmarks pass :func:`run_with_faults`
(or :func:`burn`) as the ``cpu`` function and put :class:`Fault` items among ordinary ones.
Ordinary items get a deterministic result, so a chaos run can be compared with a fault-free
run item by item.

Modes (``Fault(mode)``):

====================  =====================================================================
``sigkill_self``      ``os.kill(os.getpid(), SIGKILL)``
``segfault``          ``faulthandler._sigsegv()`` (a real SIGSEGV)
``exit0``/``exit1``   ``os._exit(0)`` / ``os._exit(1)``
``sys_exit``          ``sys.exit(3)`` (an exception: ``SystemExit``)
``raise``             ``raise ValueError``
``hang``              sleep for an hour
``alloc_gib:N``       allocate N GiB (``MemoryError`` under a memory cap)
``unpicklable_result`` return a ``threading.Lock``
``huge_result_mb:N``  return N MiB of bytes
``stderr_flood``      write 1 MiB to stderr, then return normally
``sigkill_on_pickle`` return normally; the worker dies while pickling the batch's results,
                      i.e. outside any item (exercises blame by bisection)
====================  =====================================================================
"""

from __future__ import annotations

import faulthandler
import hashlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._protocol import FileRange

__all__ = ["MODES", "Fault", "burn", "digest", "noop", "read_range", "run_with_faults"]

MODES = (
    "sigkill_self",
    "segfault",
    "exit0",
    "exit1",
    "sys_exit",
    "raise",
    "hang",
    "alloc_gib",
    "unpicklable_result",
    "huge_result_mb",
    "stderr_flood",
    "sigkill_on_pickle",
)


@dataclass(frozen=True, slots=True)
class Fault:
    """An item that makes :func:`run_with_faults` misbehave in the worker.

    Attributes:
        mode: One of :data:`MODES`, with ``:N`` for ``alloc_gib`` and ``huge_result_mb``.
        key: Distinguishes otherwise equal faults in one run.
    """

    mode: str
    key: int = 0

    def __post_init__(self) -> None:
        if self.mode.partition(":")[0] not in MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}")


def digest(item: Any) -> str:
    """A deterministic, cheap function of ``item`` (the result for ordinary items)."""
    return hashlib.blake2b(repr(item).encode(), digest_size=8).hexdigest()


def noop(item: Any) -> Any:
    """Return ``item`` unchanged (dispatch-cost benchmarks)."""
    return item


def burn(item: tuple[int, float]) -> str:
    """Spin the CPU for ``item[1]`` milliseconds, then return the digest of ``item``."""
    end = time.perf_counter() + item[1] / 1000.0
    while time.perf_counter() < end:
        pass
    return digest(item)


class _DieWhenPickled:
    def __reduce__(self) -> tuple[Any, ...]:
        os.kill(os.getpid(), signal.SIGKILL)
        return (int, ())  # pragma: no cover - the process is gone


def read_range(item: FileRange) -> bytes:
    """Read a :class:`FileRange` in the worker (tests of large inputs by reference)."""
    return item.read_bytes()


def run_with_faults(item: Any) -> Any:
    """Execute ``item`` if it is a :class:`Fault`, else return :func:`digest` of it."""
    if not isinstance(item, Fault):
        return digest(item)
    name, _, arg = item.mode.partition(":")
    if name == "sigkill_self":
        os.kill(os.getpid(), signal.SIGKILL)
    elif name == "segfault":
        getattr(faulthandler, "_sigsegv")()  # noqa: B009 - private, untyped
    elif name == "exit0":
        os._exit(0)
    elif name == "exit1":
        os._exit(1)
    elif name == "sys_exit":
        sys.exit(3)
    elif name == "raise":
        raise ValueError(f"fault {item.mode} (key {item.key})")
    elif name == "hang":
        time.sleep(3600)
    elif name == "alloc_gib":
        block = bytearray(int(arg) << 30)
        return len(block)
    elif name == "unpicklable_result":
        return threading.Lock()
    elif name == "huge_result_mb":
        return b"x" * (int(arg) << 20)
    elif name == "sigkill_on_pickle":
        return _DieWhenPickled()
    elif name == "stderr_flood":
        sys.stderr.write(("E" * 1023 + "\n") * 1024)
        sys.stderr.flush()
        return digest(item)
    raise AssertionError(f"unreachable fault mode {item.mode!r}")  # pragma: no cover
