"""Chunked scanning (cpu workers) gives the same triage as scanning the whole log."""

from __future__ import annotations

import itertools
import pickle
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage._findings import (
    ScanFold,
    baseline_keys,
    find_failures,
    merge_scans,
    scan_chunk,
)
from juggler.triage.detect import _templates

if TYPE_CHECKING:
    import random


def _github_log() -> list[str]:
    lines = [
        "2024-03-01T10:00:00.0000000Z ##[group]Run actions/checkout@v4",
        "2024-03-01T10:00:01.0000000Z Syncing repository: acme/app",
        "2024-03-01T10:00:02.5000000Z ##[endgroup]",
        "2024-03-01T10:00:03.0000000Z ##[group]Run go test ./...",
        "2024-03-01T10:00:03.2000000Z ##[endgroup]",
    ]
    lines += [
        f"2024-03-01T10:{i // 60:02d}:{i % 60:02d}.0000000Z "
        f"ok  \tgithub.com/acme/app/pkg{i}\t0.0{i % 9}s"
        for i in range(200)
    ]
    lines += [
        "2024-03-01T10:00:20.0000000Z --- FAIL: TestStore (0.01s)",
        "2024-03-01T10:00:20.0000001Z     store_test.go:14: got 1 want 2",
        "2024-03-01T10:00:20.5000000Z FAIL\tgithub.com/acme/app/store\t0.02s",
        "2024-03-01T10:00:21.0000000Z ##[error]Process completed with exit code 1.",
        "2024-03-01T10:00:21.5000000Z Post job cleanup.",
    ]
    return lines


def _split(lines: list[str], cuts: list[int]) -> list[list[str]]:
    bounds = [0, *cuts, len(lines)]
    return [lines[a:b] for a, b in itertools.pairwise(bounds)]


# Cuts fall between blocks: a block that crosses a chunk boundary is cut there.
@pytest.mark.parametrize("cuts", [[1], [4], [100], [205], [50, 100, 150], list(range(1, 206, 7))])
def test_chunks_in_any_order_match_the_whole_log(cuts: list[int]) -> None:
    lines = _github_log()
    whole = find_failures(lines, path="ci.log")
    scans = []
    offset = 0
    for part in _split(lines, cuts):
        scans.append(scan_chunk(part, offset=offset))
        offset += len(part)
    merged = merge_scans(list(reversed(scans)), path="ci.log")
    assert merged["analysis"] == whole["analysis"]
    top = [(f["line_start"], f["line_end"]) for f in merged["findings"][:3]]
    assert top == [(f["line_start"], f["line_end"]) for f in whole["findings"][:3]]


def test_chunk_scan_pickles_and_keeps_only_lines_a_finding_may_show() -> None:
    lines = _github_log()
    scan = scan_chunk(lines, offset=0, baseline=baseline_keys([lines[:20]]))
    assert pickle.loads(pickle.dumps(scan)) == scan
    assert len(scan.lines) < len(lines)
    assert scan.novel is not None


def test_ranking_works_without_the_template_miner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_templates, "MINER", False)
    doc = find_failures(_github_log(), path="ci.log")
    assert doc["findings"][0]["title"] == "--- FAIL: TestStore (0.01s)"


def test_repeated_messages_are_thinned_but_counted() -> None:
    lines = ["$ ./run.sh"]
    lines += [f"error: connection {n} to cache refused" for n in range(1000)]
    lines += ["FAILED tests/test_a.py::test_one - boom", "FAILED tests/test_a.py::test_two - boom"]
    lines += ['The command "./run.sh" exited with 1.']
    scan = scan_chunk(lines, offset=0)
    assert len(scan.hits) <= 6
    doc = merge_scans([scan], path="ci.log")
    repeated = [f for f in doc["findings"] if "to cache refused" in f["title"]]
    assert repeated[0]["line_start"] == 2  # shown where it first appeared
    assert repeated[0]["repeats"] == 1000
    assert doc["analysis"]["errors"] >= 1002
    assert doc["analysis"]["failing_tests"] == [
        "tests/test_a.py::test_one",
        "tests/test_a.py::test_two",
    ]


def _noisy_log(repeats: int) -> list[str]:
    """A failure buried in a long log that repeats the same error block over and over."""
    lines = ["$ ./integration.sh"]
    for n in range(repeats):
        lines += [
            f"worker-{n % 7} poll {n}: retrying",
            f"ERROR: upstream 10.0.{n % 250}.{n % 13}:8443 refused the connection",
            f"worker-{n % 7} poll {n}: backing off {n % 5} s",
        ]
    lines += [
        "Traceback (most recent call last):",
        '  File "/srv/jobs/rollup.py", line 80, in main',
        "    totals = merge(parts)",
        "KeyError: 'region'",
        'The command "./integration.sh" exited with 1.',
    ]
    return lines


def _fold_in_chunks(lines: list[str], size: int) -> ScanFold:
    fold, offset = ScanFold(), 0
    for part in _split(lines, list(range(size, len(lines), size))):
        fold.add(scan_chunk(part, offset=offset))
        offset += len(part)
    return fold


def test_fold_of_many_chunks_keeps_what_one_pass_keeps() -> None:
    lines = _noisy_log(3000)
    whole = scan_chunk(lines, offset=0)
    folded = _fold_in_chunks(lines, 90).result()  # 100 chunks
    # Each chunk keeps its own first and last copy; the fold keeps two for the whole log.
    assert [(h.start, h.end, h.copies) for h in folded.hits] == [
        (h.start, h.end, h.copies) for h in whole.hits
    ]
    # A failing step's tail stops at its chunk's first line, so the fold may show fewer.
    assert folded.lines.items() <= whole.lines.items()
    assert folded.key_counts == whole.key_counts


def test_what_a_fold_holds_does_not_grow_with_the_log() -> None:
    small = _fold_in_chunks(_noisy_log(300), 90).result()
    large = _fold_in_chunks(_noisy_log(30_000), 90).result()
    assert len(large.hits) == len(small.hits)
    assert len(large.lines) == len(small.lines)
    assert len(large.key_counts) == len(small.key_counts)


_BLOCKS = [
    ["ok - step passed"],
    ["ERROR: disk quota exceeded on /cache"],
    ["warning: deprecated flag --fast"],
    ["FAILED tests/test_io.py::test_read - AssertionError"],
    ['Exception in thread "main" java.lang.IllegalStateException: closed', "\tat a.B.c(B.java:3)"],
    ["npm ERR! code ELIFECYCLE"],
    [""],
]


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(st.sampled_from(range(len(_BLOCKS))), min_size=1, max_size=60),
    cut_points=st.lists(st.integers(min_value=1, max_value=200), max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_folding_chunks_in_any_order_equals_one_pass(
    blocks: list[int], cut_points: list[int], order: random.Random
) -> None:
    lines = [line for b in blocks for line in _BLOCKS[b]]
    lines.append("make: *** [Makefile:9: test] Error 2")
    cuts = sorted({c for c in cut_points if c < len(lines)})
    scans, offset = [], 0
    for part in _split(lines, cuts):
        scans.append(scan_chunk(part, offset=offset))
        offset += len(part)
    order.shuffle(scans)
    fold = ScanFold()
    for scan in scans:
        fold.add(scan)
    folded, whole = fold.result(), scan_chunk(lines, offset=0)
    # Blocks cut at a chunk boundary may differ; the thinning and counting must not.
    assert sum(h.copies for h in folded.hits) == sum(h.copies for p in scans for h in p.hits)
    assert folded.count == whole.count == len(lines)
    assert folded.key_counts == whole.key_counts
    if not cuts:
        assert folded == whole
