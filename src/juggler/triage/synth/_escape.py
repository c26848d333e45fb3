"""Escaping untrusted text (log lines, KB entries, LLM output) for Markdown and HTML.

RELIABILITY.md M11/S9: nothing from a log may become markup, a link that was not meant, a
mention, or a terminal control sequence. Each helper returns text that renders as exactly the
characters it was given (control characters shown as ``\\x1b``-style escapes).
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .._redact import Redactor

T = TypeVar("T")

# C0/C1 controls except tab and newline: ANSI CSI/OSC sequences, carriage returns that would
# hide what precedes them, bells. Shown escaped rather than dropped, so nothing is hidden.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Backslash-escapes are defined for every ASCII punctuation character (CommonMark 2.4); these
# are the ones that can start or end markup anywhere in a line ("&" starts entities, "|"
# splits table cells, "~" strikes through).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")
# These only mean something at the start of a line: lists, setext underlines, "1." lists.
_MD_LEADING = re.compile(r"^(\s*)([-+=]|\d+(?=\.))")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\]{1,2000}$")
_MAX_LINE_CHARS = 500
_SPACES = re.compile(r"\s+")


def visible_controls(text: str) -> str:
    """``text`` with control characters (ANSI escapes, bidi overrides) written as ``\\xNN``."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def md_text(text: str) -> str:
    """Escape one line of untrusted text for GitHub-flavoured Markdown.

    Newlines become spaces, markup characters are backslash-escaped, and ``@`` is followed by
    a word joiner so that a log line cannot mention (notify) a GitHub user or team.
    """
    flat = _SPACES.sub(" ", visible_controls(text))
    escaped = _MD_SPECIAL.sub(r"\\\1", flat)
    escaped = _MD_LEADING.sub(lambda m: m.group(1) + _escape_leading(m.group(2)), escaped)
    return escaped.replace("@", "@\u2060")


def _escape_leading(token: str) -> str:
    # "-" -> "\-"; "12" (before "." or ")") -> "12\" so the dot is escaped: "12\."
    return f"\\{token}" if not token.isdigit() else f"{token}\\"


def md_code(text: str) -> str:
    """An inline code span holding ``text`` verbatim (fence longer than any backtick run)."""
    flat = " ".join(visible_controls(text).split()) or " "
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def md_inline(text: str) -> str:
    """Our own one-line strings: ```code``` segments become code spans, the rest is escaped.

    Used for the headline and next steps, which quote step names and commands in backticks;
    whatever they quote from the log is still escaped or inside a code span.
    """
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: treat the whole as plain text
        return md_text(text)
    return "".join(md_code(p) if i % 2 else md_text(p) for i, p in enumerate(parts))


def md_fence(text: str, *, info: str = "text") -> str:
    """A fenced code block holding ``text`` verbatim.

    The fence is longer than any backtick run in the text, so no line of the text can close
    it (CommonMark 4.5); very long lines are cut, controls are shown escaped.
    """
    lines = [
        line if len(line) <= _MAX_LINE_CHARS else line[:_MAX_LINE_CHARS] + " …"
        for line in visible_controls(text.replace("\r\n", "\n")).split("\n")
    ]
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def safe_url(url: str) -> str | None:
    """``url`` if it is a plain http(s) URL safe to link to, else ``None``."""
    return url if _SAFE_URL.match(url) else None


def html_text(text: str) -> str:
    """Escape untrusted text for HTML element content and quoted attributes."""
    return html.escape(visible_controls(text), quote=True)


def html_inline(text: str) -> str:
    """Like :func:`md_inline`, for HTML: backtick segments become ``<code>``."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return html_text(text)
    return "".join(
        f"<code>{html_text(p)}</code>" if i % 2 else html_text(p) for i, p in enumerate(parts)
    )


def scrub_value(value: T, redactor: Redactor) -> T:
    """A copy of ``value`` (str, list, tuple, dict, frozen dataclass) with secrets scrubbed.

    Applied to the memo and the triage document before rendering: escaping changes how a
    secret is spelled, so scrubbing must come first.
    """
    result: object
    if isinstance(value, str):
        result = redactor.scrub(value)
    elif isinstance(value, list):
        result = [scrub_value(v, redactor) for v in value]
    elif isinstance(value, tuple):
        result = tuple(scrub_value(v, redactor) for v in value)
    elif isinstance(value, dict):
        result = {scrub_value(k, redactor): scrub_value(v, redactor) for k, v in value.items()}
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: scrub_value(getattr(value, f.name), redactor) for f in dataclasses.fields(value)
        }
        result = dataclasses.replace(value, **changes)
    else:
        result = value
    return result  # type: ignore[return-value]
