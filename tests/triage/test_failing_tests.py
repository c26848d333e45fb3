"""Failing tests are counted per framework: a jest file is the container of its tests."""

from __future__ import annotations

from pathlib import Path

from juggler.triage._findings import find_failures
from juggler.triage._present import headline
from juggler.triage.synth import build_memo

ROOT = Path(__file__).resolve().parents[2]

JEST = [
    "PASS src/math/__tests__/sum.test.js",
    "FAIL src/cart/__tests__/Cart.test.jsx (3.2 s)",
    "  ● Cart › adds an item",
    "",
    "    expect(received).toBe(expected)",
    "    Expected: 2",
    "    Received: 1",
    "",
    "  ● Cart › removes an item",
    "",
    "    TypeError: Cannot read properties of undefined (reading 'id')",
    "      at remove (src/cart/Cart.jsx:40:12)",
    "",
    "  ● Cart › empties the cart",
    "",
    "    expect(received).toHaveLength(expected)",
    "",
    "FAIL src/api/__tests__/client.test.js",
    "  ● Test suite failed to run",
    "",
    "    Cannot find module 'node-fetch' from 'src/api/client.js'",
    "",
    "Test Suites: 2 failed, 1 passed, 3 total",
    "Tests:       3 failed, 11 passed, 14 total",
]


def test_jest_counts_each_failing_test_not_the_file() -> None:
    doc = find_failures(JEST, path="jest.log")
    tests = doc["analysis"]["failing_tests"]
    assert tests[:3] == ["Cart › adds an item", "Cart › removes an item", "Cart › empties the cart"]
    assert "src/cart/__tests__/Cart.test.jsx" not in tests
    # The runner's own count wins: jest counts tests, not the suite that failed to load.
    assert "3 failing test(s)" in headline(doc)
    assert build_memo(doc).headline.startswith("Build failed: 3 jest failures")


def test_every_failing_jest_test_is_in_a_finding() -> None:
    doc = find_failures(JEST, path="jest.log")
    for line in (3, 9, 14):  # the three "●" lines
        assert any(f["line_start"] <= line <= f["line_end"] for f in doc["findings"]), line


def test_the_bundled_jest_example_says_two_failing_tests_and_shows_both() -> None:
    """examples/npm-jest.log: "Tests: 2 failed"; the headline said 1 and hid the second."""
    lines = (ROOT / "examples" / "npm-jest.log").read_text(encoding="utf-8").split("\n")
    doc = find_failures(lines, path="npm-jest.log")
    assert "2 failing test(s)" in headline(doc)
    assert "2 jest failures" in build_memo(doc).headline
    declined = next(n for n, t in enumerate(lines, 1) if "card is declined" in t)
    assert any(f["line_start"] <= declined <= f["line_end"] for f in doc["findings"])
