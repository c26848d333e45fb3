"""F1: hypothesis properties over arbitrary bytes for ingest, decode, chunking and detectors.

PR tier: ``max_examples=300``, derandomized (the same examples on every run). Each property
is also an atheris target through hypothesis' bridge (F3): ``fuzz_properties.py`` drives
``test_fn.hypothesis.fuzz_one_input`` with coverage guidance, so both tiers share one set.
"""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage._findings import scan_chunk
from juggler.triage.detect._scan import detect_visible
from juggler.triage.ingest import MemorySource, sniff_encoding, split_lines
from juggler.triage.ingest._decode import SAMPLE_BYTES, binary_kind, decode, strip_bom
from juggler.triage.scrape import plan_chunks
from juggler.triage.scrape._lines import count_lines, scan_lines, visible_text
from tests.fuzz.targets import check_gz, check_junit, check_plain, check_zip
from tests.strategies import log_text

PROPERTY = settings(max_examples=300, derandomize=True, deadline=None)
# 300 examples through every reader take longer than the suite's 20 s default per test.
pytestmark = pytest.mark.timeout(300)
_any_log = st.one_of(st.binary(max_size=3000), log_text())


@PROPERTY
@given(data=_any_log)
def test_ingest_any_bytes_raises_only_input_errors(data: bytes) -> None:
    """Any bytes as a log, a .gz, a zip and a JUnit report: only InputError escapes."""
    check_plain(data)
    check_gz(data)
    check_gz(gzip.compress(data)[: max(2, len(data) // 2)])
    check_junit(data)
    member = io.BytesIO()
    with zipfile.ZipFile(member, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("step.txt", data)
    check_zip(member.getvalue())


@PROPERTY
@given(data=_any_log)
def test_decode_never_raises_and_is_stable(data: bytes) -> None:
    """The codec choice, the binary test and decoding are total and deterministic."""
    encoding = sniff_encoding(data[:SAMPLE_BYTES])
    assert encoding == sniff_encoding(data[:SAMPLE_BYTES])
    binary_kind(data[:SAMPLE_BYTES], encoding)
    text = decode(strip_bom(data, encoding), encoding)
    assert text == decode(strip_bom(data, encoding), encoding)
    split = split_lines(data, encoding)
    assert len(split.lines) == len(split.numbers)


@PROPERTY
@given(data=_any_log, size=st.integers(1, 400), cap=st.integers(8, 300))
def test_whole_line_chunks_see_every_line_once(data: bytes, size: int, cap: int) -> None:
    """Scan chunks cut on line ends only; their lines are the file's lines, numbered alike."""
    source = MemorySource(name="m", data=data, encoding=sniff_encoding(data[:SAMPLE_BYTES]))
    chunks = plan_chunks(source, chunk_bytes=size, max_line_bytes=cap, whole_lines=True)
    count = count_lines(chunks)
    seen = [scan_lines(chunk) for chunk in chunks]
    text = decode(strip_bom(data, source.encoding), source.encoding)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    assert [line for part in seen for line in part] == [visible_text(x) for x in lines]
    assert count.lines == len(lines)
    assert count.first_lines == [1 + sum(map(len, seen[:i])) for i in range(len(chunks))]


@PROPERTY
@given(data=_any_log, cut=st.integers(0, 60))
def test_detectors_are_deterministic_and_chunk_local(data: bytes, cut: int) -> None:
    """Detectors give the same hits twice, valid ranges, and whole-log numbers with offsets."""
    lines = decode(data, sniff_encoding(data[:SAMPLE_BYTES])).split("\n")
    first = detect_visible(lines)
    assert first == detect_visible(lines)
    for hit in first:
        assert 1 <= hit.start <= hit.end <= len(lines)
    shifted = detect_visible(lines, offset=cut)
    assert [(h.start - cut, h.end - cut) for h in shifted] == [(h.start, h.end) for h in first]
    assert scan_chunk(lines) == scan_chunk(lines)
