"""R16: SIGTERM with 5 runs in flight: uploads meanwhile get 503, exit 0 within grace + 2 s,
no orphan process, interrupted runs marked."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

import httpx
import psutil
import pytest

from ._live import big_log, start_server

if TYPE_CHECKING:
    from pathlib import Path

GRACE_S = 2.0


@pytest.mark.timeout(180)
@pytest.mark.crash
def test_sigterm_with_five_runs_in_flight(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--max-runs", "5", "--grace", str(GRACE_S), "--workers", "2")
    # Big enough that five runs cannot all finish inside the grace, however fast the scan.
    log = big_log(24)
    with server.client() as http:
        ids = [http.post("/api/v1/runs", content=log).json()["id"] for _ in range(5)]
        deadline = time.monotonic() + 60
        while http.get("/healthz").json()["running"] < 5:
            assert time.monotonic() < deadline, "5 runs never ran at once"
            time.sleep(0.05)
        family = psutil.Process(server.proc.pid).children(recursive=True)
        assert family, "the shared runtime has worker processes"
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        refused = http.post("/api/v1/runs", content=b"E: late\n")
        assert refused.status_code == 503
        assert "Retry-After" in refused.headers
        code = server.proc.wait(timeout=GRACE_S + 30)
        took = time.monotonic() - started
    assert code == 0, server.stderr()
    assert took <= GRACE_S + 2.0, f"exit took {took:.2f} s"
    time.sleep(0.2)
    orphans = [p.pid for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert orphans == []
    again = start_server(tmp_path, data_dir=server.data_dir)
    try:
        with httpx.Client(base_url=again.url) as http:
            states = [http.get(f"/api/v1/runs/{i}").json()["state"] for i in ids]
    finally:
        again.stop()
    assert set(states) <= {"done", "interrupted"}, states
    assert "interrupted" in states
