"""Lines that state how a whole build, or a build tool, ended: the verdict's evidence.

Two levels, because they can disagree and the outer one decides: a CI's own closing line
(Jenkins ``Finished: SUCCESS``, Travis ``Done. Your build exited with 0.``, GitLab ``Job
succeeded``) speaks for the whole job, while a build tool's banner (Maven ``BUILD SUCCESS``,
Gradle ``BUILD FAILED``, xcodebuild ``** BUILD SUCCEEDED **``) speaks only for that tool's
run: a job can print ``BUILD SUCCESS`` and still fail in a later step.
"""

from __future__ import annotations

import re
from typing import Final

#: Event kinds (see :class:`._markers.Event`); the event's ``name`` holds the line's text.
CI_PASSED: Final = "ci_passed"
CI_FAILED: Final = "ci_failed"
TOOL_PASSED: Final = "tool_passed"
TOOL_FAILED: Final = "tool_failed"
# GitHub Actions writes no closing verdict: a job log ends with the runner's cleanup, and a
# step that failed wrote an "##[error]" line before it. Both are kept so the verdict can tell
# a job that ran to its end without any error annotation.
CI_END: Final = "ci_end"
CI_ERROR: Final = "ci_error"
# GitHub Actions shows each step's script between "##[group]Run ..." and "##[endgroup]":
# source text, not output, so an "echo ERROR ..." there is no error (see analyse.py).
LISTING_END: Final = "listing_end"
STATUS_KINDS: Final = frozenset(
    {CI_PASSED, CI_FAILED, TOOL_PASSED, TOOL_FAILED, CI_END, CI_ERROR, LISTING_END}
)

_JENKINS: Final = re.compile(r"^Finished: (SUCCESS|FAILURE|UNSTABLE|ABORTED|NOT_BUILT)\s*$")
_TRAVIS: Final = re.compile(r"^Done\. Your build exited with (\d+)\.?\s*$")
_GITLAB_PASSED: Final = re.compile(r"^Job succeeded\s*$")
_GITLAB_FAILED: Final = re.compile(r"^ERROR: Job failed\b")
# "[INFO] BUILD SUCCESS" (Maven), "BUILD SUCCESSFUL in 41s" (Gradle), "** BUILD FAILED **".
_TOOL: Final = re.compile(
    r"^(?:\[(?:INFO|ERROR)\]\s+)?(?:\*\* )?BUILD (SUCCESS|SUCCESSFUL|SUCCEEDED|FAILURE|FAILED)"
    r"(?: \*\*| in \S+)?\s*$"
)
_GH_END: Final = "Cleaning up orphan processes"
_GH_ERROR: Final = "##[error]"
_GH_ENDGROUP: Final = "##[endgroup]"
_TEXT_KEPT: Final = 200
#: Every status line starts with one of these or holds one of the phrases: what a search for
#: candidate marker lines in bulk must let through (the rest never reach :func:`status_of`).
TELL_STARTS: Final = (
    "Finished: ",
    "Done. ",
    "Job succeeded",
    "ERROR: Job failed",
    "Cleaning up orphan processes",
    "##[",
)
TELL_PHRASES: Final = ("BUILD ",)


def status_of(text: str) -> tuple[str, int] | None:
    """``(event kind, exit code)`` when the visible line ``text`` states a build's end."""
    first = text[:1]
    if first == "F":
        jenkins = _JENKINS.match(text)
        if jenkins:
            return (CI_PASSED, 0) if jenkins.group(1) == "SUCCESS" else (CI_FAILED, 1)
    elif first == "D":
        travis = _TRAVIS.match(text)
        if travis:
            code = int(travis.group(1))
            return (CI_FAILED, code) if code else (CI_PASSED, 0)
    elif first == "J":
        if _GITLAB_PASSED.match(text):
            return CI_PASSED, 0
    elif first == "E" and _GITLAB_FAILED.match(text):
        return CI_FAILED, 1
    elif first == "C" and text.rstrip() == _GH_END:
        return CI_END, 0
    elif first == "#":
        if text.startswith(_GH_ERROR):
            return CI_ERROR, 1
        if text.startswith(_GH_ENDGROUP):
            return LISTING_END, 0
    if "BUILD " in text:
        tool = _TOOL.match(text)
        if tool:
            ok = tool.group(1).startswith("SUCCE")
            return (TOOL_PASSED, 0) if ok else (TOOL_FAILED, 1)
    return None


def status_text(text: str) -> str:
    """The evidence kept for a status line: its text, bounded."""
    return text.strip()[:_TEXT_KEPT]
