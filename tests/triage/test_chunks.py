"""Chunking: cuts on line ends, no line lost or doubled, merge equal to a single pass (F1)."""

from __future__ import annotations

import gzip
import itertools
import os
import pickle
import random
import tempfile
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

import juggler
from juggler.triage import (
    InputError,
    LogDocument,
    TemplateMiner,
    fold_chunk,
    merge_chunks,
    mine_templates,
    plan_chunks,
    scrape_chunk,
)
from juggler.triage.ingest import (
    MemorySource,
    iter_sources,
    read_document,
    sniff_encoding,
    source_from_bytes,
)
from juggler.triage.scrape._chunks import read_chunk
from tests.strategies import chunk_bytes, log_text, max_line_bytes

if TYPE_CHECKING:
    from pathlib import Path

    from juggler.triage.ingest import Source
    from juggler.triage.scrape import Chunk

PROPERTY = settings(max_examples=300, derandomize=True, deadline=None)


def _file_source(path: Path | str) -> Source:
    (source,) = list(iter_sources([path]))
    assert not isinstance(source, InputError)
    return source


def _chunk_lines(chunks: list[Chunk]) -> tuple[list[str], list[int]]:
    """Lines and absolute numbers of all chunks, as a reader of the chunks would see them."""
    from juggler.triage.ingest import split_lines

    lines: list[str] = []
    numbers: list[int] = []
    offset = 1
    for chunk in chunks:
        data = read_chunk(chunk)
        split = split_lines(
            data,
            chunk.encoding,
            first_line=0,
            max_line_bytes=chunk.max_line_bytes,
            starts_mid_line=chunk.starts_mid_line,
            ends_mid_line=chunk.ends_mid_line,
        )
        lines += split.lines
        numbers += [n + offset for n in split.numbers]
        offset += data.count(b"\n")
    return lines, numbers


def _check_chunking(source: Source, size: int, max_line: int) -> None:
    whole = read_document(source)
    limit_doc = read_document(source, limits=juggler_limits(max_line))
    chunks = plan_chunks(source, chunk_bytes=size, max_line_bytes=max_line)
    # (a) contiguous byte ranges, cut after a line end or inside a long line only
    assert chunks[0].start == 0
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start
        assert before.ends_mid_line == after.starts_mid_line
    # no line lost or doubled: the chunks' lines are the whole file's lines
    lines, numbers = _chunk_lines(chunks)
    assert lines == limit_doc.lines
    assert numbers == limit_doc.numbers
    # (b) the merge of chunk results equals one pass
    merged = merge_chunks(scrape_chunk(c) for c in chunks)
    single = merge_chunks(
        [scrape_chunk(c) for c in plan_chunks(source, chunk_bytes=1 << 40, max_line_bytes=max_line)]
    )
    assert merged.keys() == single.keys()
    for name, result in merged.items():
        expected = single[name]
        assert result.miner == expected.miner
        assert result.miner.templates() == expected.miner.templates()
        assert result.samples == expected.samples
        assert result.truncated == expected.truncated
        assert result.newlines == expected.newlines
    assert whole.name == source.name


def juggler_limits(max_line: int) -> juggler.triage.Limits:
    return juggler.triage.Limits(max_line_bytes=max_line)


@PROPERTY
@given(text=log_text(), size=chunk_bytes, max_line=max_line_bytes)
def test_chunks_cover_every_line_once(text: bytes, size: int, max_line: int) -> None:
    """Property: cuts sit on line ends (or long-line pieces); chunk lines == file lines."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "t.log")
        with open(path, "wb") as fh:
            fh.write(text)
        _check_chunking(_file_source(path), size, max_line)


@PROPERTY
@given(data=st.binary(max_size=2000), size=chunk_bytes, max_line=max_line_bytes)
def test_only_input_errors_escape_for_any_bytes(data: bytes, size: int, max_line: int) -> None:
    """F1: for any bytes, ingest + chunking + mining raise nothing but InputError."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "any.log")
        with open(path, "wb") as fh:
            fh.write(data)
        for source in iter_sources([path, path + ".gz"]):
            if isinstance(source, InputError):
                continue
            try:
                _check_chunking(source, size, max_line)
                mine_templates(read_document(source).lines)
            except InputError:
                pass
    # Garbage behind archive signatures, and the raw bytes as text whatever they hold.
    inputs = [gzip.compress(data) + data[:7], b"PK\x03\x04" + data, b"\x1f\x8b" + data]
    for blob in inputs:
        for source in source_from_bytes(blob, name="mem"):
            if not isinstance(source, InputError):
                _check_chunking(source, size, max_line)
    raw = MemorySource(name="raw", data=data, encoding=sniff_encoding(data))
    _check_chunking(raw, size, max_line)
    mine_templates(read_document(raw).lines)


def test_long_line_cuts_inside_it_and_stays_aligned(tmp_path: Path) -> None:
    """M3: a huge line with no newline is cut at piece boundaries; pieces match one pass."""
    log = tmp_path / "one-line.log"
    log.write_bytes(b"z" * (5 * 1024 * 1024 + 123))
    source = _file_source(log)
    chunks = plan_chunks(source, chunk_bytes=1024 * 1024, max_line_bytes=1024 * 1024)
    assert len(chunks) == 6
    assert all(c.end - c.start == 1024 * 1024 for c in chunks[:-1])
    merged = merge_chunks(scrape_chunk(c) for c in chunks)[str(log)]
    assert merged.truncated == [1]
    # A megabyte-long token is a blob: one variable.
    assert merged.miner.templates() == {"<*>": 6}
    assert merged.samples == {"<*>": [1]}


