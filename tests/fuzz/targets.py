"""One-input checks shared by the atheris targets (``fuzz_*.py``) and the PR-tier tests.

Each ``check_*`` takes arbitrary bytes, runs one reader end to end (classify, decompress,
spool, chunk, count, scan) and lets only :class:`~juggler.triage.InputError` pass: any other
exception is a bug, and under atheris a crash. Invariants are asserted on the way, so a
wrong answer is a crash too, not only an exception.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from typing import TYPE_CHECKING

from juggler.triage import InputError
from juggler.triage._findings import scan_chunk
from juggler.triage.ingest import FileSource, Limits, SpillArea, read_document, source_from_bytes
from juggler.triage.ingest._junit import render_junit
from juggler.triage.scrape import plan_chunks
from juggler.triage.scrape._lines import count_lines, scan_lines

if TYPE_CHECKING:
    from juggler.triage.ingest import Source

__all__ = ["check_gz", "check_junit", "check_plain", "check_zip"]

# Small caps: a fuzzer's input is small, and small caps make the cap paths reachable.
LIMITS = Limits(max_bytes=4 * 1024 * 1024, ratio_floor_bytes=64 * 1024, max_line_bytes=256)
_AREA: SpillArea | None = None


def _area() -> SpillArea:
    global _AREA
    if _AREA is None or _AREA.closed:
        _AREA = SpillArea(tempfile.gettempdir())
    return _AREA


def _check_source(source: Source) -> None:
    """Chunk, count and scan one source; the invariants of a single pass must hold."""
    cap = LIMITS.max_line_bytes
    try:
        document = read_document(source, limits=LIMITS)
        pieces = plan_chunks(source, chunk_bytes=97, max_line_bytes=cap)
        chunks = plan_chunks(source, chunk_bytes=97, max_line_bytes=cap, whole_lines=True)
        count = count_lines(chunks)
        seen = [scan_lines(chunk) for chunk in chunks]
    finally:
        if isinstance(source, FileSource) and source.spilled:
            with contextlib.suppress(OSError):
                os.unlink(source.path)
    for plan in (pieces, chunks):  # contiguous byte ranges from 0
        assert plan[0].start == 0
        assert all(a.end == b.start for a, b in itertools.pairwise(plan))
    # every line in exactly one chunk, numbered as one pass would number it
    assert sum(map(len, seen)) == count.lines
    assert [b - a for a, b in zip(count.first_lines, count.first_lines[1:], strict=False)] == [
        len(lines) for lines in seen[:-1]
    ]
    assert count.truncated == sorted(set(count.truncated))
    assert all(1 <= n <= count.lines for n in count.truncated)
    for lines in seen[:3]:
        assert scan_chunk(lines) == scan_chunk(lines)  # detectors are deterministic
    assert document.numbers == sorted(document.numbers)


def _check_bytes(data: bytes, name: str) -> None:
    for item in source_from_bytes(data, name=name, limits=LIMITS, spill=_area()):
        if isinstance(item, InputError):
            assert "\n" not in str(item), "an input error is one line"
            continue
        try:
            _check_source(item)
        except InputError:
            pass


def check_plain(data: bytes) -> None:
    """Any bytes as a log: text, binary, or whatever archive they happen to look like."""
    _check_bytes(data, "fuzz.log")


def check_gz(data: bytes) -> None:
    """Any bytes behind a gzip signature: damaged, truncated, concatenated, bombs."""
    _check_bytes(data if data.startswith(b"\x1f\x8b") else b"\x1f\x8b" + data, "fuzz.log.gz")


def check_zip(data: bytes) -> None:
    """Any bytes behind a zip signature: members, directories, damage, nested archives."""
    _check_bytes(data if data.startswith(b"PK\x03\x04") else b"PK\x03\x04" + data, "fuzz.zip")


def check_junit(data: bytes) -> None:
    """Any bytes as a JUnit report: rendered, or refused with a one-line DecodeError."""
    try:
        text = render_junit(data, name="fuzz.xml")
    except InputError as err:
        text = str(err)
        assert "\n" not in text, "an input error is one line"
    assert isinstance(text, str)
    _check_bytes(b'<?xml version="1.0"?><testsuite' + data, "fuzz.xml")
