"""The scan's shortcuts (one needle search per chunk, repeated lines tried once) change no hit.

The reference finds each line's rules the plain way, by testing every needle of every rule on
the lowercased line, and leaves every regex to the scan itself.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage.detect import Hit, _scan, detect_visible


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
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=40))
def test_scan_matches_plain_needle_test(lines: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert detect_visible(lines, offset=3) == _reference(lines, monkeypatch)


def test_repeated_lines_match_lines_seen_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = POOL * 3
    assert detect_visible(lines, offset=3) == _reference(lines, monkeypatch)
