"""Builders of huge compressed inputs that cost the test almost nothing to write.

A deflate stream that ends each segment with a full flush starts the next one from scratch,
so one compressed segment repeated N times *is* the compressed form of the segment repeated N
times. A 10 GiB member of zeros is then 10,240 copies of one ~1 KB piece, written in a loop:
no test ever holds (or compresses) the gigabytes it describes.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["MiB", "gzip_of_repeats", "zip_of_repeats"]

MiB = 1024 * 1024


def _piece(segment: bytes) -> bytes:
    """The raw deflate form of ``segment`` after a full flush, the same at every repeat."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(segment) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(segment) + comp.flush(zlib.Z_FULL_FLUSH)
    assert first == again, "a full flush must make the pieces independent"
    return again


_END_BLOCK = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block


def gzip_of_repeats(path: Path, segment: bytes, copies: int, *, crc: bool = True) -> int:
    """Write a gzip file holding ``segment * copies``; returns the decompressed size.

    With ``crc`` the trailer is right (a valid file); without, it is zero (a bomb is refused
    long before the trailer is checked, and computing it would cost the test seconds).
    """
    piece = _piece(segment)
    checksum = 0
    if crc:
        for _ in range(copies):
            checksum = zlib.crc32(segment, checksum)
    total = len(segment) * copies
    with path.open("wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")
        for _ in range(copies):
            out.write(piece)
        out.write(_END_BLOCK)
        out.write(struct.pack("<II", checksum, total & 0xFFFFFFFF))
    return total


def zip_of_repeats(path: Path, name: str, segment: bytes, copies: int) -> int:
    """Write a zip (ZIP64 sizes) whose one member holds ``segment * copies``.

    The CRC is left zero: zipfile checks it only at the member's end, which a bomb never
    reaches. Returns the member's decompressed size.
    """
    piece = _piece(segment)
    raw_name = name.encode()
    size = len(segment) * copies
    compressed = len(piece) * copies + len(_END_BLOCK)
    zip64 = struct.pack("<HHQQ", 1, 16, size, compressed)
    with path.open("wb") as out:
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                45,
                0,
                8,
                0,
                0x21,
                0,
                0xFFFFFFFF,
                0xFFFFFFFF,
                len(raw_name),
                len(zip64),
            )
        )
        out.write(raw_name + zip64)
        for _ in range(copies):
            out.write(piece)
        out.write(_END_BLOCK)
        directory_at = out.tell()
        header = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            45,
            45,
            0,
            8,
            0,
            0x21,
            0,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(raw_name),
            len(zip64),
            0,
            0,
            0,
            0o100644 << 16,
            0,
        )
        out.write(header + raw_name + zip64)
        directory_size = out.tell() - directory_at
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, directory_size, directory_at, 0))
    return size
