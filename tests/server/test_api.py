"""The HTTP API against a real ``juggler serve`` on loopback, with httpx."""

from __future__ import annotations

import json
import re
import signal
import time
from typing import TYPE_CHECKING

import httpx
import psutil
import pytest

from ._live import big_log, failing_log, serving, start_server, wait_final

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ._live import LiveServer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    yield from serving(tmp_path)


def test_upload_triage_read_learn_search(server: LiveServer) -> None:
    with server.client() as http:
        assert http.get("/healthz").json()["status"] == "ok"
        posted = http.post(
            "/api/v1/runs",
            files={"log": ("ci build.log", failing_log())},
            data={"project": "acme/web"},
        )
        assert posted.status_code == 202, posted.text
        created = posted.json()
        run_id = created["id"]
        assert created["urls"]["events"] == f"/api/v1/runs/{run_id}/events"
        # The events stream ends with `done`; findings come before it.
        with http.stream("GET", created["urls"]["events"]) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = [
                json.loads(line[len("data: ") :])
                for line in stream.iter_lines()
                if line.startswith("data: ")
            ]
        assert events[-1]["type"] == "done"
        assert events[-1]["state"] == "done"
        info = wait_final(http, run_id)
        assert info["state"] == "done"
        assert info["project"] == "acme/web"
        assert info["label"] == "ci build.log"
        document = info["triage"]
        assert set(document) >= {"findings", "analysis", "causes", "inputs", "rejected_inputs"}
        assert document["inputs"][0]["path"] == "ci build.log"  # the label, no server path
        assert any(
            "test_login" in f["excerpt"] or "502" in f["excerpt"] for f in document["findings"]
        )
        md = http.get(f"/api/v1/runs/{run_id}/memo.md")
        assert md.status_code == 200
        assert "test_login" in md.text
        assert str(server.data_dir) not in md.text
        memo_html = http.get(f"/api/v1/runs/{run_id}/memo.html")
        assert "default-src 'none'" in memo_html.headers["content-security-policy"]
        assert json.loads(http.get(f"/api/v1/runs/{run_id}/memo.json").text)["memo"]
        timeline = http.get(f"/api/v1/runs/{run_id}/timeline.html")
        csp = timeline.headers["content-security-policy"]
        assert csp.startswith("sandbox allow-scripts")
        assert "unsafe-inline" not in csp
        learned = http.post(
            f"/api/v1/runs/{run_id}/learn",
            json={
                "cause": "login proxy returned 502",
                "fix": "restart the proxy",
                "link": "https://example.org/issues/7",
            },
        )
        assert learned.status_code == 200, learned.text
        assert learned.json()["incidents"] >= 1
        hits = http.get("/api/v1/kb/search", params={"q": "assert 502 == 200 test_login"}).json()
        assert any(h["cause"] == "login proxy returned 502" for h in hits["results"])
        # The same failure again: its page shows the learned incident as 100 % alike (the
        # similarity people read), never the rank-fusion score (0.033 for an identical log).
        again = http.post(
            "/api/v1/runs",
            files={"log": ("ci build.log", failing_log())},
            data={"project": "acme/web"},
        ).json()["id"]
        assert wait_final(http, again)["state"] == "done"
        page = http.get(f"/runs/{again}").text
        assert "login proxy returned 502" in page
        assert "<b>100% alike</b> · acme/web · same project" in page
        assert "score 0.0" not in page
        kb_page = http.get("/kb", params={"q": "assert 502 == 200 test_login"}).text
        assert re.search(r"<b>\d+% alike</b>", kb_page)
        runs = http.get("/api/v1/runs", params={"project": "acme/web"}).json()["runs"]
        assert [r["id"] for r in runs] == [again, run_id]
        assert http.get("/api/v1/runs", params={"project": "other/x"}).json()["runs"] == []
        metrics = http.get("/metrics").text
        assert 'juggler_runs_finished_total{state="done"} 2.0' in metrics
        assert "juggler_triage_seconds_bucket" in metrics
        assert "juggler_event_loop_lag_seconds" in metrics
        assert "juggler_queue_depth" in metrics


