"""The first error is something a command printed, never the script's own text."""

from __future__ import annotations

from juggler.triage._findings import find_failures
from juggler.triage._present import headline
from juggler.triage.synth import build_memo

# GitHub Actions lists a step's script (highlighted) between "##[group]Run" and
# "##[endgroup]"; the script's echo of an error message comes long before the real one.
GITHUB_SCRIPT_LISTING = [
    "2026-02-01T08:00:00.0000000Z ##[group]Run ./check-generated.sh",
    "2026-02-01T08:00:00.0000001Z \x1b[36;1m./generate.sh\x1b[0m",
    "2026-02-01T08:00:00.0000002Z \x1b[36;1mif ! git diff --quiet; then\x1b[0m",
    '2026-02-01T08:00:00.0000003Z \x1b[36;1m  echo "ERROR: generated files are stale"\x1b[0m',
    "2026-02-01T08:00:00.0000004Z \x1b[36;1m  exit 1\x1b[0m",
    "2026-02-01T08:00:00.0000005Z \x1b[36;1mfi\x1b[0m",
    "2026-02-01T08:00:00.0000006Z shell: /usr/bin/bash -e {0}",
    "2026-02-01T08:00:00.0000007Z ##[endgroup]",
    "2026-02-01T08:00:03.0000000Z generating 14 files",
    "2026-02-01T08:00:04.0000000Z ERROR: generated files are stale",
    "2026-02-01T08:00:04.1000000Z ##[error]Process completed with exit code 1.",
]


def test_a_listed_script_line_is_not_the_first_error() -> None:
    doc = find_failures(GITHUB_SCRIPT_LISTING, path="job.log")
    first = doc["analysis"]["first_error"]
    assert first is not None
    assert first["line_start"] == 10
    assert "echo" not in build_memo(doc).headline
    assert "echo" not in (build_memo(doc).first_error or "")


def test_a_traced_echo_command_is_not_the_first_error() -> None:
    """``set -x`` traces ("+ echo ...") and bare ``echo`` lines are commands, not output."""
    lines = [
        "$ ./ci.sh",
        "+ echo 'error: missing token, using anonymous access'",
        "echo 'FATAL: disk quota exceeded on /cache'",
        "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
        'The command "./ci.sh" exited with 128.',
    ]
    doc = find_failures(lines, path="travis.log")
    first = doc["analysis"]["first_error"]
    assert first is not None
    assert first["line_start"] == 4, first
    assert "echo" not in headline(doc).split("top finding")[0]
