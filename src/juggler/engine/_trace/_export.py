"""One call for ``--trace PATH``: the file's suffix picks the format."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import ConfigError
from ._chrome import write_chrome_trace
from ._html import write_timeline

if TYPE_CHECKING:
    import os

    from ._span import Trace

_WRITERS = {".json": write_chrome_trace, ".html": write_timeline, ".htm": write_timeline}


def check_trace_path(path: str | os.PathLike[str]) -> None:
    """Raise ``ConfigError`` unless ``path`` ends in ``.json``, ``.html`` or ``.htm``.

    Call it before the run starts, so a typo does not cost a whole run.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in _WRITERS:
        raise ConfigError(
            f"trace file {str(path)!r} must end in .json (Chrome trace, for Perfetto) "
            "or .html (self-contained timeline)"
        )


def write_trace(trace: Trace, path: str | os.PathLike[str]) -> None:
    """Write ``trace`` to ``path`` in the format its suffix names.

    ``.json`` gives Chrome Trace Event JSON (Perfetto, chrome://tracing); ``.html`` or ``.htm``
    the self-contained timeline page. Both are written atomically.

    Raises:
        ConfigError: the suffix is neither.
    """
    check_trace_path(path)
    _WRITERS[Path(path).suffix.lower()](trace, path)
