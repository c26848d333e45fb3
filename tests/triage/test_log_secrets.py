"""Credentials written in a log become typed markers before any text leaves a scan (S10)."""

from __future__ import annotations

import pickle
import string
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage import InputError, _secrets
from juggler.triage._findings import scan_chunk
from juggler.triage._secrets import marker, redact_lines, redact_scan, redact_text, redact_texts
from juggler.triage.ingest import iter_sources
from juggler.triage.pipeline import plan_source, scan_job, triage
from tests.cli.test_secrets import _rnd, log_canaries, secret_log

if TYPE_CHECKING:
    from pathlib import Path

KINDS = {
    "github": "github-token",
    "gitlab": "gitlab-token",
    "aws-key": "aws-access-key",
    "slack": "slack-token",
    "google": "google-api-key",
    "stripe": "stripe-key",
    "npm": "npm-token",
    "pypi": "pypi-token",
    "jwt": "jwt",
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_provider_token_becomes_its_marker(name: str) -> None:
    """A bare token of each provider, mid-sentence: replaced by its typed marker alone."""
    token = log_canaries()[name]
    line = f"E   auth failed with {token} (see docs)"
    assert redact_text(line) == f"E   auth failed with {marker(KINDS[name])} (see docs)"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("password=hunter2", "password=[redacted:password]"),
        ("DB_PASSWORD: 'p4ss word'", "DB_PASSWORD: '[redacted:password]'"),
        ('{"api_key": "abc123def"}', '{"api_key": "[redacted:api-key]"}'),
        ("export NPM_TOKEN=abcdef", "export NPM_TOKEN=[redacted:token]"),
        ("client_secret => s3cr3t", "client_secret => [redacted:secret]"),
        ("mysql --password hunter2 -h db", "mysql --password [redacted:password] -h db"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq9Xk3vT1e",
            "aws_secret_access_key = [redacted:aws-secret-key]",
        ),
        (
            "curl -H 'Authorization: Bearer abcDEF123456ghiJKL'",
            "curl -H 'Authorization: Bearer [redacted:auth-header]'",
        ),
        (
            "fatal: unable to access 'https://bot:hunter2@git.example.org/r.git/'",
            "fatal: unable to access 'https://bot:[redacted:url-password]@git.example.org/r.git/'",
        ),
        (
            "git clone https://x-access-token:ghs_" + "a" * 36 + "@github.com/o/r",
            "git clone https://x-access-token:[redacted:github-token]@github.com/o/r",
        ),
    ],
)
def test_assignments_headers_and_urls(line: str, expected: str) -> None:
    """``password=``-style assignments, flags, headers and URL passwords: value only."""
    assert redact_text(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "Invalid token: expired",
        "max_tokens=256",
        "FATAL: password authentication failed for user postgres",
        "FAILED tests/test_auth.py::test_password_reset - AssertionError",
        "KeyError: 'password'",
        "password=*** token=$GITHUB_TOKEN secret=${{ secrets.X }}",
        "--token-file /run/secrets/token",
        "see https://example.org/docs#tokens for details",
        "",
    ],
)
def test_prose_masks_and_placeholders_are_left_alone(line: str) -> None:
    """Words about secrets, masked values and variables are not secrets: unchanged."""
    assert redact_text(line) == line


def test_many_texts_redact_as_each_would_alone() -> None:
    texts = [
        "ok",
        "",
        "curl -H 'Authorization: Bearer abc.def' https://example.org",
        "KeyError: 'password'",
        "db password=hunter2 and token=" + "t" * 20,
        "Password: hunter2",
        "\u212aEY: not ascii, a Kelvin sign lowers to k",
        "é password=hunter2",
    ]
    redacted = redact_texts(texts)
    assert redacted == [redact_text(t) for t in texts]
    assert "hunter2" not in "".join(redacted)
    assert redacted[0] == "ok"
    several = ["line one password=hunter2\nline two token=abcdef123456", "fine"]
    assert redact_texts(several) == [redact_text(t) for t in several]
    assert "hunter2" not in redact_texts(several)[0]


def test_many_texts_take_the_compiled_pass_and_redact_the_same() -> None:
    texts = [f"line {i} ok" for i in range(2500)]
    texts[7] = "db password=hunter2"
    texts[1500] = "\u212aEY: not ascii"
    texts[2499] = "curl -H 'Authorization: Bearer abc.def'"
    assert len(texts) >= _secrets.MIN_LINES  # the compiled pass, not re
    assert redact_texts(texts) == [redact_text(t) for t in texts]
    assert "hunter2" not in redact_texts(texts)[7]


def test_pem_block_bodies_are_masked_line_by_line() -> None:
    """Every line between BEGIN and END is the key; the count of lines never changes."""
    body = [_rnd(64, string.ascii_letters + "+/"), _rnd(64), "ab12=="]
    lines = ["-----BEGIN OPENSSH PRIVATE KEY-----", *body, "-----END OPENSSH PRIVATE KEY-----"]
    out = redact_lines(["before", *lines, "after"])
    assert out == ["before", lines[0], *[marker("private-key")] * 3, lines[-1], "after"]


