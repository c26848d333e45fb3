"""Python: tracebacks, pytest and unittest failures and summaries."""

from __future__ import annotations

import re

from ._rules import Extender, indented, prefixed, rule, upto

# An exception line closes a traceback: ``ValueError: bad``, ``pkg.Error``, ``KeyboardInterrupt``.
_EXC_LINE = re.compile(
    r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Fault)\b"
)


def _traceback(lines: list[str], i: int) -> int:
    """From ``Traceback (most recent call last):`` to the exception line and its message."""
    base = len(lines[i]) - len(lines[i].lstrip())
    limit = min(len(lines), i + 200)
    j = i + 1
    while j < limit:
        line = lines[j]
        stripped = line.lstrip()
        depth = len(line) - len(stripped)
        if depth > base or not stripped:
            j += 1
            continue
        if _EXC_LINE.match(stripped) or ":" in stripped:
            # The exception line, plus an indented continuation of its message.
            end = j
            k = j + 1
            while k < limit and lines[k].startswith((" ", "\t")) and lines[k].strip():
                end = k
                k += 1
            return end
        return j - 1
    return limit - 1


_PYTEST_SECTION: Extender = upto(r"^(?:_{3,} .* _{3,}|={3,} )", 80, include=False)

RULES = (
    rule(
        "python.traceback",
        "exception",
        0.85,
        "traceback (most recent call last)",
        r"^\s*Traceback \(most recent call last\):",
        _traceback,
    ),
    # pytest: "____ test_name ____" opens a failure report that runs to the next rule line.
    rule(
        "pytest",
        "test_failure",
        0.85,
        "___",
        r"^_{3,} (?:ERROR collecting |ERROR at setup of |ERROR at teardown of )?"
        r"(?P<test>[\w\[\]./:-]+(?:\[[^\]]*\])?) _{3,}$",
        _PYTEST_SECTION,
        test_group="test",
    ),
    rule(
        "pytest",
        "test_failure",
        0.8,
        ("failed ", "error "),
        r"^(?:FAILED|ERROR) (?P<test>\S+::\S+)(?: - (?P<msg>.*))?$",
        test_group="test",
    ),
    rule(
        "pytest",
        "exception",
        0.7,
        "e  ",
        r"^E {2,}\S",
        prefixed(r"^E(?: |$)", 30),
    ),
    rule(
        "pytest",
        "test_failure",
        0.35,
        (" failed", " error"),
        r"^=+ (?:.*\b\d+ (?:failed|errors?)\b.*) in [\d.]+s",
    ),
    # unittest: "FAIL: test_x (pkg.Tests)" followed by a dashed rule and a traceback.
    rule(
        "unittest",
        "test_failure",
        0.85,
        ("fail: ", "error: "),
        r"^(?:FAIL|ERROR): (?P<test>\w+) \((?P<cls>[\w.]+)\)",
        upto(r"^(?:={20,}$|Ran \d+ tests? in )", 60, include=False),
        test_group="test",
    ),
    rule(
        "unittest",
        "test_failure",
        0.35,
        "failed (",
        r"^FAILED \((?:failures|errors)=\d+",
    ),
    rule(
        "python.tox",
        "build_error",
        0.5,
        ("commands failed", "invocationerror"),
        r"^(?:ERROR: +\S+: commands failed|ERROR: InvocationError)",
    ),
    rule(
        "python.syntax",
        "compile_error",
        0.8,
        'file "',
        r'^\s*File "[^"]+", line \d+$',
        indented(6, also=r"^(?:SyntaxError|IndentationError|TabError)"),
    ),
)
