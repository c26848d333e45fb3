"""Chunked scanning (cpu workers) gives the same triage as scanning the whole log."""

from __future__ import annotations

import itertools
import pickle

import pytest

from juggler.triage._findings import baseline_keys, find_failures, merge_scans, scan_chunk
from juggler.triage.detect import _templates


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
