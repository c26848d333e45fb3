"""S5: no secret the server knows reaches any byte it produces (files, SQLite, HTTP, stderr)."""

from __future__ import annotations

import base64
import urllib.parse
from typing import TYPE_CHECKING

import pytest

from ._live import failing_log, serving, wait_final

if TYPE_CHECKING:
    from pathlib import Path

CANARY = "cnry-7f3a9d2e41b8c6055e17d9a0"
BEARER = "bearer-canary-5b1e0c7d9a2f4e68"


def _forms(secret: str) -> list[bytes]:
    return [
        secret.encode(),
        urllib.parse.quote(secret, safe="").encode(),
        base64.b64encode(secret.encode()).rstrip(b"="),
    ]


@pytest.mark.timeout(120)
def test_no_secret_in_any_produced_byte(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{BEARER} ann acme/web\n")
    produced: list[bytes] = []
    for server in serving(tmp_path, "--token-file", str(tokens), env={"DEPLOY_TOKEN": CANARY}):
        log = failing_log(
            extra=f"curl -H 'X-Token: {CANARY}' https://deploy.example/hook\n"
            f"ERROR: deploy refused token {CANARY}"
        )
        with server.client(BEARER) as http:
            run_id = http.post("/api/v1/runs", files={"log": ("ci.log", log)}).json()["id"]
            info = wait_final(http, run_id)
            assert info["state"] == "done"
            http.post(f"/api/v1/runs/{run_id}/learn", json={"cause": "deploy token expired"})
            for path in ("", "/memo.md", "/memo.html", "/memo.json", "/timeline.html", "/events"):
                reply = http.get(f"/api/v1/runs/{run_id}{path}")
                produced += [reply.content, str(reply.headers).encode()]
            for path in (
                "/api/v1/runs",
                "/metrics",
                f"/runs/{run_id}",
                "/kb",
                "/history",
                "/api/v1/kb/search?q=deploy+refused+token",
            ):
                reply = http.get(path)
                produced += [reply.content, str(reply.headers).encode()]
    produced.append(server.stderr_path.read_bytes())
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            produced.append(path.read_bytes())
    assert any(b"deploy refused token" in blob for blob in produced)  # the finding is there
    for secret in (CANARY, BEARER):
        for form in _forms(secret):
            hits = [i for i, blob in enumerate(produced) if form in blob]
            assert hits == [], (secret, form)
