"""Matching known causes against a log: pure, picklable, compiled once per process.

Speed: a catalogue of hundreds of regexes must not slow a triage. Each indication gets a
*required literal*, a substring every match contains (extracted from the regex source).
One vectorised pass over the log (numpy) records which byte 4-grams occur in it (hashed into
a 4 Mi-entry table); an indication whose literal has a 4-gram absent from the log is skipped
without touching the text (trigrams were too weak a filter: a 10k-line log holds nearly all
common English trigrams). For the few that remain, the literal is searched in the
(ASCII-)lower-cased log, and a single-line regex runs only on the lines that hold it.
Most indications never run at all. Measured on a 10,000-line log: see ``bench/kb_retrieval.py``.
"""

from __future__ import annotations

import bisect
import functools
import re
from typing import TYPE_CHECKING, Final, NamedTuple

import numpy as np

from ._model import CauseMatch

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from numpy.typing import NDArray

    from ._model import Cause, Indication

__all__ = ["compile_indication", "match_causes", "required_literal"]

# Evidence kept per cause: enough to point at the failure, bounded for a log of repeats.
_MAX_EVIDENCE: Final = 20
# Literals shorter than this reject too few logs to be worth the search, and have no 4-gram.
_MIN_LITERAL: Final = 4
# 4-gram filter: codes are hashed (Fibonacci hashing) into 2**22 slots. A 10k-line log has
# ~10^5 distinct 4-grams, so a slot is falsely "present" ~2% of the time; a literal is let
# through falsely only if all its 4-grams are.
_TABLE_BITS: Final = 22
_HASH_MUL: Final = 2654435761
# Below this size a plain substring search per literal is cheaper than building the table.
_MIN_TABLE_BYTES: Final = 1 << 16
# Multi-line indications run on windows of this many lines around each occurrence of their
# literal (a match must start at most this far before it), not on the whole log.
_WINDOW_LINES: Final = 50
_PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")
# Escapes that stand for one literal character.
_ESCAPED_LITERAL: Final = frozenset(r".^$*+?{}[]()|\/-#&~ '\"=:;,!@%<>`")


class CompiledIndication(NamedTuple):
    """A compiled indication and its prefilter (lower-case literal, its 4-gram slots)."""

    regex: re.Pattern[str]
    literal: str
    multiline: bool
    needle: bytes
    slots: tuple[int, ...]


def _slot(code: int) -> int:
    return ((code * _HASH_MUL) & 0xFFFFFFFF) >> (32 - _TABLE_BITS)


def _slots(data: bytes) -> tuple[int, ...]:
    """Table slots of the 4-grams of ``data`` (little-endian codes, as :class:`_Log` makes)."""
    return tuple(
        sorted({_slot(int.from_bytes(data[i : i + 4], "little")) for i in range(len(data) - 3)})
    )


