"""Pure pieces of hybrid retrieval: lexical terms, FTS5 query escaping, rank fusion."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "MAX_TERMS",
    "POSTINGS_BUDGET",
    "RRF_K",
    "fts_match",
    "fts_query",
    "fuse",
    "lexical_terms",
    "pick_terms",
    "similarity",
]

# Cormack, Clarke & Büttcher (SIGIR 2009): k = 60 makes the fused order robust to the
# very different score scales of BM25 and cosine, which is why ranks are fused, not scores.
RRF_K: Final = 60
# Postings a lexical query may touch. BM25 in FTS5 costs about 0.5-0.8 µs per matching
# posting here (measured: 48 common terms over 20k incidents took 230 ms); 10k postings
# keep a query under about 10 ms whatever the size of the KB.
POSTINGS_BUDGET: Final = 10_000
MAX_TERMS: Final = 32
# FTS5's unicode61 tokenizer splits on anything that is not a letter or digit (also "_").
_TERM: Final = re.compile(r"[^\W_]+")


def lexical_terms(text: str) -> list[str]:
    """Distinct lower-case terms of ``text`` as FTS5 indexes them (no numbers, no 1-letter)."""
    return list(
        dict.fromkeys(t for t in _TERM.findall(text.lower()) if len(t) >= 2 and not t.isdigit())
    )


def pick_terms(
    df: Mapping[str, int], *, budget: int = POSTINGS_BUDGET, max_terms: int = MAX_TERMS
) -> list[str]:
    """The query terms worth searching: rarest first, within a budget of postings.

    The store does the same in SQL (``LEXICAL_SQL``), next to the index; this is the
    reference the tests hold it to.

    Terms absent from the index (df 0) cannot match and are dropped. Terms are added from
    the rarest while their document frequencies sum to at most ``budget``: a term found in
    most incidents adds almost nothing to BM25 (its IDF is near 0) but costs a posting per
    incident, so it is the one left out.

    Args:
        df: Document frequency of each candidate term.
        budget: Most postings the query may touch.
        max_terms: Most terms.

    Returns:
        Terms, rarest first; empty when even the rarest is too common to be worth it.
    """
    chosen: list[str] = []
    total = 0
    for term, count in sorted(df.items(), key=lambda kv: (kv[1], kv[0])):
        if count <= 0:
            continue
        if total + count > budget or len(chosen) >= max_terms:
            break
        chosen.append(term)
        total += count
    return chosen


def fts_match(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression for documents holding any of ``terms``.

    Every term is written as an FTS5 string (``"..."`` with ``"`` doubled), so no input can
    be read as FTS syntax (``NEAR(``, ``*``, ``-``, ``:col``, ``AND``...): RELIABILITY.md M12.
    The expression is still passed as a bound parameter, never formatted into SQL.
    """
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def fts_query(text: str) -> str:
    """:func:`fts_match` of every lexical term of ``text`` (``""`` when it has none)."""
    return fts_match(lexical_terms(text))


def fuse(*rankings: Sequence[int], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: ``score(d) = Σ 1 / (k + rank(d))`` over the rankings.

    Args:
        rankings: Lists of ids, best first.
        k: The damping constant.

    Returns:
        Scores by id, for ids in any ranking.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


def similarity(query: str, document: str, cosine: float | None) -> float:
    """How alike two signature texts are, 0..1, in a form people can read as a percentage.

    Rank fusion orders results but says nothing absolute (an identical incident scores
    ``2 / (60 + 1)``, about 0.033). The cosine of the two vectors does: 1 for the same text,
    near 0 for unrelated ones. When the dense half has no cosine for the pair (the embedder
    is down, or it did not rank the incident), the Jaccard overlap of the lexical terms
    stands in.

    Args:
        query: The query's signature text.
        document: The incident's signature text.
        cosine: The pair's cosine, if the dense search computed it.
    """
    if cosine is not None:
        return min(1.0, max(0.0, cosine))
    ours, theirs = set(lexical_terms(query)), set(lexical_terms(document))
    if not ours or not theirs:
        return 0.0
    return len(ours & theirs) / len(ours | theirs)
