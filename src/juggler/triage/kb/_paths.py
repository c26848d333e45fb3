"""Where the knowledge base lives: a path rule with no store behind it.

Kept apart from the store so that finding the run journal (next to the KB) does not import
numpy and SQLite's store code on a ``--no-kb`` run.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["resolve_path"]


def resolve_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Where the knowledge base lives.

    Order: ``path`` if given, else ``$JUGGLER_KB``, else ``kb.sqlite3`` in the user data
    folder of the platform (``platformdirs``: ``$XDG_DATA_HOME/juggler`` or
    ``~/.local/share/juggler`` on Linux, ``~/Library/Application Support/juggler`` on macOS,
    ``%LOCALAPPDATA%\\juggler`` on Windows).
    """
    if path:
        return Path(path)
    env = os.environ.get("JUGGLER_KB")
    if env:
        return Path(env)
    import platformdirs  # lazy: cpu workers import this package only to match causes

    return platformdirs.user_data_path("juggler", appauthor=False) / "kb.sqlite3"
