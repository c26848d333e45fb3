"""The decoded form of one input, the caps that bound reading it, and line splitting.

Lines are split on ``\\n`` *bytes* before decoding (for ASCII-compatible encodings), and
lines longer than ``max_line_bytes`` are cut into pieces of exactly that many bytes counted
from the line's start. Both rules depend only on byte positions, so a file cut into chunks at
line ends (or at piece boundaries) yields exactly the lines of the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from ._ansi import clean_line, needs_cleaning
from ._decode import ascii_compatible, decode

if TYPE_CHECKING:
    from .._errors import InputError

__all__ = ["DEFAULT_LIMITS", "Limits", "LogDocument", "SplitLines", "split_lines"]

_MiB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Safety caps for reading one input (RELIABILITY.md §3.2 defaults).

    Attributes:
        max_bytes: Decompressed bytes read from one input (all members together).
        max_ratio: Expansion ratio allowed per compressed member, checked while streaming.
        ratio_floor_bytes: Output below which the ratio is not checked (tiny members of
            repeated text compress very well and are harmless).
        max_members: Members in one archive.
        max_line_bytes: Longer lines are split into pieces and flagged ``line_truncated``.
        max_files: Files taken from one folder.
    """

    max_bytes: int = 1024 * _MiB
    max_ratio: int = 200
    ratio_floor_bytes: int = 1 * _MiB
    max_members: int = 10_000
    max_line_bytes: int = 1 * _MiB
    max_files: int = 1_000_000


DEFAULT_LIMITS: Final = Limits()


@dataclass(frozen=True, slots=True, kw_only=True)
class LogDocument:
    """One readable log: cleaned lines with their original line numbers.

    Attributes:
        name: Display name: a path, ``archive.zip!member`` or ``<stdin>``.
        lines: Cleaned lines (ANSI, CR overwrites and CI timestamps removed).
        numbers: For each line, its 1-based line number in the original text; the pieces
            of a split line share one number.
        truncated: Numbers of lines longer than the cap, split into pieces
            (``line_truncated``).
        encoding: The codec the bytes were decoded with.
        kind: ``"text"`` or ``"junit"`` (lines rendered from JUnit XML).
        problems: Damage that did not stop reading, e.g. a truncated gzip whose decoded part
            is kept; each is an :class:`InputError` naming the input.
    """

    name: str
    lines: list[str]
    numbers: list[int]
    truncated: tuple[int, ...] = ()
    encoding: str = "utf-8"
    kind: str = "text"
    problems: tuple[InputError, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitLines:
    """Lines cut from a run of bytes (see :func:`split_lines`)."""

    lines: list[str]
    numbers: list[int]
    truncated: list[int]
    #: Line number the next run of bytes starts on (for chunks that follow).
    next_line: int


def split_lines(
    data: bytes,
    encoding: str,
    *,
    first_line: int = 1,
    max_line_bytes: int = DEFAULT_LIMITS.max_line_bytes,
    starts_mid_line: bool = False,
    ends_mid_line: bool = False,
) -> SplitLines:
    """Decode ``data``, split it into cleaned lines and number them.

    Args:
        data: Bytes that start at a line start or at a piece boundary of a long line.
        encoding: From :func:`~._decode.sniff_encoding`, chosen once per input.
        first_line: Number of the line ``data`` starts in.
        max_line_bytes: Longer lines are cut into pieces of this many bytes (characters
            for UTF-16/32) and their number is listed in ``truncated``.
        starts_mid_line: ``data`` continues a long line cut at a piece boundary.
        ends_mid_line: ``data`` stops inside a long line at a piece boundary.

    Returns:
        The lines, their numbers and the numbers of split lines.
    """
    lines: list[str] = []
    numbers: list[int] = []
    truncated: list[int] = []
    if not data:
        return SplitLines(lines=lines, numbers=numbers, truncated=truncated, next_line=first_line)
    raw: list[bytes] | list[str]
    if ascii_compatible(encoding) and not starts_mid_line and not ends_mid_line:
        # Common case, decoded in one call: for UTF-8 and Latin-1 this gives the same text
        # as decoding line by line, since a "\n" byte is never part of a character.
        text = decode(data, encoding)
        text_lines = text.split("\n")
        if encoding == "latin-1" or text.isascii():
            longest = max(map(len, text_lines))  # one byte per character
        else:
            longest = max(map(len, data.split(b"\n")))
        if longest <= max_line_bytes:
            clean = _split_clean(text, first_line)
            if clean is not None:
                return clean
            raw = text_lines
        else:
            raw = data.split(b"\n")
    elif ascii_compatible(encoding):
        raw = data.split(b"\n")
    else:
        raw = decode(data, encoding).split("\n")
    if raw[-1] in (b"", ""):
        raw.pop()  # data ended with a line end
        last_open = False
    else:
        last_open = True  # the last line has no line end (yet)
    number = first_line
    count = len(raw)
    pieces: list[bytes | str] = list(raw)
    for index, piece in enumerate(pieces):
        long_line = len(piece) > max_line_bytes
        mid = (index == 0 and starts_mid_line) or (
            index == count - 1 and last_open and ends_mid_line
        )
        if long_line or mid:
            if not truncated or truncated[-1] != number:
                truncated.append(number)
            for offset in range(0, max(len(piece), 1), max_line_bytes):
                lines.append(_text(piece[offset : offset + max_line_bytes], encoding))
                numbers.append(number)
        else:
            lines.append(_text(piece, encoding))
            numbers.append(number)
        number += 1
    next_line = number - 1 if last_open and ends_mid_line else number
    return SplitLines(lines=lines, numbers=numbers, truncated=truncated, next_line=next_line)


def _text(piece: bytes | str, encoding: str) -> str:
    text = decode(piece, encoding) if isinstance(piece, bytes) else piece
    return clean_line(text.removesuffix("\r"))


def _split_clean(text: str, first_line: int) -> SplitLines | None:
    """Split ``text`` if no line needs :func:`clean_line` (the usual CI log), else ``None``."""
    flat = text.replace("\r\n", "\n") if "\r\n" in text else text
    if needs_cleaning(flat):
        return None
    lines = flat.split("\n")
    if lines[-1] == "":
        lines.pop()
    return SplitLines(
        lines=lines,
        numbers=list(range(first_line, first_line + len(lines))),
        truncated=[],
        next_line=first_line + len(lines),
    )
