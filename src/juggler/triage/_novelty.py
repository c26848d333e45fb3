"""Which findings are new against the passing baseline, judged by the lines that tell.

A line absent from the baseline is not news in itself: a failing run prints banners ("====
short test summary info ===="), progress ("......F...F [ 62%]") and CI bookkeeping that a
passing run does not, and none of them says what broke. A finding is new when one of its
*telling* lines (an error message, an assertion, a stack frame) is absent from the baseline.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

# "==== FAILURES ====", "____ test_x ____", "-----", "*** ... ***": rules around a few words.
_RULE_CHARS: Final = "=-_*#~+<>"
_RULE_RUN: Final = re.compile(r"([=\-_*#~+<>])\1{3,}")
# Progress: a percentage ("[ 62%]", "(22.7%)", "45%|####"), or a run of test-status letters.
_PROGRESS: Final = re.compile(r"\d{1,3}(?:\.\d+)?\s?%|(?:^|\s)[.FEsxXP]{5,}(?:\s|$)")
# CI markup and the runner's own bookkeeping.
_CI_MARKUP: Final = re.compile(
    r"^(?:##\[(?!error)\w+\]|Post job cleanup\.?$|Cleaning up orphan processes$|"
    r"Post Run |Complete job$)"
)


def is_telling(text: str) -> bool:
    """Whether a visible log line can say what broke (not blank, banner, progress, markup)."""
    stripped = text.strip()
    if not stripped:
        return False
    if _CI_MARKUP.match(stripped) or _PROGRESS.search(stripped):
        return False
    if _RULE_RUN.search(stripped):
        words = stripped.strip(_RULE_CHARS + " ")
        # A rule around a short title is a banner; a long message with "---" in it is not.
        if len(words) <= 60 and not any(ch in words for ch in ":()'\""):
            return False
    return True


def mark_novelty(findings: Iterable[dict[str, Any]], novel_lines: Collection[int] | None) -> None:
    """Set each finding's ``novel`` flag; leave findings alone without a baseline.

    Args:
        findings: Findings of one log (``line_start``, ``line_end``, ``excerpt``).
        novel_lines: The log's lines whose keys never occur in the baseline (those the scan
            kept), or ``None`` when no baseline was given.
    """
    if novel_lines is None:
        return
    for finding in findings:
        start = finding["line_start"]
        lines = str(finding.get("excerpt", "")).split("\n")
        finding["novel"] = any(
            start + offset in novel_lines and is_telling(text)
            for offset, text in enumerate(lines)
            if start + offset <= finding["line_end"]
        )
