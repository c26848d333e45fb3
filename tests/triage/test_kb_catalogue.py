"""The starter catalogue and the cause matcher (issue 7)."""

from __future__ import annotations

import pickle
import re

import pytest

from juggler.triage.kb import Cause, Indication, load_catalogue, match_causes
from juggler.triage.kb._catalogue import catalogue_examples
from juggler.triage.kb._match import compile_indication, required_literal

EXAMPLES = catalogue_examples()
CAUSES = {c.name: c for c in load_catalogue()}


def test_catalogue_has_at_least_40_uniquely_named_causes() -> None:
    """The starter catalogue ships at least 40 causes, each with a name, fix and indication."""
    causes = load_catalogue()
    assert len(causes) >= 40
    assert len({c.name for c in causes}) == len(causes)
    assert all(c.indications and c.fix and c.description and c.category for c in causes)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_cause_matches_its_excerpt(name: str) -> None:
    """Each starter cause matches the excerpt written for it, with filled placeholders."""
    excerpt = EXAMPLES[name][0].split("\n")
    found = [m for m in match_causes(excerpt, [CAUSES[name]]) if m.name == name]
    assert found, f"{name} did not match its excerpt"
    assert "{" not in found[0].description
    for first, last in found[0].evidence:
        assert 1 <= first <= last <= len(excerpt)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_cause_ignores_its_near_miss(name: str) -> None:
    """Each starter cause stays silent on the near-miss excerpt written for it."""
    excerpt = EXAMPLES[name][1].split("\n")
    assert match_causes(excerpt, [CAUSES[name]]) == []


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_prefilter_literal_occurs_in_every_match(name: str) -> None:
    """The prefilter never hides a match: every regex match contains its literal."""
    text = EXAMPLES[name][0]
    for indication in CAUSES[name].indications:
        compiled = compile_indication(indication)
        for match in compiled.regex.finditer(text):
            assert compiled.literal in match.group(0).lower()


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"connection refused", "connection refused"),
        (r"(?i)no space left on device", "no space left on device"),
        (r"a|bcdef", ""),  # top-level alternation: no single literal
        (r"(?x) spaced out", ""),  # verbose mode: unsure, so none
        (r"colou?r mismatch", "r mismatch"),  # "u" may be absent
        (r"Tests run: \d+, Failures: [1-9]", ", failures: "),
        (r"java\.lang\.OutOfMemoryError: (?P<x>.+)", "java.lang.outofmemoryerror: "),
        (r"x{0,3}abcd", "abcd"),
        (r"ab(?:cdef)?gh", ""),  # runs "ab", "gh" too short
        (r"FAIL\t\S+", "fail\t"),
    ],
)
def test_required_literal(pattern: str, literal: str) -> None:
    """The literal is a substring every match must contain, or "" when unsure."""
    assert required_literal(pattern) == literal


def test_multiline_indication_reports_the_spanned_lines() -> None:
    """A multi-line indication's evidence spans its first to last line (1-based, inclusive)."""
    cause = Cause(
        name="two-step",
        description="step {step} failed",
        indications=(
            Indication(pattern=r"^BEGIN (?P<step>\w+)\n(?:.*\n)*?END FAIL$", multiline=True),
        ),
    )
    lines = ["noise", "BEGIN build", "x", "y", "END FAIL", "noise"]
    [match] = match_causes(lines, [cause])
    assert match.evidence == ((2, 5),)
    assert match.description == "step build failed"


def test_single_line_indication_never_spans_lines() -> None:
    """``\\s`` in a single-line indication cannot reach the next line."""
    cause = Cause(name="c", indications=(Indication(pattern=r"disk\s+full"),))
    assert match_causes(["disk", "full"], [cause]) == []
    assert match_causes(["the disk  full"], [cause])[0].evidence == ((1, 1),)


def test_evidence_is_bounded_and_sorted() -> None:
    """A cause matching every line keeps at most 20 ranges, in log order."""
    cause = Cause(name="c", indications=(Indication(pattern="Segmentation fault"),))
    [match] = match_causes(["Segmentation fault"] * 100, [cause])
    assert match.evidence == tuple((n, n) for n in range(1, 21))


def test_numbered_groups_fill_placeholders_but_nothing_else() -> None:
    """{1} is filled from group 1; format-string tricks in a description stay inert."""
    cause = Cause(
        name="c",
        description="{1} at {0.__class__} {missing}",
        indications=(Indication(pattern=r"error in (\w+)"),),
    )
    [match] = match_causes(["error in parser"], [cause])
    assert match.description == "parser at {0.__class__} {missing}"


def test_non_ascii_literal_still_matches_case_insensitively() -> None:
    """A literal with non-ASCII letters skips the ASCII prefilter instead of missing."""
    cause = Cause(name="c", indications=(Indication(pattern="(?i)ÉCHEC DU TEST"),))
    assert match_causes(["échec du test"], [cause])


def test_matcher_inputs_and_outputs_pickle() -> None:
    """Causes and matches cross process boundaries (cpu workers)."""
    causes = load_catalogue()
    again = pickle.loads(pickle.dumps(causes))
    assert again == causes
    found = match_causes(["Killed", "Out of memory: Killed process 12 (java)"], again)
    assert pickle.loads(pickle.dumps(found)) == found
    assert found[0].name == "oom-killed"


def test_invalid_regex_raises_re_error() -> None:
    """A broken indication is reported, not silently skipped."""
    with pytest.raises(re.error):
        match_causes(["x"], [Cause(name="bad", indications=(Indication(pattern="(unclosed"),))])


def test_empty_log_and_empty_catalogue() -> None:
    """Nothing in, nothing out."""
    assert match_causes([], load_catalogue()) == []
    assert match_causes(["Segmentation fault"], []) == []


def _naive(lines: list[str], causes: tuple[Cause, ...]) -> dict[str, tuple[tuple[int, int], ...]]:
    """Reference matcher: every single-line regex on every line, no prefilter."""
    text = "\n".join(lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def line_of(offset: int) -> int:
        return max(n for n, s in enumerate(starts) if s <= offset) + 1

    out = {}
    for cause in causes:
        hits: set[tuple[int, int]] = set()
        for indication in cause.indications:
            regex = compile_indication(indication).regex
            if indication.multiline:
                hits.update(
                    (line_of(m.start()), line_of(max(m.start(), m.end() - 1)))
                    for m in regex.finditer(text)
                )
            else:
                hits.update((n, n) for n, line in enumerate(lines, 1) if regex.search(line))
        if hits:
            out[cause.name] = tuple(sorted(hits))[:20]
    return out


@pytest.mark.parametrize("ascii_only", [True, False])
def test_prefiltered_matcher_agrees_with_naive_matching_on_a_large_log(ascii_only: bool) -> None:
    """On a log past the 4-gram table's threshold, results equal a plain regex scan.

    ASCII logs take the byte-offset path; others (emoji in the excerpts) the character path.
    """
    filler = [f"[{n:05d}] step {n % 7}: compiled module_{n} in {n % 97} ms" for n in range(3000)]
    lines = list(filler)
    examples = [e for e in EXAMPLES.values() if not ascii_only or (e[0] + e[1]).isascii()]
    for n, (good, bad) in enumerate(examples):
        at = (n * 53) % len(lines)
        lines[at:at] = [*good.split("\n"), *bad.split("\n")]
    assert len("\n".join(lines)) > 1 << 16
    causes = load_catalogue()
    found = {m.name: m.evidence for m in match_causes(lines, causes)}
    assert found == _naive(lines, causes)
    assert "\n".join(lines).isascii() == ascii_only
    assert len(found) >= len(examples)
