"""Run every detector family over a log in one pass.

The families' needles are merged into one alternation so each line is lowercased and searched
once; only the rules whose needles occurred are tried with their own regex, and a line that
repeats in a chunk is tried once for all its copies. The first rule
(in family order, specific before generic) that matches a line wins it. A block found by a
family suppresses further heads of the same family inside it (a Java stack's ``at`` lines are
not new hits) and suppresses the generic fallback, but other families still fire, so a
compiler error inside a Maven ``[ERROR]`` run is found by both.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter, defaultdict
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

from .._trie import words_regex
from . import _bulk, ci, generic, js, jvm, native, other, python, system
from ._model import Hit
from ._normalise import visible_lines

if TYPE_CHECKING:
    from ._rules import Rule

#: Specific families first: the first match on a line wins.
ALL_RULES: tuple[Rule, ...] = (
    *python.RULES,
    *jvm.RULES,
    *native.RULES,
    *other.RULES,
    *js.RULES,
    *system.RULES,
    *ci.RULES,
    *generic.RULES,
)


def _build_index(rules: tuple[Rule, ...]) -> tuple[re.Pattern[str], dict[str, tuple[int, ...]]]:
    needles = sorted({n for r in rules for n in r.needles}, key=lambda n: (-len(n), n))
    if any(_SEP in n for n in needles):
        raise ValueError("a needle may not contain the line separator")
    # A longer needle found at a position hides shorter ones that start there, so each needle
    # also stands for every needle it contains.
    # Built needle by needle, not rule by rule: this runs at every start-up.
    owners: defaultdict[str, set[int]] = defaultdict(set)
    for i, r in enumerate(rules):
        for n in r.needles:
            owners[n].add(i)
    by_needle: dict[str, list[int]] = {}
    for found in needles:
        by_needle[found] = sorted({i for n in needles if n in found for i in owners[n]})
    # A trie, so each position costs one character test, not one per needle. Matches must
    # overlap (" failed" must not hide "failed with"): _found_needles searches again one
    # character after each match, which unlike a zero-width lookahead lets the engine skip
    # characters that start no needle.
    pattern = re.compile(words_regex(needles))
    return pattern, {k: tuple(v) for k, v in by_needle.items()}


#: Joins a chunk's lines into one text for the needle search; no needle contains it, so no
#: match spans two lines.
_SEP = "\n"
_NEEDLES, _RULES_BY_NEEDLE = _build_index(ALL_RULES)
_GENERIC_FAMILIES = frozenset({"generic"})
#: Characters of a line the detectors look at.
MAX_SCAN_CHARS = 2000


def _found_needles(texts: list[str]) -> dict[int, set[str]]:
    """Index of each of ``texts`` that holds a needle: the longest needle at each position.

    The texts are lowercased and searched as one text, which saves a findall per line.
    """
    lows = [text.lower() for text in texts]
    starts = list(accumulate((len(low) + len(_SEP) for low in lows), initial=0))
    joined = _SEP.join(lows)
    found: defaultdict[int, set[str]] = defaultdict(set)
    search = _NEEDLES.search
    match = search(joined)
    while match is not None:
        at = match.start()
        found[bisect_right(starts, at) - 1].add(match.group())
        match = search(joined, at + 1)
    return found


#: A rule to try on a line, with its head match if the line was searched ahead (good news
#: ruled out), ``True`` if the compiled pass found that the rule's regex matches (a rule with
#: ``exact``; good news not yet ruled out), else ``None``.
_Try = tuple[int, "re.Match[str] | bool | None"]


@lru_cache(maxsize=4096)
def _rules_for(needles: frozenset[str]) -> tuple[_Try, ...]:
    """The rules to try on a line holding ``needles``, in rule order, not yet searched.

    Lines of a log hold few distinct needle sets, so this is worth remembering.
    """
    return tuple((rid, None) for rid in sorted({r for n in needles for r in _RULES_BY_NEEDLE[n]}))


def _search_ahead(text: str, tries: tuple[_Try, ...]) -> tuple[_Try, ...]:
    """The tries whose rule matches ``text``, with their matches.

    Generic rules drop out when the line is good news, as the scan would skip them.
    """
    matched: list[_Try] = []
    good_news: bool | None = None
    for rid, _ in tries:
        spec = ALL_RULES[rid]
        match = spec.pattern.search(text)
        if match is None:
            continue
        if spec.family in _GENERIC_FAMILIES:
            if good_news is None:
                good_news = generic.is_good_news(text)
            if good_news:
                continue
        matched.append((rid, match))
    return tuple(matched)


def _plan(texts: list[str]) -> dict[str, tuple[_Try, ...]]:
    """What to try on each distinct text of ``texts`` that holds a needle.

    Logs repeat lines, and a rule's regex gives the same answer on the same text: a text that
    occurs more than once is searched by all its rules here, once. A text that occurs once is
    left to the scan, which stops searching when a rule wins.
    """
    counts = Counter(texts)
    distinct = list(counts)
    plan: dict[str, tuple[_Try, ...]] = {}
    for i, needles in _found_needles(distinct).items():
        text = distinct[i]
        tries = _rules_for(frozenset(needles))
        plan[text] = _search_ahead(text, tries) if counts[text] > 1 else tries
    return plan


#: Lines below which the plain path beats the compiled pass (a name of this module's own,
#: so tests can send every chunk down the compiled pass).
BULK_MIN_LINES = _bulk.MIN_LINES


#: A line to scan: its index, the rules to try on it in order, and whether it is good news
#: (``None``: not known, the good-news regex decides when a generic rule matches).
_Candidate = tuple[int, tuple[_Try, ...], "bool | None"]


def _candidates(scanned: list[str]) -> tuple[list[_Candidate], _bulk.Reported | None]:
    """Each line some rule may win, with the rules to try on it, in line order; and what the
    compiled pass found, if it ran."""
    found = None
    if len(scanned) >= BULK_MIN_LINES and _bulk.available():
        joined = _SEP.join(scanned)
        # A line holding the separator would shift the numbering: such input goes plain.
        if joined.count(_SEP) == len(scanned) - 1:
            found = _bulk.candidates(joined, ALL_RULES)
    if found is None:
        plan = _plan([line for line in scanned if line])
        every: list[_Candidate] = [
            (i, tries, None) for i, line in enumerate(scanned) if (tries := plan.get(line))
        ]
        return every, None
    reported, odd = found.rules, found.odd
    odd_lines = set(odd)
    plain = _plan([scanned[i] for i in odd if scanned[i]])
    chosen: list[_Candidate] = [(i, t, None) for i in odd if (t := plain.get(scanned[i]))]
    # The tries of a line with rules still to check for a needle, by its text (a repeated
    # line is checked once); the others' depend on the rules reported alone.
    known: dict[str, tuple[_Try, ...]] = {}
    count = len(scanned)
    for i, rids in reported.items():
        if i >= count or i in odd_lines or not (text := scanned[i]):
            continue
        tries, needled, good = _reported(frozenset(rids))
        if needled:  # rules whose needles must be in the line before their regex runs
            checked = known.get(text)
            if checked is None:
                low = text.lower()
                held = ((rid, None) for rid, needles in needled if _holds(low, needles))
                checked = known[text] = tuple(sorted((*tries, *held)))
            tries = checked
        if tries:
            chosen.append((i, tries, good))
    chosen.sort()
    return chosen, found


@lru_cache(maxsize=4096)
def _reported(
    rids: frozenset[int],
) -> tuple[tuple[_Try, ...], tuple[tuple[int, tuple[str, ...]], ...], bool | None]:
    """What the compiled pass's report of ``rids`` on a line means, in rule order: the
    rules known to match (``exact``, whose form implies their needles: tests check it),
    the rules still to check for a needle, and whether the line is good news (``None``:
    it may be, when the pass reads the gate only as a prefilter).

    Lines of a log set off few distinct sets of rules, so this is worth remembering.
    """
    gate = len(ALL_RULES)
    ordered = sorted(rid for rid in rids if rid < gate)
    sure = tuple((rid, True) for rid in ordered if ALL_RULES[rid].exact is not None)
    needled = tuple(
        (rid, ALL_RULES[rid].needles) for rid in ordered if ALL_RULES[rid].exact is None
    )
    if gate not in rids:
        return sure, needled, False
    return sure, needled, True if _bulk.gate_is_exact() else None


def _holds(low: str, needles: tuple[str, ...]) -> bool:
    return any(needle in low for needle in needles)


def _title(line: str) -> str:
    text = line.strip()
    return text if len(text) <= 200 else text[:197] + "..."


def detect_visible(lines: list[str], *, offset: int = 0) -> list[Hit]:
    """Detect blocks in lines that are already visible text (ANSI and timestamps removed).

    Args:
        lines: Visible lines of the log (or of one chunk of it).
        offset: Number of lines before ``lines[0]`` in the whole log, so hits carry whole-log
            line numbers when a worker scans one chunk.

    Returns:
        Hits sorted by start line, 1-based line numbers.
    """
    found = scan_blocks(lines)
    return [found.hit(block, offset) for block in found.blocks]


#: A block before it becomes a :class:`Hit`: its first and last line, the line the rule
#: matched (0-based indexes into the scanned lines), the rule's index, the test's name.
Block = tuple[int, int, int, int, str]


class Blocks(NamedTuple):
    """:func:`scan_blocks`'s answer: the hits as plain blocks, and what its compiled pass
    found on the way (one pass over a big chunk serves all three).

    A hit-dense chunk has thousands of blocks, mostly repeats of a few messages: a caller
    that thins repeats builds :class:`Hit` objects only for the blocks it keeps.

    Attributes:
        blocks: One per hit of :func:`detect_visible`, in the same order.
        scanned: The lines as scanned (cut to :data:`MAX_SCAN_CHARS`).
        markers: Indexes of the lines a CI marker or status may be on (for
            :func:`._markers.chunk_events`), or ``None`` when the compiled pass did not run.
        summaries: Indexes of the lines that may be a test summary (a superset, for
            :func:`..analyse.summary_lines`), or ``None`` when the pass could not tell.
    """

    blocks: list[Block]
    scanned: list[str]
    markers: list[int] | None
    summaries: list[int] | None

    def hit(self, block: Block, offset: int = 0) -> Hit:
        """The :class:`Hit` of one of :attr:`blocks`."""
        start, end, head, rid, test = block
        spec = ALL_RULES[rid]
        # Positional: half the cost of keywords.
        # start, end, family, kind, severity, confidence, title, test, copies, head
        return Hit(
            start + 1 + offset,
            end + 1 + offset,
            spec.family,
            spec.kind,
            spec.severity,
            spec.confidence,
            _title(self.scanned[head]),
            test,
            1,
            head + 1 + offset,
        )


def scan_blocks(lines: list[str]) -> Blocks:
    """The blocks of :func:`detect_visible`'s hits, in the same order (by first, then last
    line), with the marker and summary lines its compiled pass found."""
    blocks: list[Block] = []
    family_until: dict[str, int] = {}
    specific_until = -1
    # Minified code and base64 blobs: the head says enough, and it bounds regex time.
    if max(map(len, lines), default=0) > MAX_SCAN_CHARS:
        scanned = [line[:MAX_SCAN_CHARS] for line in lines]
    else:
        scanned = lines
    chosen, reported = _candidates(scanned)
    for i, tries, good in chosen:
        line = scanned[i]
        for rid, ahead in tries:
            spec = ALL_RULES[rid]
            generic_rule = spec.family in _GENERIC_FAMILIES
            # A shell's echo of the command it runs ("$ make", "+ make") is not output.
            if generic_rule and (i <= specific_until or line.startswith(("$ ", "+ "))):
                continue
            if family_until.get(spec.family, -1) >= i:
                continue
            match = ahead if ahead is not None else spec.pattern.search(line)
            # Good news last: its regex is the slowest and matters only on a match. Tries
            # searched ahead have been checked for it already.
            if not match or (
                not isinstance(ahead, re.Match)
                and generic_rule
                and (generic.is_good_news(line) if good is None else good)
            ):
                continue
            end = max(i, spec.extend(lines, i))
            while end > i and not lines[end].strip():
                end -= 1  # a block never ends on blank lines
            start = i
            if spec.back and spec.before is not None:
                while start > 0 and i - start < spec.back and spec.before.search(lines[start - 1]):
                    start -= 1
            test = ""
            if spec.test_group:
                if not isinstance(match, re.Match):  # known to match: now its groups
                    match = spec.pattern.search(line)
                    assert match is not None
                test = next(
                    (v for k, v in match.groupdict().items() if k.startswith("test") and v), ""
                ).strip()
            blocks.append((start, end, i, rid, test))
            family_until[spec.family] = end
            if not generic_rule:
                specific_until = max(specific_until, end)
            break
    # Leading context can start a block before an earlier hit's head: keep the order total.
    blocks.sort(key=_SPAN)
    # Lines cut to the scan limit may hide a marker or a summary: then the pass's are not.
    if reported is None or scanned is not lines:
        return Blocks(blocks, scanned, None, None)
    return Blocks(blocks, scanned, reported.markers, reported.summaries)


_SPAN = itemgetter(0, 1)


def detect(lines: list[str], *, offset: int = 0) -> list[Hit]:
    """Detect blocks in raw decoded lines (ANSI, carriage returns and timestamps allowed).

    Args:
        lines: The log's lines as decoded, split on ``\\n``.
        offset: Whole-log line number of the line before ``lines[0]`` (0 for a whole log).

    Returns:
        Hits sorted by start line, with 1-based inclusive line numbers in the input.
    """
    return detect_visible(visible_lines(lines), offset=offset)
