"""Render a memo as GitHub-flavoured Markdown, self-contained HTML, or JSON.

All three scrub secrets first (the redactor is the S5 choke point), then escape every piece
of untrusted text for their format (M11, S9). Markdown fits a PR comment (at most
:data:`MAX_MARKDOWN_CHARS`); HTML fetches nothing and runs no script (a CSP says so).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from .._redact import NO_SECRETS
from ._escape import (
    html_inline,
    html_text,
    md_code,
    md_fence,
    md_inline,
    md_text,
    safe_url,
    scrub_value,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._redact import Redactor
    from ._model import Memo, MemoFinding

#: GitHub's limit for an issue or PR comment body.
MAX_MARKDOWN_CHARS = 65_536
# Excerpt lines per finding tried in turn until the Markdown fits.
_EXCERPT_BUDGETS = (30, 12, 4, 0)
_TRUNCATED = "\n\n_… memo truncated to fit a comment; the JSON memo has everything._\n"


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 1 else f"{value:.1f}"


def _excerpt(f: MemoFinding, max_lines: int) -> str:
    lines = f.excerpt.split("\n")
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… ({len(lines) - max_lines} more lines)"]
    return "\n".join(lines)


def _md_location(f: MemoFinding) -> str:
    url = safe_url(f.href) if f.href else None
    return f"[{md_text(f.location)}]({url})" if url else md_code(f.location)


def _md_link(url: str) -> str:
    safe = safe_url(url)
    return f"<{safe}>" if safe else md_code(url)


def _md_blocks(memo: Memo, *, excerpt_lines: int) -> list[str]:
    icon = {"failed": "❌", "passed": "✅"}.get(memo.outcome, "❔")
    blocks = [f"## {icon} {md_inline(memo.headline)}"]
    if memo.summary:
        quoted = "\n".join(
            f"> {md_text(line)}" if line.strip() else ">" for line in memo.summary.split("\n")
        )
        blocks.append(
            f"{quoted}\n>\n> _Summary written by an LLM from the extract below; verify it._"
        )
    facts = []
    if memo.failed_step:
        facts.append(f"**Failing step:** {md_code(memo.failed_step)}")
    if memo.exit_code is not None:
        facts.append(f"**Exit code:** {memo.exit_code}")
    if memo.first_error:
        facts.append(f"**First error:** {md_text(memo.first_error)}")
    if facts:
        blocks.append("  \n".join(facts))
    if memo.failing_tests:
        items = "\n".join(f"- {md_code(t)}" for t in memo.failing_tests)
        blocks.append(f"### Failing tests\n\n{items}")
    if memo.findings:
        blocks.append("### Top findings")
        for f in memo.findings:
            novel = " · **new**" if f.novel else ""
            head = (
                f"#### {f.rank}. {md_text(f.title or f.kind)}\n\n"
                f"{_md_location(f)} · {md_text(f.family)} {md_text(f.kind)} · "
                f"score {f.score:.2f}{novel}"
            )
            if excerpt_lines > 0 and f.excerpt:
                head += "\n\n" + md_fence(_excerpt(f, excerpt_lines))
            blocks.append(head)
    if memo.causes:
        causes = []
        for c in memo.causes:
            item = f"- **{md_text(c.name)}**"
            item += f" ({md_text(c.category)})" if c.category else ""
            item += f": {md_inline(c.description)}" if c.description else ""
            if c.fix:
                item += f"\n  - **Fix:** {md_inline(c.fix)}"
            if c.evidence:
                lines = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in c.evidence[:10])
                item += f"\n  - Evidence: lines {lines}"
            if c.links:
                item += "\n  - " + " ".join(_md_link(u) for u in c.links)
            causes.append(item)
        blocks.append("### Known causes\n\n" + "\n".join(causes))
    if memo.incidents:
        rows = [
            f"| {i.match or '?'} | {md_text(i.project)} | {md_text(i.cause)} | {md_text(i.fix)} | "
            f"{md_text(i.when)} | {_md_link(i.link) if i.link else ''} |"
            for i in memo.incidents
        ]
        blocks.append(
            "### Similar past incidents\n\n| match | project | cause | fix | when | link |\n"
            "|---:|---|---|---|---|---|\n" + "\n".join(rows)
        )
    if memo.baseline_used:
        if memo.novel:
            items = "\n".join(f"- {_md_location(f)}: {md_text(f.title)}" for f in memo.novel)
            blocks.append(f"### New against the baseline\n\n{items}")
        else:
            blocks.append("### New against the baseline\n\nNo finding is new against the baseline.")
    if memo.timings:
        rows = [
            f"| {md_text(t.name)} | {t.source} | {_seconds(t.seconds)} | "
            f"{'❌' if t.failed else ''} |"
            for t in memo.timings
        ]
        blocks.append(
            "### Timings\n\n| name | kind | seconds | failed |\n|---|---|---:|:---:|\n"
            + "\n".join(rows)
        )
    if memo.next_steps:
        items = "\n".join(f"{n}. {md_inline(s)}" for n, s in enumerate(memo.next_steps, 1))
        blocks.append(f"### Next steps\n\n{items}")
    if memo.notes:
        blocks.append("\n".join(f"_{md_text(n)}_  " for n in memo.notes))
    blocks.append(f"<sub>juggler triage · {memo.source} memo</sub>")
    return blocks


def render_markdown(
    memo: Memo, *, redactor: Redactor = NO_SECRETS, max_chars: int = MAX_MARKDOWN_CHARS
) -> str:
    """The memo as GitHub-flavoured Markdown, at most ``max_chars`` characters.

    Log excerpts sit in fenced blocks whose fence no excerpt line can close; all other
    untrusted text is escaped (no HTML, no unintended links, no @mentions). When the memo is
    too long, excerpts are shortened first, then whole trailing sections are dropped (never
    cut mid-block, so fences stay balanced) and a note says so.

    Args:
        memo: The memo.
        redactor: Scrubs secrets before escaping.
        max_chars: The size cap (GitHub comments allow 65,536).
    """
    memo = scrub_value(memo, redactor)
    text = ""
    for budget in _EXCERPT_BUDGETS:
        blocks = _md_blocks(memo, excerpt_lines=budget)
        text = redactor.scrub("\n\n".join(blocks) + "\n")
        if len(text) <= max_chars:
            return text
    kept: list[str] = []
    used = len(_TRUNCATED)
    for block in blocks:
        block = redactor.scrub(block)
        if used + len(block) + 2 > max_chars:
            break
        kept.append(block)
        used += len(block) + 2
    return "\n\n".join(kept) + _TRUNCATED


_CSS = """
:root{color-scheme:light dark;--bg:#f6f8fa;--card:#fff;--fg:#1f2328;--muted:#59636e;
--bad:#cf222e;--good:#1a7f37;--line:#d1d9e0;--code:#f0f3f6;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#151b23;--fg:#e6edf3;
--muted:#9198a1;--line:#3d444d;--code:#1f2630;--accent:#4493f8}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px}
header{border-left:6px solid var(--bad);background:var(--card);padding:16px 20px;
border-radius:8px;box-shadow:0 1px 2px #0002}header.ok{border-color:var(--good)}
header.unknown{border-color:var(--muted)}header.unknown .badge{background:var(--muted)}
h1{font-size:1.3rem;margin:0 0 8px}.badge{display:inline-block;font-size:.75rem;
vertical-align:middle;color:#fff;background:var(--bad);border-radius:4px;padding:2px 8px;
letter-spacing:.05em}header.ok .badge{background:var(--good)}
h2{font-size:1.05rem;margin:28px 0 10px;color:var(--muted);text-transform:uppercase;
letter-spacing:.04em}
.facts{color:var(--muted);margin:0}.facts b{color:var(--fg)}
section.card,.finding{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:12px 16px;margin:10px 0}
.finding h3{font-size:1rem;margin:0 0 4px}.meta{color:var(--muted);font-size:.85rem}
.new{background:var(--bad);color:#fff;border-radius:4px;padding:0 6px;font-size:.75rem}
pre{background:var(--code);padding:10px 12px;border-radius:6px;overflow:auto;
font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;margin:8px 0 0;white-space:pre}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;
background:var(--code);padding:1px 4px;border-radius:4px}
table{border-collapse:collapse;width:100%;background:var(--card)}
td,th{border:1px solid var(--line);padding:5px 10px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.failed td{color:var(--bad)}
blockquote{margin:12px 0 0;padding:8px 14px;border-left:4px solid var(--accent);
background:var(--code);white-space:pre-wrap}
a{color:var(--accent)}footer{color:var(--muted);font-size:.8rem;margin-top:28px}
""".strip()
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
# No script may run and nothing may be fetched: default-src 'none' blocks scripts, images,
# fonts and connections; only our own stylesheet, pinned by its hash, applies.
CSP = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def _is_local_or_http(href: str) -> bool:
    # A relative path or an http(s) URL; never javascript:, data: or the like.
    scheme = href.split(":", 1)[0].lower() if ":" in href.split("/", 1)[0] else ""
    return scheme in ("", "http", "https")


def _html_link(url: str, label: str | None = None) -> str:
    safe = safe_url(url)
    text = html_text(label or url)
    if not safe:
        return f"<code>{html_text(url)}</code>"
    return f'<a href="{html_text(safe)}" rel="noopener noreferrer nofollow">{text}</a>'


def _html_finding(f: MemoFinding) -> str:
    where = _html_link(f.href, f.location) if f.href else f"<code>{html_text(f.location)}</code>"
    new = ' <span class="new">new</span>' if f.novel else ""
    pre = f"<pre>{html_text(f.excerpt)}</pre>" if f.excerpt else ""
    return (
        f'<div class="finding"><h3>{f.rank}. {html_text(f.title or f.kind)}{new}</h3>'
        f'<div class="meta">{where} · {html_text(f.family)} {html_text(f.kind)} · '
        f"score {f.score:.2f}</div>{pre}</div>"
    )


def _html_body(memo: Memo, timeline_href: str | None) -> list[str]:
    tone = {"failed": "bad", "passed": "ok"}.get(memo.outcome, "unknown")
    out = [f'<header class="{tone}">']
    # A text badge, not an emoji: headless/minimal systems often lack an emoji font.
    label = {"failed": "FAILED", "passed": "OK"}.get(memo.outcome, "UNKNOWN")
    badge = f'<span class="badge">{label}</span>'
    out.append(f"<h1>{badge} {html_inline(memo.headline)}</h1>")
    facts = []
    if memo.failed_step:
        facts.append(f"<b>Failing step</b> <code>{html_text(memo.failed_step)}</code>")
    if memo.exit_code is not None:
        facts.append(f"<b>Exit code</b> {memo.exit_code}")
    if memo.first_error:
        facts.append(f"<b>First error</b> {html_text(memo.first_error)}")
    if facts:
        out.append(f'<p class="facts">{" · ".join(facts)}</p>')
    if memo.summary:
        out.append(f"<blockquote>{html_text(memo.summary)}</blockquote>")
        out.append('<p class="meta">Summary written by an LLM from the extract; verify it.</p>')
    out.append("</header>")
    if memo.failing_tests:
        items = "".join(f"<li><code>{html_text(t)}</code></li>" for t in memo.failing_tests)
        out.append(f'<h2>Failing tests</h2><section class="card"><ul>{items}</ul></section>')
    if memo.findings:
        out.append("<h2>Top findings</h2>")
        out.extend(_html_finding(f) for f in memo.findings)
    if memo.causes:
        out.append("<h2>Known causes</h2>")
        for c in memo.causes:
            links = " ".join(_html_link(u) for u in c.links)
            cat = f" <span class=meta>({html_text(c.category)})</span>" if c.category else ""
            out.append(
                f'<section class="card"><b>{html_text(c.name)}</b>{cat}'
                f"<p>{html_inline(c.description)}</p>"
                + (f"<p><b>Fix:</b> {html_inline(c.fix)}</p>" if c.fix else "")
                + (f"<p>{links}</p>" if links else "")
                + "</section>"
            )
    if memo.incidents:
        rows = "".join(
            f'<tr><td class="num">{i.match or "?"}</td><td>{html_text(i.project)}</td>'
            f"<td>{html_text(i.cause)}</td><td>{html_text(i.fix)}</td>"
            f"<td>{html_text(i.when)}</td><td>{_html_link(i.link) if i.link else ''}</td></tr>"
            for i in memo.incidents
        )
        out.append(
            "<h2>Similar past incidents</h2><table><tr><th>match</th><th>project</th>"
            f"<th>cause</th><th>fix</th><th>when</th><th>link</th></tr>{rows}</table>"
        )
    if memo.baseline_used:
        out.append("<h2>New against the baseline</h2>")
        if memo.novel:
            out.extend(_html_finding(f) for f in memo.novel)
        else:
            out.append('<section class="card">No finding is new against the baseline.</section>')
    if memo.timings:
        rows = "".join(
            f'<tr class="{"failed" if t.failed else ""}"><td>{html_text(t.name)}</td>'
            f'<td>{t.source}</td><td class="num">{_seconds(t.seconds)}</td>'
            f"<td>{'failed' if t.failed else ''}</td></tr>"
            for t in memo.timings
        )
        out.append(
            "<h2>Timings</h2><table><tr><th>name</th><th>kind</th><th>seconds</th><th></th></tr>"
            f"{rows}</table>"
        )
    if memo.next_steps:
        items = "".join(f"<li>{html_inline(s)}</li>" for s in memo.next_steps)
        out.append(f'<h2>Next steps</h2><section class="card"><ol>{items}</ol></section>')
    foot = [f"juggler triage · {memo.source} memo"]
    foot.extend(html_text(n) for n in memo.notes)
    if timeline_href and _is_local_or_http(timeline_href):
        foot.append(f'<a href="{html_text(timeline_href)}">timeline of this triage run</a>')
    out.append(f"<footer>{' · '.join(foot)}</footer>")
    return out


def render_html(
    memo: Memo, *, redactor: Redactor = NO_SECRETS, timeline_href: str | None = None
) -> str:
    """The memo as one self-contained HTML page.

    Every piece of text is HTML-escaped; the page has no script, loads nothing (a CSP meta
    with ``default-src 'none'`` enforces it) and links to the trace timeline when given.

    Args:
        memo: The memo.
        redactor: Scrubs secrets before escaping.
        timeline_href: A relative link to the HTML timeline of the run, if one was written.
    """
    memo = scrub_value(memo, redactor)
    if timeline_href is not None:
        timeline_href = redactor.scrub(timeline_href)
    title = html_text(memo.headline)
    page = (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(_html_body(memo, timeline_href))
        + "\n</main></body></html>\n"
    )
    return redactor.scrub(page)


def render_json(triage: Mapping[str, Any], memo: Memo, *, redactor: Redactor = NO_SECRETS) -> str:
    """The triage document plus ``"memo"``, as indented JSON, secrets scrubbed."""
    doc = scrub_value({**triage, "memo": memo.to_json()}, redactor)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
