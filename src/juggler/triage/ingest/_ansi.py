"""Cleaning one log line: terminal escapes, carriage-return overwrites, CI timestamps.

Cleaning never joins or drops lines, so a cleaned line keeps its original line number.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["clean_line", "needs_cleaning"]

# ECMA-48 escapes: CSI (colours, cursor moves), OSC (titles, hyperlinks, OSC 52 clipboard)
# ended by BEL or ST, other string commands (DCS, SOS, PM, APC), and two-byte escapes.
_ESCAPE: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# Control characters other than tab, once escapes are gone (a lone ESC, NUL, BEL, DEL...).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# GitHub Actions prefixes every line with its ISO-8601 UTC time and a space.
_ACTIONS_TIME: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
# What clean_line removes from a text of several lines: escapes, CRs and other control
# characters (not the line feeds), and CI timestamps at line starts (checked separately).
_CONTROLS: Final = dict.fromkeys([*range(0x09), *range(0x0B, 0x20), 0x7F, 0x9B])
_TIMESTAMP_AFTER_NEWLINE: Final = re.compile(r"\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def needs_cleaning(text: str) -> bool:
    """False if :func:`clean_line` would leave every line of ``text`` unchanged.

    A few C-speed passes over the whole text, so that clean logs skip the per-line work.
    """
    return (
        len(text.translate(_CONTROLS)) != len(text)
        or _ACTIONS_TIME.match(text) is not None
        or _TIMESTAMP_AFTER_NEWLINE.search(text) is not None
    )


def clean_line(line: str) -> str:
    """Return ``line`` as a reader of the CI page would see it.

    * A GitHub Actions timestamp prefix (``2024-05-01T10:00:00.1234567Z ``) is removed.
    * ANSI/VT escape sequences are removed, then other control characters.
    * Carriage returns overwrite: only the last non-empty segment is kept, as progress
      bars (``10%\\r50%\\r100%``) end up showing their last state.

    Args:
        line: One line, without its ``\\n``; a trailing ``\\r`` (CRLF files) is dropped.

    Returns:
        The cleaned line (possibly empty).
    """
    if line and line[0].isdigit():
        match = _ACTIONS_TIME.match(line)
        if match:
            line = line[match.end() :]
    if "\x1b" in line or "\x9b" in line:
        line = _ESCAPE.sub("", line)
    if "\r" in line:
        segments = [seg for seg in line.split("\r") if seg]
        line = segments[-1] if segments else ""
    if not line.isprintable():
        line = _CONTROL.sub("", line)
    return line
