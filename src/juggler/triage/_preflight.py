"""Check every place a triage will write or open before the run starts.

A run that cannot keep its results should say so in one line before it spends the time:
an unwritable ``--out-dir`` used to lose the memo and exit 0, a ``--trace`` into a missing
folder failed after the whole run, and an unopenable ``--kb`` surfaced as an internal error.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from juggler import ConfigError, check_trace_path

__all__ = ["check_kb", "check_out_dir", "check_trace"]


def check_out_dir(path: str, *, label: str = "--out-dir") -> None:
    """Create ``path`` if missing and prove a file can be written in it."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{label} {path}: cannot create the folder ({_reason(exc)})") from None
    _probe_writable(folder, f"{label} {path}")


def check_trace(path: str) -> None:
    """The trace's suffix is known, its folder exists, and a file can be written there."""
    check_trace_path(path)
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--trace {path}: folder {folder} does not exist")
    if target.is_dir():
        raise ConfigError(f"--trace {path}: is a folder, not a file")
    _probe_writable(folder, f"--trace {path}")


def check_kb(path: str | None) -> Path:
    """The knowledge base opens (an SQLite file) or can be created; returns its path.

    Also checks ``$JUGGLER_EMBEDDER`` names an embedder that is installed.
    """
    from .kb import resolve_path  # the store (numpy, SQLite) loads only when a KB is used
    from .kb._embed import default_embedder
    from .kb._errors import EmbeddingError

    try:
        default_embedder()
    except EmbeddingError as exc:
        raise ConfigError(str(exc)) from None
    resolved = resolve_path(path)
    label = f"--kb {path}" if path else f"knowledge base {resolved}"
    if resolved.exists():
        if not resolved.is_file():
            raise ConfigError(f"{label}: not a file")
        try:
            with contextlib.closing(
                sqlite3.connect(f"{resolved.resolve().as_uri()}?mode=ro", uri=True)
            ) as conn:
                conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{label}: not a juggler knowledge base ({exc})") from None
        if not os.access(resolved, os.R_OK | os.W_OK):
            raise ConfigError(f"{label}: not readable and writable")
        return resolved
    ancestor = resolved.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{label}: cannot be created, {ancestor} is not a folder")
    _probe_writable(ancestor, label)
    return resolved


def _probe_writable(folder: Path, label: str) -> None:
    # os.access says yes to root whatever the mode, and no on some network mounts that
    # would accept the write: creating a file is the only honest test.
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".juggler-probe-")
    except OSError as exc:
        raise ConfigError(f"{label}: cannot write in {folder} ({_reason(exc)})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
