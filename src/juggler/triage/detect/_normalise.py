"""Turn raw decoded log lines into the text a reader sees.

The real ingest strips ANSI and timestamps before the scrape stage; detectors still run this
cheap pass themselves so they give the same answer on raw input (tests, the eval entry point)
and on already-cleaned input (where it is a no-op). Line numbering never changes: one input
line gives exactly one output line.
"""

from __future__ import annotations

import re

from .._trie import lines_matching

# CSI sequences (colours, erase-line), OSC titles, and lone charset/keypad switches.
_ANSI = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>])"
)
# GitHub Actions raw logs prefix every line with an ISO-8601 timestamp; Jenkins' timestamper
# writes it in brackets.
_ISO_PREFIX = re.compile(r"^\ufeff?\[?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\]? ?")
# GitHub Actions logs downloaded per job: "job<TAB>step<TAB>timestamp text".
_JOB_STEP_PREFIX = re.compile(r"^[^\t]+\t[^\t]+\t\ufeff?\d{4}-\d\d-\d\dT[\d:.]+Z ?")
# Wall-clock prefixes in brackets: "[12:34:56] " (gulp, Jenkins timestamper's short form).
_CLOCK_PREFIX = re.compile(r"^\[\d\d:\d\d:\d\d(?:\.\d+)?\] ")
_MARKERS = ("travis_fold:", "travis_time:", "section_start:", "section_end:")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def visible(line: str) -> str:
    """The text a terminal would finally show for one raw line.

    A carriage return inside a line means the tool redrew it (progress bars, Travis fold
    markers), so only the last non-empty segment is what a reader saw.

    Args:
        line: One raw line, without its ``\\n``.

    Returns:
        The line without ANSI escapes, control characters, timestamp prefix or overwritten
        segments.
    """
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if line.endswith("\r"):
        # CRLF line ends (Windows tools, many CI logs) are not redraws: drop the ending
        # here, so such lines skip the split below.
        line = line.rstrip("\r")
    if "\r" in line or line.startswith(_MARKERS):
        # CI web views hide their own fold/timer/section markers; so do we.
        parts = [p for p in line.split("\r") if p.strip() and not p.startswith(_MARKERS)]
        line = parts[-1] if parts else ""
    first = line[:1]
    if first.isdigit() or first == "\ufeff":
        line = _ISO_PREFIX.sub("", line, count=1)
    elif first == "[" and line[1:2].isdigit():
        line = _CLOCK_PREFIX.sub("", _ISO_PREFIX.sub("", line, count=1), count=1)
    elif "\t" in line:
        line = _JOB_STEP_PREFIX.sub("", line, count=1)
    if _CONTROL.search(line):
        line = _CONTROL.sub("", line)
    return line.rstrip()


# The lines that :func:`visible` may change beyond trailing white space (a superset: it is
# exact on any line): escapes and control characters, a carriage return inside a line, a
# CI marker or a timestamp at its start, or two tabs (a job/step prefix). Separate patterns,
# as each starts with a character or a class that ``re`` skips to fast; one alternation of
# them searched a chunk at a fifth of the speed.
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x1b]")
_CHANGED_START = (
    r"\ufeff|\[\d|\d{4}-\d\d-\d\dT|travis_fold:|travis_time:|section_start:|section_end:"
)
_NEEDS_WORK = (
    re.compile(r"\r(?!\n|\Z)"),
    re.compile(r"\t[^\t\n]*\t"),
    # The first line, then every other (a break, which ``re`` skips to fast, then the start).
    re.compile(rf"^(?:{_CHANGED_START})"),
    re.compile(rf"\n(?:{_CHANGED_START})"),
)
# Every byte but the control characters above (UTF-8 writes no byte below 0x80 inside a
# multi-byte character): what is left after deleting these says whether any control is there.
_NOT_CONTROL = bytes(b for b in range(256) if not _CONTROL_CHAR.match(chr(b)))


def visible_lines(lines: list[str]) -> list[str]:
    """Apply :func:`visible` to every line, keeping the numbering.

    One search per pattern over the chunk finds the lines that need :func:`visible`'s work;
    the others (most lines of most logs) only lose their trailing white space.
    """
    out = list(map(str.rstrip, lines))
    joined = "\n".join(lines)
    patterns: tuple[re.Pattern[str], ...] = _NEEDS_WORK
    # A control character is rare; deleting every other byte at C speed tells whether one
    # is there four times faster than a search for one.
    if joined.encode("utf-8", "surrogatepass").translate(None, _NOT_CONTROL):
        patterns = (_CONTROL_CHAR, *patterns)
    for index in lines_matching(lines, *patterns, joined=joined):
        out[index] = visible(lines[index])
    return out


def strip_ansi(line: str) -> str:
    """Remove ANSI escapes and control characters but keep carriage-return segments."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    return line


def timestamp_prefix(line: str) -> str | None:
    """The ISO-8601 timestamp a GitHub Actions raw log puts before a line, if any."""
    match = _ISO_PREFIX.match(line)
    return match.group(0).strip().strip("\ufeff[]") if match else None
