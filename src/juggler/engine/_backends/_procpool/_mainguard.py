"""Refuse, in one sentence, to start workers that would die re-running the main script.

``spawn`` and ``forkserver`` workers import the parent's ``__main__`` again (as
``__mp_main__``) before they run anything. Two ways that goes wrong, both of which used to
surface as a burst of forkserver tracebacks and then ``PoolClosed``:

* the main module came from stdin (``python -``): its ``__file__`` is ``"<stdin>"``, which no
  worker can read back;
* the script starts the pool from its top level, outside ``if __name__ == "__main__":``: each
  worker re-runs that top level, tries to start workers of its own, and multiprocessing kills
  it during bootstrap.

Both are visible in the parent before any process starts, so the pool checks them first.
"""

from __future__ import annotations

import ast
import os
import sys
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from ..._errors import ConfigError

if TYPE_CHECKING:
    from types import FrameType, ModuleType

__all__ = ["check_main_reimportable"]

_GUARD = 'if __name__ == "__main__":'


def check_main_reimportable() -> None:
    """Raise :class:`ConfigError` if worker processes could not import ``__main__`` again.

    An interactive session (no ``__file__``: the REPL, ``python -c``, a notebook) is fine:
    workers do not import it, and stage functions defined there are refused by
    ``check_placeable`` instead.
    """
    main = sys.modules.get("__main__")
    if main is None:
        return
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if isinstance(spec_name, str) and spec_name.rpartition(".")[2] == "__main__":
        return  # ``python -m package``: multiprocessing never imports a __main__ module again
    path = getattr(main, "__file__", None)
    if not isinstance(path, str):
        return
    if spec_name is None and not os.path.isfile(path):
        raise ConfigError(
            f"cpu stages start worker processes that import the main script again, and "
            f"{path!r} cannot be read back (is it `python -`?): save the code to a file and "
            f"run it as `python file.py`, with the pipeline under `{_GUARD}`"
        )
    frame = _main_module_frame(main)
    if frame is not None and not _guarded(path, os.stat(path).st_mtime_ns, frame.f_lineno):
        raise ConfigError(
            f"{os.path.basename(path)} line {frame.f_lineno} starts cpu worker processes from "
            f"the script's top level; each worker imports the script again and would do the "
            f"same: put the code that runs the pipeline under `{_GUARD}`"
        )


def _main_module_frame(main: ModuleType) -> FrameType | None:
    """The main thread's frame that is executing ``__main__``'s top level, if any."""
    frames = sys._current_frames()
    frame = frames.get(threading.main_thread().ident or -1)
    namespace = vars(main)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is namespace:
            return frame
        frame = frame.f_back
    return None


@lru_cache(maxsize=8)
def _guarded(path: str, mtime_ns: int, line: int) -> bool:
    """Whether ``line`` of the script lies inside an ``if __name__ == "__main__":`` block.

    When the source cannot be read or parsed, say yes: the check must never block a script
    it cannot understand.
    """
    del mtime_ns  # part of the cache key only: an edited script is parsed again
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test) and node.body:
            first, last = node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno
            if first <= line <= last:
                return True
    return False


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(mains) == 1
