"""Canary secrets never appear in anything a triage produces (RELIABILITY.md S5)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import string
import subprocess
import sys
import urllib.parse
from typing import TYPE_CHECKING

import pytest

from tests.triage.test_deliver_webhooks import LocalServer, Reply

if TYPE_CHECKING:
    from pathlib import Path

LOG = """\
##[group]Run npm test
> shop@1.0.0 test
> jest

FAIL src/cart.test.ts
  ● cart › applies the discount

    expect(received).toBe(expected) // Object.is equality

    Expected: 90
    Received: 100

Tests:       1 failed, 12 passed, 13 total
npm ERR! Test failed.  See above for more details.
##[error]Process completed with exit code 1.
##[endgroup]
"""

TOKEN_IN_URL = "T0K3N-in-path-5e1f9a2c7b"
SLACK_TOKEN = "xoxb-1234-canary-5678-slack"
LLM_KEY = "sk-canary-llm-key-9f8e7d6c"
HMAC_SECRET = "hmac-canary-secret-4b3a2910"


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, urllib.parse.quote(secret, safe="").encode(), base64.b64encode(raw)]


@pytest.mark.timeout(120)  # two CLI triages and a failing webhook: ~13 s alone, more under load
def test_no_canary_in_any_byte_produced(tmp_path: Path) -> None:
    """Webhook failing then timing out, --debug, trace, memos, KB: zero canary hits."""
    log = tmp_path / "ci.log"
    log.write_text(LOG)
    out = tmp_path / "memo"
    replies = [Reply(500, b"boom"), Reply(hang_s=5.0)]

    def script(n: int, seen: object) -> Reply:
        return replies[min(n, len(replies)) - 1]

    with LocalServer(script) as hook, LocalServer(lambda n, s: Reply(500, b"no")) as llm:
        env = {
            **os.environ,
            "JUGGLER_WEBHOOK_URLS": f"{hook.url}/hooks/{TOKEN_IN_URL}",
            "JUGGLER_SLACK_WEBHOOK_URL": f"{hook.url}/services/{SLACK_TOKEN}",
            "JUGGLER_WEBHOOK_SECRET": HMAC_SECRET,
            "JUGGLER_WEBHOOK_ATTEMPTS": "2",
            "JUGGLER_WEBHOOK_TIMEOUT_S": "0.5",
            "JUGGLER_WEBHOOK_BACKOFF_S": "0.05",
            "JUGGLER_LLM_API_KEY": LLM_KEY,
            "JUGGLER_LLM_URL": f"{llm.url}/v1",
            "JUGGLER_LLM_MODEL": "tiny",
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "juggler",
                "triage",
                str(log),
                "--debug",
                "--quiet",
                "--kb",
                str(tmp_path / "kb.sqlite3"),
                "--learn",
                "--cause",
                "canary-run",
                "--out-dir",
                str(out),
                "--trace",
                str(tmp_path / "run.html"),
            ],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "juggler",
                "triage",
                str(log),
                "--quiet",
                "--no-kb",
                "--json",
                "--trace",
                str(tmp_path / "run.json"),
            ],
            capture_output=True,
            env=env,
            timeout=120,
            check=True,
        )
    # Exit 4: the hooks were tried and failed (that is what this test wants them to do).
    assert result.returncode == 4, result.stderr.decode()
    # The secrets were really used: both hooks were tried (and failed), the LLM was asked.
    assert b"webhook" in result.stderr
    assert b"not delivered" in result.stderr
    assert any(TOKEN_IN_URL in seen.path for seen in hook.seen)
    assert llm.seen
    produced = {"stdout": result.stdout, "stderr": result.stderr}
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != log:
            produced[str(path)] = path.read_bytes()
    assert any(name.endswith("kb.sqlite3") for name in produced)
    assert any(name.endswith("run.json") for name in produced)
    hits = [
        (where, secret)
        for secret in (TOKEN_IN_URL, SLACK_TOKEN, LLM_KEY, HMAC_SECRET)
        for form in _forms(secret)
        for where, data in produced.items()
        if form in data
    ]
    assert hits == []


def _rnd(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def log_canaries() -> dict[str, str]:
    """One fresh credential of each format a CI log leaks (random, so none is real)."""
    upper27 = string.ascii_uppercase + "234567"
    return {
        "github": "ghp_" + _rnd(36),
        "gitlab": "glpat-" + _rnd(20),
        "aws-key": "AKIA" + _rnd(16, upper27),
        "aws-secret": _rnd(40, string.ascii_letters + string.digits + "/+"),
        "slack": f"xoxb-{_rnd(11, string.digits)}-{_rnd(12, string.digits)}-{_rnd(24)}",
        "google": "AIza" + _rnd(35),
        "stripe": "sk_live_" + _rnd(24),
        "npm": "npm_" + _rnd(36, string.ascii_lowercase + string.digits),
        "pypi": "pypi-AgEIcHlwaS5vcmc" + _rnd(70),
        "jwt": f"eyJ{_rnd(30)}.eyJ{_rnd(40)}.{_rnd(43)}",
        "password": "hunter2" + _rnd(8),
        "token": "tk" + _rnd(18),
        "secret": "S" + _rnd(17),
        "letters": _rnd(20, string.ascii_letters),  # no digit: a line key would keep it
        "url-password": "Pa55" + _rnd(12),
        "pem-1": _rnd(64, string.ascii_letters + string.digits + "+/"),
        "pem-2": _rnd(64, string.ascii_letters + string.digits + "+/"),
    }


def secret_log(s: dict[str, str]) -> str:
    """A failing pytest job whose failing lines, summary and exit tail hold every canary."""
    return f"""\
