"""Credentials written in the log itself, replaced by typed markers before text leaves a scan.

CI logs leak tokens all the time (``echo $TOKEN``, a ``curl -u``, a failing ``git clone`` of
``https://user:pass@…``). :func:`redact_text` finds well-known credential formats
(:mod:`._secret_rules`: GitHub, GitLab, AWS, Slack, Google, Stripe, npm, PyPI, JWTs, PEM
private keys, ``password=``/``token=``/``secret=`` assignments, ``Authorization`` headers,
``user:password@`` in URLs) and replaces each with ``[redacted:<kind>]``.

Where: a scan worker redacts the text its chunk scan carries out (shown lines, titles, step
names, test names, cause descriptions; :func:`redact_scan`), so nothing downstream — ranking,
the document, memos, the KB, deliveries — ever holds the secret. Only those lines are
searched, never the whole log: a scan keeps a few hundred lines of a million, and a regex
pass over every line would cost as much as the scan itself. A marker replaces text within
one line, so line numbers and finding positions do not change.

Unlike :mod:`._redact` (configured secrets, known by value), this finds secrets nobody
declared, by their shape.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from ._secret_rules import RULES, SecretRule
from ._trie import lines_matching, words_regex
from .detect._bulk import MIN_LINES, lines_that_may_match
from .detect._normalise import visible

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ._findings import ChunkScan
    from .kb import CauseMatch

__all__ = ["marker", "redact_lines", "redact_scan", "redact_text"]

PREFIX: Final = "[redacted:"

# Assignments: ``password=…``, ``DB_PASSWORD: '…'``, ``"api_key": "…"``, ``token => …``.
# Bounded repeats: a long word holding a keyword must not make the search quadratic.
_NAME_WORDS = (
    r"passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|"
    r"private[_-]?key|credentials?"
)
_ASSIGNMENT: Final = re.compile(
    r"(?i)(?P<name>[\w.-]{0,40}?(?:" + _NAME_WORDS + r")[\w.-]{0,40})(?P<q>[\"']?)"
    r"(?P<sep>[ \t]*(?::=|=>|=|:)[ \t]*)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s'\"&;,)\]}]+)"
)
# A name word on its own: an assignment's name holds one at most 40 characters in.
_NAME_WORD: Final = re.compile(_NAME_WORDS, re.IGNORECASE)
_NAME_REACH: Final = 40
# The name characters just before a word (searched up to the word: ``\Z`` is there).
_NAME_RUN: Final = re.compile(r"[\w.-]*\Z")
# Command-line flags: ``--password hunter2``, ``--token "x"``.
_FLAG: Final = re.compile(
    r"(?i)(?<![\w-])(?P<name>--?[\w-]{0,30}?(?:passw(?:or)?d|token|secret|api-key)[\w-]{0,20})"
    r"[ \t]+(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'-][^\s]*)"
)
_KEYWORDS_OF_ASSIGNMENTS = (
    "passw",
    "pwd",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "access_key",
    "access-key",
    "auth_key",
    "auth-key",
    "private_key",
    "private-key",
    "credential",
)
# Values that stand for a secret without being one: masks, variables, placeholders.
_PLACEHOLDER: Final = re.compile(
    r"(?i)^(?:\*+|x{3,}|•+|\.{3}|\$.*|%[\w]+%|<.*>|\{\{.*|\[redacted.*|null|none|nil|true|false|"
    r"undefined|\(none\)|\(hidden\)|\(redacted\))$"
)
_PEM_BEGIN: Final = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END: Final = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
# A PEM body line, and the ``Proc-Type:``/``DEK-Info:`` headers of an encrypted key.
_BASE64_LINE: Final = re.compile(r"[A-Za-z0-9+/]{2,}={0,2}")
# A full line of a key's body (PEM wraps at 64, OpenSSH at 70); only the last one is shorter.
_FULL_BASE64_LINE: Final = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
# A line that is a key's body on its own: long, and mixing cases as base64 does.
_STRONG_BASE64: Final = re.compile(r"(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9+/]{40,}={0,2}")
_PEM_HEADER: Final = re.compile(r"(?:Proc-Type|DEK-Info|Comment):.*|")
#: How far above a shown base64 line to look for the ``-----BEGIN … PRIVATE KEY-----``.
PEM_REACH: Final = 256


def marker(kind: str) -> str:
    """The text a secret of ``kind`` becomes: ``[redacted:<kind>]``."""
    return f"{PREFIX}{kind}]"


def _kind_of_name(name: str) -> str:
    low = name.lower()
    if "passw" in low or "pwd" in low:
        return "password"
    if "token" in low:
        return "token"
    if "secret" in low:
        return "secret"
    if "credential" in low:
        return "credentials"
    return "api-key"


def _trigger() -> re.Pattern[str]:
    words = {k for rule in RULES for k in rule.keywords} | set(_KEYWORDS_OF_ASSIGNMENTS)
    words.add("private key")
    return re.compile(words_regex(words))


_TRIGGER: Final = _trigger()
_COMPILED: Final = tuple((rule, re.compile(rule.regex)) for rule in RULES)
_RULES_BY_KEYWORD: Final[dict[str, tuple[int, ...]]] = {
    word: tuple(i for i, rule in enumerate(RULES) if word in rule.keywords)
    for word in dict.fromkeys(k for rule in RULES for k in rule.keywords)
}


def _replace_rule(rule: SecretRule, pattern: re.Pattern[str], text: str) -> str:
    def sub(match: re.Match[str]) -> str:
        whole = match.group(0)
        if PREFIX in whole and rule.group:
            return whole  # already redacted by a more specific rule
        start, end = match.span(rule.group)
        base = match.start()
        return whole[: start - base] + marker(rule.kind) + whole[end - base :]

    return pattern.sub(sub, text)


def _replace_assignment(match: re.Match[str]) -> str:
    raw = match.group("value")
    quoted = raw[:1] in "\"'" and raw[-1:] == raw[:1] and len(raw) >= 2
    value = raw[1:-1] if quoted else raw
    whole = match.group(0)
    if len(value) < 3 or _PLACEHOLDER.match(value) or PREFIX in value:
        return whole
    sep = match.groupdict().get("sep") or ""
    if ":" in sep and "=" not in sep and not quoted and value.isalpha():
        return whole  # "Invalid token: expired" is prose, not an assignment
    kind = _kind_of_name(match.group("name"))
    if kind == "token" and value.isdigit():
        return whole  # "max_tokens=256" counts tokens
    kept = whole[: match.start("value") - match.start()]
    inner = marker(kind)
    return kept + (f"{raw[0]}{inner}{raw[0]}" if quoted else inner)


def _redact_assignments(text: str) -> str:
    """``_ASSIGNMENT.sub(_replace_assignment, text)``, tried only where a match can start.

    A match starts at most ``_NAME_REACH`` characters before a name word, so only those
    positions are tried, left to right as ``sub`` would. Everywhere else ``sub`` would try
    up to 40 characters at each position: a log line of long dotted class names cost 35 µs.
    """
    out: list[str] = []
    last = floor = 0
    word = _NAME_WORD.search(text)
    while word is not None:
        at = word.start()
        # The name runs to the word through name characters only: start in that run
        # (none when an earlier match took this word in).
        run = _NAME_RUN.search(text, max(floor, at - _NAME_REACH), at) if floor <= at else None
        for start in range(run.start() if run else at + 1, at + 1):
            match = _ASSIGNMENT.match(text, start)
            if match is not None:
                out += (text[last:start], _replace_assignment(match))
                last = floor = match.end()  # past this word: a match holds its name
                break
        else:
            floor = max(floor, at + 1)
        word = _NAME_WORD.search(text, at + 1)  # overlapping: every word counts
    return "".join(out) + text[last:] if out else text


def _replace_flag(match: re.Match[str]) -> str:
    name = match.group("name").lower()
    if any(word in name for word in ("file", "path", "env", "var", "length", "ttl", "expir")):
        return match.group(0)
    return _replace_assignment(match)


def redact_text(text: str) -> str:
    """``text`` with every credential of a known format replaced by ``[redacted:<kind>]``.

    Works on one line or several; never adds or removes a newline. Text without any of the
    rules' keywords is returned as it is, after one search.

    Example:
        >>> redact_text("git push https://bot:hunter2@example.org/repo password=hunter2")
        'git push https://bot:[redacted:url-password]@example.org/repo password=[redacted:password]'
    """
    if not text:
        return text
    low = text.lower()
    if _TRIGGER.search(low) is None:
        return text
    # Each keyword tested once (rules share many), then the rules they name, in rule order.
    named = {i for word, rules in _RULES_BY_KEYWORD.items() if word in low for i in rules}
    for i in sorted(named):
        rule, pattern = _COMPILED[i]
        text = _replace_rule(rule, pattern, text)
    if any(word in low for word in _KEYWORDS_OF_ASSIGNMENTS):
        # Every assignment has a ":" or "=": without one, spare the (slow) search.
        if ":" in text or "=" in text:
            text = _redact_assignments(text)
        if "-" in text:
            text = _FLAG.sub(_replace_flag, text)
    return text


def _holding_keywords(lows: list[str]) -> Iterable[int]:
    """Indexes of the lowercased one-line texts that may hold a rule's keyword (a superset).

    Many texts (a big chunk's keys): the compiled pass, where Hyperscan reads the keywords
    at C speed. Few: ``re``, as compiling the keywords for Hyperscan costs a small log's
    triage more than it saves (0.05 s).
    """
    found = lines_that_may_match(lows, _TRIGGER) if len(lows) >= MIN_LINES else None
    return lines_matching(lows, _TRIGGER) if found is None else found


def redact_texts(texts: Sequence[str]) -> list[str]:
    """:func:`redact_text` of each of ``texts``, with one search for all of them.

    Most texts of a log hold no keyword: the joined search rules them out at ``re``'s speed,
    where a search per text costs a call each.
    """
    out = list(texts)
    lows = [text.lower() for text in texts]
    if any("\n" in low for low in lows):  # several lines in one text: one by one
        return [redact_text(text) for text in texts]
    for index in _holding_keywords(lows):
        out[index] = redact_text(out[index])
    return out


def redact_lines(lines: Sequence[str]) -> list[str]:
    """:func:`redact_text` of each line, plus the bodies of multi-line PEM private keys.

    A key's block starts at a line that begins with ``-----BEGIN … PRIVATE KEY-----`` and
    holds base64 (and an encrypted key's headers) until its ``-----END`` line.
    """
    out = [redact_text(line) for line in lines]
    in_key = False
    for n, line in enumerate(out):
        text = visible(line).strip()
        if _PEM_BEGIN.match(text) and not _PEM_END.search(text):
            in_key = True
        elif in_key and (_is_key_body(text) or _PEM_HEADER.fullmatch(text)):
            if text:
                out[n] = marker("private-key")
        else:
            in_key = False
    return out


def _is_key_body(text: str) -> bool:
    return bool(_BASE64_LINE.fullmatch(text))


def _in_pem_block(number: int, chunk: Sequence[str], offset: int) -> bool:
    """Is shown line ``number`` (a base64 line) inside a PEM private key of ``chunk``?

    Walks up over base64 and PEM header lines to the ``BEGIN`` line. A walk that reaches the
    chunk's first line may have started in a key cut by the chunk boundary: it counts as one
    when the line itself looks like a key's body (long, mixed case).
    """
    index = number - offset - 1
    for back in range(index - 1, max(-1, index - PEM_REACH), -1):
        text = visible(chunk[back]).strip()
        if _PEM_BEGIN.match(text):
            return True
        if not (_FULL_BASE64_LINE.fullmatch(text) or _PEM_HEADER.fullmatch(text)):
            return False
    if index - PEM_REACH >= 0:
        return False
    return bool(_STRONG_BASE64.fullmatch(visible(chunk[index]).strip()))


def _redacted_keys(keys: Iterable[str]) -> dict[str, str]:
    """The keys that hold a credential, each mapped to its redacted form.

    Keys are masked lines (digits already ``<*>``), one per distinct line shape: searched
    together in one pass, and only the few holding a keyword are redacted one by one. A log
    repeats its keys from chunk to chunk, so a worker remembers each key's answer.
    """
    known = _KEY_ANSWERS
    answers: dict[str, str | None] = {key: known.get(key) for key in keys}
    new = [key for key, clean in answers.items() if clean is None]
    # One search per key that holds a keyword (a log's keys can hold thousands of "key=").
    flagged = set(_holding_keywords([k.lower() for k in new])) if new else set()
    if len(known) + len(new) > _KEY_ANSWERS_LIMIT:
        known.clear()
    for index, key in enumerate(new):
        answers[key] = known[key] = redact_text(key) if index in flagged else key
    return {key: clean for key, clean in answers.items() if clean is not None and clean != key}


#: Each key's redacted form (the key itself when it holds no credential): a pure function
#: of the key, kept per process across the chunks it scans; bounded, like the key caches.
_KEY_ANSWERS: dict[str, str] = {}
_KEY_ANSWERS_LIMIT: Final = 100_000


def redact_scan(scan: ChunkScan, chunk: Sequence[str]) -> ChunkScan:
    """The scan with every text it carries redacted; numbers and ranges untouched.

    Texts (shown lines, titles, test and step names, summaries) and the line keys the parent
    counts templates by: a key is the line with its digits masked, so ``password=hunter``
    would otherwise live on in the template counts and the run journal.

    Args:
        scan: A worker's scan of one chunk.
        chunk: The chunk's raw lines (``scan.offset + 1`` is the first), to tell whether a
            shown base64 line belongs to a PEM private key that begins above it.
    """
    keys = _redacted_keys(scan.key_counts)
    counted = scan.key_counts
    # Every text of the scan in one batch, each once: a hit's title is mostly its shown
    # line, and a head not a key is its test's name.
    texts = [text for text, _ in scan.lines.values()]
    texts += [h.title for h in scan.hits] + [h.test for h in scan.hits]
    texts += [e.name for e in scan.events] + list(scan.summaries)
    texts += [h for h in scan.heads if h not in counted]
    unique = list(dict.fromkeys(texts))
    clean_of = dict(zip(unique, redact_texts(unique), strict=True))
    lines = {}
    for n, (text, key) in scan.lines.items():
        clean = clean_of[text]
        stripped = clean.strip()
        if stripped and _is_key_body(stripped) and _in_pem_block(n, chunk, scan.offset):
            clean = marker("private-key")
        lines[n] = (clean, keys.get(key, key))
    counts = scan.key_counts
    if keys:
        counts = {}
        for key, count in scan.key_counts.items():
            clean = keys.get(key, key)
            counts[clean] = counts.get(clean, 0) + count
    hits = tuple(
        h
        if (clean_of[h.title], clean_of[h.test]) == (h.title, h.test)
        else replace(h, title=clean_of[h.title], test=clean_of[h.test])
        for h in scan.hits
    )
    events = tuple(
        e if clean_of[e.name] == e.name else replace(e, name=clean_of[e.name]) for e in scan.events
    )
    return replace(
        scan,
        lines=lines,
        hits=hits,
        events=events,
        summaries=tuple(clean_of[text] for text in scan.summaries),
        key_counts=counts,
        # Most heads are line keys, redacted with the keys.
        heads=tuple(keys.get(h, h) if h in counted else clean_of[h] for h in scan.heads),
    )


def redact_matches(matches: Iterable[CauseMatch]) -> tuple[CauseMatch, ...]:
    """Cause matches with their descriptions (filled from the log's text) redacted."""
    return tuple(replace(m, description=redact_text(m.description)) for m in matches)
