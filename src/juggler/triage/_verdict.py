"""The build's verdict (failed, passed or unknown) and the evidence for it.

Error lines alone never make a verdict: passing builds print errors too (a retried download,
a test of error handling, a linter's advice). The verdict rests on statements of outcome,
strongest first:

1. the CI's own closing line (``Finished: SUCCESS``, ``Done. Your build exited with 1.``,
   ``Job succeeded``): it speaks for the whole job, so it overrides everything else;
2. a failing exit status the CI reported for a step (``Process completed with exit code 1``);
3. failing tests (named by a runner, or counted in its summary);
3b. a GitHub Actions job log that runs to the runner's cleanup with no ``##[error]`` line
   (GitHub prints no closing verdict; every failing step writes one);
4. a build tool's banner (``BUILD FAILURE``, ``BUILD SUCCESSFUL``), the last one printed;
5. a tool's own failing status (``make: *** Error 2``);
6. a test summary with no failures (``48 passed``).

With none of these the verdict is ``unknown``, and nothing calls the build failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .detect._status import CI_END, CI_ERROR, CI_FAILED, CI_PASSED, TOOL_FAILED, TOOL_PASSED

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .detect._markers import Event

FAILED: Final = "failed"
PASSED: Final = "passed"
UNKNOWN: Final = "unknown"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why: a sentence, and the log line that says so when there is one."""

    reason: str
    line: int | None = None
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "line": self.line, "text": self.text}


@dataclass(frozen=True, slots=True)
class Verdict:
    """``failed``, ``passed`` or ``unknown``, with the evidence that decided it."""

    outcome: str = UNKNOWN
    evidence: tuple[Evidence, ...] = ()

    def evidence_json(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.evidence]


def decide(
    statuses: Sequence[Event],
    *,
    exit_code: int | None,
    exit_line: int | None,
    exit_from_ci: bool,
    failing_tests: int,
    test_counts: Mapping[str, int],
) -> Verdict:
    """The verdict of one log.

    Args:
        statuses: The log's status events (:mod:`.detect._status`), in line order.
        exit_code: The first failing exit status found, if any.
        exit_line: Its line.
        exit_from_ci: The status came from a CI marker (not only from a tool's message).
        failing_tests: How many failing tests the runners named.
        test_counts: The last test summary's figures (``failed``, ``passed``, ``total``).
    """
    ci = [e for e in statuses if e.kind in (CI_PASSED, CI_FAILED)]
    if ci:
        last = ci[-1]
        outcome = PASSED if last.kind == CI_PASSED else FAILED
        return Verdict(outcome, (Evidence("the CI's closing status", last.line, last.name),))
    if exit_from_ci and exit_code:
        why = f"a step exited with code {exit_code}"
        return Verdict(FAILED, (Evidence(why, exit_line),))
    failed_count = test_counts.get("failed", 0)
    if failing_tests or failed_count:
        count = failed_count or failing_tests  # the runner's own count, when it printed one
        return Verdict(FAILED, (Evidence(f"{count} failing test(s)"),))
    ends = [e for e in statuses if e.kind == CI_END]
    if ends and not any(e.kind == CI_ERROR for e in statuses) and not exit_code:
        why = "the job ran to its cleanup and no step reported an error"
        return Verdict(PASSED, (Evidence(why, ends[-1].line, ends[-1].name),))
    tools = [e for e in statuses if e.kind in (TOOL_PASSED, TOOL_FAILED)]
    if tools:
        last = tools[-1]
        outcome = PASSED if last.kind == TOOL_PASSED else FAILED
        return Verdict(outcome, (Evidence("the build tool's status", last.line, last.name),))
    if exit_code:
        return Verdict(FAILED, (Evidence(f"a tool exited with code {exit_code}", exit_line),))
    ran = test_counts.get("passed", 0) or test_counts.get("total", 0)
    if ran and not failed_count:
        return Verdict(PASSED, (Evidence(f"{ran} test(s) ran, none failed"),))
    return Verdict()