##[group]Run pytest -q
============================= FAILURES =============================
______________________________ test_deploy ______________________________

    def test_deploy():
>       client.login(token="{s["github"]}")
E       RuntimeError: push to https://deploy:{s["url-password"]}@registry.example.org/v2 refused
E       key {s["aws-key"]} aws_secret_access_key = {s["aws-secret"]} password={s["password"]}
E       slack {s["slack"]} google {s["google"]} stripe {s["stripe"]}
E       npm {s["npm"]} pypi {s["pypi"]} jwt {s["jwt"]} gitlab {s["gitlab"]}
E       API_TOKEN={s["token"]} client_secret: "{s["secret"]}" DB_PASSWORD={s["letters"]}

tests/test_deploy.py:12: RuntimeError
=========================== short test summary info ============================
FAILED tests/test_deploy.py::test_deploy - RuntimeError: token {s["github"]} refused
1 failed, 3 passed in 0.12s
Traceback (most recent call last):
  File "deploy.py", line 3, in <module>
    sign(key="-----BEGIN RSA PRIVATE KEY-----")
ValueError: bad key
-----BEGIN RSA PRIVATE KEY-----
{s["pem-1"]}
{s["pem-2"]}
-----END RSA PRIVATE KEY-----
##[error]Process completed with exit code 1.
##[endgroup]
"""


def _every_form(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [
        raw,
        urllib.parse.quote(secret, safe="").encode(),
        urllib.parse.quote_plus(secret).encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
    ]


@pytest.mark.timeout(120)
def test_secrets_in_the_log_reach_no_output(tmp_path: Path) -> None:
    """Every canary in the log: 0 hits in stdout, stderr, JSON, memos, trace, KB, export,
    and the bodies delivered to a real Slack and webhook receiver on loopback."""
    canaries = log_canaries()
    log = tmp_path / "ci.log"
    log.write_text(secret_log(canaries))
    kb = tmp_path / "kb.sqlite3"
    out = tmp_path / "memo"
    with LocalServer(lambda n, s: Reply(200, b"ok")) as hooks:
        env = {
            **os.environ,
            "JUGGLER_WEBHOOK_URLS": f"{hooks.url}/hooks/plain",
            "JUGGLER_SLACK_WEBHOOK_URL": f"{hooks.url}/services/plain",
            "JUGGLER_GITHUB": "on",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
        env.pop("GITHUB_ACTIONS", None)
        runs = [
            [
                *("triage", str(log), "--debug", "--quiet", "--kb", str(kb), "--learn"),
                *("--cause", "leak", "--out-dir", str(out), "--trace", str(tmp_path / "t.html")),
            ],
            ["triage", str(log), "--quiet", "--json", "--kb", str(kb), "--trace", "t.json"],
            ["kb", "--kb", str(kb), "export", str(tmp_path / "export.yaml")],
            ["kb", "--kb", str(kb), "export"],
        ]
        results = [
            subprocess.run(
                [sys.executable, "-m", "juggler", *args],
                capture_output=True,
                env=env,
                timeout=100,
                check=False,
                cwd=tmp_path,
            )
            for args in runs
        ]
        bodies = [seen.body for seen in hooks.seen]
    for done in results:
        assert done.returncode == 0, done.stderr.decode()
    assert len(bodies) == 2  # Slack and the webhook both received the memo
    produced: dict[str, bytes] = {}
    for n, done in enumerate(results):
        produced[f"run {n} stdout"] = done.stdout
        produced[f"run {n} stderr"] = done.stderr
    produced.update({f"body {n}": body for n, body in enumerate(bodies)})
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != log:
            produced[str(path)] = path.read_bytes()
    for expected in ("memo.md", "memo.html", "memo.json", "t.html", "t.json", "summary.md"):
        assert any(name.endswith(expected) for name in produced), expected
    hits = [
        (where, name)
        for name, secret in canaries.items()
        for form in _every_form(secret)
        for where, data in produced.items()
        if form in data
    ]
    assert hits == []
    # The failure was still found where it is, and the markers stand in for the secrets.
    # stdout is the document alone; GitHub annotations (JUGGLER_GITHUB=on) went to stderr.
    document = json.loads(results[1].stdout)
    assert b"::error" in results[1].stderr
    excerpts = "\n".join(f["excerpt"] for f in document["findings"])
    for kind in ("github-token", "aws-access-key", "aws-secret-key", "password", "jwt"):
        assert f"[redacted:{kind}]" in excerpts, kind
    assert document["findings"][0]["line_start"] == 3
    assert "[redacted:" in results[3].stdout.decode()  # the KB learned the redacted text


def test_find_failures_redacts_what_the_cli_redacts() -> None:
    """The in-memory library path (``find_failures``, used by ``kb`` and evaluation)."""
    from juggler.triage._findings import find_failures

    canaries = log_canaries()
    lines = secret_log(canaries).splitlines()
    document = find_failures(lines, path="ci.log")
    text = json.dumps(document).encode()
    assert [name for name, secret in canaries.items() if secret.encode() in text] == []
    assert document["findings"][0]["line_start"] == 3  # positions unchanged
    assert "[redacted:github-token]" in json.dumps(document)
