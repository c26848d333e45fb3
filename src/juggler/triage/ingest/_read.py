"""Reading sources into whole :class:`~._document.LogDocument` values.

For logs that fit in memory (the common CI case). Large files are better scraped in chunks
by reference (``juggler.triage.scrape``), which never holds a whole file.
"""

from __future__ import annotations

import contextlib
import os
from typing import IO, TYPE_CHECKING

from .._errors import ArchiveRejected, InputError, UnsupportedInput
from ._decode import strip_bom
from ._document import DEFAULT_LIMITS, Limits, LogDocument, split_lines
from ._sources import FileSource, iter_sources

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ._sources import Source

__all__ = ["read_document", "read_logs"]


def read_document(source: Source, *, limits: Limits = DEFAULT_LIMITS) -> LogDocument:
    """Decode and clean a whole source.

    Raises:
        UnsupportedInput: The file could not be read any more.
    """
    problems: list[InputError] = list(source.problems)
    if isinstance(source, FileSource):
        try:
            with open(source.path, "rb") as fh:
                data = fh.read(limits.max_bytes + 1)
        except OSError as err:
            raise UnsupportedInput(source.name, f"cannot read ({err.strerror or err})") from None
        if len(data) > limits.max_bytes:
            data = data[: limits.max_bytes]
            problems.append(
                ArchiveRejected(source.name, f"only the first {limits.max_bytes:,} bytes read")
            )
        kind = "text"
    else:
        data = source.data
        kind = source.kind
    split = split_lines(
        strip_bom(data, source.encoding), source.encoding, max_line_bytes=limits.max_line_bytes
    )
    return LogDocument(
        name=source.name,
        lines=split.lines,
        numbers=split.numbers,
        truncated=tuple(split.truncated),
        encoding=source.encoding,
        kind=kind,
        problems=tuple(problems),
    )


def read_logs(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    limits: Limits = DEFAULT_LIMITS,
    stdin: IO[bytes] | None = None,
) -> Iterator[LogDocument | InputError]:
    """Read every log in ``inputs``: documents for what is readable, errors for the rest.

    A bad input never stops the others; each refusal is an :class:`InputError` value whose
    ``str()`` is one line naming the input and the reason.

    Args:
        inputs: Files, folders (recursive), ``.gz``/``.zip``/``.tar`` archives, JUnit XML,
            and ``"-"`` for stdin.
        limits: Safety caps.
        stdin: The stream ``"-"`` reads (default ``sys.stdin.buffer``).
    """
    for source in iter_sources(inputs, limits=limits, stdin=stdin):
        if isinstance(source, InputError):
            yield source
            continue
        try:
            document = read_document(source, limits=limits)
        except InputError as err:
            yield err
            continue
        finally:
            if isinstance(source, FileSource) and source.spilled:
                with contextlib.suppress(OSError):  # the document holds the text now
                    os.unlink(source.path)
        yield document
