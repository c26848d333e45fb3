"""The offline memo: built from the triage document alone, deterministic, no network.

The triage document is ``juggler triage --json``: ``findings`` and ``analysis`` always,
``causes`` and ``similar_incidents`` when a knowledge base was consulted. Every key is read
defensively (a missing or mistyped key drops a detail, never the memo), so a document from an
older or newer version still renders.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .._novelty import is_telling
from ._model import Memo, MemoCause, MemoFinding, MemoIncident, TimingRow

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Findings shown in the memo (the JSON keeps them all).
DEFAULT_MAX_FINDINGS = 5
#: Excerpt lines kept per finding in the memo.
MAX_EXCERPT_LINES = 30
_MAX_INCIDENTS = 5
_MAX_TESTS_NAMED = 20
_HEADLINE_CHARS = 200
# "AssertionError", "java.lang.NullPointerException", "TS2322" — the error's name, when the
# first error line has one, reads better in a headline than the whole line.
_ERROR_NAME = re.compile(
    r"\b((?:[A-Za-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception|Failure|Exit|Interrupt))\b"
    r"|\b(error(?:\[E\d{4}\]| TS\d+| C\d+)?)\b"
)


def _str(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _one_line(text: str, limit: int = _HEADLINE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _finding(raw: Mapping[str, Any], rank: int, log_url: str | None) -> MemoFinding | None:
    start = _int(raw.get("line_start"))
    if start is None:
        return None
    end = _int(raw.get("line_end")) or start
    lines = _str(raw.get("excerpt")).splitlines()
    if len(lines) > MAX_EXCERPT_LINES:
        lines = [*lines[:MAX_EXCERPT_LINES], f"… ({len(lines) - MAX_EXCERPT_LINES} more lines)"]
    href = f"{log_url}#L{start}-L{max(start, end)}" if log_url else None
    return MemoFinding(
        rank=_int(raw.get("rank")) or rank,
        path=_str(raw.get("path"), "log"),
        line_start=start,
        line_end=max(start, end),
        kind=_str(raw.get("kind"), "error"),
        family=_str(raw.get("family"), "generic"),
        title=_one_line(_str(raw.get("title")).strip().strip("_=").strip()),
        excerpt="\n".join(lines),
        score=round(_float(raw.get("score")) or 0.0, 3),
        # The triage flags each finding whose telling lines are unseen in the baseline;
        # documents without the flag fall back to the ranker's own "novel" findings.
        novel=raw["novel"] if isinstance(raw.get("novel"), bool) else _novel_run(raw, lines),
        href=href,
    )


def _novel_run(raw: Mapping[str, Any], lines: list[str]) -> bool:
    """A ranker's own "novel" finding is news only when a line of it can tell what broke."""
    return raw.get("family") == "novel" and any(is_telling(t) for t in lines)


def _cause(raw: Mapping[str, Any]) -> MemoCause | None:
    name = _str(raw.get("name"))
    if not name:
        return None
    evidence = []
    for ev in _dicts(raw.get("evidence")):
        a, b = _int(ev.get("line_start")), _int(ev.get("line_end"))
        if a is not None:
            evidence.append((a, b if b is not None else a))
    links = raw.get("links")
    return MemoCause(
        name=name,
        category=_str(raw.get("category")),
        description=_str(raw.get("description")),
        fix=_str(raw.get("fix")),
        links=tuple(x for x in links if isinstance(x, str)) if isinstance(links, list) else (),
        evidence=tuple(evidence),
    )


def when_of(created_at: object) -> str:
    """``2026-12-03 07:05 UTC`` for seconds since the epoch; ``""`` for anything else."""
    seconds = _float(created_at)
    if seconds is None or seconds <= 0:
        return ""
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return ""


