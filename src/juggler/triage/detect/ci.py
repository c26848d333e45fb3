"""CI markers: GitHub Actions, Travis, GitLab and Jenkins lines that say a step failed.

These are weak evidence of *why* (they say *that* something failed), so their severity is
low; the analysis uses them to find the failing step and the exit status.
"""

from __future__ import annotations

from ._rules import rule, single

RULES = (
    # The build says its warnings fail it: the warnings above are then the cause.
    rule(
        "werror",
        "build_error",
        0.3,
        (
            "werror",
            "warnings as errors",
            "warning treated as error",
            "warnings-as-errors",
            "fatal warnings",
            "warnings being treated as errors",
        ),
        r"(?i)Failing due to -Werror|warnings? (?:are |were |being )?treated as errors?|"
        r"all warnings being treated as errors|error: warnings found and -Werror specified|"
        r"warnings found and --warnings-as-errors|fatal warnings",
    ),
    rule(
        "github",
        "ci_marker",
        0.45,
        "##[error]",
        r"##\[error\](?!Process completed with exit code)",
        single,
    ),
    rule(
        "github",
        "ci_marker",
        0.25,
        "process completed with exit code",
        r"##\[error\]Process completed with exit code [1-9]",
    ),
    rule(
        "travis",
        "ci_marker",
        0.25,
        "exited with",
        r'^The command ".*" (?:failed and )?exited with [1-9]\d*\.?',
    ),
    rule(
        "travis",
        "ci_marker",
        0.05,
        "your build exited with",
        r"^Done\. Your build exited with [1-9]",
    ),
    rule(
        "gitlab",
        "ci_marker",
        0.25,
        "job failed",
        r"^ERROR: Job failed(?:: exit code \d+| \(system failure\))",
    ),
    rule(
        "jenkins",
        "ci_marker",
        0.3,
        (
            "marked build as failure",
            "finished: failure",
            "error: step",
            "script returned exit code",
        ),
        r"Build step '.*' marked build as failure|^Finished: FAILURE|^ERROR: Step |"
        r"script returned exit code [1-9]",
    ),
    rule(
        "ci",
        "ci_marker",
        0.25,
        ("exit code", "exit status", "exited with"),
        r"(?:exited|failed|returned|completed) with (?:exit )?(?:code |status )?[1-9]\d*\b|"
        r"exit status [1-9]\d*$",
        confidence=0.6,
    ),
)
