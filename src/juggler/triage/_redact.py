"""The single choke point for secrets in errors and outputs (RELIABILITY.md S5).

Every string that leaves a triage run — memos in all formats, delivery records, error
messages, log lines — passes through :meth:`Redactor.scrub`. A secret is scrubbed in the forms
it leaks in: raw, URL-encoded (upper- and lower-case hex, ``+`` or ``%20`` for spaces) and
base64 (standard and URL-safe, at any byte alignment inside a longer base64 stream).

Known trap: ``httpx.HTTPStatusError`` renders the full request URL in its message, so a
webhook URL with a token in its path leaks through ``str(exc)``; :meth:`Redactor.describe`
is the way to turn such an exception into text.
"""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: What a scrubbed secret becomes.
MASK = "[REDACTED]"
#: Shorter values are not treated as secrets: masking "1" or "abc" would shred every output,
#: and values that short are not credentials anyway.
MIN_SECRET_CHARS = 6
#: Path segments and query values of a secret URL at least this long are secrets on their own
#: (Slack's ``/services/T…/B…/<token>``, Discord's ``/webhooks/<id>/<token>``).
MIN_URL_PART_CHARS = 8
#: Environment variables whose values are secrets whenever they are set.
SECRET_ENV_SUFFIXES = ("_TOKEN", "_KEY", "_SECRET", "_PASSWORD", "_WEBHOOK_URL")


def _base64_forms(raw: bytes) -> set[str]:
    # A secret inside a longer base64 stream is encoded at one of three byte alignments; for
    # each, keep only the characters that depend on the secret's bytes alone.
    forms: set[str] = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        start = (pad * 4 + 2) // 3  # chars touched by the padding bytes
        end_bytes = pad + len(raw)
        end = (end_bytes * 4) // 3  # chars fully determined by the last full 6-bit groups
        core = encoded[start:end]
        if len(core) >= MIN_SECRET_CHARS:
            forms.add(core)
            forms.add(core.replace("+", "-").replace("/", "_"))
    full = base64.b64encode(raw).decode()
    forms.update({full, full.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")})
    return forms


def _encoded_forms(secret: str) -> set[str]:
    forms = {secret}
    for quoted in (
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
    ):
        forms.add(quoted)
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quoted))
    forms |= _base64_forms(secret.encode())
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


def _url_parts(value: str) -> set[str]:
    # A URL is a secret as a whole, and so is each long part of it: an error message may
    # quote only the path, or a proxy may log only the query.
    parts: set[str] = set()
    try:
        split = urllib.parse.urlsplit(value)
    except ValueError:
        return parts
    if split.scheme not in ("http", "https") or not split.netloc:
        return parts
    if split.password:
        parts.add(split.password)
    if split.path:
        parts.add(split.path)
    for segment in split.path.split("/"):
        if len(segment) >= MIN_URL_PART_CHARS:
            parts.add(urllib.parse.unquote(segment))
            parts.add(segment)
    for _, query_value in urllib.parse.parse_qsl(split.query, keep_blank_values=False):
        if len(query_value) >= MIN_URL_PART_CHARS:
            parts.add(query_value)
    if split.query:
        parts.add(split.query)
    return parts


@final
@dataclass(frozen=True, slots=True)
class Redactor:
    """Scrubs configured secrets, in their raw, URL-encoded and base64 forms, from text.

    Build one per run from everything that was configured (:meth:`from_values`,
    :meth:`from_environ`, or :func:`juggler.triage._config.TriageConfig.secrets`), and pass
    it to every renderer and delivery function.

    Example:
        >>> r = Redactor.from_values(["s3cr3t-token"])
        >>> r.scrub("POST https://x/hook/s3cr3t-token failed")
        'POST https://x/hook/[REDACTED] failed'
    """

    # repr=False: a redactor printed in a debug log must not print what it hides.
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_values(cls, values: Iterable[str | None]) -> Redactor:
        """A redactor for these secret values (``None`` and too-short values are ignored).

        A value that is an ``http(s)`` URL also makes its password, path, long path
        segments and long query values secrets.
        """
        wanted: set[str] = set()
        for value in values:
            if not value or len(value) < MIN_SECRET_CHARS:
                continue
            wanted.add(value)
            wanted.update(p for p in _url_parts(value) if len(p) >= MIN_SECRET_CHARS)
        forms: set[str] = set()
        for secret in wanted:
            forms |= _encoded_forms(secret)
        pattern = None
        if forms:
            # Longest first, so a URL is masked whole rather than leaving its host around a mask.
            alternatives = sorted(forms, key=lambda f: (-len(f), f))
            pattern = re.compile("|".join(re.escape(f) for f in alternatives))
        return cls(frozenset(wanted), pattern)

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, *, extra: Iterable[str | None] = ()
    ) -> Redactor:
        """A redactor for ``extra`` plus every ``*_TOKEN``/``*_KEY``/``*_SECRET``... variable.

        Args:
            environ: The environment (``os.environ`` by default).
            extra: Further secret values (webhook URLs, the HMAC secret, an API key...).
        """
        env = os.environ if environ is None else environ
        found = [value for name, value in env.items() if name.upper().endswith(SECRET_ENV_SUFFIXES)]
        return cls.from_values([*found, *extra])

    def merged(self, other: Redactor) -> Redactor:
        """A redactor that scrubs the secrets of both."""
        return Redactor.from_values([*self.secrets, *other.secrets])

    def scrub(self, text: str) -> str:
        """``text`` with every form of every secret replaced by ``[REDACTED]``."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def describe(self, exc: BaseException) -> str:
        """A one-line, scrubbed description of an exception: ``"TypeName: message"``.

        Use this instead of ``str(exc)`` for anything from an HTTP client: httpx puts the
        full request URL (token included) in its messages.
        """
        message = " ".join(str(exc).split())
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        return self.scrub(text)


#: A redactor that scrubs nothing, for callers that configured no secrets.
NO_SECRETS = Redactor()
