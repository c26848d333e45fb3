"""What ``juggler triage`` prints on a terminal: everything it knows, in ten seconds of reading.

Order follows the questions of someone whose build just failed: did it fail, and where
(verdict and headline)? Is this a known problem, and what is its fix (known causes)? Has it
happened before, and how was it fixed then (similar incidents: match, when, project, fix)?
Which tests (failing tests)? Where in the log (the top ``--top`` findings, with their telling
lines)? What now (next step)?

Every string from a log or the knowledge base is untrusted: control characters are escaped
(:func:`._present.printable`), and text is handed to rich as :class:`rich.text.Text`, never as
markup, so ``[bold]`` in a log is printed as it is. Colour only on a terminal, never with
``NO_COLOR`` (rich reads both); output to a pipe is plain text and never wrapped.
"""

from __future__ import annotations

import io
import os
import re
import time
from typing import TYPE_CHECKING, Any, Final

from rich.console import Console
from rich.text import Text

from ._novelty import is_telling
from ._present import DEFAULT_TOP, failing_count, printable, verdict_of
from .synth import build_memo

if TYPE_CHECKING:
    from .synth import Memo, MemoFinding

_EXCERPT_LINES: Final = 6
_TESTS_SHOWN: Final = 5
_INCIDENTS_SHOWN: Final = 3
_CAUSES_SHOWN: Final = 3
_NEXT_SHOWN: Final = 2
_TEXT_CHARS: Final = 240
_LINE_CHARS: Final = 300
# Lines that name what went wrong, in the formats of the common runners and compilers.
_ERRORISH: Final = re.compile(
    r"^E\s|^>\s|\b(?:error|Error|ERROR|FAIL|fail(?:ed|ure)|[A-Z]\w*(?:Error|Exception)|"
    r"assert|Expected|Received|expected|actual|panic|fatal|denied|not found|No such)\b"
)
_STYLE = {"failed": "bold red", "passed": "bold green", "unknown": "bold yellow"}
_MARK = {"failed": "✗", "passed": "✓", "unknown": "?"}