def _incident(raw: Mapping[str, Any]) -> MemoIncident:
    similarity = _float(raw.get("similarity"))
    return MemoIncident(
        score=round(_float(raw.get("score")) or 0.0, 4),
        project=_str(raw.get("project")),
        cause=_str(raw.get("cause")),
        fix=_str(raw.get("fix")),
        link=_str(raw.get("link")),
        when=_str(raw.get("when")) or when_of(raw.get("created_at")),
        similarity=None if similarity is None else min(1.0, max(0.0, similarity)),
    )


def _verdict(
    analysis: Mapping[str, Any], *, evident: bool
) -> Literal["failed", "passed", "unknown"]:
    """``analysis.verdict``; documents from before verdicts: failed when anything points to it."""
    verdict = analysis.get("verdict")
    if verdict == "failed":
        return "failed"
    if verdict == "passed":
        return "passed"
    if verdict == "unknown":
        return "unknown"
    return "failed" if evident else "unknown"


def _evidence(analysis: Mapping[str, Any]) -> str:
    """The verdict's first piece of evidence, as one short clause."""
    items = _dicts(analysis.get("verdict_evidence"))
    if not items:
        return ""
    text = _str(items[0].get("text")) or _str(items[0].get("reason"))
    line = _int(items[0].get("line"))
    return _one_line(f"{text} at line {line}" if line else text, 120)


def _timings(analysis: Mapping[str, Any], timings: Mapping[str, float] | None) -> list[TimingRow]:
    failed_step = _str(analysis.get("failed_step"))
    rows = [
        TimingRow(
            name=_str(step.get("name"), "?"),
            source="step",
            seconds=_float(step.get("seconds")),
            failed=bool(failed_step) and step.get("name") == failed_step,
        )
        for step in _dicts(analysis.get("steps"))
    ]
    for name, seconds in (timings or {}).items():
        rows.append(TimingRow(name=str(name), source="stage", seconds=_float(seconds)))
    return rows


# "[ERROR] /src/Foo.java:[84,31] cannot find symbol" -> "cannot find symbol".
_LOCATED = re.compile(r"^(?:\[\w+\]\s*)?\S+?:\[?\d+(?:[,:]\d+)?\]?:?\s+(?P<msg>\S.*)$")
_PYTEST_ASSERT = re.compile(r"^E\s+assert\b", re.MULTILINE)


def _error_name(text: str) -> str:
    match = _ERROR_NAME.search(text)
    if match is not None and match.group(1):
        return match.group(1)
    if match is not None and match.group(2).lower() != "error":
        return match.group(2)  # "error[E0308]", "error TS2322": a code names the error
    if _PYTEST_ASSERT.search(text):
        return "AssertionError"
    located = _LOCATED.match(text.strip())
    return _one_line(located.group("msg") if located else text, 80)


def _has_error_name(text: str) -> bool:
    return bool(_ERROR_NAME.search(text) or _PYTEST_ASSERT.search(text))


def _first_error(
    analysis: Mapping[str, Any], findings: list[MemoFinding]
) -> tuple[str | None, str | None]:
    """(the error's short name, one line for the memo) from ``analysis.first_error``."""
    first = analysis.get("first_error")
    if not isinstance(first, dict):
        return None, None
    # pytest's "____ test_x ____" banner names the test, not the error: trim the rule.
    text = _str(first.get("text")).strip().strip("_=-").strip()
    line = _int(first.get("line_start"))
    name = _error_name(text) if _has_error_name(text) else None
    if name is None and line is not None:
        # The banner's block holds the error ("E   assert 422 == 200").
        around = [f for f in findings if f.line_start <= line <= f.line_end]
        for f in around:
            if _has_error_name(f.excerpt):
                name = _error_name(f.excerpt)
                break
    if name is None:
        name = _error_name(text) if text else _str(first.get("kind"), "error")
    where = f" at line {line}" if line is not None else ""
    detail = f"{_one_line(text, 160)}{where}" if text else f"{name}{where}"
    return f"{name}{where}", detail


