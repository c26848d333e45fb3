"""The scan's shortcuts change no hit: one needle search per chunk, repeated lines tried once,
and on big chunks the compiled (Hyperscan) pass and the bulk marker search.

The reference finds each line's rules the plain way, by testing every needle of every rule on
the lowercased line, and leaves every regex to the scan itself.
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage import _findings, analyse
from juggler.triage._trie import words_regex
from juggler.triage.detect import (
    Hit,
    _bulk,
    _markers,
    _scan,
    _templates,
    detect_visible,
    visible_lines,
)
from juggler.triage.detect._marker_lines import bulk_chunk_events
from juggler.triage.detect._normalise import visible


def _plain_plan(texts: list[str]) -> dict[str, tuple[_scan._Try, ...]]:
    plan: dict[str, tuple[_scan._Try, ...]] = {}
    for text in dict.fromkeys(texts):
        low = text.lower()
        tries = tuple(
            (rid, None)
            for rid, spec in enumerate(_scan.ALL_RULES)
            if any(n in low for n in spec.needles)
        )
        if tries:
            plan[text] = tries
    return plan


def _reference(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> list[Hit]:
    with monkeypatch.context() as patch:
        patch.setattr(_scan, "_plan", _plain_plan)
        return detect_visible(lines, offset=3)


# Heads of several families, good news, shell echoes, overlapping needles (" failed" and
# "failed with"), case and Unicode folding, lines longer than the scan limit, a stray "\n".
POOL = [
    "",
    "   ",
    "Traceback (most recent call last):",
    '  File "/app/setup.py", line 12, in <module>',
    "ModuleNotFoundError: No module named 'tomllib'",
    "src/main.c:10:5: error: expected ';' before 'return'",
    "FAILED tests/test_app.py::test_login - AssertionError: assert 1 == 2",
    "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin",
    "[ERROR] /app/src/Main.java:[3,8] cannot find symbol",
    "npm ERR! code ELIFECYCLE",
    "Error: Process completed with exit code 1.",
    "make: *** [Makefile:42: all] Error 2",
    "build failed with exit code 2",
    "Tests run: 5, Failures: 0, Errors: 0, Skipped: 0",
    "0 errors, 0 failures",
    "$ make test || echo failed",
    "+ ./run --fail-fast",
    "WARNING: the cache is cold",
    "warnings: 0",
    "  1) ShoppingCart adds an item:",
    "e: /app/Main.kt:(3, 8): unresolved reference",
    "● Suite › case fails",
    "FAİLED: the dotted capital I folds to i",
    "Segmentation fault (core dumped)",
    "ok   all good here",
    "x" * 2100 + " error after the cut",
    "error " + "y" * 2100,
    "first half error\nsecond half failed",
    "connection refused, retrying",
    # A rule's regex matches, but the line holds none of its needles: no hit.
    "Resolving deltas: 100% (3/3), completed with 2 local objects.",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=40))
def test_scan_matches_plain_needle_test(lines: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert detect_visible(lines, offset=3) == _reference(lines, monkeypatch)


def test_repeated_lines_match_lines_seen_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = POOL * 3
    assert detect_visible(lines, offset=3) == _reference(lines, monkeypatch)


def _thinned_hits(lines: list[str], offset: int) -> tuple[list[Hit], tuple[str, ...]]:
    """The reference thinning: every hit built, then thinned by ``_Repeats``."""
    visible = visible_lines(lines)
    keys = _templates.keys(visible)
    repeats = _findings._Repeats()
    for hit in detect_visible(visible, offset=offset):
        repeats.add(hit, hit.test or keys[hit.head - offset - 1])
    return repeats.kept()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*POOL, "error 7", "error 8", "Error: id 9"]), max_size=60))
def test_a_chunk_thins_its_blocks_as_its_hits(lines: list[str]) -> None:
    """Repeats thinned on plain blocks, building only the kept hits: the same hits, copies
    and heads as thinning every hit."""
    scan = _findings.scan_chunk(lines, offset=4)
    assert (list(scan.hits), scan.heads) == _thinned_hits(lines, 4)


# --- The compiled pass (Hyperscan) on big chunks: the same hits as the per-line scan. ---

_NEEDLE_LIST = sorted({n for r in _scan.ALL_RULES for n in r.needles}, key=lambda n: (-len(n), n))
_OVERLAPPING = re.compile("(?=(" + words_regex(_NEEDLE_LIST) + "))")


def _per_line_reference(lines: list[str], offset: int) -> list[Hit]:
    """The scan as it was before any shortcut: every line lowercased and searched alone."""
    hits: list[Hit] = []
    family_until: dict[str, int] = {}
    specific_until = -1
    for i, line in enumerate(lines):
        if not line:
            continue
        line = line[: _scan.MAX_SCAN_CHARS]
        low = line.lower()
        found = _OVERLAPPING.findall(low)
        rids = sorted(
            {rid for rid, r in enumerate(_scan.ALL_RULES) if any(n in low for n in r.needles)}
        )
        if not found:
            assert not rids
            continue
        for rid in rids:
            spec = _scan.ALL_RULES[rid]
            generic_rule = spec.family == "generic"
            if generic_rule and (
                i <= specific_until
                or line.startswith(("$ ", "+ "))
                or _scan.generic.is_good_news(line)
            ):
                continue
            if family_until.get(spec.family, -1) >= i:
                continue
            match = spec.pattern.search(line)
            if match is None:
                continue
            end = max(i, spec.extend(lines, i))
            while end > i and not lines[end].strip():
                end -= 1
            start = i
            if spec.back and spec.before is not None:
                while start > 0 and i - start < spec.back and spec.before.search(lines[start - 1]):
                    start -= 1
            test = ""
            if spec.test_group:
                test = next(
                    (v for k, v in match.groupdict().items() if k.startswith("test") and v), ""
                ).strip()
            hits.append(
                Hit(
                    start=start + 1 + offset,
                    end=end + 1 + offset,
                    family=spec.family,
                    kind=spec.kind,
                    severity=spec.severity,
                    confidence=spec.confidence,
                    title=_scan._title(line),
                    test=test,
                    head=i + 1 + offset,
                )
            )
            family_until[spec.family] = end
            if not generic_rule:
                specific_until = max(specific_until, end)
            break
    hits.sort(key=lambda h: (h.start, h.end))
    return hits


# Printable ASCII words that rules and good news look for, plus odd characters (Unicode that
# folds case, controls) that must send a line down the plain path.
_WORDS = [
    "error",
    "ERROR",
    "Error:",
    "failed",
    "FAILED",
    "0 errors",
    "errors: 0",
    "warning",
    "warnings: 0",
    "fatal:",
    "exception",
    "Traceback",
    "make:",
    "***",
    "[ERROR]",
    "npm ERR!",
    "exit code 1",
    "exited with code 2",
    "no such file",
    "cannot",
    "undefined",
    "K",
    "s",
    "\u212a",
    "\u017f",
    "\u0130",
    "\x1c",
    "\t",
    "   ",
    "E  ",
    "e: ",
    ") ",
    ", ",
    "::",
    "! ",
    "1)",
    "test_x",
    "at com.example.Main(Main.java:3)",
    "Caused by:",
    "$ ",
    "+ ",
    "●",
    "✗",
]
_GENERATED = st.lists(st.sampled_from(_WORDS), max_size=8).map(" ".join)
_LINES = st.lists(st.one_of(st.sampled_from(POOL), _GENERATED), max_size=60)


@settings(max_examples=200, deadline=None)
@given(_LINES)
def test_compiled_pass_matches_the_per_line_scan(lines: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = _per_line_reference(lines, 5)
        assert detect_visible(lines, offset=5) == expected  # small: the plain path
        monkeypatch.setattr(_scan, "BULK_MIN_LINES", 0)  # every chunk takes the compiled pass
        assert detect_visible(lines, offset=5) == expected


def test_compiled_pass_is_used_and_agrees_on_a_big_chunk() -> None:
    rng = random.Random(7)
    lines = [rng.choice([*POOL, *_WORDS, "plain output line 42"]) for _ in range(5000)]
    lines = [line for line in lines if "\n" not in line]
    assert len(lines) >= _scan.BULK_MIN_LINES
    assert _bulk.available()
    assert detect_visible(lines) == _per_line_reference(lines, 0)


# --- Markers of big chunks found in bulk: the same events as the line-by-line loop. ---

_RAW = [
    "$ make test",
    "##[group]Run pytest",
    "##[error]Process completed with exit code 2",
    'The command "make" exited with 2.',
    'still quoting" exited with 1.',
    "[Pipeline] { (Build)",
    "[node] $ /bin/sh -xe /tmp/script.sh",
    "Build step 'Execute shell' marked build as failure",
    "ERROR: Job failed: exit code 3",
    "ERROR: Step ‘Publish’ failed",
    "Finished: FAILURE",
    "script returned exit code 4",
    "make[1]: *** [all] Error 2",
    "Process finished with exit code 5",
    "travis_time:end:0a1b:start=1000000000,finish=3000000000\rtravis_fold:end:x",
    "section_start:1700000000:build\r\x1b[0Kbuilding",
    "section_end:1700000100:build\r\x1b[0K",
    "2024-05-01T10:00:00.1234567Z compiling",
    "2024-05-01T10:00:07Z error: boom",
    "[2024-05-01T10:00:09Z] tests",
    "2024-13-45T99:00:00Z not a date",
    "build\tCompile\t2024-05-01T10:00:00.0000000Z step one",
    "build\tTest\t2024-05-01T10:01:00.0000000Z step two",
    "\ufeff2024-05-01T10:00:00Z with a BOM",
    "plain output",
    "",
    "T is for text",
    "exit",
    # Build status lines, and near misses that start the same way.
    "Done. Your build exited with 1.",
    "Done. Nothing to do",
    "Job succeeded",
    "Cleaning up orphan processes",
    "##[endgroup]",
    "##[warning]slow",
    "[INFO] BUILD SUCCESS",
    "** BUILD FAILED **",
    "Finished: SUCCESS",
    "Finished: compiling",
    "$ ",
    "Build step without quotes",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_RAW), max_size=60), st.integers(0, 1000))
def test_bulk_markers_match_the_line_loop(raw: list[str], offset: int) -> None:
    visible = visible_lines(raw)
    expected = _markers.plain_chunk_events(raw, visible, offset)
    assert bulk_chunk_events(raw, visible, offset) == expected
    # The marker lines the scan's compiled pass finds on its way serve as well.
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(_scan, "BULK_MIN_LINES", 0)
        tells = _scan.scan_blocks(visible).markers
    assert tells is not None or not raw
    assert bulk_chunk_events(raw, visible, offset, tells) == expected


# --- visible_lines: one search per chunk, the same text as visible() per line. ---

_FRAGMENTS = st.sampled_from(
    [
        *("a", "1", " ", "  ", "\t", "\r", "\x00", "\x7f", "\x1b", "\x1b[31m", "\ufeff", "é"),
        *("2026-01-02T03:04:05Z ", "2026-01-02T", "[12:34:56] ", "[2026-01-02T03:04:05Z] "),
        *("travis_fold:start:x", "travis_time:end", "section_start:1:s", "section_end:"),
        *("job\tstep\t", "job\tstep\t2026-01-02T03:04:05.1Z x"),
    ]
)
_RAW_LINE = st.lists(_FRAGMENTS, max_size=6).map("".join)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.lists(_RAW_LINE, max_size=10))
def test_visible_lines_equals_visible_of_each_line(lines: list[str]) -> None:
    assert visible_lines(lines) == [visible(line) for line in lines]


# --- Test summaries of big chunks: the compiled pass only rules lines out. ---

_SUMMARY_LINES = [
    "===== 3 failed, 10 passed in 1.20s =====",
    "Tests run: 5, Failures: 1, Errors: 0, Skipped: 0",
    "Tests:       1 failed, 4 passed, 5 total",
    "12 examples, 2 failures",
    "  4 passing (2s)",
    "test result: FAILED. 3 passed; 1 failed",
    "FAILED (failures=2)",
    "Total tests: 7",
    "Tests run: 5, Failures: 1 \u2014 é",
    "Tests:\u20031 failed, 1 total",  # an em space: \s to re, not to Hyperscan
    "\x1b Tests run: 1, Failures: 0",
    "no summary here",
    "passed the test",
]


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([*_SUMMARY_LINES, *POOL]), min_size=1, max_size=40))
def test_bulk_summary_lines_match_the_line_loop(sample: list[str]) -> None:
    lines = [line for line in sample if "\n" not in line] or ["x"]
    big = (lines * (2000 // len(lines) + 1))[:2100]
    # Below the bulk size each half takes the plain path.
    expected = analyse.summary_lines(big[:1999]) + analyse.summary_lines(big[1999:])
    assert analyse.summary_lines(big) == expected
    # The lines the scan's compiled pass finds on its way serve as well.
    maybe = _scan.scan_blocks(big).summaries
    if maybe is None:  # lines cut to the scan limit: the pass does not speak for them
        assert max(map(len, big)) > _scan.MAX_SCAN_CHARS
    else:
        assert analyse.summary_lines(big, maybe=maybe) == expected
