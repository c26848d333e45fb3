"""The small rule language every detector family is written in.

A :class:`Rule` says how to recognise the head line of a block (a cheap lowercase substring
to pre-filter on, then a regex) and how far the block runs (an *extender*). Families are
tuples of rules in their own modules; :mod:`._scan` runs them all in one pass over the log.
Regexes are compiled once, at import, and a rule never depends on anything but the lines,
so a hit is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: Given the visible lines and the 0-based index of a head line, return the 0-based index
#: of the block's last line.
Extender = Callable[[list[str], int], int]

_INDENT = re.compile(r"^[ \t]*")


def indent_of(line: str) -> int:
    """Width of a line's leading whitespace, a tab counting as four."""
    lead = _INDENT.match(line)
    return len(lead.group(0).replace("\t", "    ")) if lead else 0


def single(lines: list[str], i: int) -> int:
    """The block is the head line alone."""
    return i


def indented(max_lines: int = 40, *, also: str | None = None) -> Extender:
    """Extend over lines indented deeper than the head, allowing single blank lines.

    Args:
        max_lines: Hard cap on the block length, head included.
        also: A regex for lines that continue the block whatever their indentation
            (``Caused by:`` in a Java stack, ``E   `` in pytest output).
    """
    also_re = re.compile(also) if also else None

    def extend(lines: list[str], i: int) -> int:
        base = indent_of(lines[i])
        last = i
        j = i + 1
        limit = min(len(lines), i + max_lines)
        while j < limit:
            line = lines[j]
            if not line.strip():
                # A blank line belongs to the block only when the block resumes after it.
                if (
                    j + 1 < limit
                    and lines[j + 1].strip()
                    and _continues(lines[j + 1], base, also_re)
                ):
                    j += 1
                    continue
                break
            if not _continues(line, base, also_re):
                break
            last = j
            j += 1
        return last

    return extend


def _continues(line: str, base: int, also_re: re.Pattern[str] | None) -> bool:
    return indent_of(line) > base or bool(also_re and also_re.match(line))


def prefixed(prefix: str, max_lines: int = 40, *, stop: str | None = None) -> Extender:
    """Extend while lines match ``prefix`` (``[ERROR]``, ``npm ERR!``), up to ``max_lines``."""
    prefix_re = re.compile(prefix)
    stop_re = re.compile(stop) if stop else None

    def extend(lines: list[str], i: int) -> int:
        last = i
        limit = min(len(lines), i + max_lines)
        for j in range(i + 1, limit):
            if not prefix_re.match(lines[j]) or (stop_re and stop_re.search(lines[j])):
                break
            last = j
        return last

    return extend


def until_blank(max_lines: int = 20) -> Extender:
    """Extend up to (not including) the next blank line."""

    def extend(lines: list[str], i: int) -> int:
        last = i
        for j in range(i + 1, min(len(lines), i + max_lines)):
            if not lines[j].strip():
                break
            last = j
        return last

    return extend


def upto(end: str, max_lines: int = 40, *, include: bool = True) -> Extender:
    """Extend until a line matches ``end`` (kept when ``include``), or ``max_lines``."""
    end_re = re.compile(end)

    def extend(lines: list[str], i: int) -> int:
        limit = min(len(lines), i + max_lines)
        for j in range(i + 1, limit):
            if end_re.search(lines[j]):
                return j if include else max(i, j - 1)
        return limit - 1

    return extend


def fixed(count: int) -> Extender:
    """The head and the ``count`` lines after it (fewer at the end of the log)."""

    def extend(lines: list[str], i: int) -> int:
        return min(len(lines) - 1, i + count)

    return extend


def chain(first: Extender, then: Extender) -> Extender:
    """Run ``first``, then continue with ``then`` from where it stopped."""

    def extend(lines: list[str], i: int) -> int:
        return then(lines, first(lines, i))

    return extend


@dataclass(frozen=True, slots=True)
class Rule:
    """How to find one kind of block.

    Attributes:
        family: Family name recorded on the hit (``"gcc"``, ``"pytest"``).
        kind: Coarse kind for the JSON contract (see ``_model.KINDS``).
        severity: Base severity of the block, 0..1.
        needles: Lowercase substrings of which at least one must occur in the lowercased
            line before the regex is tried; they keep a 100k-line log cheap.
        pattern: The head-line regex, tried with ``search`` on the visible line.
        extend: Extender giving the block's end.
        back: How many lines before the head may join the block when they match ``before``.
        before: Regex for leading context lines (``In file included from``).
        confidence: How reliable the pattern is.
        test_group: Name of the regex group holding a failing test's name, if any.
        exact: The same regex for Hyperscan, which reads no lookarounds: it must match on
            exactly the lines ``pattern`` finds (printable ASCII, which is all the compiled
            pass judges), only on lines that hold a needle, and never across a line break.
            If it ends in ``$`` it must run to the line's end; else it is given ``[^\n]*$``.
            With it, the pass's report is the answer: neither the needles nor the regex are
            tried again (tests check that the forms agree). Worth it for rules that many
            lines of many logs set off.
    """

    family: str
    kind: str
    severity: float
    needles: tuple[str, ...]
    pattern: re.Pattern[str]
    extend: Extender = single
    back: int = 0
    before: re.Pattern[str] | None = None
    confidence: float = 0.9
    test_group: str | None = None
    exact: str | None = None


def rule(
    family: str,
    kind: str,
    severity: float,
    needles: str | tuple[str, ...],
    pattern: str,
    extend: Extender = single,
    *,
    flags: int = 0,
    back: int = 0,
    before: str | None = None,
    confidence: float = 0.9,
    test_group: str | None = None,
    exact: str | None = None,
) -> Rule:
    """Build a :class:`Rule`, compiling its regexes once."""
    return Rule(
        family=family,
        kind=kind,
        severity=severity,
        needles=(needles,) if isinstance(needles, str) else needles,
        pattern=re.compile(pattern, flags),
        extend=extend,
        back=back,
        before=re.compile(before) if before else None,
        confidence=confidence,
        test_group=test_group,
        exact=exact,
    )
