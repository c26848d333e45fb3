"""Fallback: any line that says error, failure or fatal in words a person would use.

Tools we have no family for still print "error" or "failed"; ranking needs those lines as
candidates. The pattern excludes the common false friends (``0 errors``, ``-Werror``,
``failures: 0``, option names) so that passing summaries do not compete.
"""

from __future__ import annotations

import re

from ._rules import rule, single

_I = re.IGNORECASE

# Words that mean "this went wrong", not "this is about errors" (error_handler, --fail-fast).
_ERROR_WORDS = (
    r"(?<![\w./-])(?:errors?|fail(?:ed|ure|s|ing)?|fatal|exception|panic(?:ked)?|abort(?:ed|ing)?|"
    r"denied|refused|cannot|can't|could ?not|unable to|not found|undefined|invalid|"
    r"mismatch|missing|unexpected|violation|broken|crash(?:ed)?|"
    r"does not exist|doesn't exist|no such)(?![\w/-]|\.\w)"  # not a file name: Error.swift
)
# The same, without lookarounds, for the compiled pass (Rule.exact): the lookbehind becomes
# a line start or a character outside the class; the lookahead, up to the line's end,
# becomes nothing, a character outside it, or a dot not followed by a word character. No
# class matches a line break.
_ERROR_WORDS_EXACT = (
    r"(?:^|[^\w./\n-])(?:errors?|fail(?:ed|ure|s|ing)?|fatal|exception|panic(?:ked)?|"
    r"abort(?:ed|ing)?|denied|refused|cannot|can't|could ?not|unable to|not found|undefined|"
    r"invalid|mismatch|missing|unexpected|violation|broken|crash(?:ed)?|"
    r"does not exist|doesn't exist|no such)(?:[^\w/.\n-][^\n]*|\.(?:[^\w\n][^\n]*)?)?$"
)
# The warning word, unless a count of zero follows it ("warnings: 0", "warn=0").
_WARNING = r"(?<![\w-])warn(?:ing)?s?\b(?!s? ?[:=]? ?0\b)"
# The same without lookarounds (Rule.exact). After the word comes a non-word character or
# the line's end, so the lookahead's "s?" matches nothing and its zero is never first: it
# refuses a rest starting with " ", "  ", ":", "=", " :", ": " or " : " (and so on), then a
# "0" ending a word. The rest is spelt out by its first characters: _NO_ZERO after ":" or
# "=" (neither "0" nor " 0" ending a word next), _NO_COUNT after a space (nor ":0", ": 0").
_NO_ZERO = r"(?:0\w[^\n]*| (?:[^0\n][^\n]*|0\w[^\n]*)?|[^0 \n][^\n]*)?"
_NO_COUNT = rf"(?:0\w[^\n]*| (?:[^0\n][^\n]*|0\w[^\n]*)?|[:=]{_NO_ZERO}|[^0 :=\n][^\n]*)?"
_WARNING_EXACT = rf"(?:^|[^\w\n-])warn(?:ing)?s?(?:[^\w\n :=][^\n]*|[:=]{_NO_ZERO}| {_NO_COUNT})?$"
# A count of zero (or "no errors") is good news, not a failure.
_ZERO = re.compile(
    r"(?:\b0 (?:errors?|failures?|failed)|(?:errors?|failures?|failed):? 0\b|\bno errors?\b|"
    r"\bwithout errors?\b|0 failing|failed=0|error=0|, 0 failed|fail_on_error|continue-on-error)",
    _I,
)

RULES = (
    rule(
        "generic",
        "error",
        0.4,
        (
            "error",
            "fail",
            "fatal",
            "exception",
            "panic",
            "abort",
            "denied",
            "refused",
            "cannot",
            "can't",
            "could not",
            "couldnot",
            "unable to",
            "not found",
            "undefined",
            "invalid",
            "mismatch",
            "missing",
            "unexpected",
            "violation",
            "broken",
            "crash",
            "does not exist",
            "doesn't exist",
            "no such",
        ),
        _ERROR_WORDS,
        single,
        flags=_I,
        confidence=0.4,
        exact=_ERROR_WORDS_EXACT,
    ),
    rule(
        "generic",
        "warning",
        0.1,
        "warn",
        _WARNING,
        flags=_I,
        confidence=0.4,
        exact=_WARNING_EXACT,
    ),
)


#: What :func:`is_good_news` searches for (the scan's compiled pass prefilters on it).
GOOD_NEWS = _ZERO


def is_good_news(line: str) -> bool:
    """True when a line's error words only report that nothing failed."""
    return bool(_ZERO.search(line))
