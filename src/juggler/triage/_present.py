"""The human-readable triage summary for a terminal: headline, then the top findings.

Log text is untrusted: control characters are shown escaped, so a log cannot move the
cursor, retitle the terminal or write the clipboard (OSC 52) through juggler's output.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SHOWN = 5
_EXCERPT_LINES = 8


def printable(text: str) -> str:
    """``text`` with every control character but tab and newline written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def headline(document: dict[str, Any]) -> str:
    """One line saying what failed, from the analysis and the top finding."""
    findings = document.get("findings", [])
    analysis = document.get("analysis", {})
    if not findings:
        return "No failure found in the logs."
    step = analysis.get("failed_step")
    tests = analysis.get("failing_tests") or []
    first = findings[0]
    parts = [f"Build failed in step {step!r}" if step else "Build failed"]
    if tests:
        parts.append(f"{len(tests)} failing test(s)")
    parts.append(f"top finding: {first['title']} ({first['path']}:{first['line_start']})")
    return printable(": ".join(parts[:1]) + (": " + "; ".join(parts[1:]) if parts[1:] else ""))


def summary(document: dict[str, Any]) -> str:
    """The whole terminal summary as plain text."""
    out = [headline(document), ""]
    for finding in document.get("findings", [])[:_SHOWN]:
        where = f"{finding['path']}:{finding['line_start']}-{finding['line_end']}"
        out.append(
            printable(f"#{finding['rank']} [{finding['kind']}] {finding['title']}  ({where})")
        )
        lines = finding["excerpt"].split("\n")
        for offset, line in enumerate(lines[:_EXCERPT_LINES]):
            out.append(f"    {finding['line_start'] + offset:>6} | {printable(line)}")
        if len(lines) > _EXCERPT_LINES:
            out.append(f"           ... {len(lines) - _EXCERPT_LINES} more line(s)")
        out.append("")
    out.extend(
        printable(f"skipped {refused['reason']}") for refused in document.get("rejected_inputs", [])
    )
    return "\n".join(out).rstrip() + "\n"
