"""The HTML memo: self-contained, everything escaped, no script, nothing fetched (M11)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from juggler.triage.synth import build_memo
from juggler.triage.synth.render import CSP, render_html

from .test_memo import sample_triage


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def test_script_in_an_excerpt_stays_text() -> None:
    """<script> from the log is text on the page, never an element."""
    page = render_html(build_memo(sample_triage()))
    doc = parse(page)
    assert "script" not in {tag for tag, _ in doc.tags}
    assert "<script>alert('x')</script>" in "".join(doc.text)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_page_loads_nothing_and_declares_a_strict_csp() -> None:
    """No src/srcset/link-stylesheet anywhere; CSP forbids scripts and every fetch."""
    page = render_html(build_memo(sample_triage()), timeline_href="timeline.html")
    doc = parse(page)
    for tag, attrs in doc.tags:
        assert "src" not in attrs, tag
        assert "srcset" not in attrs, tag
        assert tag not in {"link", "img", "iframe", "object", "embed", "script", "base"}
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    meta = [a for t, a in doc.tags if t == "meta" and a.get("http-equiv")]
    assert meta[0]["content"] == CSP
    assert CSP.startswith("default-src 'none';")
    assert "script-src" not in CSP
    assert "unsafe-inline" not in CSP
    links = [a["href"] for t, a in doc.tags if t == "a"]
    assert "timeline.html" in links
    assert all(h is not None and not h.startswith("javascript") for h in links)


def test_only_http_links_become_anchors() -> None:
    """A javascript: link from the KB is shown as code, not linked."""
    page = render_html(build_memo(sample_triage()))
    assert '<a href="https://docs.pydantic.dev/latest/"' in page
    assert "<code>javascript:alert(1)</code>" in page


def test_control_characters_are_shown_not_interpreted() -> None:
    """ANSI and bidi controls from the log are written visibly (\\x1b, \\x2e)."""
    triage = {"findings": [{"line_start": 1, "excerpt": "\x1b[31mred\x1b[0m \u202eevil"}]}
    page = render_html(build_memo(triage))
    assert "\x1b" not in page
    assert "\u202e" not in page
    assert "\\x1b[31mred" in page


def test_style_hash_matches_the_inline_stylesheet() -> None:
    """The CSP pins the stylesheet by hash, so the page's own CSS applies and nothing else."""
    import base64
    import hashlib

    page = render_html(build_memo(sample_triage()))
    css = re.search(r"<style>(.*?)</style>", page, re.S)
    assert css is not None
    digest = base64.b64encode(hashlib.sha256(css.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in CSP


def test_timeline_link_must_be_relative_or_http() -> None:
    """A javascript: or data: timeline link is dropped; a relative path is kept."""
    memo = build_memo(sample_triage())
    assert 'href="runs/timeline.html"' in render_html(memo, timeline_href="runs/timeline.html")
    for bad in ("javascript:alert(1)", "data:text/html,x", "JavaScript:x"):
        assert (
            bad.split(":")[0]
            not in render_html(memo, timeline_href=bad).lower().split("<footer>")[1]
        )
