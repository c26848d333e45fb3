"""What runs inside a Dask worker: one batch of items, timed, errors kept per item.

Imported by the workers (juggler must be installed there, see docs/dask.md); it uses only
the standard library and the pool's function references, so it loads fast.
"""

from __future__ import annotations

import os
import pickle
import time
import traceback
from typing import Any

from ._procpool._protocol import RemoteError, resolve

# Per item: (True, value, start, end) or (False, (error, traceback text), start, end).
ItemResult = tuple[bool, Any, float, float]


def run_batch(module: str, qualname: str, items: list[Any]) -> tuple[int, list[ItemResult]]:
    """Run ``module.qualname`` on each item; returns this process' pid and one result each.

    Times are ``time.time()`` of the worker's machine (the parent shifts them onto its own
    monotonic clock). A user exception is kept as that item's result, never raised: only a
    worker death fails the task, which is what Dask's ``KilledWorker`` then means.
    """
    try:
        fn = resolve(module, qualname)
    except Exception as exc:  # the function cannot be found on this worker
        now = time.time()
        error = _portable(exc), traceback.format_exc()
        return os.getpid(), [(False, error, now, now) for _ in items]
    results: list[ItemResult] = []
    for item in items:
        start = time.time()
        try:
            value = fn(item)
        except Exception as exc:
            results.append((False, (_portable(exc), traceback.format_exc()), start, time.time()))
        else:
            results.append((True, value, start, time.time()))
    return os.getpid(), results


def _portable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return RemoteError(type(exc).__qualname__, str(exc))
    return exc
