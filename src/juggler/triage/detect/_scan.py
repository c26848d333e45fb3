"""Run every detector family over a log in one pass.

The families' needles are merged into one alternation so each line is lowercased and searched
once; only the rules whose needles occurred are tried with their own regex. The first rule
(in family order, specific before generic) that matches a line wins it. A block found by a
family suppresses further heads of the same family inside it (a Java stack's ``at`` lines are
not new hits) and suppresses the generic fallback, but other families still fire, so a
compiler error inside a Maven ``[ERROR]`` run is found by both.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import ci, generic, js, jvm, native, other, python, system
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


_Trie = dict[str, "_Trie"]


def _trie_regex(words: list[str]) -> str:
    """A regex matching any of ``words``, longest first, shaped as a prefix trie."""
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        terminal = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if terminal:
            return "(?:" + body + ")?"
        return body

    return emit(trie)


def _build_index(rules: tuple[Rule, ...]) -> tuple[re.Pattern[str], dict[str, tuple[int, ...]]]:
    needles = sorted({n for r in rules for n in r.needles}, key=lambda n: (-len(n), n))
    # A longer needle found at a position hides shorter ones that start there, so each needle
    # also stands for every needle it contains.
    by_needle: dict[str, list[int]] = {}
    for found in needles:
        ids = [i for i, r in enumerate(rules) if any(n in found for n in r.needles)]
        by_needle[found] = ids
    # Zero-width lookahead so matches may overlap (" failed" must not hide "failed with"),
    # over a trie so each position costs one character test, not one per needle.
    pattern = re.compile("(?=(" + _trie_regex(needles) + "))")
    return pattern, {k: tuple(v) for k, v in by_needle.items()}


_NEEDLES, _RULES_BY_NEEDLE = _build_index(ALL_RULES)
_GENERIC_FAMILIES = frozenset({"generic"})
#: Characters of a line the detectors look at.
MAX_SCAN_CHARS = 2000


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
    hits: list[Hit] = []
    family_until: dict[str, int] = {}
    specific_until = -1
    for i, line in enumerate(lines):
        if not line:
            continue
        if len(line) > MAX_SCAN_CHARS:
            # Minified code and base64 blobs: the head says enough, and it bounds regex time.
            line = line[:MAX_SCAN_CHARS]
        low = line.lower()
        found = _NEEDLES.findall(low)
        if not found:
            continue
        candidates = sorted({rid for n in found for rid in _RULES_BY_NEEDLE[n]})
        for rid in candidates:
            spec = ALL_RULES[rid]
            generic_rule = spec.family in _GENERIC_FAMILIES
            # A shell's echo of the command it runs ("$ make", "+ make") is not output.
            if generic_rule and (
                i <= specific_until or line.startswith(("$ ", "+ ")) or generic.is_good_news(line)
            ):
                continue
            if family_until.get(spec.family, -1) >= i:
                continue
            match = spec.pattern.search(line)
            if match is None:
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
                test = next(
                    (v for k, v in match.groupdict().items() if k.startswith("test") and v), ""
                ).strip()
            hits.append(
                Hit(
                    start=start + 1 + offset,
                    end=end + 1 + offset,
                    family=spec.family,
                    kind=spec.kind,
                    severity=spec.severity,
                    confidence=spec.confidence,
                    title=_title(line),
                    test=test,
                    head=i + 1 + offset,
                )
            )
            family_until[spec.family] = end
            if not generic_rule:
                specific_until = max(specific_until, end)
            break
    # Leading context can start a block before an earlier hit's head: keep the order total.
    hits.sort(key=lambda h: (h.start, h.end))
    return hits


def detect(lines: list[str], *, offset: int = 0) -> list[Hit]:
    """Detect blocks in raw decoded lines (ANSI, carriage returns and timestamps allowed).

    Args:
        lines: The log's lines as decoded, split on ``\\n``.
        offset: Whole-log line number of the line before ``lines[0]`` (0 for a whole log).

    Returns:
        Hits sorted by start line, with 1-based inclusive line numbers in the input.
    """
    return detect_visible(visible_lines(lines), offset=offset)
