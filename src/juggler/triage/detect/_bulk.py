"""The lines of a whole chunk on which a rule may fire, found in one compiled pass.

Python's ``re`` searches a multi-needle alternation at a few MB/s, far from the disk's speed.
Hyperscan scans every rule's head pattern at once, in C, over the chunk's text joined with
``\\n``: its *prefilter* mode answers a superset of each pattern's matches, so a line it does
not report cannot be won by that rule, and the scan only tries the reported (line, rule)
pairs. That makes it an exact shortcut, provided Hyperscan and ``re`` agree on what a line
can match; they do on printable ASCII (tab included), where ``\\s``, ``\\w``, ``\\d`` and
case folding mean the same to both. A line holding anything else (Unicode, control
characters) is *odd*: it is left to the plain per-line path. The scan still checks each
rule's needles and regex on every candidate, so the hits stay exactly the plain path's,
except for a rule with an ``exact`` form that Hyperscan reads as written: its report is the
answer (tests check the two forms agree).

A rule Hyperscan cannot compile stands in by its needles (caseless literals), which every
line it fires on contains.

The same pass reports, once per line, the odd lines, the lines a CI marker may be on, and
the lines that may be a test summary, so nothing else searches a big chunk for them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from . import _markers
from ._summaries import SUMMARY
from .generic import GOOD_NEWS

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._rules import Rule

_hs: Any
try:  # optional: without it the plain path scans every line
    import hyperscan

    _hs = hyperscan
except ImportError:  # pragma: no cover - the wheel is a declared dependency
    _hs = None


def _to_line_end(expression: str) -> str:
    """``expression``, then the rest of its line: Hyperscan reports a match once per line
    (at its end), not once per end offset."""
    return f"(?:{expression})[^\\n]*$"


#: Anything but printable ASCII and tab (``\\n`` joins the lines, so it is not searched).
_ODD = re.compile(r"[^\t\x20-\x7e\n]")
#: For Hyperscan: a line holding an odd character, reported once, at the line's end.
_ODD_LINE: Final = _to_line_end(_ODD.pattern).encode()
#: Syntax that may match a line break (a negated class, ``\\s``, ``\\W``, ``\\D``, an escaped
#: break): a pattern holding it is never read exactly.
_MAY_SPAN_LINES = re.compile(r"\[\^|\\[sWDn]|\n")
#: Syntax Python reads one way and Hyperscan (PCRE) another: such a rule uses its needles.
_READ_OTHERWISE = re.compile(r"\{,|\\[uUNx0-9AZ]|\[\[:")


#: Lines below which searching each line in Python costs less than the compiled pass (its
#: join, encoding and call included): callers take their plain path there.
MIN_LINES: Final = 2000


def available() -> bool:
    """True when the compiled pass can run here."""
    return _hs is not None


def _flags(pattern: re.Pattern[str]) -> int:
    assert _hs is not None
    flags: int = _hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_ALLOWEMPTY | _hs.HS_FLAG_UTF8
    flags |= _hs.HS_FLAG_PREFILTER
    if pattern.flags & re.IGNORECASE:
        flags |= _hs.HS_FLAG_CASELESS
    if pattern.flags & re.DOTALL:
        flags |= _hs.HS_FLAG_DOTALL
    return flags


def _compiles(expression: bytes, flags: int) -> bool:
    assert _hs is not None
    try:
        _hs.Database().compile(expressions=[expression], ids=[0], elements=1, flags=[flags])
    except _hs.error:
        return False
    return True


def _expression(pattern: re.Pattern[str], *, exact: bool = False) -> tuple[bytes, int] | None:
    """The pattern for Hyperscan, made to report once per line where it can, or ``None``.

    ``exact``: not as a prefilter, for a pattern whose every match lies within one line
    (``None`` when Hyperscan cannot read it exactly, or a class might span a line break).
    """
    readable = re.IGNORECASE | re.DOTALL | re.UNICODE | re.MULTILINE
    text = pattern.pattern
    if pattern.flags & ~readable or _READ_OTHERWISE.search(text):
        return None
    flags = _flags(pattern)
    if exact:
        if pattern.flags & re.DOTALL or _MAY_SPAN_LINES.search(text):
            return None
        flags &= ~_hs.HS_FLAG_PREFILTER
    # Hyperscan refuses an end anchor followed by more pattern: such a regex goes alone.
    tried = [text.encode()] if "$" in text else [_to_line_end(text).encode(), text.encode()]
    for expression in tried:
        if _compiles(expression, flags):
            return expression, flags
    return None


#: Scanned with every chunk's rules: whether a line may be good news (generic.py).
_GATES = (GOOD_NEWS,)


@lru_cache(maxsize=len(_GATES))
def _gate_expression(gate: re.Pattern[str]) -> tuple[bytes, int, bool]:
    """A gate for Hyperscan, and whether it is read exactly: exact where Hyperscan reads it
    so (then few lines need the gate's regex), else a prefilter; one it cannot read at all
    matches every line, and the scan then always checks."""
    exact = _expression(gate, exact=True)
    if exact is not None:
        return *exact, True
    compiled = _expression(gate)
    if compiled is not None:
        return *compiled, False
    return b"^", _hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_ALLOWEMPTY, False


def gate_is_exact() -> bool:
    """Whether the pass reads the good-news gate exactly: then its report on a printable
    ASCII line is the answer, and the gate's regex need not run there."""
    return _hs is not None and _gate_expression(GOOD_NEWS)[2]


def _expressions(rules: tuple[Rule, ...]) -> tuple[list[bytes], list[int], list[int]]:
    """One expression per rule (or its needles, when Hyperscan cannot read its regex), then
    one per gate, numbered after the rules."""
    assert _hs is not None
    exprs: list[bytes] = []
    ids: list[int] = []
    flags: list[int] = []
    for rid, rule in enumerate(rules):
        if rule.exact is not None:
            # Reported once per line (it may run to the line's end itself).
            exact = rule.exact if rule.exact.endswith("$") else _to_line_end(rule.exact)
            exprs.append(exact.encode())
            ids.append(rid)
            flags.append(_flags(rule.pattern) & ~_hs.HS_FLAG_PREFILTER)
            continue
        compiled = _expression(rule.pattern)
        if compiled is not None:
            exprs.append(compiled[0])
            ids.append(rid)
            flags.append(compiled[1])
            continue
        # Every line the rule fires on holds one of its needles (caseless on ASCII lines).
        for needle in rule.needles:
            exprs.append(re.escape(needle).encode())
            ids.append(rid)
            flags.append(_hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_CASELESS)
    for gid, gate in enumerate(_GATES, len(rules)):
        expression, gate_flags, _ = _gate_expression(gate)
        exprs.append(expression)
        ids.append(gid)
        flags.append(gate_flags)
    # Reported once per line at its end, in the same pass: odd lines and marker lines
    # (exact: literals), and lines that may be a test summary (a prefilter where it can).
    odd = _odd_id(rules)
    exprs += [_ODD_LINE, _marker_tells()]
    ids += [odd, odd + 1]
    flags += [_hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_UTF8] * 2
    summary = _summary_expression()
    # One Hyperscan cannot read would stand for every line: the summary search then says so.
    if summary is not None:
        exprs.append(summary[0])
        ids.append(odd + 2)
        flags.append(summary[1])
    return exprs, ids, flags


def _odd_id(rules: tuple[Rule, ...]) -> int:
    """The id an odd line is reported under: after the rules and the gates (then come the
    marker lines' and the summaries')."""
    return len(rules) + len(_GATES)


@lru_cache(maxsize=1)
def _summary_expression() -> tuple[bytes, int] | None:
    return _expression(SUMMARY)


def _marker_tells() -> bytes:
    """Lines a CI marker or build status may be on (:mod:`._marker_lines`): they start with
    one of the markers' and statuses' starts or hold one of their phrases (visible text)."""
    starts = "|".join(map(re.escape, _markers.ALL_TELL_STARTS))
    either = "|".join([f"^(?:{starts})", *map(re.escape, _markers.ALL_TELL_PHRASES)])
    return _to_line_end(either).encode()


class Reported(NamedTuple):
    """What the compiled pass found on the lines of a chunk.

    Attributes:
        rules: For each line index, the rules that may fire on it (printable-ASCII lines
            only; ``len(rules)`` stands for "may be good news"; a rule with ``exact`` does
            fire).
        odd: The indexes of the odd lines, which the caller must scan the plain way.
        markers: The indexes of the lines a marker or status may be on, in order (exact).
        summaries: The indexes, in order, of the lines that may be a test summary (a
            superset, odd lines included), or ``None`` if the pass could not tell.
    """

    rules: dict[int, set[int]]
    odd: list[int]
    markers: list[int]
    summaries: list[int] | None


#: Hyperscan's scratch space is per scan in flight: threads that scan inline at once (small
#: inputs run as ``io`` stages) each need their own, or the scan fails ``ScratchInUseError``.
_scratches = threading.local()


def _scan(db: Any, data: bytes, on_match: Callable[..., None]) -> None:
    """``db.scan`` with this thread's scratch space for ``db``."""
    mine: dict[int, Any] = _scratches.__dict__.setdefault("by_db", {})
    scratch = mine.get(id(db))
    if scratch is None or scratch.database is not db:
        scratch = mine[id(db)] = _hs.Scratch(db)
    db.scan(data, match_event_handler=on_match, scratch=scratch)


@lru_cache(maxsize=1)
def _database(rules: tuple[Rule, ...]) -> Any:
    """The compiled database, from the on-disk cache when this set of rules was seen before.

    Compiling takes a second of CPU (each rule is tried alone to pick its best form), which
    every worker process would pay; loading a cached one takes a millisecond.
    """
    assert _hs is not None
    cache = _cache_path(rules)
    if cache is not None:
        with contextlib.suppress(OSError, _hs.error, ValueError):
            loaded = _hs.loadb(cache.read_bytes(), _hs.HS_MODE_BLOCK)
            loaded.scratch = _hs.Scratch(loaded)  # a loaded database comes without one
            return loaded
    exprs, ids, flags = _expressions(rules)
    db = _hs.Database()
    db.compile(expressions=exprs, ids=ids, elements=len(exprs), flags=flags)
    if cache is not None:
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            partial.write_bytes(_hs.dumpb(db))
            os.replace(partial, cache)  # atomic: a concurrent reader sees all of it or none
    return db


def _cache_path(rules: tuple[Rule, ...]) -> Path | None:
    """Where the database of ``rules`` is kept: keyed by everything that shapes it."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(root):
        return None
    key = hashlib.sha256()
    # Every pattern of other modules that goes into the database, with this module's source.
    others = (repr(_GATES), _ODD.pattern, _READ_OTHERWISE.pattern, SUMMARY.pattern)
    for part in (_hs_version(), *others, _marker_tells().decode()):
        key.update(part.encode())
    for rule in rules:
        key.update(
            repr((rule.pattern.pattern, rule.pattern.flags, rule.needles, rule.exact)).encode()
        )
    key.update(Path(__file__).read_bytes())  # this module decides how rules become patterns
    return Path(root) / "juggler" / f"scan-{key.hexdigest()[:32]}.hsdb"


def _hs_version() -> str:
    try:
        from importlib.metadata import version

        return version("hyperscan")
    except Exception:
        return "unknown"


def prepare(rules: tuple[Rule, ...]) -> None:
    """Compile the database now (it takes a moment), e.g. before forking workers."""
    if _hs is not None:
        _database(rules)


def candidates(joined: str, rules: tuple[Rule, ...]) -> Reported | None:
    """Where each rule may fire in ``joined`` (lines joined with ``\\n``), and the chunk's
    odd, marker and summary lines (:class:`Reported`).

    ``None`` when the text cannot be scanned this way (then scan it all the plain way).
    """
    if _hs is None:
        return None
    try:
        data = joined.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: not UTF-8, so not Hyperscan's to read
        return None
    if not data:
        return Reported({}, [], [], [])  # Hyperscan refuses an empty buffer; nothing is there
    found: dict[int, set[int]] = {}
    odd: list[int] = []
    markers: list[int] = []
    maybe_summary: set[int] = set()
    odd_id = _odd_id(rules)
    for line, rid in _reported_lines(_database(rules), data):
        if rid < odd_id:
            found.setdefault(line, set()).add(rid)
        elif rid == odd_id:
            odd.append(line)  # reported at its line's end: once, in order
        elif rid == odd_id + 1:
            markers.append(line)  # likewise
        else:
            maybe_summary.add(line)
    summaries = None
    if _summary_expression() is not None:
        total = joined.count("\n") + 1
        summaries = sorted(i for i in maybe_summary.union(odd) if i < total)
    return Reported(found, odd, markers, summaries)


def _reported_lines(db: Any, data: bytes) -> list[tuple[int, int]]:
    """``(line index, id)`` of each match of ``db`` in ``data``, in line order.

    A match that ends on a line break is reported for the line after it as well: it may
    belong there.
    """
    reports: list[tuple[int, int]] = []

    def on_match(rid: int, _start: int, end: int, _flags: int, _context: object) -> None:
        reports.append((end, rid))

    _scan(db, data, on_match)
    reports.sort()
    lines: list[tuple[int, int]] = []
    add, count = lines.append, data.count
    line, last, previous = 0, 0, -1
    for end, rid in reports:
        if end != previous:  # patterns that end where a line ends: count once
            previous = end
            at = end - 1 if end > 0 else 0
            line += count(b"\n", last, at)
            last = at
        add((line, rid))
        if end > 0 and data[end - 1] == _NEWLINE:
            add((line + 1, rid))
    return lines


_NEWLINE: Final = ord("\n")


@lru_cache(maxsize=8)
def _single(pattern: re.Pattern[str]) -> Any:
    """A database of ``pattern`` (id 0) and of odd lines (id 1), or ``None``."""
    assert _hs is not None
    compiled = _expression(pattern)
    if compiled is None:
        return None
    db = _hs.Database()
    db.compile(
        expressions=[compiled[0], _ODD_LINE],
        ids=[0, 1],
        elements=2,
        flags=[compiled[1], _hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_UTF8],
    )
    return db


def lines_that_may_match(lines: list[str], pattern: re.Pattern[str]) -> list[int] | None:
    """Indexes, in order, of the lines on which ``pattern.search`` may match: a superset.

    ``None`` when the compiled pass cannot answer (no Hyperscan, a regex it cannot read,
    lines holding ``\\n``): then every line may match. Odd lines are not Hyperscan's to
    judge: they are always in.
    """
    if _hs is None or not lines:
        return None
    joined = "\n".join(lines)
    if joined.count("\n") != len(lines) - 1:
        return None
    db = _single(pattern)
    try:
        data = joined.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if db is None or not data:
        return None
    found = {line for line, _ in _reported_lines(db, data)}
    return sorted(i for i in found if i < len(lines))
