"""Upload caps (S2), run ids and filenames (S7), run limits (S8) on a real server."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from juggler.server._store import RunStore

from ._live import big_log, failing_log, serving, wait_final

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


from ._live import LiveServer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def small_cap(tmp_path: Path) -> Iterator[LiveServer]:
    yield from serving(tmp_path, "--max-upload-mib", "1")


def _socket(server: LiveServer) -> socket.socket:
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def _leftovers(server: LiveServer) -> list[str]:
    runs = server.data_dir / "runs"
    found = [p.name for p in runs.iterdir()] if runs.exists() else []
    # multiprocessing keeps its own pymp-* folder there for the life of the pool.
    return found + [p.name for p in server.tmp_dir.iterdir() if not p.name.startswith("pymp-")]


def _settled(server: LiveServer) -> list[str]:
    deadline = time.monotonic() + 1.0  # temp files must be gone within 1 s
    while _leftovers(server) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _leftovers(server)


def test_declared_length_over_the_cap_is_refused_before_the_body(small_cap: LiveServer) -> None:
    with _socket(small_cap) as sock:
        sock.sendall(
            b"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 209715200\r\n\r\n"
        )
        reply = sock.recv(4096)  # no byte of the body was sent
    assert reply.startswith(b"HTTP/1.1 413"), reply
    assert _settled(small_cap) == []


def test_chunked_body_over_the_cap_is_cut_off(small_cap: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB against a 1 MiB cap
            yield b"x" * 65536

    with small_cap.client() as http:
        reply = http.post("/api/v1/runs", content=chunks())
        assert reply.status_code == 413
        form = http.post("/upload", files={"log": ("big.log", b"y" * (2 * 1024 * 1024))})
        assert form.status_code == 413
    assert _settled(small_cap) == []


def test_too_many_parts_is_a_400_and_leaves_no_file(small_cap: LiveServer) -> None:
    files = [("log", (f"part{i}.log", b"E: boom\n")) for i in range(1001)]
    with small_cap.client() as http:
        reply = http.post("/api/v1/runs", files=files)
        assert reply.status_code == 400
        assert http.get("/api/v1/runs").json()["runs"] == []
    assert _settled(small_cap) == []


def test_run_ids_are_unguessable_and_filenames_are_only_labels(small_cap: LiveServer) -> None:
    with small_cap.client() as http:
        created = http.post("/api/v1/runs", files={"log": ("../../x", failing_log())}).json()
        run_id = created["id"]
        assert len(bytes.fromhex(run_id)) == 16  # 128 bits
        info = wait_final(http, run_id)
        assert info["label"] == "../../x"
    assert not (small_cap.data_dir.parent / "x").exists()
    assert not (small_cap.data_dir / "x").exists()
    ours = {"log-1.log", "triage.json", "memo.md", "memo.html", "memo.json", "timeline.html"}
    assert {p.name for p in (small_cap.data_dir / "runs" / run_id).iterdir()} <= ours
    assert not [p for p in small_cap.data_dir.rglob("*") if p.name == "x"]

    async def guess() -> int:
        hits = 0
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=small_cap.url, limits=limits, timeout=30) as client:
            for _ in range(10):
                replies = await asyncio.gather(
                    *(client.get(f"/api/v1/runs/{os.urandom(16).hex()}") for _ in range(100))
                )
                hits += sum(r.status_code != 404 for r in replies)
        return hits

    assert asyncio.run(guess()) == 0  # 1,000 guesses over HTTP...
    store = RunStore(small_cap.data_dir / "runs.sqlite")  # ...and 10,000 at the store itself

    async def guess_store() -> int:
        found = [await store.get(os.urandom(16).hex()) for _ in range(10_000)]
        return sum(row is not None for row in found)

    try:
        assert asyncio.run(guess_store()) == 0
        assert asyncio.run(store.get(run_id)) is not None  # the real id is found
    finally:
        store.close()


def test_wall_time_cap_cancels_and_marks_the_run(tmp_path: Path) -> None:
    for server in serving(tmp_path, "--run-timeout", "0.3"):
        with server.client() as http:
            run_id = http.post("/api/v1/runs", content=big_log(20)).json()["id"]
            info = wait_final(http, run_id)
            assert info["state"] == "cancelled"
            assert "wall-time cap of 0.3 s" in info["error"]
            # The server carries on: the next run is served.
            ok = http.post("/api/v1/runs", content=failing_log()).json()["id"]
            assert wait_final(http, ok)["state"] in ("done", "cancelled")
            assert 'juggler_runs_finished_total{state="cancelled"}' in http.get("/metrics").text


def test_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    for server in serving(tmp_path, "--max-runs", "1", "--max-queued", "1"):
        with server.client() as http:
            first = http.post("/api/v1/runs", content=big_log(2))
            second = http.post("/api/v1/runs", content=big_log(2))
            third = http.post("/api/v1/runs", content=failing_log())
            assert first.status_code == second.status_code == 202
            assert third.status_code == 503
            assert int(third.headers["retry-after"]) >= 1
            assert "queue" in third.json()["detail"]
            for created in (first, second):
                wait_final(http, created.json()["id"], timeout=90)
            assert http.post("/api/v1/runs", content=failing_log()).status_code == 202
