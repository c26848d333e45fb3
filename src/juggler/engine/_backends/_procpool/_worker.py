"""The worker process's main loop (runs in the child, never in the parent).

A worker reads one batch at a time, runs the function on each item, and sends back one
message with every result. Before each item it stamps the shared progress cell, so the
parent knows which item was in flight if this process dies and when that item started.

It ignores SIGINT (the parent owns shutdown, cpython#125886) and dies with its parent in
three independent ways: EOF on the request pipe, EOF on the pool's *alive* pipe watched by a
daemon thread (catches a parent that dies while an item is running), and
``PR_SET_PDEATHSIG`` on Linux (catches a dead parent even if that thread is stuck).
"""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from ._protocol import DONE, OUT_OF_MEMORY, PROGRESS, READY, SENDING, RemoteError, resolve

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection

__all__ = ["OOM_EXIT_CODE", "WORKER_NAME", "worker_main"]

OOM_EXIT_CODE = 86
"""Exit code of a worker that hit ``MemoryError`` (after reporting the item to the parent)."""

_PR_SET_NAME = 15
_PR_SET_PDEATHSIG = 1
WORKER_NAME = b"juggler-worker"
"""The worker's ``comm`` (``ps -o comm``, ``psutil.Process.name()``), so it can be found."""


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # Linux only; keep it off other platforms

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(WORKER_NAME), 0, 0, 0)
    except (OSError, AttributeError):
        return  # best effort: the pipes still catch a dead parent


def _watch_parent(alive_fd: int) -> None:
    # Blocks until the parent's write end is gone: the parent died or closed the pool.
    try:
        while os.read(alive_fd, 1):
            pass
    except OSError:
        pass
    os._exit(0)


def _portable(exc: BaseException) -> BaseException:
    """Return ``exc`` if it survives a pickle round trip, else a :class:`RemoteError`."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return RemoteError(type(exc).__qualname__, str(exc))
    return exc


def _encode_results(
    seq: int,
    elapsed: float,
    values: list[Any],
    errors: dict[int, tuple[BaseException, str]],
    starts: list[float],
    ended: float,
) -> bytes:
    message = (DONE, seq, elapsed, values, errors, starts, ended)
    try:
        return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        pass
    # Some value cannot be pickled: find it and report it as that item's error only.
    for i, value in enumerate(values):
        if i in errors:
            continue
        try:
            pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            values[i] = None
            errors[i] = (
                pickle.PicklingError(
                    f"result of type {type(value).__qualname__} cannot be pickled: "
                    f"{type(exc).__name__}: {exc}"
                ),
                traceback.format_exc(),
            )
    return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)


def worker_main(
    requests: Connection,
    results: Connection,
    cell_fd: int,
    alive_fd: int,
    memory_cap_bytes: int | None,
) -> None:
    """Serve batches until the request pipe reaches EOF.

    Args:
        requests: Read end of the parent's request pipe.
        results: Write end of the result pipe.
        cell_fd: Shared memory holding this worker's progress cell.
        alive_fd: Read end of the pool's alive pipe (EOF = the parent is gone).
        memory_cap_bytes: ``RLIMIT_AS`` for this process, so a runaway allocation raises
            ``MemoryError`` here instead of waking the machine's OOM killer.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    import resource  # POSIX only, like the rest of this module

    # A segfaulting item is reported by signal; dumping a core per death only slows recovery.
    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    if memory_cap_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_cap_bytes, memory_cap_bytes))
    # Forkserver children inherit the client's "forkserver alive" fd; holding it would keep the
    # forkserver (and so PR_SET_PDEATHSIG) from noticing that our parent died.
    from multiprocessing import forkserver

    inherited = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
    if inherited is not None:
        try:
            os.close(inherited)
        except OSError:
            pass
        setattr(forkserver._forkserver, "_forkserver_alive_fd", None)  # noqa: B010

    threading.Thread(target=_watch_parent, args=(alive_fd,), daemon=True).start()
    cell = mmap.mmap(cell_fd, PROGRESS.size)
    os.close(cell_fd)
    stamp = PROGRESS.pack_into
    now = time.monotonic
    fns: dict[tuple[str, str], Callable[[Any], Any]] = {}
    results.send_bytes(pickle.dumps((READY, os.getpid())))

    while True:
        try:
            data = requests.recv_bytes()
        except (EOFError, OSError):
            break
        seq, module, qualname, items = pickle.loads(data)
        values: list[Any] = []
        errors: dict[int, tuple[BaseException, str]] = {}
        started = time.perf_counter()
        try:
            fn = fns[module, qualname]
        except KeyError:
            try:
                fn = fns[module, qualname] = resolve(module, qualname)
            except Exception as exc:
                tb = traceback.format_exc()
                errors = dict.fromkeys(range(len(items)), (_portable(exc), tb))
                values = [None] * len(items)
                items = ()
        append = values.append
        starts: list[float] = []
        started_at = starts.append
        for i, item in enumerate(items):
            t = now()
            stamp(cell, 0, seq, i, t)
            started_at(t)
            try:
                append(fn(item))
            except MemoryError:
                # The heap may be in any state now: report the item, then let the parent
                # replace this process (RELIABILITY.md R8/R11: memory is a fault, a strike).
                results.send_bytes(pickle.dumps((OUT_OF_MEMORY, seq, i)))
                os._exit(OOM_EXIT_CODE)
            except BaseException as exc:  # user code: SystemExit is data too
                append(None)
                errors[i] = (_portable(exc), traceback.format_exc())
        elapsed = time.perf_counter() - started
        ended = now()
        stamp(cell, 0, seq, SENDING, ended)
        results.send_bytes(_encode_results(seq, elapsed, values, errors, starts, ended))
    # os._exit: a non-daemon thread started by user code must not keep this process alive.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(0)
