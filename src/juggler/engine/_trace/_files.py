"""Writing export files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A viewer, a CI artifact upload or a server serving the file must never see it half
    written, and a run interrupted while exporting must not leave a truncated trace behind.
    """
    target = os.fspath(path)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