def _rejected(item: object) -> str:
    if not isinstance(item, dict):
        return _one_line(str(item), 120)
    name = _str(item.get("path")) or _str(item.get("name")) or "?"
    reason = _str(item.get("reason"))
    return f"{name} ({_one_line(reason, 100)})" if reason else name


def _unique_tests(raw: object) -> list[str]:
    tests = [t for t in raw if isinstance(t, str) and t] if isinstance(raw, list) else []
    # Detectors may report a test both by its name and by its node id; keep the id.
    qualified = {t.rsplit("::", 1)[-1] for t in tests if "::" in t}
    seen: set[str] = set()
    out = []
    for t in tests:
        if ("::" not in t and t in qualified) or t in seen:
            continue
        seen.add(t)
        out.append(t)
    return out


def _test_files(tests: list[str]) -> list[str]:
    # "tests/test_api.py::test_x[1]" -> tests/test_api.py; "com.acme.FooTest.bar" has no file.
    files = [t.split("::", 1)[0] for t in tests if "::" in t]
    return [f for f, _ in Counter(files).most_common()]


def _headline(
    *,
    verdict: str,
    evidence: str,
    step: str | None,
    exit_code: int | None,
    tests: list[str],
    failed_count: int | None,
    findings: list[MemoFinding],
    error: str | None,
) -> str:
    if verdict == "passed":
        return _one_line(f"Build passed: {evidence}" if evidence else "Build passed")
    if verdict == "unknown":
        if not findings:
            return "No failure found in the log"
        top = findings[0]
        return _one_line(
            "Build status unknown (no exit status or test result in the log); "
            f"top finding: {top.title or top.kind} at {top.location}"
        )
    # The renderers turn `...` into code; a backtick inside the step name would unbalance it.
    name = step.replace("`", "'") if step else ""
    head = f"Build failed in step `{name}`" if step else "Build failed"
    if exit_code not in (None, 0) and not step:
        head += f" (exit code {exit_code})"
    parts = []
    if tests:
        families = Counter(f.family for f in findings if f.kind.endswith("test_failure"))
        family = families.most_common(1)[0][0] + " " if families else ""
        count = failed_count if failed_count else len(tests)
        noun = "failure" if count == 1 else "failures"
        part = f"{count} {family}{noun}"
        files = _test_files(tests)
        if len(files) == 1:
            part += f" in {files[0]}"
        elif files:
            part += f" in {len(files)} files"
        parts.append(part)
    elif findings:
        top = findings[0]
        parts.append(f"{top.family} {top.kind.replace('_', ' ')}")
    if error:
        parts.append(f"first error {error}")
    text = f"{head}: {'; '.join(parts)}" if parts else head
    return _one_line(text)


def _next_steps(
    *,
    tests: list[str],
    findings: list[MemoFinding],
    causes: list[MemoCause],
    incidents: list[MemoIncident],
    baseline_used: bool,
    failed: bool,
) -> list[str]:
    if not failed:
        return []
    steps = [
        f"Apply the known fix for `{c.name}`: {_one_line(c.fix, 300)}" for c in causes if c.fix
    ]
    families = {f.family for f in findings}
    if tests and "pytest" in families:
        ids = " ".join(tests[:3])
        steps.append(f"Reproduce locally: `python -m pytest -x {ids}`")
    elif tests and families & {"jest", "npm", "vitest"}:
        target = tests[0] if "/" in tests[0] else f"-t '{tests[0]}'"
        steps.append(f"Reproduce locally: `npx jest {target}`")
    elif tests and families & {"maven", "junit", "surefire"}:
        steps.append(f"Reproduce locally: `mvn -Dtest='{tests[0]}' test`")
    elif tests:
        steps.append(f"Reproduce the first failing test locally: `{tests[0]}`")
    if findings:
        top = findings[0]
        steps.append(f"Read the top finding at {top.location} ({top.title or top.kind}).")
    if incidents and incidents[0].fix and incidents[0].relevant:
        inc = incidents[0]
        where = f" ({inc.link})" if inc.link else ""
        steps.append(f"Compare with the similar past incident{where}: {_one_line(inc.fix, 200)}")
    if not baseline_used:
        steps.append("Triage again with a passing log as the baseline to highlight new lines.")
    return steps


