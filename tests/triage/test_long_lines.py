"""Long lines keep their head and tail, are flagged, and count (RELIABILITY.md M3, M13).

Issue 15 item 2: an error at the end of a 3 MiB line, or of a 900 KiB one (under the 1 MiB
cap), was never found: the detectors look at a line's first 2,000 characters. A 200 MiB
single line gave no ``line_truncated`` flag and ``"lines": 0``, as did any one-line file
without a final newline.
"""

from __future__ import annotations

import gzip
import io
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage.detect._scan import MAX_SCAN_CHARS
from juggler.triage.ingest import MemorySource, iter_sources, sniff_encoding
from juggler.triage.pipeline import triage
from juggler.triage.scrape import plan_chunks
from juggler.triage.scrape._lines import (
    ELLIPSIS,
    HEAD_CHARS,
    TAIL_CHARS,
    VISIBLE_CHARS,
    count_lines,
    scan_lines,
    visible_text,
)
from tests.strategies import max_line_bytes

if TYPE_CHECKING:
    from pathlib import Path

    from juggler.triage.scrape import Chunk

ERROR = b"FAILED tests/a.py::t - RuntimeError: boom"
MiB = 1024 * 1024


def _long_line(size: int) -> bytes:
    """A test runner's progress of ``size`` bytes that ends in the failure."""
    filler = b"tests/test_suite.py::test_case PASSED [ 10%] "
    body = (filler * (size // len(filler) + 1))[: size - len(ERROR) - 1]
    return body + b" " + ERROR


def _triage(*paths: Path | str, stdin: bytes | None = None) -> dict:  # type: ignore[type-arg]
    if stdin is not None:
        import sys

        real = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
        try:
            return triage([str(p) for p in paths], use_kb=False, workers=1).document
        finally:
            sys.stdin = real
    return triage([str(p) for p in paths], use_kb=False, workers=1).document


def _finding_at(document: dict, line: int) -> dict:  # type: ignore[type-arg]
    found = [f for f in document["findings"] if f["line_start"] <= line <= f["line_end"]]
    assert found, [(f["line_start"], f["title"][:60]) for f in document["findings"]]
    return found[0]


def test_window_fits_the_detectors() -> None:
    """The head … tail view fits inside what the detectors read of a line."""
    assert VISIBLE_CHARS <= MAX_SCAN_CHARS
    assert HEAD_CHARS + len(ELLIPSIS) + TAIL_CHARS == VISIBLE_CHARS
    line = "h" * 5000 + "t" * 5000
    view = visible_text(line)
    assert view == "h" * HEAD_CHARS + ELLIPSIS + "t" * TAIL_CHARS
    assert visible_text("short line") == "short line"


@pytest.mark.parametrize("size", [3 * MiB, 900 * 1024], ids=["3MiB", "900KiB"])
def test_error_at_the_end_of_a_long_line_is_found(tmp_path: Path, size: int) -> None:
    """M13: the tail of a long line is scanned; flagged only over the 1 MiB cap."""
    log = tmp_path / "long.log"
    log.write_bytes(
        b"collecting ... collected 40 items\n" + _long_line(size) + b"\n" + b"1 failed in 3.2s\n"
    )
    document = _triage(log)
    finding = _finding_at(document, 2)
    assert finding["line_start"] == 2
    (entry,) = document["inputs"]
    assert entry["lines"] == 3
    if size > MiB:
        assert entry["line_truncated"] == [2]
    else:
        assert "line_truncated" not in entry


def test_line_numbers_around_long_lines_are_unchanged(tmp_path: Path) -> None:
    """Every other line keeps its number: a failure after two long lines is where it is."""
    lines = [b"step %d ok" % i for i in range(50)]
    lines[10] = _long_line(3 * MiB)
    lines[20] = b"x" * (2 * MiB)
    lines[40] = b"Traceback (most recent call last):"
    lines[41] = b'  File "/srv/app/job.py", line 3, in <module>'
    lines[42] = b"KeyError: 'region'"
    log = tmp_path / "mixed.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    document = _triage(log)
    (entry,) = document["inputs"]
    assert entry["lines"] == 50
    assert entry["line_truncated"] == [11, 21]
    assert _finding_at(document, 41)["line_start"] == 41
    assert _finding_at(document, 11)["line_start"] == 11


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_200_mib_single_line_is_flagged_and_counts_as_one(tmp_path: Path) -> None:
    """M3: a 200 MiB line without a newline: one line, flagged, its tail still scanned."""
    log = tmp_path / "one-line.log"
    block = b"z" * MiB
    with log.open("wb") as out:
        for _ in range(200):
            out.write(block)
        out.write(b" " + ERROR)
    document = _triage(log)
    (entry,) = document["inputs"]
    assert entry["lines"] == 1
    assert entry["line_truncated"] == [1]
    assert _finding_at(document, 1)["line_start"] == 1


@pytest.mark.parametrize("form", ["plain", "gz", "stdin"])
def test_a_one_line_file_without_a_final_newline_counts_one_line(tmp_path: Path, form: str) -> None:
    """M13: ``"lines": 1`` for one line without ``\\n``, whatever the input's form."""
    if form == "stdin":
        document = _triage("-", stdin=ERROR)
    else:
        log = tmp_path / ("one.log.gz" if form == "gz" else "one.log")
        log.write_bytes(gzip.compress(ERROR) if form == "gz" else ERROR)
        document = _triage(log)
    (entry,) = document["inputs"]
    assert entry["lines"] == 1
    assert _finding_at(document, 1)["title"].startswith("FAILED tests/a.py::t")


def _chunks_of(data: bytes, size: int, cap: int) -> list[Chunk]:
    source = MemorySource(name="m", data=data, encoding=sniff_encoding(data[:65536]))
    return plan_chunks(source, chunk_bytes=size, max_line_bytes=cap, whole_lines=True)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    lines=st.lists(
        st.one_of(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), st.integers(0, 300)),
        max_size=30,
    ),
    closed=st.booleans(),
    size=st.integers(1, 200),
    cap=max_line_bytes,
)
def test_count_lines_numbers_and_flags_like_a_single_pass(
    lines: list[bytes | int], closed: bool, size: int, cap: int
) -> None:
    """F1: chunk first lines, line count and flags equal a plain split of the whole text."""
    parts = [p if isinstance(p, bytes) else b"w" * p for p in lines]
    data = b"\n".join(parts) + (b"\n" if closed and parts else b"")
    chunks = _chunks_of(data, size, cap)
    count = count_lines(chunks)
    whole = data.split(b"\n")
    if whole[-1] == b"":
        whole.pop()
    assert count.lines == len(whole)
    assert count.truncated == [i + 1 for i, p in enumerate(whole) if len(p) > cap]
    expected_first = [data.count(b"\n", 0, c.start) + 1 for c in chunks]
    assert count.first_lines == expected_first
    # whole_lines: every cut falls right after a line end
    assert all(c.start == 0 or data[c.start - 1 : c.start] == b"\n" for c in chunks)
    # the scan sees one entry per line, in order
    seen = [line for c in chunks for line in scan_lines(c)]
    assert len(seen) == len(whole)


def test_streamed_and_whole_reads_of_a_chunk_agree(tmp_path: Path) -> None:
    """A chunk too big to read whole (a huge line) is streamed: same lines as a whole read."""
    data = b"a\n" + b"b" * (9 * MiB) + b" tail end\n" + b"c" * 3000 + b"\nlast"
    log = tmp_path / "big-line.log"
    log.write_bytes(data)
    (source,) = list(iter_sources([log]))
    (chunk,) = plan_chunks(source, chunk_bytes=64 * MiB, whole_lines=True)
    streamed = scan_lines(chunk)
    whole = [visible_text(x) for x in data.decode().split("\n")]
    assert streamed == whole
    assert streamed[1].endswith(" tail end")
    assert ELLIPSIS in streamed[1]