def test_utf16_is_one_chunk(tmp_path: Path) -> None:
    """UTF-16 text is never cut at a \\n byte (it may be half a character)."""
    log = tmp_path / "wide.log"
    log.write_bytes("\ufeff".encode("utf-16-le") + "step one\nstep two\n".encode("utf-16-le") * 200)
    chunks = plan_chunks(_file_source(log), chunk_bytes=64)
    assert len(chunks) == 1
    result = merge_chunks([scrape_chunk(chunks[0])])[str(log)]
    assert result.miner.templates() == {"step one": 200, "step two": 200}


def test_chunks_are_references_not_text(tmp_path: Path) -> None:
    """A file chunk pickles to a path and a range, not the file's bytes."""
    log = tmp_path / "big.log"
    log.write_bytes(b"a line of the log 12345\n" * 100_000)
    chunks = plan_chunks(_file_source(log), chunk_bytes=512 * 1024)
    assert len(chunks) > 3
    assert all(c.data is None for c in chunks)
    assert max(len(pickle.dumps(c)) for c in chunks) < 1000
    result = scrape_chunk(chunks[1])
    assert len(pickle.dumps(result)) < 2000


def test_merge_order_does_not_matter(tmp_path: Path) -> None:
    """Results may arrive in any order (as completed by workers)."""
    log = tmp_path / "x.log"
    log.write_bytes(b"".join(b"worker %d done %d\n" % (i % 3, i) for i in range(5000)))
    chunks = plan_chunks(_file_source(log), chunk_bytes=4096)
    results = [scrape_chunk(c) for c in chunks]
    assert merge_chunks(results) == merge_chunks(results[::-1])
    merged = merge_chunks(reversed(results))[str(log)]
    assert merged.miner.templates() == {"worker <*> done <*>": 5000}
    assert merged.samples == {"worker <*> done <*>": [1, 2, 3]}


def test_scrape_runs_as_a_cpu_stage(tmp_path: Path) -> None:
    """scrape_chunk is a picklable module-level function: it runs in worker processes."""
    log = tmp_path / "p.log"
    log.write_bytes(b"".join(b"fetch %d ok\n" % i for i in range(20_000)))
    chunks = plan_chunks(_file_source(log), chunk_bytes=32 * 1024)
    report = juggler.Pipeline(juggler.cpu(scrape_chunk), workers=2).run(chunks)
    assert not report.failures
    merged = merge_chunks(report.results)[str(log)]
    assert merged.miner == TemplateMiner.from_counts({"fetch <*> ok": 20_000})


def test_fold_in_a_reduce_stage_equals_merge(tmp_path: Path) -> None:
    """fold_chunk as a juggler.reduce stage gives what merge_chunks gives."""
    log = tmp_path / "r.log"
    log.write_bytes(
        b"".join(b"job %d state %s\n" % (i, b"ok" if i % 3 else b"bad") for i in range(9000))
    )
    chunks = plan_chunks(_file_source(log), chunk_bytes=8 * 1024)
    report = juggler.Pipeline(
        juggler.cpu(scrape_chunk), juggler.reduce(fold_chunk, initial=None), workers=2
    ).run(chunks)
    assert not report.failures
    (state,) = report.results
    assert state.finish() == merge_chunks(scrape_chunk(c) for c in chunks)


def test_documents_and_chunks_agree(tmp_path: Path) -> None:
    """read_document and chunked scraping see the same cleaned lines."""
    log = tmp_path / "ci.log"
    log.write_bytes(
        b"2024-05-01T10:00:00.1Z \x1b[31mERROR\x1b[0m build 1 failed\r\n"
        b"progress 10%\rprogress 100%\n"
    )
    source = _file_source(log)
    doc = read_document(source)
    assert isinstance(doc, LogDocument)
    assert doc.lines == ["ERROR build 1 failed", "progress 100%"]
    lines, numbers = _chunk_lines(plan_chunks(source, chunk_bytes=3))
    assert (lines, numbers) == (doc.lines, doc.numbers)


def test_a_worker_sends_each_key_s_first_samples_once_per_plan(tmp_path: Path) -> None:
    """Later chunks leave out samples that cannot be first; the merge is unchanged."""
    log = tmp_path / "w.log"
    log.write_bytes(b"".join(b"poll %d: queue %d empty\n" % (i, i % 7) for i in range(20_000)))
    single = merge_chunks(
        [scrape_chunk(c) for c in plan_chunks(_file_source(log), chunk_bytes=1 << 40)]
    )
    # In order, as a worker mostly gets them: only the first chunk sends samples.
    chunks = plan_chunks(_file_source(log), chunk_bytes=16 * 1024)
    results = [scrape_chunk(c) for c in chunks]
    assert [bool(r.samples) for r in results] == [True] + [False] * (len(chunks) - 1)
    assert merge_chunks(results) == single
    # In any order, samples that may be first are still sent.
    chunks = plan_chunks(_file_source(log), chunk_bytes=16 * 1024)
    order = list(range(len(chunks)))
    random.Random(7).shuffle(order)
    assert merge_chunks([scrape_chunk(chunks[i]) for i in order]) == single
