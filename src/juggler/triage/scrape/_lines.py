"""What the failure scan sees of a chunk, and how a source's lines are counted and flagged.

The detectors look only at the first ``MAX_SCAN_CHARS`` characters of a line (2,000), but on
a long line the error is usually at the *end*: a test runner's dots followed by ``FAILED``, a
minified bundle followed by the compiler's complaint. So a line longer than that is handed to
the scan as its head, an ellipsis and its tail (:func:`visible_text`): both ends are searched,
the line keeps its number, and the excerpt a finding shows stays short.

A chunk that holds a very long line is read in blocks, never whole: only the line's first and
last few kilobytes are kept (:func:`scan_lines`), so a 200 MiB line costs a worker kilobytes.

:func:`count_lines` is the parent's pass over a source's chunks: each chunk's first line
number, the number of lines (a last line without ``\\n`` counts), and the lines longer than the
``max_line_bytes`` cap, flagged ``line_truncated`` (RELIABILITY.md M3, M13).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from itertools import compress
from typing import IO, TYPE_CHECKING, Final

from .._errors import UnsupportedInput
from ..ingest._decode import ascii_compatible, decode, strip_bom
from ._chunks import read_chunk

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ._chunks import Chunk

__all__ = ["ELLIPSIS", "LineCount", "count_lines", "scan_lines", "visible_text"]

#: What stands for the elided middle of a long line.
ELLIPSIS: Final = " … "
#: Lines up to this many characters reach the scan whole. It equals the detectors' window
#: (``detect._scan.MAX_SCAN_CHARS``, checked by a test), so nothing visible is lost.
VISIBLE_CHARS: Final = 2000
#: Characters kept from a long line's start; the rest of the window goes to its end.
HEAD_CHARS: Final = 512
TAIL_CHARS: Final = VISIBLE_CHARS - HEAD_CHARS - len(ELLIPSIS)
# Bytes read per step from a chunk too large to read whole (one very long line).
_BLOCK_BYTES: Final = 1024 * 1024
# Chunks up to this size are read in one piece (the usual case: about CHUNK_BYTES).
_WHOLE_READ_BYTES: Final = 8 * 1024 * 1024
# A character is at most 4 bytes in every ASCII-compatible codec we pick.
_HEAD_BYTES: Final = 4 * HEAD_CHARS
_TAIL_BYTES: Final = 4 * TAIL_CHARS
_SHORT_BYTES: Final = 4 * VISIBLE_CHARS
_COUNT_BLOCK: Final = 8 * 1024 * 1024
# Words that start a failure record in build logs (test runners, compilers, runtimes), at a
# word start. Generic on purpose: the detectors decide what the record is.
_RECORD_START: Final = re.compile(
    r"(?<!\S)(?:FAILED|ERROR|FATAL|FAIL:|Traceback|Exception in|panic:|fatal:|error(?:\[|:))"
)


def visible_text(line: str) -> str:
    """``line`` as the scan sees it: whole, or its head and tail if long.

    A long line is shown as head + :data:`ELLIPSIS` + tail. When the tail holds the start of
    a failure record (``FAILED``, ``ERROR``, ``Traceback``, ``error:`` … after whitespace),
    that record leads instead: record + :data:`ELLIPSIS` + head. Detectors anchor their
    rules at a line's start (``^FAILED <test>``), and a finding's title is the line's
    start, so the error reads as it would on a line of its own; the head still follows.
    """
    if len(line) <= VISIBLE_CHARS:
        return line
    return _shortened(line[:HEAD_CHARS], line[-TAIL_CHARS:])


def _shortened(head: str, tail: str) -> str:
    last = None
    for last in _RECORD_START.finditer(tail):  # noqa: B007 (the last match is wanted)
        pass
    if last is None or last.start() == 0:
        return head + ELLIPSIS + tail
    return tail[last.start() :] + ELLIPSIS + head


def scan_lines(chunk: Chunk) -> list[str]:
    """The decoded lines of ``chunk`` for the failure scan, long ones as head … tail.

    One entry per line (a chunk's last line may lack its ``\\n``), so line numbers are the
    file's. Chunks that must be cut inside a line (``starts_mid_line``) are not expected here:
    plan with ``whole_lines=True``.

    Raises:
        UnsupportedInput: The file can no longer be read.
    """
    size = chunk.end - chunk.start
    if chunk.data is not None or size <= _WHOLE_READ_BYTES or not ascii_compatible(chunk.encoding):
        lines = decode(read_chunk(chunk), chunk.encoding).split("\n")
        if lines[-1] == "":
            lines.pop()  # the chunk's last line end starts no new line
        # The few long lines, found without a Python call per line.
        for i in compress(range(len(lines)), map(VISIBLE_CHARS.__lt__, map(len, lines))):
            lines[i] = visible_text(lines[i])
        return lines
    return _stream_lines(chunk)


class _OpenLine:
    """The line being read: whole while short, then only its head and a rolling tail."""

    __slots__ = ("head", "tail")

    def __init__(self) -> None:
        self.head: bytes | None = None
        self.tail = b""

    def extend(self, part: bytes) -> None:
        if self.head is None:
            if len(self.tail) + len(part) <= _SHORT_BYTES:
                self.tail += part
                return
            whole = self.tail + part
            self.head, self.tail = whole[:_HEAD_BYTES], whole[-_TAIL_BYTES:]
        elif len(part) >= _TAIL_BYTES:
            self.tail = part[-_TAIL_BYTES:]
        else:
            self.tail = (self.tail + part)[-_TAIL_BYTES:]

    def empty(self) -> bool:
        return self.head is None and not self.tail

    def take(self, encoding: str) -> str:
        head, tail = self.head, self.tail
        self.head, self.tail = None, b""
        if head is None:
            return visible_text(decode(tail, encoding))
        # The byte cuts may split a character; its halves decode as U+FFFD, then drop off.
        return _shortened(decode(head, encoding)[:HEAD_CHARS], decode(tail, encoding)[-TAIL_CHARS:])


def _stream_lines(chunk: Chunk) -> list[str]:
    lines: list[str] = []
    line = _OpenLine()
    for block in _blocks(chunk, _BLOCK_BYTES):
        parts = block.split(b"\n")
        for part in parts[:-1]:
            line.extend(part)
            lines.append(line.take(chunk.encoding))
        line.extend(parts[-1])
    if not line.empty():
        lines.append(line.take(chunk.encoding))
    return lines


def _blocks(chunk: Chunk, size: int) -> Iterator[bytes]:
    """The bytes of ``chunk`` in blocks of at most ``size`` (a leading BOM removed)."""
    fh: IO[bytes]
    if chunk.data is not None:
        fh = io.BytesIO(chunk.data)
        left = len(chunk.data)
        offset = 0
    else:
        assert chunk.path is not None
        try:
            fh = open(chunk.path, "rb")  # closed by the with below
        except OSError as err:
            raise UnsupportedInput(chunk.source, f"cannot read ({err.strerror or err})") from None
        left = chunk.end - chunk.start
        offset = chunk.start
    with fh:
        try:
            fh.seek(offset)
            first = True
            while left > 0:
                block = fh.read(min(size, left))
                if not block:
                    break
                left -= len(block)
                if first and chunk.start == 0:
                    block = strip_bom(block, chunk.encoding)
                first = False
                yield block
        except OSError as err:
            raise UnsupportedInput(chunk.source, f"cannot read ({err.strerror or err})") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class LineCount:
    """A source's line numbering, from one pass over its chunks.

    Attributes:
        first_lines: For each chunk, the 1-based number of the line it starts in.
        lines: Lines in the source; a last line without a line end counts.
        truncated: Numbers of the lines longer than ``max_line_bytes`` (``line_truncated``).
    """

    first_lines: list[int]
    lines: int
    truncated: list[int]


class _Counter:
    """Counts ``\\n`` and finds over-long lines in consecutive blocks of one source."""

    __slots__ = ("line", "max_line", "run", "truncated")

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.line = 1  # number of the line the next byte belongs to
        self.run = 0  # bytes of that line seen so far
        self.truncated: list[int] = []

    def _flag(self, number: int) -> None:
        if not self.truncated or self.truncated[-1] != number:
            self.truncated.append(number)

    def add(self, block: bytes) -> None:
        first = block.find(b"\n")
        if first < 0:
            self.run += len(block)
            return
        if self.run + first > self.max_line:
            self._flag(self.line)
        last = block.rfind(b"\n")
        if last - first - 1 > self.max_line:
            self._interior(block, first, last)
        self.line += block.count(b"\n")
        self.run = len(block) - last - 1

    def _interior(self, block: bytes, first: int, last: int) -> None:
        """Flag long lines that start and end inside ``block`` (between two ``\\n``).

        Such a line holds at least one whole window of half the cap without a ``\\n``, so
        only windows are probed (one ``find`` that stops at the first line end each) and the
        pass costs almost nothing on ordinary text.
        """
        step = max(1, self.max_line // 2)
        pos = first + 1
        while pos + step <= last:
            if block.find(b"\n", pos, pos + step) >= 0:
                pos += step
                continue
            begin = block.rfind(b"\n", first, pos) + 1
            end = block.find(b"\n", pos + step, last + 1)
            if end - begin > self.max_line:
                self._flag(self.line + block.count(b"\n", 0, begin))
            pos = end + 1

    def finish(self) -> tuple[int, list[int]]:
        if self.run > self.max_line:
            self._flag(self.line)
        return (self.line if self.run else self.line - 1), self.truncated


def count_lines(chunks: Sequence[Chunk], *, max_line_bytes: int | None = None) -> LineCount:
    """Number the lines of one source's chunks (in order) and flag the over-long ones.

    Args:
        chunks: Every chunk of one source, as :func:`~._chunks.plan_chunks` returned them.
        max_line_bytes: Lines longer than this are flagged (default: the chunks' own cap).

    Raises:
        UnsupportedInput: The file can no longer be read.
    """
    if not chunks:
        return LineCount(first_lines=[], lines=0, truncated=[])
    cap = chunks[0].max_line_bytes if max_line_bytes is None else max_line_bytes
    if not ascii_compatible(chunks[0].encoding):
        return _count_wide(chunks, cap)
    counter = _Counter(cap)
    first_lines = []
    for chunk in chunks:
        first_lines.append(counter.line)
        for block in _blocks(chunk, _COUNT_BLOCK):
            counter.add(block)
    lines, truncated = counter.finish()
    return LineCount(first_lines=first_lines, lines=lines, truncated=truncated)


def _count_wide(chunks: Sequence[Chunk], cap: int) -> LineCount:
    """UTF-16/32 text (never cut, so one chunk): count decoded ``\\n``, not ``\\n`` bytes."""
    first_lines: list[int] = []
    truncated: list[int] = []
    line, open_last = 1, False
    for chunk in chunks:
        first_lines.append(line)
        parts = decode(read_chunk(chunk), chunk.encoding).split("\n")
        truncated += [line + i for i, part in enumerate(parts) if len(part) > cap]
        line += len(parts) - 1
        open_last = parts[-1] != ""
    return LineCount(
        first_lines=first_lines, lines=line if open_last else line - 1, truncated=truncated
    )
