"""Line keys and templates: the seam between ranking and the template miner.

Ranking needs two views of every line:

* a *key*: the line with its variable parts masked, the same for every log, so the lines of
  a failed run compare directly with those of passing runs (novelty);
* a *template*: the key's cluster within this log, so that the same message with other
  variable words counts as one (rarity within the log).

The scrape stage's miner (``juggler.triage.scrape._templates``) provides both, and its
counts merge across chunks and workers. When it is not importable a small local mask stands
in (key and template are then the same), so detectors and ranking never depend on it.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Any, Protocol

# Order matters: long hex ids and UUIDs before plain numbers, so an id becomes one variable.
_MASKS = re.compile(
    r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"  # uuid
    r"|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b"  # git shas, hashes
    r"|0x[0-9a-fA-F]+"
    r"|\d+(?:[.:,_]\d+)*"
)
_SPACES = re.compile(r"\s+")
VAR = "<*>"


def local_key(line: str) -> str:
    """The fallback mask: numbers and hashes masked, whitespace collapsed."""
    if not line:
        return ""
    return _SPACES.sub(" ", _MASKS.sub(VAR, line)).strip()


class KeyCounter(Protocol):
    """Turns lines into keys and counts them; mergeable by adding counts."""

    def add(self, line: str) -> str:
        """Count ``line`` and return its key."""
        ...

    def add_each(self, lines: list[str]) -> list[str]:
        """Count each line that is not blank; return the keys, ``""`` for blank lines."""
        ...

    def counts(self) -> dict[str, int]:
        """Lines counted per key."""
        ...


class Vocabulary(Protocol):
    """The templates of one whole log, built from its merged key counts."""

    def template(self, key: str) -> str:
        """The template a key belongs to."""
        ...

    def count(self, template: str) -> int:
        """Lines of the log with ``template``."""
        ...


class _LocalCounter:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def add(self, line: str) -> str:
        key = local_key(line)
        self._counts[key] += 1
        return key

    def add_each(self, lines: list[str]) -> list[str]:
        return [self.add(line) if line.strip() else "" for line in lines]

    def counts(self) -> dict[str, int]:
        return dict(self._counts)


class _LocalVocabulary:
    def __init__(self, counts: dict[str, int]) -> None:
        self._counts = counts

    def template(self, key: str) -> str:
        return key

    def count(self, template: str) -> int:
        return max(1, self._counts.get(template, 0))


class _MinedVocabulary:
    def __init__(self, counts: dict[str, int]) -> None:
        from ..scrape._templates import TemplateMiner

        self._miner = TemplateMiner.from_counts(counts)
        self._totals = self._miner.templates()

    def template(self, key: str) -> str:
        return self._miner.template_of_key(key)

    def count(self, template: str) -> int:
        return max(1, self._totals.get(template, 0))


def _miner_available() -> bool:
    try:
        from ..scrape import _templates  # noqa: F401 - probing only
    except ImportError:  # the miner is optional for this module
        return False
    return True


MINER = _miner_available()


@functools.cache
def _process_keys() -> Any:
    """The process's key cache, shared by every chunk it scans (see :func:`key_counter`)."""
    from ..scrape._templates import KeyCache

    return KeyCache()


def key_counter() -> KeyCounter:
    """A fresh counter for one chunk (the miner's when available).

    Its key cache is the process's own, kept across chunks: a log repeats its messages from
    chunk to chunk, and a worker that re-learned every key per chunk spent nearly half its
    scan there. Keys are a pure function of the line, and the cache is bounded.
    """
    if MINER:
        from ..scrape._templates import TemplateMiner

        return TemplateMiner(cache=_process_keys())
    return _LocalCounter()


def vocabulary(counts: dict[str, int]) -> Vocabulary:
    """The templates of a whole log from its merged key counts."""
    return _MinedVocabulary(counts) if MINER else _LocalVocabulary(counts)


def keys(lines: list[str]) -> list[str]:
    """One comparable key per visible line ("" for blank lines), e.g. for a baseline log."""
    return key_counter().add_each(lines)
