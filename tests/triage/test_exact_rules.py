"""A rule's ``exact`` form, which the compiled pass reports without the rule's regex running
again, matches on exactly the lines the regex finds."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage.detect import _bulk, _scan, generic

if TYPE_CHECKING:
    from juggler.triage.detect._rules import Rule

EXACT_RULES = [r for r in _scan.ALL_RULES if r.exact is not None]

# Characters on either side of a word that the regexes' lookarounds judge, and non-ASCII
# text (which the compiled pass leaves to the plain path, so it must report it as odd).
_EDGES = [
    ".",
    "/",
    "-",
    "_",
    "a",
    "Z",
    "0",
    " ",
    ":",
    "=",
    "'",
    "\t",
    "(",
    ".x",
    ". ",
    "é",
    "\u212a",
]
_EDGES += ["ing", "s", "0a", "  "]  # the warning rule: "warnings", "warn: 0a", "warn  0"


def _fragments(rule: Rule) -> st.SearchStrategy[str]:
    words = [w for n in rule.needles for w in (n, n.upper(), n.title(), n + "s", n + "ed")]
    return st.sampled_from([*words, *_EDGES])


def test_some_rule_has_an_exact_form() -> None:
    assert EXACT_RULES, "the generic error rule carries one; without it this file tests nothing"


@pytest.mark.parametrize("rule", EXACT_RULES, ids=lambda r: f"{r.family}-{r.kind}")
def test_exact_form_reports_the_lines_the_regex_finds(rule: Rule) -> None:
    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(st.lists(_fragments(rule), max_size=6).map("".join), min_size=1, max_size=30))
    def check(lines: list[str]) -> None:
        found = _bulk.candidates("\n".join(lines), (rule,))
        assert found is not None
        reported, odd = found.rules, found.odd
        for i, line in enumerate(lines):
            if i in odd:
                assert not line.isascii() or not line.isprintable()
                continue
            fires = 0 in reported.get(i, set())
            assert fires == bool(rule.pattern.search(line)), line
            if fires:  # the scan tests no needle for such a rule: its form implies them
                assert any(needle in line.lower() for needle in rule.needles), line

    check()


# What may follow a rule's word, every sequence of up to three of them: the counts and
# separators a lookahead judges ("warn: 0", "warn = 0a", "error.x").
_AFTER = [" ", ":", "=", "0", "0a", ".", ".x", "-", "/", "a", "s"]


@pytest.mark.parametrize("rule", EXACT_RULES, ids=lambda r: f"{r.family}-{r.kind}")
def test_exact_form_on_every_short_context(rule: Rule) -> None:
    """Every needle, after each of a few characters and before every short sequence of the
    characters its lookarounds judge: the form and the regex agree on each line."""
    tails = ["".join(t) for n in range(4) for t in itertools.product(_AFTER, repeat=n)]
    lines = [
        before + word + tail
        for needle in rule.needles
        for word in (needle, needle.title())
        for before in ("", "x", "-", " ", ".")
        for tail in tails
    ]
    found = _bulk.candidates("\n".join(lines), (rule,))
    assert found is not None
    assert not found.odd
    wrong = [
        line
        for i, line in enumerate(lines)
        if (0 in found.rules.get(i, set())) != bool(rule.pattern.search(line))
    ]
    assert wrong == []


_GOOD_NEWS_PARTS = ["0", "1", "10", " ", ":", "=", ",", "_", "-", "x", "no ", "without "]
_GOOD_NEWS_PARTS += ["error", "errors", "Error", "failure", "FAILURES", "failed", "failing"]
_GOOD_NEWS_PARTS += ["fail_on_", "continue-on-", "é"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.sampled_from(_GOOD_NEWS_PARTS), max_size=6).map("".join), min_size=1))
def test_the_good_news_gate_reports_exactly_the_good_news(lines: list[str]) -> None:
    """Where the compiled pass reads the gate exactly, the scan takes its report as the
    answer: it must be ``is_good_news`` on every line that is not odd."""
    assert _bulk.gate_is_exact()
    found = _bulk.candidates("\n".join(lines), ())  # no rules: the gate's id is 0
    assert found is not None
    for i, line in enumerate(lines):
        if i not in found.odd:
            assert (0 in found.rules.get(i, set())) == generic.is_good_news(line), line


def test_exact_form_is_what_the_scan_relies_on() -> None:
    # "error.x" names a file (the regex refuses it); "error." ends a sentence.
    lines = ["build error.", "see error.swift", "x-error here", "fatal: no", "clean"] * 500
    hits = _scan.detect_visible(lines)
    heads = {lines[h.head - 1] for h in hits}
    assert heads == {"build error.", "fatal: no"}