def _clean(text: str, limit: int = _TEXT_CHARS) -> str:
    flat = printable(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def ago(created_at: float, now: float) -> str:
    """``"5 min ago"``, ``"3 h ago"``, ``"12 days ago"``; ``""`` for a time not in the past."""
    seconds = now - created_at
    if created_at <= 0 or seconds < 0:
        return ""
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def _section(title: str, detail: str = "") -> Text:
    line = Text(title, style="bold cyan")
    if detail:
        line.append(f"  {detail}", style="dim")
    return line


def _headline(document: dict[str, Any], memo: Memo) -> list[Text]:
    verdict = verdict_of(document)
    analysis = document.get("analysis", {})
    line = Text(f"{_MARK[verdict]} ", style=_STYLE[verdict])
    line.append(_clean(memo.headline.replace("`", ""), 400), style=_STYLE[verdict])
    out = [line]
    evidence = analysis.get("verdict_evidence") or []
    if evidence and isinstance(evidence[0], dict):
        first = evidence[0]
        said = ": ".join(str(x) for x in (first.get("reason"), first.get("text")) if x)
        where = f" (line {first['line']})" if first.get("line") else ""
        out.append(Text(f"  {verdict} because {_clean(said, 200)}{where}", style="dim"))
    return out


def _causes(memo: Memo) -> list[Text]:
    if not memo.causes:
        return []
    out = [_section("Known cause" if len(memo.causes) == 1 else "Known causes")]
    for cause in memo.causes[:_CAUSES_SHOWN]:
        line = Text("  ")
        line.append(_clean(cause.name, 80), style="bold")
        if cause.description:
            line.append(f"  {_clean(cause.description, 160)}")
        out.append(line)
        if cause.fix:
            fix = Text("    fix: ", style="green")
            fix.append(_clean(cause.fix))
            out.append(fix)
        if cause.links:
            out.append(Text(f"    see: {_clean(cause.links[0], 200)}", style="dim"))
    if len(memo.causes) > _CAUSES_SHOWN:
        out.append(Text(f"  … {len(memo.causes) - _CAUSES_SHOWN} more known causes", "dim"))
    return out


def _incidents(document: dict[str, Any], memo: Memo, now: float) -> list[Text]:
    raw = [r for r in document.get("similar_incidents", []) if isinstance(r, dict)]
    alike = [(n, i) for n, i in enumerate(memo.incidents) if i.relevant]
    if not alike:
        return []
    weaker = len(memo.incidents) - len(alike)
    detail = f"{weaker} weaker match(es) in the memo" if weaker else ""
    out = [_section("Seen before", detail)]
    for n, incident in alike[:_INCIDENTS_SHOWN]:
        created = raw[n].get("created_at") if n < len(raw) else None
        line = Text("  ")
        line.append(f"{incident.match or '?':>4}", style="bold magenta")
        line.append(f"  {_clean(incident.cause, 80) or '(no cause recorded)'}", style="bold")
        where = [_clean(incident.project, 60) or "no project"]
        if incident.when:
            relative = ago(float(created), now) if isinstance(created, int | float) else ""
            where.append(incident.when + (f", {relative}" if relative else ""))
        line.append(f"  ({'; '.join(where)})", style="dim")
        out.append(line)
        if incident.fix:
            fix = Text("        fix: ", style="green")
            fix.append(_clean(incident.fix))
            out.append(fix)
        if incident.link:
            out.append(Text(f"        see: {_clean(incident.link, 200)}", style="dim"))
    return out


def _tests(document: dict[str, Any], memo: Memo) -> list[Text]:
    if not memo.failing_tests:
        return []
    count = failing_count(document.get("analysis", {}))
    out = [_section(f"Failing tests ({count})")]
    out.extend(Text(f"  {_clean(t, 200)}", style="red") for t in memo.failing_tests[:_TESTS_SHOWN])
    if len(memo.failing_tests) > _TESTS_SHOWN:
        out.append(Text(f"  … {len(memo.failing_tests) - _TESTS_SHOWN} more", style="dim"))
    return out


def _finding(finding: MemoFinding) -> list[Text]:
    head = Text(f"  #{finding.rank} ", style="bold")
    head.append(_clean(finding.title or finding.kind, 160), style="bold")
    head.append(f"  {finding.location}", style="blue")
    head.append(f"  {finding.family} {finding.kind.replace('_', ' ')}", style="dim")
    if finding.novel:
        head.append("  new", style="bold yellow")
    out = [head]
    lines = finding.excerpt.split("\n")
    shown = telling_lines(lines, _EXCERPT_LINES)
    previous = -1
    for index in shown:
        skipped = lines[previous + 1 : index] if previous >= 0 else []
        if any(t.strip() for t in skipped):  # a gap of blank lines needs no mark
            out.append(Text("           ┆", style="dim"))
        row = Text(f"    {finding.line_start + index:>6} │ ", style="dim")
        text = lines[index].rstrip()
        # A minified bundle or a base64 blob is one huge line: its head says enough.
        row.append(printable(text if len(text) <= _LINE_CHARS else text[: _LINE_CHARS - 1] + "…"))
        out.append(row)
        previous = index
    hidden = sum(1 for i, t in enumerate(lines) if i not in shown and t.strip())
    if hidden > 0:
        out.append(Text(f"           … {hidden} more line(s)", style="dim"))
    return out


def telling_lines(lines: list[str], limit: int) -> list[int]:
    """Indices of the excerpt lines worth showing, in order, at most ``limit``.

    The block's first line (what the detector saw) comes first, then the lines that name an
    error (``E   assert 422 == 200``, ``Expected:``, ``Error:``), then other telling lines;
    blank lines, banners and progress lines only when nothing else is left.
    """
    if not lines or limit <= 0:
        return []
    chosen = [0]
    rest = range(1, len(lines))
    for wanted in (
        lambda t: is_telling(t) and _ERRORISH.search(t) is not None,
        is_telling,
        lambda t: bool(t.strip()),
    ):
        for i in rest:
            if len(chosen) >= limit:
                break
            if i not in chosen and wanted(lines[i]):
                chosen.append(i)
    return sorted(chosen)


def _findings(document: dict[str, Any], memo: Memo) -> list[Text]:
    total = len(document.get("findings", []))
    if not memo.findings:
        return []
    shown = len(memo.findings)
    detail = f"{shown} of {total}; --top N shows more" if total > shown else ""
    out = [_section("Top findings", detail)]
    for finding in memo.findings:
        out.extend(_finding(finding))
    return out


def _next(memo: Memo) -> list[Text]:
    """The memo's first next step, and a way to reproduce it locally when there is one."""
    if not memo.next_steps:
        return []
    steps = [memo.next_steps[0]]
    steps += [s for s in memo.next_steps[1:] if s.startswith("Reproduce")][:1]
    if len(steps) < _NEXT_SHOWN:
        steps += [s for s in memo.next_steps[1:] if s not in steps][: _NEXT_SHOWN - len(steps)]
    out = []
    for n, step in enumerate(steps):
        line = Text("Next: " if n == 0 else "      ", style="bold green")
        line.append(_clean(step.replace("`", ""), 400))
        out.append(line)
    return out


def blocks(
    document: dict[str, Any], *, top: int = DEFAULT_TOP, now: float | None = None
) -> list[Text]:
    """The summary as rich text lines (a blank ``Text`` between sections)."""
    memo = build_memo(document, max_findings=max(0, top))
    sections = [
        _headline(document, memo),
        _causes(memo),
        _incidents(document, memo, time.time() if now is None else now),
        _tests(document, memo),
        _findings(document, memo),
        _next(memo),
        [
            Text(printable(f"skipped {r['reason']}"), style="yellow")
            for r in document.get("rejected_inputs", [])
            if isinstance(r, dict) and r.get("reason")
        ],
    ]
    out: list[Text] = []
    for section in sections:
        if section:
            if out:
                out.append(Text(""))
            out.extend(section)
    return out


def make_console(*, color: bool, width: int | None = None, record: bool = False) -> Console:
    """A console writing to memory: plain unless ``color``; lines never wrapped when plain."""
    return Console(
        file=io.StringIO(),
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width or 100,
        soft_wrap=not record,
        highlight=False,
        markup=False,
        emoji=False,
        record=record,
    )


def terminal_summary(
    document: dict[str, Any],
    *,
    top: int = DEFAULT_TOP,
    color: bool = False,
    width: int | None = None,
    now: float | None = None,
) -> str:
    """The whole terminal summary as one string (ANSI colours only when ``color``)."""
    console = make_console(color=color, width=width)
    for line in blocks(document, top=top, now=now):
        console.print(line)
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def wants_color(stream: Any) -> bool:
    """Colour for a terminal, unless ``NO_COLOR`` is set (no-color.org) or ``TERM=dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
