"""A real ``juggler serve`` in a subprocess on loopback (port 0), for the server tests.

Each test starts its own (the suite-wide leak check allows no child process between tests)
and stops it with SIGTERM, the way an operator would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

SRC = Path(__file__).resolve().parents[2] / "src"
#: Generous: on a loaded shared machine a worker pool can take long to start.
STARTUP_S = 90.0
_LISTENING = re.compile(r"listening on http://(\S+?):(\d+)/")


def require(what: str, present: bool) -> None:
    """A real component is missing: fail under CI=true, skip on a developer's machine."""
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"needs {what}")


@dataclass
class LiveServer:
    proc: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    stderr_path: Path
    tmp_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def start_server(
    tmp: Path, *args: str, env: dict[str, str] | None = None, data_dir: Path | None = None
) -> LiveServer:
    """Start ``juggler serve --port 0`` and wait until it listens."""
    data = data_dir or tmp / "data"
    scratch = tmp / "tmp"
    scratch.mkdir(exist_ok=True)
    stderr_path = tmp / f"serve-{time.monotonic_ns()}.err"
    full_env = {**os.environ, "PYTHONPATH": str(SRC), "TMPDIR": str(scratch), **(env or {})}
    full_env.pop("JUGGLER_KB", None)
    cmd = [sys.executable, "-m", "juggler", "serve", "--port", "0", "--data-dir", str(data)]
    if "--workers" not in args:
        cmd += ["--workers", "1"]
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen([*cmd, *args], stderr=err, stdout=subprocess.DEVNULL, env=full_env)
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        found = _LISTENING.search(stderr_path.read_text(errors="replace"))
        if found:
            host = found.group(1)
            return LiveServer(proc, f"http://{host}:{found.group(2)}", data, stderr_path, scratch)
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {stderr_path.read_text()}")
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError(f"serve did not start: {stderr_path.read_text()}")


def serving(tmp: Path, *args: str, **kw: Any) -> Iterator[LiveServer]:
    server = start_server(tmp, *args, **kw)
    try:
        yield server
    finally:
        server.stop()


def failing_log(
    test: str = "tests/test_api.py::test_login", extra: str = "", inside: tuple[str, ...] = ()
) -> bytes:
    """A small, realistic pytest CI log that fails one test (``inside``: more ``E`` lines)."""
    lines = [
        "##[group]Run pip install -e .",
        "Successfully installed acme-1.0",
        "##[endgroup]",
        "##[group]Run pytest -q",
        "============================= test session starts ==============================",
        "collected 42 items",
        "",
        "tests/test_models.py ........................                              [ 57%]",
        f"{test.split('::')[0]} ....F..............                                 [100%]",
        "",
        "=================================== FAILURES ===================================",
        f"_________________________ {test.split('::')[-1]} _________________________",
        "",
        "    def test_login(client):",
        "        reply = client.post('/login', data={'user': 'ann'})",
        ">       assert reply.status_code == 200",
        "E       assert 502 == 200",
        *(f"E       {line}" for line in inside),
        "E        +  where 502 = <Response [502]>.status_code",
        "",
        f"{test.split('::')[0]}:14: AssertionError",
        "=========================== short test summary info ============================",
        f"FAILED {test} - assert 502 == 200",
        "========================= 1 failed, 41 passed in 3.21s =========================",
        extra,
        "##[error]Process completed with exit code 1.",
    ]
    return ("\n".join(lines) + "\n").encode()


def big_log(mib: int) -> bytes:
    """A long build log (``mib`` MiB of chatter) that fails at its end."""
    line = b"[build] compiling module src/acme/part_%06d.c with -O2 -Wall ... ok\n"
    count = mib * 1024 * 1024 // len(line % 0)
    body = b"".join(line % i for i in range(count))
    return body + failing_log()


def wait_final(client: httpx.Client, run_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll a run until it is final; its JSON."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}").json()
        if info["state"] not in ("queued", "running"):
            return info
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")
