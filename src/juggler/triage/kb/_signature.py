"""The signature of a failure: what stays the same when the same failure comes back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._mask import mask
from ._model import Signature

__all__ = ["signature_of", "signature_of_lines"]

# Findings kept: the top few carry the cause; lower ranks are mostly noise that differs
# from run to run and would dilute similarity.
_TOP_FINDINGS: Final = 3
# Bounds on the stored document, so that one huge excerpt cannot dominate the index.
_MAX_TEMPLATES: Final = 60
_MAX_TEMPLATE_CHARS: Final = 300
_MAX_TESTS: Final = 20


def _has_words(template: str) -> bool:
    return any(ch.isalpha() for ch in template.replace("<*>", ""))


def signature_of_lines(
    lines: list[str],
    *,
    failed_step: str = "",
    failing_tests: list[str] | tuple[str, ...] = (),
    kinds: list[str] | tuple[str, ...] = (),
) -> Signature:
    """A signature from raw excerpt lines (used by :func:`signature_of` and the CLI).

    Lines are masked, lines without a letter dropped, duplicates removed (first kept), and
    at most 60 templates of at most 300 characters kept.
    """
    templates: dict[str, None] = {}
    for line in lines:
        template = mask(line)[:_MAX_TEMPLATE_CHARS].strip()
        if template and _has_words(template):
            templates.setdefault(template)
            if len(templates) >= _MAX_TEMPLATES:
                break
    return Signature(
        templates=tuple(templates),
        failed_step=mask(failed_step).strip() if failed_step else "",
        failing_tests=tuple(sorted(set(failing_tests)))[:_MAX_TESTS],
        kinds=tuple(dict.fromkeys(kinds)),
    )


def _rank_of(finding: Mapping[str, object]) -> int:
    rank = finding.get("rank")
    return rank if isinstance(rank, int) else 1 << 30


def signature_of(triage: Mapping[str, object], *, top: int = _TOP_FINDINGS) -> Signature:
    """The signature of a triage result (the ``juggler triage --json`` document).

    Args:
        triage: ``{"findings": [{"rank", "excerpt", "kind", ...}], "analysis": {...}}``;
            missing or malformed parts are treated as empty (a signature is best effort).
        top: How many of the best-ranked findings to keep.

    Returns:
        Masked templates of the top findings' excerpts, the failing step, the failing tests
        and the findings' kinds.
    """
    raw_findings = triage.get("findings")
    findings = (
        [f for f in raw_findings if isinstance(f, Mapping)]
        if isinstance(raw_findings, list)
        else []
    )
    findings.sort(key=_rank_of)
    lines: list[str] = []
    kinds: list[str] = []
    for finding in findings[:top]:
        excerpt = finding.get("excerpt")
        if isinstance(excerpt, str):
            lines.extend(excerpt.split("\n"))
        kind = finding.get("kind")
        if isinstance(kind, str) and kind:
            kinds.append(kind)
    analysis = triage.get("analysis")
    step = ""
    tests: list[str] = []
    if isinstance(analysis, Mapping):
        raw_step = analysis.get("failed_step")
        step = raw_step if isinstance(raw_step, str) else ""
        raw_tests = analysis.get("failing_tests")
        if isinstance(raw_tests, list):
            tests = [t for t in raw_tests if isinstance(t, str)]
    return signature_of_lines(lines, failed_step=step, failing_tests=tests, kinds=kinds)
