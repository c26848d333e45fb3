"""The GitHub Action's script: triage the failed jobs of the current workflow run.

``action.yml`` runs ``python -m juggler.action`` in a job that follows the failed one
(``needs: test`` and ``if: failure()``; a job's own log is only downloadable once it has
finished). With the workflow token it:

1. lists the jobs of this run attempt (``GET /repos/{repo}/actions/runs/{id}/attempts/{n}/jobs``)
   and keeps those that failed (optionally only the ones named in ``JUGGLER_ACTION_JOBS``);
2. downloads each one's log (``GET /repos/{repo}/actions/jobs/{id}/logs``: a redirect to
   short-lived storage; the token is not sent there, httpx drops it across origins);
3. triages the logs together, writes the job summary and ``::error`` annotations;
4. with ``JUGGLER_ACTION_COMMENT=true`` on a pull request, posts the memo as a PR comment,
   or updates the comment it posted on an earlier run of the same workflow.

Exit codes follow the CLI: 0 ok (also when no job failed), 2 misconfigured (a variable
missing), 4 a download, the summary or the comment failed, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from juggler import ConfigError

from ._config import load_config
from .deliver import deliver_github
from .pipeline import triage
from .synth.render import render_markdown

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._redact import Redactor
    from .synth import Memo

__all__ = ["ActionError", "main", "run_action"]

EXIT_OK, EXIT_USAGE, EXIT_DELIVERY, EXIT_INTERRUPTED = 0, 2, 4, 130
#: Hidden in every comment the action writes, so a re-run edits its comment instead of adding.
COMMENT_MARKER = "<!-- juggler-triage -->"
#: GitHub refuses comments over 65536 characters.
_COMMENT_CHARS = 60_000
_MAX_LOG_BYTES = 256 * 1024 * 1024
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ActionError(Exception):
    """A step of the action that cannot go on (one line, secrets scrubbed)."""


@dataclass(frozen=True, slots=True)
class _Context:
    api: str
    repository: str
    run_id: str
    attempt: str
    token: str
    jobs: frozenset[str]
    comment: bool
    pull_request: int | None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> _Context:
        missing = [
            name
            for name in ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_TOKEN")
            if not env.get(name)
        ]
        if missing:
            raise ConfigError(f"the action needs {', '.join(missing)} (set by action.yml)")
        wanted = env.get("JUGGLER_ACTION_JOBS", "")
        return cls(
            api=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            repository=env["GITHUB_REPOSITORY"],
            run_id=env["GITHUB_RUN_ID"],
            attempt=env.get("GITHUB_RUN_ATTEMPT") or "1",
            token=env["GITHUB_TOKEN"],
            jobs=frozenset(j.strip() for j in wanted.split(",") if j.strip()),
            comment=env.get("JUGGLER_ACTION_COMMENT", "").strip().lower() in {"1", "true", "yes"},
            pull_request=_pull_request(env),
        )


def _pull_request(env: Mapping[str, str]) -> int | None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number") if isinstance(event, dict) else None
    return number if isinstance(number, int) else None


def run_action(environ: Mapping[str, str] | None = None) -> int:
    """Run the action's steps; returns the exit code. Messages go to stderr, one line each."""
    env = dict(os.environ if environ is None else environ)
    ctx = _Context.from_environ(env)
    config = load_config(environ=env)
    redactor = config.redactor(env)
    headers = {
        "Authorization": f"Bearer {ctx.token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "juggler-action",
    }
    code = EXIT_OK
    with (
        httpx.Client(headers=headers, timeout=_TIMEOUT, follow_redirects=True) as client,
        tempfile.TemporaryDirectory(prefix="juggler-action-") as folder,
    ):
        try:
            failed = _failed_jobs(client, ctx)
        except ActionError as exc:
            _say(f"cannot list the jobs of run {ctx.run_id}: {exc}", redactor)
            return EXIT_DELIVERY
        if not failed:
            _say("no failed job in this run: nothing to triage", redactor)
            return EXIT_OK
        logs = []
        for job in failed:
            try:
                logs.append(_download(client, ctx, job, Path(folder)))
            except ActionError as exc:
                _say(f"cannot download the log of job {job['name']!r}: {exc}", redactor)
                code = EXIT_DELIVERY
        if not logs:
            return code
        result = triage([str(p) for p in logs], config=config, progress=False)
        memo = result.memo
        assert memo is not None  # the pipeline always synthesises one
        github = deliver_github(
            memo, environ=env, redactor=redactor, max_annotations=config.max_annotations
        )
        _say(github.describe(), redactor)
        if not github.delivered:
            code = EXIT_DELIVERY
        _say(f"triaged {len(logs)} failed job(s): {memo.headline}", redactor)
        if ctx.comment:
            code = max(code, _comment(client, ctx, memo, redactor))
    return code