def build_memo(
    triage: Mapping[str, Any],
    *,
    timings: Mapping[str, float] | None = None,
    baseline_used: bool = False,
    max_findings: int = DEFAULT_MAX_FINDINGS,
    log_url: str | None = None,
) -> Memo:
    """Build the offline memo from a triage document.

    Pure and deterministic: the same document gives the same memo, with no network.

    Args:
        triage: The ``juggler triage --json`` document (``findings``, ``analysis`` and the
            optional ``causes`` and ``similar_incidents``).
        timings: Seconds per triage stage of this run (``{"scrape": 1.2, ...}``), shown
            after the build's own steps in the timing table.
        baseline_used: Whether the triage compared a passing baseline; findings flagged
            ``novel`` are then listed as new lines.
        max_findings: How many findings the memo shows.
        log_url: Where the log can be read on the web; findings then link to
            ``<log_url>#L<start>-L<end>``.

    Returns:
        The memo; its text fields are untrusted and escaped by the renderers.
    """
    analysis = triage.get("analysis")
    analysis = analysis if isinstance(analysis, dict) else {}
    all_findings = [
        f
        for n, raw in enumerate(_dicts(triage.get("findings")), 1)
        if (f := _finding(raw, n, log_url)) is not None
    ]
    findings = all_findings[: max(0, max_findings)]
    causes = [c for raw in _dicts(triage.get("causes")) if (c := _cause(raw)) is not None]
    incidents = [_incident(raw) for raw in _dicts(triage.get("similar_incidents"))]
    incidents = incidents[:_MAX_INCIDENTS]
    tests = _unique_tests(analysis.get("failing_tests"))
    counts = analysis.get("test_counts")
    failed_count = _int(counts.get("failed")) if isinstance(counts, dict) else None
    step = _str(analysis.get("failed_step")) or None
    exit_code = _int(analysis.get("exit_code"))
    verdict = _verdict(
        analysis, evident=bool(step or all_findings or tests or exit_code not in (None, 0))
    )
    failed = verdict == "failed"
    error_name, first_error = _first_error(analysis, all_findings)
    novel = [f for f in all_findings if f.novel] if baseline_used else []
    notes = []
    if len(tests) > _MAX_TESTS_NAMED:
        notes.append(f"{len(tests) - _MAX_TESTS_NAMED} more failing tests are in the JSON memo.")
    rejected = triage.get("rejected_inputs")
    if isinstance(rejected, list) and rejected:
        names = [_rejected(r) for r in rejected[:5]]
        more = f" and {len(rejected) - 5} more" if len(rejected) > 5 else ""
        notes.append(f"Inputs not (fully) triaged: {'; '.join(names)}{more}.")
    if len(all_findings) > len(findings):
        notes.append(f"{len(all_findings) - len(findings)} lower-ranked findings are not shown.")
    return Memo(
        headline=_headline(
            verdict=verdict,
            evidence=_evidence(analysis),
            step=step,
            exit_code=exit_code,
            tests=tests,
            failed_count=failed_count,
            findings=findings,
            error=error_name,
        ),
        failed=failed,
        verdict=verdict,
        failed_step=step,
        exit_code=exit_code,
        first_error=first_error,
        failing_tests=tuple(tests[:_MAX_TESTS_NAMED]),
        findings=tuple(findings),
        causes=tuple(causes),
        incidents=tuple(incidents),
        novel=tuple(novel),
        baseline_used=baseline_used,
        timings=tuple(_timings(analysis, timings)),
        next_steps=tuple(
            _next_steps(
                tests=tests,
                findings=findings,
                causes=causes,
                incidents=incidents,
                baseline_used=baseline_used,
                failed=failed,
            )
        ),
        notes=tuple(notes),
    )
