"""A mergeable, order-independent log template miner.

Each line is *masked* first: tokens that are almost always variables (numbers, hex, IPs,
UUIDs, paths, URLs, dates, booleans) become ``<*>``, white space is collapsed, and runs of
wildcards merge into one. The masked line is the line's *key*. A miner's whole state is a
count per key, so two miners merge by adding counts, and feeding lines again adds no key.

Templates are computed from the *set* of keys only (sorted, never in arrival order): keys of
one shape (same tokens count, same delimiters) are partitioned by structure (``_structure``):
a position whose words vary across many distinct values is a variable, even when its values
hold no digit (host, user and program names); a position that only takes a few words is a
choice of events, and the keys split on it. Because clustering sees a set, the result does
not depend on the order lines arrived, on how a file was chunked, or on how many times a line
was seen: that is what makes the miner idempotent and mergeable.

One configuration serves every log (no per-dataset regexes or thresholds): a triage tool
meets logs nobody has seen.

Cost: masking is cached per line, per token and per token *shape* (digits zeroed), so
repeated lines cost a dict lookup; clustering compares each distinct key with at most
each level of the partition looks once at each word of each key, so it stays linear in the
number of distinct keys.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Final, final

from ._structure import DEFAULT_RULES, Rules, partition, template_of

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["KeyCache", "TemplateMiner", "mask_line", "mine_templates"]

WILDCARD: Final = "<*>"

# Characters that end a word. A single "." inside a word does not (10.0.0.1, core.3, 1.5s);
# a trailing "." ("port 80.") or a run of dots ("instruction......0") does.
_DELIMS = r"\s:=,;()\[\]{}\"'@<>|#/"
_WORD_CHAR = rf"(?:[^{_DELIMS}.]|\.(?=[^{_DELIMS}.]))"
_WORD_START = rf"(?<![^{_DELIMS}.])"
_WORD_END = rf"(?![^{_DELIMS}.]|\.[^{_DELIMS}.])"

# scheme://anything -> scheme://<*> (the authority and path vary together).
_URL: Final = re.compile(r"\b([A-Za-z][\w+.-]*://)[^\s\]\)}\"'>]+")
_PATH: Final = re.compile(
    r"(?<![^\s=:(\[{\"',])(?:"
    r"(?:/[^\s/\]\)}\"',;:]+)+/?"  # /abs/path (not /10.0.0.1:50010: the port stays apart)
    r"|(?:[A-Za-z]:\\|\\\\)[^\s\]\)}\"',;]*"  # C:\dir, \\host\share
    # relative paths of 3+ parts with a letter (src/a/b.py), not dates (2016/9/28)
    r"|(?=[^\s\"',]*[A-Za-z])[^\s\"',/\])\[(]*(?:/[^\s\"',/\])]+){2,}"
    ")"
)
# Words that are values, not vocabulary: booleans and nulls, long hex without digits.
_VALUE_WORD: Final = re.compile(rf"{_WORD_START}(?:(?i:true|false|null)|[a-fA-F]{{8,}}){_WORD_END}")
# A word holding a digit, with an alphabetic prefix kept when a number follows ("node-<*>").
_DIGIT_WORD: Final = re.compile(rf"{_WORD_START}([A-Za-z]+[-.](?=\d))?{_WORD_CHAR}*\d{_WORD_CHAR}*")
# A word is vocabulary when each of its dotted or dashed parts is a name with at most a small
# number: ssh2, L3, eth0, Slf4jLogger, hadoop-metrics2.properties, org.apache.v2.api.
_NAME_PART: Final = re.compile(r"[A-Za-z][A-Za-z_]*(?:\d{1,2}[A-Za-z_]*)?|")
_PART_SPLIT: Final = re.compile(r"[-.$]")
# Tokens of a masked line: wildcards, words, runs of dots, spaces, any other character.
_TOKEN: Final = re.compile(rf"(?:[A-Za-z]+[-.])?<\*>|{_WORD_CHAR}+|\.{{2,}}|.", re.DOTALL)
# Longer tokens are blobs (base64, minified code, hashes): one variable. The cap also bounds
# the regexes' work, which is quadratic in a token's length in the worst case.
_MAX_TOKEN_CHARS: Final = 120


def _mask_digit_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if all(_NAME_PART.fullmatch(part) for part in _PART_SPLIT.split(word)):
        return word
    prefix = match.group(1)
    return prefix + WILDCARD if prefix else WILDCARD


_MONTHS: Final = frozenset("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())
_WEEKDAYS: Final = frozenset(
    "Mon Tue Wed Thu Fri Sat Sun Mon, Tue, Wed, Thu, Fri, Sat, Sun,".split()
)
_ZERO_DIGITS: Final = str.maketrans("123456789", "000000000")
_ZERO_DIGIT_BYTES: Final = bytes.maketrans(b"123456789", b"000000000")


def _zero_digits(text: str) -> str:
    """``text`` with each digit 1-9 made 0.

    Through UTF-8 bytes, where a digit is its own byte: ``bytes.translate`` is a table
    lookup per byte, ``str.translate`` a dict lookup per character (15x slower).
    """
    try:
        return text.encode().translate(_ZERO_DIGIT_BYTES).decode()
    except UnicodeEncodeError:  # lone surrogates
        return text.translate(_ZERO_DIGITS)


_DIGIT: Final = re.compile(r"\d")

Tokens = tuple[str, ...]
_EMPTY_PAIRS: Final = {"()": "(<*>)", "[]": "[<*>]"}
_VALUE_NAMES: Final = frozenset(("true", "false", "null"))
_HEX_LETTERS: Final = re.compile(r"[a-fA-F]+")


def _mask_token(token: str) -> str:
    """Mask one white-space-free token."""
    if token.isalpha():
        # Plain words, the commonest tokens: only the value words can apply.
        if token.lower() in _VALUE_NAMES or (len(token) >= 8 and _HEX_LETTERS.fullmatch(token)):
            return WILDCARD
        return token
    empty = _EMPTY_PAIRS.get(token)
    if empty is not None:
        return empty
    if "://" in token:
        token = _URL.sub(lambda m: m.group(1) + WILDCARD, token)
    if "/" in token or "\\" in token:
        token = _PATH.sub(WILDCARD, token)
    token = _VALUE_WORD.sub(WILDCARD, token)
    return _DIGIT_WORD.sub(_mask_digit_word, token)


@final
class KeyCache:
    """Turns lines into keys, with bounded caches per line and per white-space token.

    Keys are a pure function of the line, so one cache may be shared by many miners (a
    worker process keeps one across the chunks it scrapes) without changing any result.
    """

    __slots__ = ("_line_shapes", "_lines", "_shapes", "_tokens")

    # Distinct lines remembered; bounded so that a log of unique lines cannot grow memory.
    _LINE_CACHE_LIMIT: Final = 200_000

    # Bounded so that a stream of unique tokens cannot grow memory without limit.
    _CACHE_LIMIT: Final = 100_000

    def __init__(self) -> None:
        self._lines: dict[str, str] = {}
        self._line_shapes: dict[str, str] = {}
        self._tokens: dict[str, str] = {}
        self._shapes: dict[str, str] = {}

    def key(self, line: str) -> str:
        """The key of ``line`` (see :meth:`make_key`), cached."""
        key = self._lines.get(line)
        if key is None:
            # Most new lines differ from an earlier one only in their digits (ids, times,
            # counters). Masking treats every digit alike, so such lines share their key,
            # unless a digit survived masking (ssh2): then the key is the line's own.
            shape = _zero_digits(line)
            key = self._line_shapes.get(shape)
            if key is None:
                key = self.make_key(line)
                if _DIGIT.search(key) is None:
                    if len(self._line_shapes) >= self._LINE_CACHE_LIMIT:
                        self._line_shapes.clear()
                    self._line_shapes[shape] = key
            if len(self._lines) >= self._LINE_CACHE_LIMIT:
                self._lines.clear()
            self._lines[line] = key
        return key

    def keys(self, lines: list[str]) -> list[str]:
        """``[self.key(line) for line in lines]``, in bulk.

        The lines this cache has not seen are mostly new only in their digits: the digits of
        them all are zeroed in one pass, so such a line costs a look-up of its shape. Those
        lines are not remembered one by one: on a log of unique lines (time stamps), storing
        each cost more than the look-ups it saved.
        """
        seen = self._lines.get
        keys = list(map(seen, lines))
        new = [i for i, key in enumerate(keys) if key is None]
        if not new:
            return keys  # type: ignore[return-value]  # no None left
        shapes = _zero_digits("\n".join([lines[i] for i in new])).split("\n")
        if len(shapes) != len(new):  # a line held a break: one by one
            return [self.key(line) for line in lines]
        known = self._line_shapes.get
        for i, shape in zip(new, shapes, strict=True):
            keys[i] = known(shape) or self.key(lines[i])
        return keys  # type: ignore[return-value]  # every None was filled

    def _mask_with_digits(self, token: str, shape: str) -> str:
        # Masking treats every digit alike, so tokens that differ only in their digits
        # (ids, counters, addresses: the unique tokens) share one cached result, unless a
        # digit survives masking (ssh2), in which case the token is masked itself.
        masked = self._shapes.get(shape)
        if masked is None:
            masked = _mask_token(shape)
            if "0" in masked:
                # Vocabulary with digits (ssh2, L3): repeated as is, so cache the token.
                masked = _mask_token(token)
                if len(self._tokens) >= self._CACHE_LIMIT:
                    self._tokens.clear()
                self._tokens[token] = masked
                return masked
            if len(self._shapes) >= self._CACHE_LIMIT:
                self._shapes.clear()
            self._shapes[shape] = masked
        return masked

    def make_key(self, line: str) -> str:
        """The masked form of ``line``: the string the miner counts.

        Runs of white space become one space, and runs of wildcards (``<*> <*> <*>``,
        ``<*><*>``) become one wildcard: lists of ids vary in length, and a list is one
        variable.
        """
        cache = self._tokens
        raw = line.split()
        parts: list[str] = []
        for token in raw:
            masked = cache.get(token)
            if masked is None:
                if len(token) > _MAX_TOKEN_CHARS:
                    parts.append(WILDCARD)
                    continue
                shape = _zero_digits(token)
                if shape != token:
                    masked = self._mask_with_digits(token, shape)
                else:
                    masked = _mask_token(token)
                    if len(cache) >= self._CACHE_LIMIT:
                        cache.clear()
                    cache[token] = masked
            parts.append(masked)
        if not _MONTHS.isdisjoint(raw):
            _mask_dates(raw, parts)
        key = " ".join(parts)
        if "<*> <*>" in key or "<*><*>" in key:
            key = _WILDCARD_RUN.sub(WILDCARD, key)
        return key


_WILDCARD_RUN: Final = re.compile(r"<\*>(?: ?<\*>)+")


def _mask_dates(raw: list[str], parts: list[str]) -> None:
    """Mask "Sat Jun 18" and "Jun 18": names in textual timestamps are values."""
    for index, token in enumerate(raw):
        if token in _MONTHS and index + 1 < len(raw):
            day = raw[index + 1]
            if len(day) <= 2 and day.isdigit():
                parts[index] = WILDCARD
                if index > 0 and raw[index - 1] in _WEEKDAYS:
                    parts[index - 1] = WILDCARD


def split_key(key: str) -> Tokens:
    """Tokens of a key: words, wildcards, single delimiters and single spaces."""
    return tuple(_TOKEN.findall(key))


def mask_line(line: str) -> str:
    """Replace the tokens of ``line`` that are almost surely variables with ``<*>``.

    Args:
        line: One log message, without its line end.

    Returns:
        The line with URLs, paths, numbers, hex, IPs, UUIDs, dates and booleans masked,
        white space collapsed.
    """
    return KeyCache().make_key(line)


def _is_word(token: str) -> bool:
    return token != " " and (len(token) > 1 or token.isalnum() or token == "_")


def _shape(tokens: Tokens) -> Tokens:
    """Length and delimiters: only keys of one shape may share a template."""
    return tuple("" if _is_word(tok) else tok for tok in tokens)


def cluster_keys(keys: Iterable[str], rules: Rules = DEFAULT_RULES) -> dict[str, str]:
    """Map every key to its template.

    The result depends only on the *set* of keys (they are sorted first), never on the order
    or the number of times they were seen: this is what makes mining idempotent and
    mergeable.
    """
    by_shape: dict[Tokens, list[Tokens]] = {}
    for key in sorted(set(keys)):
        tokens = split_key(key)
        by_shape.setdefault(_shape(tokens), []).append(tokens)
    result: dict[str, str] = {}
    for shape, shape_keys in by_shape.items():
        words = [i for i, tok in enumerate(shape) if tok == ""]
        for group in partition(shape_keys, words, rules):
            template = template_of(group, words)
            for tokens in group:
                result["".join(tokens)] = template
    return result


@final
class TemplateMiner:
    """Incremental template miner whose state is a count of masked keys.

    Lines can be added in any order and to any number of miners; ``merge`` adds the counts.
    Templates are computed lazily from the set of keys, so they are the same for one miner
    over a whole file and for per-chunk miners merged, and adding lines that were already
    seen never creates a template.

    Templates are recomputed (in time linear in the number of distinct keys, not lines) the
    first time one is asked for after a line with a new key was added: add lines in bulk,
    then ask.

    Pickling keeps only the key counts (the caches are rebuilt on demand): that is what a
    chunk worker sends back.

    Example:
        >>> miner = TemplateMiner()
        >>> miner.add_lines(["took 5 ms", "took 17 ms"])
        >>> miner.template("took 99 ms")
        'took <*> ms'
    """

    __slots__ = ("_cache", "_counts", "_templates")

    def __init__(self, *, cache: KeyCache | None = None) -> None:
        """Create an empty miner.

        Args:
            cache: A key cache to share with other miners (default: a new one).
        """
        self._counts: dict[str, int] = {}
        self._cache = cache if cache is not None else KeyCache()
        self._templates: dict[str, str] | None = None

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> TemplateMiner:
        """A miner holding ``counts`` (as returned by :meth:`counts`), e.g. from a worker."""
        miner = cls()
        miner._counts = dict(counts)
        return miner

    def __getstate__(self) -> dict[str, int]:
        return self._counts

    def __setstate__(self, state: dict[str, int]) -> None:
        self._counts = state
        self._cache = KeyCache()
        self._templates = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TemplateMiner):
            return NotImplemented
        return self._counts == other._counts

    __hash__ = None  # type: ignore[assignment]  # mutable, like dict

    def __len__(self) -> int:
        """Number of lines counted."""
        return sum(self._counts.values())

    def key(self, line: str) -> str:
        """The masked key of ``line`` (cached)."""
        return self._cache.key(line)

    def add(self, line: str, count: int = 1) -> str:
        """Count ``line`` ``count`` times and return its key."""
        key = self._cache.key(line)
        seen = self._counts.get(key)
        if seen is None:
            self._templates = None
            self._counts[key] = count
        else:
            self._counts[key] = seen + count
        return key

    def add_each(self, lines: list[str]) -> list[str]:
        """``[self.add(line) if line.strip() else "" for line in lines]``, in bulk.

        Only a blank line has the key ``""`` (every token masks to some text), so the keys
        are counted all at once, at C speed, and the blank lines' ``""`` dropped.
        """
        keys = self._cache.keys(lines)
        found = Counter(keys)
        found.pop("", None)
        self._add_counts(found)
        return keys

    def add_lines(self, lines: Iterable[str]) -> None:
        """Count every line of ``lines``."""
        for line in lines:
            self.add(line)

    def merge(self, other: TemplateMiner) -> None:
        """Add the counts of ``other`` to this miner (``other`` is left unchanged)."""
        self._add_counts(other._counts)

    def _add_counts(self, more: dict[str, int]) -> None:
        counts = self._counts
        for key, n in more.items():
            seen = counts.get(key)
            if seen is None:
                self._templates = None
                counts[key] = n
            else:
                counts[key] = seen + n

    def counts(self) -> dict[str, int]:
        """A copy of the key counts: the miner's whole state."""
        return dict(self._counts)

    def _template_map(self) -> dict[str, str]:
        if self._templates is None:
            self._templates = cluster_keys(self._counts)
        return self._templates

    def template(self, line: str) -> str:
        """The template of ``line``; a line with an unseen key gets its masked form."""
        return self.template_of_key(self.key(line))

    def template_of_key(self, key: str) -> str:
        """The template of a key returned by :meth:`add` or :meth:`key`."""
        found = self._template_map().get(key)
        return found if found is not None else key

    def templates(self) -> dict[str, int]:
        """Every template with the number of lines it matched, most frequent first."""
        totals: dict[str, int] = {}
        for key, template in self._template_map().items():
            totals[template] = totals.get(template, 0) + self._counts[key]
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def mine_templates(lines: list[str]) -> list[str]:
    """Return one template per line, variables written ``<*>``.

    Args:
        lines: Log messages, one per item, without line ends.

    Returns:
        A list as long as ``lines``; equal strings mean the same template.
    """
    miner = TemplateMiner()
    keys = [miner.add(line) for line in lines]
    mapping = miner._template_map()
    return [mapping[key] for key in keys]
