"""The triage headline (one line from the verdict, analysis and top finding) and escaping.

The whole terminal summary is :mod:`._terminal`'s; this module's pieces are shared with it.

Log text is untrusted: control characters are shown escaped, so a log cannot move the
cursor, retitle the terminal or write the clipboard (OSC 52) through juggler's output.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Final

#: Findings the terminal shows by default (``--top``): enough to see the cause, few enough to
#: read at once.
DEFAULT_TOP: Final = 3
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every control character but tab and newline written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def failing_count(analysis: dict[str, Any]) -> int:
    """How many tests failed: the runner's own count when it printed one, else those named."""
    tests = analysis.get("failing_tests") or []
    counts = analysis.get("test_counts") or {}
    counted = counts.get("failed") if isinstance(counts, dict) else None
    return counted if isinstance(counted, int) and counted > 0 else len(tests)


def verdict_of(document: dict[str, Any]) -> str:
    """``failed``, ``passed`` or ``unknown`` (documents from before verdicts: from findings)."""
    analysis = document.get("analysis", {})
    verdict = analysis.get("verdict")
    if verdict in ("failed", "passed", "unknown"):
        return str(verdict)
    return "failed" if document.get("findings") else "unknown"


def _evidence(analysis: dict[str, Any]) -> str:
    items = analysis.get("verdict_evidence") or []
    if not items:
        return ""
    first = items[0]
    text, line = first.get("text") or first.get("reason") or "", first.get("line")
    return f"{text} (line {line})" if line else str(text)


def headline(document: dict[str, Any]) -> str:
    """One line saying how the build ended and what matters most, from verdict and findings."""
    findings = document.get("findings", [])
    analysis = document.get("analysis", {})
    verdict = verdict_of(document)
    top = (
        f"top finding: {findings[0]['title']} ({findings[0]['path']}:{findings[0]['line_start']})"
        if findings
        else ""
    )
    if verdict == "passed":
        parts = [f"Build passed: {_evidence(analysis)}" if _evidence(analysis) else "Build passed"]
        if findings:
            parts.append(f"{len(findings)} finding(s) worth a look, {top}")
        return printable("; ".join(parts))
    if verdict == "unknown":
        if not findings:
            return "No failure found in the logs."
        return printable(f"Build status unknown (no exit status or test result found); {top}")
    step = analysis.get("failed_step")
    parts = [f"Build failed in step {step!r}" if step else "Build failed"]
    failing = failing_count(analysis)
    if failing:
        parts.append(f"{failing} failing test(s)")
    if top:
        parts.append(top)
    elif _evidence(analysis):
        parts.append(_evidence(analysis))
    return printable(": ".join(parts[:1]) + (": " + "; ".join(parts[1:]) if parts[1:] else ""))


def summary(document: dict[str, Any], *, top: int = DEFAULT_TOP, color: bool | None = None) -> str:
    """The terminal summary (:func:`._terminal.terminal_summary`).

    Args:
        document: The triage document.
        top: How many findings to show.
        color: ANSI colours; by default only when stdout is a terminal and ``NO_COLOR`` unset.
    """
    from ._terminal import terminal_summary, wants_color  # they build on this module

    shown = wants_color(sys.stdout) if color is None else color
    return terminal_summary(document, top=top, color=shown)
