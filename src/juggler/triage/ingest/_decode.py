"""Choosing a text encoding for log bytes, and spotting binary data.

The choice is made once per input from its first bytes (:func:`sniff_encoding`) so that every
chunk of a file is decoded the same way as the whole file would be: chunked and single-pass
scraping must agree.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

__all__ = [
    "SAMPLE_BYTES",
    "ascii_compatible",
    "binary_kind",
    "decode",
    "sniff_encoding",
    "strip_bom",
]

#: How many leading bytes decide the encoding and whether data is binary.
SAMPLE_BYTES: Final = 64 * 1024

_BOMS: Final = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# A well-formed multi-byte UTF-8 sequence. Latin-1 text almost never contains one, so text
# that fails strict UTF-8 and holds none of these is Latin-1 (every byte is a character).
_UTF8_MULTIBYTE: Final = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_MAGIC: Final = (
    (b"\x7fELF", "an ELF executable"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF-", "a PDF document"),
    (b"MZ", "a Windows executable"),
    (b"BZh", "a bzip2 stream"),
    (b"\xfd7zXZ\x00", "an xz stream"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"(\xb5/\xfd", "a zstd stream"),
    (b"\xca\xfe\xba\xbe", "a Java class or Mach-O file"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
# Bytes that occur in text: tab, line ends, form feed, escape (ANSI colours), printable
# ASCII, and everything from 0x80 (UTF-8 and Latin-1 letters).
_TEXT_BYTES: Final = bytes([9, 10, 12, 13, 27, *range(32, 127), *range(128, 256)])
_NON_TEXT: Final = bytes(b for b in range(256) if b not in _TEXT_BYTES)
#: Share of text bytes below which data is called binary (RELIABILITY.md M1: 90 %).
MIN_TEXT_SHARE: Final = 0.9


def sniff_encoding(sample: bytes) -> str:
    """Choose the codec for data starting with ``sample``.

    A byte-order mark wins; then UTF-16 without a BOM (every other byte NUL); then UTF-8
    if the sample holds a multi-byte sequence or is valid UTF-8; else Latin-1.

    Args:
        sample: The first bytes of the data (:data:`SAMPLE_BYTES` is plenty).

    Returns:
        A Python codec name.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        # A sample may end inside a character: only an error before the end counts.
        if err.start >= len(sample) - 3 or _UTF8_MULTIBYTE.search(sample):
            return "utf-8"
        return "latin-1"
    return "utf-8"


def ascii_compatible(encoding: str) -> bool:
    """True when a ``\\n`` byte always ends a line (so files can be cut at ``\\n`` bytes)."""
    return not encoding.startswith(("utf-16", "utf-32"))


def strip_bom(data: bytes, encoding: str) -> bytes:
    """Drop a leading byte-order mark that matches ``encoding``."""
    for bom, name in _BOMS:
        if name == encoding and data.startswith(bom):
            return data[len(bom) :]
    return data


def decode(data: bytes, encoding: str) -> str:
    """Decode with replacement: never raises, whatever the bytes."""
    return data.decode(encoding, errors="replace")


def binary_kind(sample: bytes, encoding: str) -> str | None:
    """Describe ``sample`` if it is binary rather than text, else ``None``.

    Known file signatures are named; other data is binary when fewer than 90 % of its bytes
    (or characters, for UTF-16/32) are text.
    """
    for magic, kind in _MAGIC:
        if sample.startswith(magic):
            return kind
    if not sample:
        return None
    if ascii_compatible(encoding):
        non_text = len(sample) - len(sample.translate(None, _NON_TEXT))
        total = len(sample)
    else:
        text = decode(sample, encoding)
        non_text = sum(1 for ch in text if not (ch.isprintable() or ch in "\t\n\r\f\x1b"))
        total = max(len(text), 1)
    if non_text > (1 - MIN_TEXT_SHARE) * total:
        return "binary data"
    return None
