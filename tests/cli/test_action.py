"""The GitHub Action's script against a fake GitHub API on loopback (nothing leaves the machine).

Two real HTTP servers run in threads: the API, and the "blob storage" its log endpoint
redirects to (another origin, like GitHub's). The script runs as ``python -m juggler.action``
in a subprocess, exactly as ``action.yml`` starts it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from ._run import EXAMPLES, REPO, isolated_env

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

TOKEN = "ghs_fakeWorkflowToken0123456789abcdefABCDEF"
REPO_NAME = "acme/shop"


class _Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.comments: list[dict[str, Any]] = []
        self.log_status = 200
        self.lock = threading.Lock()


def _handler(recorder: _Recorder, routes: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with recorder.lock:
                recorder.requests.append((self.command, self.path, dict(self.headers), body))
            status, headers, payload = routes(self.command, self.path, body)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    return Handler


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-github")
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _json(status: int, data: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


@pytest.fixture
def github() -> Iterator[tuple[_Server, _Server, _Recorder]]:
    recorder = _Recorder()
    log = (EXAMPLES / "pytest-gha.log").read_bytes()

    def blob_routes(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if path == "/logs/7.txt":
            return 200, {"Content-Type": "text/plain"}, log
        return 404, {}, b""

    blob = _Server(_handler(recorder, blob_routes))

    def api_routes(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        base = f"/repos/{REPO_NAME}"
        if path.startswith(f"{base}/actions/runs/42/attempts/1/jobs"):
            jobs = [
                {"id": 7, "name": "test (3.11)", "conclusion": "failure"},
                {"id": 8, "name": "lint", "conclusion": "success"},
                {"id": 9, "name": "triage", "conclusion": None},
            ]
            return _json(200, {"total_count": 3, "jobs": jobs})
        if path == f"{base}/actions/jobs/7/logs":
            if recorder.log_status != 200:
                return _json(recorder.log_status, {"message": "Must have admin rights"})
            return 302, {"Location": f"{blob.url}/logs/7.txt"}, b""
        if path.startswith(f"{base}/issues/5/comments") and method == "GET":
            return _json(200, recorder.comments)
        if path == f"{base}/issues/5/comments" and method == "POST":
            comment = {"id": 100 + len(recorder.comments), **json.loads(body)}
            recorder.comments.append(comment)
            return _json(201, comment)
        if path.startswith(f"{base}/issues/comments/") and method == "PATCH":
            comment_id = int(path.rsplit("/", 1)[1])
            for comment in recorder.comments:
                if comment["id"] == comment_id:
                    comment.update(json.loads(body))
                    return _json(200, comment)
        return _json(404, {"message": "Not Found"})

    api = _Server(_handler(recorder, api_routes))
    try:
        yield api, blob, recorder
    finally:
        api.close()
        blob.close()


def _run_action(tmp_path: Path, api: _Server, **extra: str) -> subprocess.CompletedProcess[str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 5}}), encoding="utf-8")
    env = isolated_env(
        tmp_path,
        GITHUB_ACTIONS="true",
        GITHUB_API_URL=api.url,
        GITHUB_REPOSITORY=REPO_NAME,
        GITHUB_RUN_ID="42",
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_TOKEN=TOKEN,
        GITHUB_EVENT_PATH=str(event),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        JUGGLER_KB=str(tmp_path / "kb.sqlite3"),
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-m", "juggler.action"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_action_triages_the_failed_job_and_comments_once(
    tmp_path: Path, github: tuple[_Server, _Server, _Recorder]
) -> None:
    api, _blob, recorder = github
    done = _run_action(tmp_path, api, JUGGLER_ACTION_COMMENT="true")
    assert done.returncode == 0, done.stderr
    assert "triaged 1 failed job(s)" in done.stderr
    # The job summary and the annotations.
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "test_update_item_price" in summary
    assert "::error " in done.stdout
    # The API saw the token; the log storage (another origin) never did.
    api_requests = [r for r in recorder.requests if r[1].startswith("/repos/")]
    blob_requests = [r for r in recorder.requests if r[1].startswith("/logs/")]
    assert api_requests
    assert all(r[2].get("Authorization") == f"Bearer {TOKEN}" for r in api_requests)
    assert len(blob_requests) == 1
    assert "Authorization" not in blob_requests[0][2]
    # Only the failed job's log was fetched.
    assert not any("/jobs/8/" in r[1] or "/jobs/9/" in r[1] for r in recorder.requests)
    # One comment with the memo; the token appears nowhere the action wrote.
    [comment] = recorder.comments
    assert comment["body"].startswith("<!-- juggler-triage -->")
    assert "test_update_item_price" in comment["body"]
    for text in (done.stdout, done.stderr, summary, comment["body"]):
        assert TOKEN not in text
    # A re-run edits the same comment instead of adding one.
    again = _run_action(tmp_path, api, JUGGLER_ACTION_COMMENT="true")
    assert again.returncode == 0, again.stderr
    assert len(recorder.comments) == 1
    assert any(r[0] == "PATCH" for r in recorder.requests)
    assert "comment: updated on pull request #5" in again.stderr


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_action_reports_a_refused_log_download_in_one_line(
    tmp_path: Path, github: tuple[_Server, _Server, _Recorder]
) -> None:
    api, _blob, recorder = github
    recorder.log_status = 403
    done = _run_action(tmp_path, api)
    assert done.returncode == 4
    assert "Traceback" not in done.stderr
    assert "cannot download the log of job 'test (3.11)': HTTP 403" in done.stderr
    assert recorder.comments == []


@pytest.mark.timeout(60)
def test_action_without_its_variables_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "juggler.action"],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "juggler: the action needs GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_TOKEN "
        "(set by action.yml)"
    )


def test_action_yml_runs_the_tested_script_with_declared_inputs() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    runs = "\n".join(str(step.get("run", "")) for step in steps)
    assert "pip install" in runs
    assert "python -m juggler.action" in runs
    env = {k: v for step in steps for k, v in step.get("env", {}).items()}
    assert env["GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    used = {name for value in env.values() for name in _inputs_in(str(value))}
    assert used <= set(action["inputs"])
    assert action["inputs"]["github-token"]["default"] == "${{ github.token }}"


def _inputs_in(text: str) -> list[str]:
    return re.findall(r"inputs\.([\w-]+)", text)


def test_readme_shows_the_five_line_workflow_job() -> None:
    from markdown_it import MarkdownIt

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [
        t.content
        for t in MarkdownIt().parse(readme)
        if t.type == "fence" and t.info.strip() in {"yaml", "yml"}
    ]
    found = []
    for block in blocks:
        document = yaml.safe_load(block)
        if not isinstance(document, dict):  # a step list (e.g. the serve section's curl step)
            continue
        for job in document.values():
            steps = job.get("steps", [])
            if job.get("if") == "failure()" and any(
                re.search(r"/juggler@", str(s.get("uses", ""))) for s in steps
            ):
                found.append(block)
    [block] = found
    assert len(block.strip().splitlines()) == 5
