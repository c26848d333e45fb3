"""Who sees what: loopback by default (S1), tokens off loopback, cookies, CSRF, visibility."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import psutil
import pytest

from ._live import SRC, failing_log, serving, wait_final

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ._live import LiveServer

pytestmark = pytest.mark.timeout(120)

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef"
CAROL = "carol-token-0123456789abcdef"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[LiveServer]:
    tokens = tmp_path / "tokens"
    tokens.write_text(
        "# token user projects...\n"
        f"{ALICE} alice acme/web\n"
        f"{BOB} bob acme/web\n"
        f"{CAROL} carol other/thing\n"
    )
    yield from serving(tmp_path, "--token-file", str(tokens))


def test_a_user_sees_own_and_project_runs_never_anothers(guarded: LiveServer) -> None:
    with guarded.client(ALICE) as alice, guarded.client(BOB) as bob, guarded.client(CAROL) as carol:
        shared = alice.post("/api/v1/runs", params={"project": "acme/web"}, content=failing_log())
        private = alice.post("/api/v1/runs", content=failing_log())
        assert shared.status_code == private.status_code == 202
        shared_id, private_id = shared.json()["id"], private.json()["id"]
        wait_final(alice, shared_id)
        wait_final(alice, private_id)
        # alice: both; bob (same project): the project's run only; carol: nothing.
        assert {r["id"] for r in alice.get("/api/v1/runs").json()["runs"]} == {
            shared_id,
            private_id,
        }
        assert [r["id"] for r in bob.get("/api/v1/runs").json()["runs"]] == [shared_id]
        assert carol.get("/api/v1/runs").json()["runs"] == []
        assert bob.get(f"/api/v1/runs/{shared_id}").status_code == 200
        for path in ("", "/memo.md", "/memo.html", "/memo.json", "/timeline.html", "/events"):
            assert bob.get(f"/api/v1/runs/{private_id}{path}").status_code == 404, path
            assert carol.get(f"/api/v1/runs/{shared_id}{path}").status_code == 404, path
        assert carol.post(f"/api/v1/runs/{shared_id}/learn", json={"cause": "x"}).status_code == 404
        # Carol cannot read acme/web's knowledge either.
        assert (
            bob.post(f"/api/v1/runs/{shared_id}/learn", json={"cause": "proxy 502"}).status_code
            == 200
        )
        assert bob.get("/api/v1/kb/search", params={"q": "proxy 502 test_login"}).json()["results"]
        assert (
            carol.get("/api/v1/kb/search", params={"q": "proxy 502 test_login"}).json()["results"]
            == []
        )
        assert carol.get(f"/runs/{shared_id}", headers={"Authorization": ""}).status_code in (
            303,
            401,
            404,
        )
    with httpx.Client(base_url=guarded.url) as anonymous:
        assert anonymous.get("/api/v1/runs").status_code == 401
        assert anonymous.post("/api/v1/runs", content=failing_log()).status_code == 401
        wrong = anonymous.get("/api/v1/runs", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert anonymous.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_page_sign_in_sets_a_strict_http_only_cookie_and_forms_need_csrf(
    guarded: LiveServer,
) -> None:
    with guarded.client(ALICE) as alice:
        run_id = alice.post("/api/v1/runs", content=failing_log()).json()["id"]
        wait_final(alice, run_id)
    with httpx.Client(base_url=guarded.url, follow_redirects=False) as page:
        assert (
            page.post("/signin", data={"token": "wrong"}).headers["location"].endswith("failed=1")
        )
        signed = page.post("/signin", data={"token": ALICE})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie.replace("Strict", "strict")
        assert ALICE not in cookie
        html = page.get(f"/runs/{run_id}").text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
        assert csrf is not None
        form = {"cause": "proxy", "fix": "", "link": ""}
        assert page.post(f"/runs/{run_id}/learn", data=form).status_code == 403
        assert (
            page.post(f"/runs/{run_id}/learn", data={**form, "csrf": "0" * 64}).status_code == 403
        )
        cross = page.post(
            f"/runs/{run_id}/learn",
            data={**form, "csrf": csrf.group(1)},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert cross.status_code == 403
        good = page.post(f"/runs/{run_id}/learn", data={**form, "csrf": csrf.group(1)})
        assert good.status_code == 303
        upload = page.post("/upload", files={"log": ("a.log", failing_log())}, data={"csrf": "bad"})
        assert upload.status_code == 403
        ok = page.post(
            "/upload", files={"log": ("a.log", failing_log())}, data={"csrf": csrf.group(1)}
        )
        assert ok.status_code == 303
        assert ok.headers["location"].startswith("/runs/")
        # A forged cookie is nobody.
        page.cookies.set("juggler_session", "YWxpY2U|9999999999|00|" + "0" * 64)
        assert page.get("/api/v1/runs").status_code == 401


def test_loopback_by_default_and_other_addresses_need_tokens(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    # S1: no flags at all (in an empty folder, so the default data dir lands there).
    proc = subprocess.Popen(
        [sys.executable, "-m", "juggler", "serve", "--workers", "1"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        listening: list[str] = []
        deadline = time.monotonic() + 30
        while not listening and time.monotonic() < deadline:
            time.sleep(0.1)
            listening = [
                c.laddr.ip
                for c in psutil.Process(proc.pid).net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN
            ]
        assert listening, "serve did not listen"
        assert all(ip in ("127.0.0.1", "::1") for ip in listening), listening
        assert (tmp_path / "juggler-data" / "runs.sqlite").exists()
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        assert proc.stderr is not None
        proc.stderr.close()
    refused = subprocess.run(
        [sys.executable, "-m", "juggler", "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "token-file" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