def test_raw_body_upload_and_learning_needs_a_finished_run(server: LiveServer) -> None:
    with server.client() as http:
        posted = http.post(
            "/api/v1/runs", params={"project": "acme/api", "name": "job.log"}, content=failing_log()
        )
        assert posted.status_code == 202
        info = wait_final(http, posted.json()["id"])
        assert info["state"] == "done"
        assert info["findings"] >= 1
        assert http.post("/api/v1/runs", content=b"").status_code == 400
        assert http.get("/api/v1/runs/" + "0" * 32).status_code == 404
        assert http.get("/api/v1/runs/not-an-id").status_code == 404
        bad = http.post("/api/v1/runs/" + "0" * 32 + "/learn", json={"cause": "x"})
        assert bad.status_code == 404


def test_restart_keeps_finished_runs_and_marks_interrupted(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--max-runs", "1")
    family: list[psutil.Process] = []
    try:
        with server.client() as http:
            done = http.post("/api/v1/runs", content=failing_log()).json()["id"]
            wait_final(http, done)
            slow = http.post("/api/v1/runs", content=big_log(4)).json()["id"]
            deadline = time.monotonic() + 20
            while http.get(f"/api/v1/runs/{slow}").json()["state"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        family = psutil.Process(server.proc.pid).children(recursive=True)
        server.proc.send_signal(signal.SIGKILL)  # a crash: no chance to mark anything
        server.proc.wait()
    finally:
        # Only the server's own processes: this test session's forkserver and resource
        # tracker are children of pytest too, and later tests need them.
        if server.proc.poll() is None:
            family = psutil.Process(server.proc.pid).children(recursive=True)
            server.proc.kill()
            server.proc.wait()
    for child in family:
        try:
            child.kill()
            child.wait(5)
        except psutil.NoSuchProcess:
            pass
    again = start_server(tmp_path, data_dir=server.data_dir)
    try:
        with again.client() as http:
            assert http.get(f"/api/v1/runs/{done}").json()["state"] == "done"
            assert http.get(f"/api/v1/runs/{done}/memo.md").status_code == 200
            lost = http.get(f"/api/v1/runs/{slow}").json()
            assert lost["state"] == "interrupted"
            assert "submit it again" in lost["error"]
            with http.stream("GET", f"/api/v1/runs/{slow}/events") as stream:
                text = "".join(stream.iter_text())
            assert "event: done" in text
            assert "interrupted" in text
    finally:
        again.stop()


def test_openapi_document_is_served(server: LiveServer) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/runs",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/events",
        "/api/v1/runs/{run_id}/memo.md",
        "/api/v1/runs/{run_id}/memo.html",
        "/api/v1/runs/{run_id}/memo.json",
        "/api/v1/runs/{run_id}/timeline.html",
        "/api/v1/runs/{run_id}/learn",
        "/api/v1/kb/search",
        "/healthz",
        "/metrics",
    ):
        assert path in paths, path
    assert "multipart/form-data" in paths["/api/v1/runs"]["post"]["requestBody"]["content"]


def test_the_server_warms_up_before_listening_and_keeps_no_trace_of_it(
    server: LiveServer,
) -> None:
    # A first upload would otherwise import and compile on the event loop, stalling every
    # other request (S3); the warm-up is a triage of a built-in log, off the books.
    text = server.stderr()
    warmed = re.search(r"warmed up: a triage of a built-in log took [\d.]+ s", text)
    assert warmed, text
    assert warmed.start() < text.index("listening on")
    with server.client() as http:
        assert http.get("/api/v1/runs").json()["runs"] == []
        metrics = http.get("/metrics").text
        assert 'juggler_runs_finished_total{state="done"}' not in metrics
        assert "juggler_triage_seconds_count 0.0" in metrics
    assert not any(server.data_dir.rglob(".warm-up"))