def _structure(pattern: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """Yield ``(index, char, group depth after it)`` for characters outside escapes and sets.

    One scanner for both questions below, so they agree on what ``\\(`` or ``[]()]`` mean.
    """
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1  # "[]...]": a leading "]" is literal
        else:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            yield i, ch, depth
        i += 1


def _top_level_alternation(pattern: str) -> bool:
    return any(ch == "|" and depth == 0 for _, ch, depth in _structure(pattern))


def _skip_group(pattern: str, i: int) -> int:
    """Index after the group that opens at ``pattern[i] == "("``."""
    for j, ch, depth in _structure(pattern, i):
        if ch == ")" and depth == 0:
            return j + 1
    return len(pattern)


def required_literal(pattern: str) -> str:
    """The longest run of plain characters that every match of ``pattern`` contains.

    Conservative: returns ``""`` (no prefilter) whenever unsure: a top-level ``|``, verbose
    mode, or no run of at least three characters. Groups are skipped (their content may be
    optional or an alternation); a quantifier that allows zero repeats drops the character
    before it.

    Args:
        pattern: A Python regex source.

    Returns:
        A lower-case string; a case-insensitive search for it in the text precedes the regex.
    """
    if _top_level_alternation(pattern):
        return ""
    flags = re.match(r"\(\?([aiLmsux]+)\)", pattern)
    if flags:
        if "x" in flags.group(1):
            return ""
        pattern = pattern[flags.end() :]
    runs: list[str] = []
    run: list[str] = []

    def cut() -> None:
        if run:
            runs.append("".join(run))
            run.clear()

    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt and nxt in _ESCAPED_LITERAL:
                run.append(nxt)
            elif nxt == "t":
                run.append("\t")
            else:
                cut()
            i += 2
        elif ch == "(":
            cut()
            i = _skip_group(pattern, i)
        elif ch == "[":
            cut()
            j = i + 1
            if pattern[j : j + 1] == "^":
                j += 1
            if pattern[j : j + 1] == "]":
                j += 1
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
        elif ch in "?*":
            if run:
                run.pop()  # the previous character may be absent
            cut()
            i += 1
        elif ch == "{":
            if run and not re.match(r"\{[1-9]", pattern[i:]):
                run.pop()  # {0,n}: may be absent
            cut()
            i = pattern.find("}", i) + 1 or len(pattern)
        elif ch in "+.^$)":
            cut()
            i += 1
        else:
            run.append(ch)
            i += 1
    cut()
    best = max(runs, key=len, default="")
    return best.lower() if len(best) >= _MIN_LITERAL else ""


@functools.lru_cache(maxsize=8192)
def _compile(pattern: str, multiline: bool) -> CompiledIndication:
    flags = re.MULTILINE if multiline else 0
    literal = required_literal(pattern)
    # The log is lower-cased for ASCII only (bytes.lower), so only an ASCII literal can be
    # compared with it; a literal with other letters runs without prefilter.
    if not literal.isascii():
        literal = ""
    needle = literal.encode()
    return CompiledIndication(
        re.compile(pattern, flags), literal, multiline, needle, _slots(needle)
    )


def compile_indication(indication: Indication) -> CompiledIndication:
    """Compile ``indication`` once per process (cached by pattern).

    Raises:
        re.error: The pattern is not a valid regex.
    """
    return _compile(indication.pattern, indication.multiline)


class _Log:
    """A log prepared once for all indications: joined, lower-cased bytes, 4-grams."""

    __slots__ = ("_char_starts", "_found", "_present", "data", "lines", "newlines", "text")

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.text = "\n".join(lines)
        # bytes.lower() folds ASCII only: fast, and byte offsets stay aligned with the text.
        self.data = self.text.encode("utf-8", "surrogatepass").lower()
        arr: NDArray[np.uint8] = np.frombuffer(self.data, dtype=np.uint8)
        self.newlines: NDArray[np.intp] = np.flatnonzero(arr == 10)
        self._present: NDArray[np.bool_] | None = None
        if arr.shape[0] >= _MIN_TABLE_BYTES:
            present = np.zeros(1 << _TABLE_BITS, dtype=np.bool_)
            # The 4-grams starting at offsets k, k+4, k+8... are the little-endian uint32
            # words of the buffer shifted by k: four zero-copy views cover every position.
            for k in range(4):
                count = (arr.shape[0] - k) // 4
                codes = np.frombuffer(self.data, dtype="<u4", offset=k, count=count)
                slots = codes * np.uint32(_HASH_MUL)  # wraps modulo 2**32, as _slot() does
                slots >>= np.uint32(32 - _TABLE_BITS)
                present[slots] = True
            self._present = present
        self._char_starts: list[int] | None = None
        # Lines holding each needle searched so far: indications share literals ("failed").
        self._found: dict[bytes, list[int]] = {}

    def may_contain(self, ind: CompiledIndication) -> bool:
        """False when the log surely lacks the indication's literal (a 4-gram is missing)."""
        present = self._present
        if present is not None and not all(present[t] for t in ind.slots):
            return False
        return bool(self.candidate_lines(ind.needle))

    def line_of_byte(self, offset: int) -> int:
        """0-based line index holding byte ``offset`` of ``data``."""
        return int(np.searchsorted(self.newlines, offset, side="left"))

    def char_starts(self) -> list[int]:
        """Character offset of each line's start in ``text``, plus one past the end."""
        if self._char_starts is None:
            lengths = np.fromiter(map(len, self.lines), dtype=np.int64, count=len(self.lines))
            self._char_starts = [0, *np.cumsum(lengths + 1).tolist()]
        return self._char_starts

    def line_of_char(self, offset: int) -> int:
        """0-based line index holding character ``offset`` of ``text``."""
        if len(self.data) == len(self.text):
            # ASCII (the usual log): characters and bytes share offsets.
            return self.line_of_byte(offset)
        return bisect.bisect_right(self.char_starts(), offset) - 1

    def windows(self, needle: bytes, radius: int) -> list[tuple[int, int]]:
        """Character ranges of ``text`` within ``radius`` lines of each line holding ``needle``.

        Overlapping ranges are merged; without a needle, the whole text is one range.
        """
        if not needle:
            return [(0, len(self.text))]
        last_line = len(self.lines) - 1
        merged: list[list[int]] = []
        for n in self.candidate_lines(needle):
            lo, hi = max(0, n - radius), min(last_line, n + radius)
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return [(self.line_start(lo), self.line_start(hi + 1) - 1) for lo, hi in merged]

    def line_start(self, n: int) -> int:
        """Character offset of line ``n`` (0-based) in ``text``; ``len(text) + 1`` past the end."""
        if len(self.data) != len(self.text):
            return self.char_starts()[n]
        if n == 0:
            return 0
        if n - 1 < self.newlines.shape[0]:
            return int(self.newlines[n - 1]) + 1
        return len(self.text) + 1

    def candidate_lines(self, needle: bytes) -> Sequence[int]:
        """Indexes of lines holding ``needle`` (every line when it is empty), cached."""
        if not needle:
            return range(len(self.lines))
        found = self._found.get(needle)
        if found is None:
            found = []
            pos = self.data.find(needle)
            while pos >= 0:
                n = self.line_of_byte(pos)
                found.append(n)
                end = int(self.newlines[n]) + 1 if n < self.newlines.shape[0] else len(self.data)
                pos = self.data.find(needle, end)
            self._found[needle] = found
        return found


def _fill(description: str, match: re.Match[str]) -> str:
    groups = {str(n): g for n, g in enumerate(match.groups(), 1) if g is not None}
    groups.update({k: v for k, v in match.groupdict().items() if v is not None})

    # Not str.format: a description is user data and must not reach attributes or indexes.
    def sub(m: re.Match[str]) -> str:
        return groups.get(m.group(1), m.group(0))

    return _PLACEHOLDER.sub(sub, description)


def _match_one(log: _Log, ind: CompiledIndication) -> list[tuple[int, int, re.Match[str]]]:
    if ind.literal and not log.may_contain(ind):
        return []
    found: list[tuple[int, int, re.Match[str]]] = []
    if ind.multiline:
        seen: set[int] = set()
        for start, end in log.windows(ind.needle, _WINDOW_LINES):
            for m in ind.regex.finditer(log.text, start, end):
                if m.start() in seen:
                    continue
                seen.add(m.start())
                first = log.line_of_char(m.start())
                last = log.line_of_char(max(m.start(), m.end() - 1))
                found.append((first + 1, last + 1, m))
                if len(found) >= _MAX_EVIDENCE:
                    return found
        return found
    for n in log.candidate_lines(ind.needle):
        hit = ind.regex.search(log.lines[n])
        if hit is not None:
            found.append((n + 1, n + 1, hit))
            if len(found) >= _MAX_EVIDENCE:
                break
    return found


def match_causes(lines: Sequence[str], causes: Iterable[Cause]) -> list[CauseMatch]:
    """Find the known causes whose indications match ``lines``.

    Pure and picklable (causes are plain data; compiled regexes stay in a per-process
    cache), so a ``cpu`` worker can run it on its chunk. Evidence line numbers are relative
    to ``lines``: a worker matching a chunk adds the chunk's first line number.

    Args:
        lines: Log lines without line ends (ANSI already stripped by ingest).
        causes: The catalogue.

    Returns:
        One match per matching cause, ordered by first evidence line, then name. Evidence
        ranges are 1-based, inclusive, sorted and deduplicated (at most 20 per cause).

    Raises:
        re.error: An indication is not a valid regex (the store validates on ``add``).
    """
    log = _Log(lines)
    matches: list[CauseMatch] = []
    for cause in causes:
        hits: list[tuple[int, int, re.Match[str]]] = []
        for indication in cause.indications:
            hits.extend(_match_one(log, compile_indication(indication)))
        if not hits:
            continue
        hits.sort(key=lambda h: (h[0], h[1]))
        evidence = tuple(dict.fromkeys((a, b) for a, b, _ in hits))[:_MAX_EVIDENCE]
        matches.append(
            CauseMatch(
                name=cause.name,
                category=cause.category,
                description=_fill(cause.description, hits[0][2]),
                fix=cause.fix,
                links=cause.links,
                evidence=evidence,
            )
        )
    matches.sort(key=lambda m: (m.evidence[0], m.name))
    return matches