def test_a_shown_key_line_is_masked_in_the_scan_even_when_its_begin_is_not_shown() -> None:
    """The scan keeps only some lines; a base64 line below BEGIN is still a key's body."""
    key_line = _rnd(30, string.ascii_lowercase) + _rnd(30, string.ascii_uppercase) + "0123"
    chunk = [
        "-----BEGIN PRIVATE KEY-----",
        key_line,
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in <module>',
        "ValueError: bad",
        "##[error]Process completed with exit code 1.",
    ]
    scan = scan_chunk(chunk)
    assert 2 in scan.lines  # the failing step's tail shows it
    clean = redact_scan(scan, chunk)
    assert clean.lines[2][0] == marker("private-key")
    assert clean.lines[3] == scan.lines[3]
    # The same line with no BEGIN above it, mid-chunk, is ordinary text.
    plain = ["building", *chunk[1:]]
    assert redact_scan(scan_chunk(plain), plain).lines[2][0] == key_line


def test_a_key_cut_by_the_chunk_boundary_is_masked() -> None:
    """A chunk that starts inside a PEM body: its first base64-looking lines are masked."""
    key_line = "MIIEow" + _rnd(30, string.ascii_lowercase) + _rnd(28, string.ascii_uppercase)
    chunk = [
        key_line,
        "-----END RSA PRIVATE KEY-----",
        "##[error]Process completed with exit code 1.",
    ]
    scan = scan_chunk(chunk, offset=100)
    assert 101 in scan.lines
    assert redact_scan(scan, chunk).lines[101][0] == marker("private-key")


def test_a_worker_remembers_key_answers_without_changing_any() -> None:
    """Keys and heads redacted from the worker's memory of earlier chunks equal a cold
    redaction, text by text; hit heads that are keys take their key's redacted form."""
    canaries = log_canaries()
    # Digit-free, so the line's key (digits masked) keeps it.
    chunk = secret_log(canaries).split("\n") + ["ERROR: login failed password=swordfishy"] * 2
    scan = scan_chunk(chunk)
    assert any("swordfishy" in h for h in scan.heads)  # a key with a secret heads a hit
    _secrets._KEY_ANSWERS.clear()
    cold = redact_scan(scan, chunk)
    assert _secrets._KEY_ANSWERS  # remembered
    warm = redact_scan(scan, chunk)
    assert warm == cold
    assert list(cold.heads) == redact_texts(scan.heads)
    expected: dict[str, int] = {}
    for key, n in scan.key_counts.items():
        expected[redact_text(key)] = expected.get(redact_text(key), 0) + n
    assert cold.key_counts == expected
    assert not any("swordfishy" in h for h in cold.heads)


def test_a_huge_line_full_of_keywords_stays_linear() -> None:
    """Bounded repeats: a 400 KB line of keyword-laden words does not backtrack forever."""
    line = ("token" + "a" * 60 + " ") * 6000 + "password=x1y2z3"
    assert redact_text(line).endswith("password=[redacted:password]")


def test_nothing_a_scan_worker_returns_holds_a_secret(tmp_path: Path) -> None:
    """Every byte a worker sends the parent (and the journal stores): no canary, in any
    chunk, including digit-free ones that line keys (digits masked) would otherwise keep."""
    canaries = log_canaries()
    log = tmp_path / "ci.log"
    log.write_text(secret_log(canaries) * 3)
    [source] = iter_sources([str(log)])
    assert not isinstance(source, InputError)
    plan = plan_source(source, baseline=frozenset({"nothing"}))
    returned = b"".join(pickle.dumps(scan_job(job)) for job in plan.jobs)
    assert b"[redacted:password]" in returned
    leaked = [name for name, secret in canaries.items() if secret.encode() in returned]
    assert leaked == []


def test_findings_do_not_move(tmp_path: Path) -> None:
    """The log with secrets and the same log with markers typed in: the same findings,
    at the same lines, with the same text."""
    canaries = log_canaries()
    raw = secret_log(canaries)
    masked = "\n".join(redact_lines(raw.split("\n")))
    (tmp_path / "raw.log").write_text(raw)
    (tmp_path / "masked.log").write_text(masked)
    assert masked != raw
    assert masked.count("\n") == raw.count("\n")
    found = [
        triage([str(tmp_path / name)], use_kb=False, workers=1).document["findings"]
        for name in ("raw.log", "masked.log")
    ]
    shape = [[(f["line_start"], f["line_end"], f["kind"], f["excerpt"]) for f in d] for d in found]
    assert shape[0] == shape[1]
    assert len(shape[0]) >= 2


_ASSIGNMENT_PARTS = st.sampled_from(
    [
        *("password", "PASSWD", "pwd", "token", "api_key", "Secret", "credentials", "apikey"),
        *("=", ": ", ":=", " => ", '"', "'", " ", ".", "-", "_", "a", "Z", "9"),
        *("hunter2", "x" * 45, "org.apache.hadoop.mapred.TaskAttemptListenerImpl", "ſ", "\u212a"),
    ]
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.lists(_ASSIGNMENT_PARTS, max_size=14).map("".join))
def test_assignments_are_redacted_as_one_sub_over_the_line_would(text: str) -> None:
    assert _secrets._redact_assignments(text) == _secrets._ASSIGNMENT.sub(
        _secrets._replace_assignment, text
    )