def _failed_jobs(client: httpx.Client, ctx: _Context) -> list[dict[str, Any]]:
    url = f"{ctx.api}/repos/{ctx.repository}/actions/runs/{ctx.run_id}/attempts/{ctx.attempt}/jobs"
    jobs: list[dict[str, Any]] = []
    page = 1
    while True:
        data = _json(client, "GET", url, params={"per_page": 100, "page": page})
        batch = data.get("jobs") if isinstance(data, dict) else None
        if not isinstance(batch, list):
            raise ActionError("the answer has no 'jobs' list")
        jobs.extend(j for j in batch if isinstance(j, dict))
        if len(batch) < 100 or len(jobs) >= int(data.get("total_count", 0) or 0):
            break
        page += 1
    return [
        j
        for j in jobs
        if j.get("conclusion") == "failure" and (not ctx.jobs or j.get("name") in ctx.jobs)
    ]


def _download(client: httpx.Client, ctx: _Context, job: dict[str, Any], folder: Path) -> Path:
    url = f"{ctx.api}/repos/{ctx.repository}/actions/jobs/{job['id']}/logs"
    name = re.sub(r"[^\w.-]+", "-", str(job.get("name") or job["id"])).strip("-") or "job"
    target = folder / f"{name}-{job['id']}.log"
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ActionError(f"HTTP {response.status_code}")
            written = 0
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    written += len(chunk)
                    if written > _MAX_LOG_BYTES:
                        raise ActionError(f"log over {_MAX_LOG_BYTES >> 20} MiB")
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise ActionError(f"{type(exc).__name__}: {exc}") from None
    return target


def _comment(client: httpx.Client, ctx: _Context, memo: Memo, redactor: Redactor) -> int:
    if ctx.pull_request is None:
        _say("comment: not a pull_request event, no comment written", redactor)
        return EXIT_OK
    body = f"{COMMENT_MARKER}\n{render_markdown(memo, redactor=redactor, max_chars=_COMMENT_CHARS)}"
    issue = f"{ctx.api}/repos/{ctx.repository}/issues/{ctx.pull_request}/comments"
    try:
        existing = _json(client, "GET", issue, params={"per_page": 100})
        mine = [
            c
            for c in existing
            if isinstance(c, dict) and COMMENT_MARKER in str(c.get("body", ""))
        ] if isinstance(existing, list) else []  # fmt: skip
        if mine:
            edit = f"{ctx.api}/repos/{ctx.repository}/issues/comments/{mine[-1]['id']}"
            _json(client, "PATCH", edit, body={"body": body})
            _say(f"comment: updated on pull request #{ctx.pull_request}", redactor)
        else:
            _json(client, "POST", issue, body={"body": body})
            _say(f"comment: posted on pull request #{ctx.pull_request}", redactor)
    except ActionError as exc:
        _say(f"comment: not written on pull request #{ctx.pull_request}: {exc}", redactor)
        return EXIT_DELIVERY
    return EXIT_OK


def _json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
) -> Any:
    try:
        response = client.request(method, url, params=params, json=body)
    except httpx.HTTPError as exc:
        raise ActionError(f"{type(exc).__name__}: {exc}") from None
    if response.status_code >= 300:
        raise ActionError(f"HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise ActionError("the answer is not JSON") from None


def _say(line: str, redactor: Redactor) -> None:
    sys.stderr.write(f"juggler: {redactor.scrub(line)}\n")


def main() -> None:
    """``python -m juggler.action``: run, map errors to one line and an exit code."""
    try:
        sys.exit(run_action())
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except ConfigError as exc:
        sys.stderr.write(f"juggler: {exc}\n")
        sys.exit(EXIT_USAGE)
