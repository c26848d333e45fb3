"""``juggler serve`` under load, on loopback only, bounded in count and time.

    .venv/bin/python bench/serve_load.py [--quick] [--json OUT] [--only s3,s4,throughput,s8,r16]

* S3: 200 concurrent uploads of 5 MiB while a prober (own thread) hits /healthz every 50 ms:
  /healthz p50/p99/max, uploads answered 202 / 503 (+Retry-After) / other, dropped.
* S4: 500 slow clients sending one header byte per 5 s: /healthz p99 meanwhile, how many the
  server closed (header timeout), server fds before, during and 30 s after.
* Throughput: generated CI logs of 10-500 KB at 1, 10 and 50 concurrent clients, each client
  submitting and waiting for the result; juggler serve (one shared Runtime) against the naive
  peer: the same HTTP front (uvicorn + FastAPI) running one ``juggler triage --json``
  subprocess per request. Triages/s, p50/p99 latency, and juggler's ratio.
* S8: server RSS after 10 warm-up runs and after 100 more sequential runs.
* R16: SIGTERM with 5 runs in flight: seconds to exit, exit code, orphan processes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import psutil

from _common import print_table, write_json

if TYPE_CHECKING:
    from starlette.requests import Request

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
_LISTENING = re.compile(r"listening on http://(\S+?):(\d+)/")


# ---------------------------------------------------------------- servers


class Server:
    """A subprocess serving on loopback port 0: juggler serve, or the naive peer."""

    def __init__(self, cmd: list[str], folder: Path) -> None:
        self.err = folder / f"server-{time.monotonic_ns()}.err"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        with open(self.err, "wb") as fh:
            self.proc = subprocess.Popen(cmd, stderr=fh, stdout=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.err.read_text(errors="replace"))
            if found:
                self.url = f"http://{found.group(1)}:{found.group(2)}"
                return
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {self.err.read_text()}")
            time.sleep(0.05)
        self.proc.kill()
        raise SystemExit("server did not start")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def juggler_server(folder: Path, *args: str) -> Server:
    data = folder / f"data-{time.monotonic_ns()}"
    cmd = [sys.executable, "-m", "juggler", "serve", "--port", "0", "--data-dir", str(data)]
    return Server([*cmd, *args], folder)


def peer_server(folder: Path) -> Server:
    return Server([sys.executable, __file__, "--peer", str(folder / "peer")], folder)


def run_peer(folder: str) -> None:
    """The naive peer: one ``juggler triage`` subprocess per request, same HTTP front."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    kb = base / "kb.sqlite"

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def run(request: Request) -> Response:
        path = base / f"{os.urandom(16).hex()}.log"
        with open(path, "wb") as fh:  # noqa: ASYNC230 -- the naive peer, on purpose
            async for chunk in request.stream():
                fh.write(chunk)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "juggler",
            "triage",
            "--json",
            "--quiet",
            "--kb",
            str(kb),
            str(path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        path.unlink()
        return JSONResponse({"state": "done" if out else "failed", "bytes": len(out)})

    app = Starlette(
        routes=[Route("/healthz", healthz), Route("/api/v1/runs", run, methods=["POST"])]
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 -- uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        print(f"listening on http://127.0.0.1:{port}/", file=sys.stderr, flush=True)
        await task

    asyncio.run(main())


# ---------------------------------------------------------------- helpers


class Prober:
    """/healthz every 50 ms from its own thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.samples.append(time.perf_counter() - started)
                self.errors += not ok
                self._stop.wait(0.05)


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def loop_lag_max(url: str) -> float:
    text = httpx.get(url + "/metrics").text
    found = re.search(r"^juggler_event_loop_lag_max_seconds (\S+)", text, re.M)
    return float(found.group(1)) if found else float("nan")


_STEPS = ("checkout", "setup-python", "install", "lint", "build", "test")
_NOISE = (
    "Collecting {pkg}=={v}.{m}.0",
    "  Downloading {pkg}-{v}.{m}.0-py3-none-any.whl ({k} kB)",
    "gcc -O2 -fPIC -c src/{pkg}/mod_{n}.c -o build/mod_{n}.o",
    "tests/test_{pkg}.py::test_case_{n} PASSED                       [{p:3d}%]",
    "[{n:05d}] INFO worker-{m} processed batch {n} in {k} ms",
    "npm WARN deprecated {pkg}@{v}.{m}.0: use {pkg}-next",
)
_FAILURES = (
    [
        "E       AssertionError: expected {k} rows, got {n}",
        "FAILED tests/test_{pkg}.py::test_case_{n}",
    ],
    [
        "src/{pkg}/mod_{n}.c:{k}:5: error: 'count' undeclared (first use in this function)",
        "make: *** [Makefile:42: build/mod_{n}.o] Error 1",
    ],
    [
        "Traceback (most recent call last):",
        '  File "app/{pkg}.py", line {k}, in run',
        "ConnectionRefusedError: [Errno 111] Connection refused",
    ],
    ["fatal: unable to access 'https://git.example/{pkg}.git/': Could not resolve host"],
)


def ci_log(rng: random.Random, size: int) -> bytes:
    """A made-up CI log of about ``size`` bytes: step groups, chatter, one failure at the end."""
    pkgs = ("numpy", "httpx", "acme", "billing", "ledger", "rich", "click")
    out: list[str] = []
    total = 0
    step = 0
    while total < size:
        if rng.random() < 0.01 and step < len(_STEPS) - 1:
            step += 1
            out.append(f"##[group]Run {_STEPS[step]}")
        line = rng.choice(_NOISE).format(
            pkg=rng.choice(pkgs),
            v=rng.randint(1, 9),
            m=rng.randint(0, 30),
            k=rng.randint(1, 999),
            n=rng.randint(0, 99999),
            p=rng.randint(0, 100),
        )
        out.append(line)
        total += len(line) + 1
    out.extend(
        line.format(pkg=rng.choice(pkgs), n=rng.randint(1, 999), k=rng.randint(1, 99))
        for line in rng.choice(_FAILURES)
    )
    out.append("##[error]Process completed with exit code 1.")
    return ("\n".join(out) + "\n").encode()


# ---------------------------------------------------------------- scenarios


def s3(folder: Path, uploads: int) -> dict[str, Any]:
    body = b"[step] compiling ... ok\n" * (5 * MiB // 24) + b"ERROR: link failed\n"
    server = juggler_server(folder)
    try:

        async def main() -> list[Any]:
            limits = httpx.Limits(max_connections=uploads)
            async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as c:

                async def one() -> Any:
                    try:
                        return await c.post("/api/v1/runs", content=body)
                    except httpx.HTTPError as exc:
                        return exc

                return await asyncio.wait_for(asyncio.gather(*(one() for _ in range(uploads))), 120)

        started = time.monotonic()
        with Prober(server.url) as prober:
            replies = asyncio.run(main())
        took = time.monotonic() - started
        codes = [r.status_code for r in replies if isinstance(r, httpx.Response)]
        lag = loop_lag_max(server.url)
    finally:
        server.stop()
    return {
        "uploads": uploads,
        "seconds": took,
        "accepted_202": codes.count(202),
        "refused_503_retry_after": sum(
            1
            for r in replies
            if isinstance(r, httpx.Response)
            and r.status_code == 503
            and r.headers.get("retry-after")
        ),
        "other": sum(1 for c in codes if c not in (202, 503)),
        "dropped": sum(1 for r in replies if not isinstance(r, httpx.Response)),
        "healthz_p50_ms": pct(prober.samples, 0.5) * 1000,
        "healthz_p99_ms": pct(prober.samples, 0.99) * 1000,
        "healthz_max_ms": max(prober.samples) * 1000,
        "healthz_errors": prober.errors,
        "loop_lag_max_ms": lag * 1000,
    }


def s4(folder: Path, clients: int) -> dict[str, Any]:
    server = juggler_server(folder)
    try:
        host, port = server.url.removeprefix("http://").split(":")
        proc = psutil.Process(server.proc.pid)
        before = proc.num_fds()
        socks = []
        for _ in range(clients):
            sock = socket.create_connection((host, int(port)))
            sock.setblocking(False)
            socks.append(sock)
        peak = proc.num_fds()
        with Prober(server.url) as prober:
            for byte in b"GET /":  # one byte each 5 s: 25 s, past the 10 s header timeout
                for sock in socks:
                    try:
                        sock.send(bytes([byte]))
                    except OSError:
                        pass
                time.sleep(5)
        closed = 0
        for sock in socks:
            try:
                sock.settimeout(0.2)
                closed += sock.recv(1) == b""
            except OSError:
                closed += 1
            sock.close()
        deadline = time.monotonic() + 30
        while proc.num_fds() > before + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        after = proc.num_fds()
    finally:
        server.stop()
    return {
        "clients": clients,
        "closed_by_server": closed,
        "healthz_p99_ms": pct(prober.samples, 0.99) * 1000,
        "healthz_errors": prober.errors,
        "fds_before": before,
        "fds_peak": peak,
        "fds_after_30s": after,
    }


async def _juggler_one(client: httpx.AsyncClient, body: bytes) -> float:
    started = time.perf_counter()
    while True:
        reply = await client.post("/api/v1/runs", content=body)
        if reply.status_code != 503:
            break
        await asyncio.sleep(float(reply.headers.get("retry-after", "1")))
    reply.raise_for_status()
    run_id = reply.json()["id"]
    for attempt in range(3):
        try:
            async with client.stream("GET", f"/api/v1/runs/{run_id}/events") as events:
                async for line in events.aiter_lines():
                    if line.startswith("event: done"):
                        return time.perf_counter() - started
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # A pooled keep-alive connection the server closed just as it was reused: a GET
            # is safe to send again.
            if attempt == 2:
                raise
    raise RuntimeError(f"run {run_id}: the event stream ended without `done`")


async def _peer_one(client: httpx.AsyncClient, body: bytes) -> float:
    started = time.perf_counter()
    reply = await client.post("/api/v1/runs", content=body)
    reply.raise_for_status()
    return time.perf_counter() - started


def _drive(url: str, logs: list[bytes], clients: int, one: Any) -> dict[str, float]:
    async def main() -> tuple[float, list[float]]:
        queue = list(logs)
        latencies: list[float] = []
        limits = httpx.Limits(max_connections=clients * 2)
        async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:

            async def worker() -> None:
                while queue:
                    latencies.append(await one(client, queue.pop()))

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            return time.perf_counter() - started, latencies

    took, latencies = asyncio.run(main())
    return {
        "triages_per_s": len(latencies) / took,
        "p50_s": statistics.median(latencies),
        "p99_s": pct(latencies, 0.99),
    }


def throughput(folder: Path, levels: list[int], per_client: int) -> list[dict[str, Any]]:
    rng = random.Random(14)
    rows = []
    for clients in levels:
        count = max(10, clients * per_client)
        logs = [ci_log(rng, rng.randint(10_000, 500_000)) for _ in range(count)]
        server = juggler_server(folder, "--max-runs", "8", "--max-queued", "64")
        try:
            _drive(server.url, logs[:3], 1, _juggler_one)  # warm the workers
            ours = _drive(server.url, logs, clients, _juggler_one)
        finally:
            server.stop()
        peer = peer_server(folder)
        try:
            theirs = _drive(peer.url, logs, clients, _peer_one)
        finally:
            peer.stop()
        rows.append(
            {
                "clients": clients,
                "runs": count,
                "mean_log_kb": statistics.mean(len(x) for x in logs) / 1000,
                "juggler": ours,
                "peer": theirs,
                "ratio": ours["triages_per_s"] / theirs["triages_per_s"],
            }
        )
    return rows


def s8(folder: Path, runs: int) -> dict[str, Any]:
    rng = random.Random(8)
    logs = [ci_log(rng, rng.randint(10_000, 200_000)) for _ in range(10)]
    server = juggler_server(folder)
    try:
        proc = psutil.Process(server.proc.pid)

        async def sequential(n: int) -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
                for i in range(n):
                    await _juggler_one(client, logs[i % len(logs)])

        asyncio.run(sequential(10))
        warm = proc.memory_info().rss
        asyncio.run(sequential(runs))
        after = proc.memory_info().rss
    finally:
        server.stop()
    return {
        "runs": runs,
        "rss_warm_mib": warm / MiB,
        "rss_after_mib": after / MiB,
        "growth_mib": (after - warm) / MiB,
    }


def r16(folder: Path) -> dict[str, Any]:
    line = b"[build] compiling module src/acme/part_%06d.c with -O2 -Wall ... ok\n"
    body = b"".join(line % i for i in range(60_000)) + b"ERROR: link failed\n"
    grace = 2.0
    server = juggler_server(folder, "--max-runs", "5", "--grace", str(grace))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(5):
            http.post("/api/v1/runs", content=body)
        deadline = time.monotonic() + 60
        while http.get("/healthz").json()["running"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        family = psutil.Process(server.proc.pid).children(recursive=True)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        during = http.post("/api/v1/runs", content=b"E: late\n").status_code
        code = server.proc.wait(60)
        took = time.monotonic() - started
    time.sleep(0.2)
    orphans = sum(1 for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE)
    return {
        "grace_s": grace,
        "exit_s": took,
        "exit_code": code,
        "upload_during_drain": during,
        "orphans": orphans,
    }


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--only", default="s3,s4,throughput,s8,r16")
    parser.add_argument("--clients", help="throughput levels, e.g. 1,10,50 (default)")
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        run_peer(args.peer)
        return
    only = set(args.only.split(","))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        folder = Path(tmp)
        if "s3" in only:
            r = results["s3"] = s3(folder, 40 if args.quick else 200)
            print_table(
                "S3: concurrent 5 MiB uploads, /healthz every 50 ms", list(r), [list(r.values())]
            )
        if "s4" in only:
            r = results["s4"] = s4(folder, 100 if args.quick else 500)
            print_table("S4: slow clients (one header byte per 5 s)", list(r), [list(r.values())])
        if "throughput" in only:
            levels = [1, 10] if args.quick else [1, 10, 50]
            if args.clients:
                levels = [int(n) for n in args.clients.split(",")]
            rows = results["throughput"] = throughput(folder, levels, 2)
            print_table(
                "Throughput: 10-500 KB CI logs, juggler serve vs one `juggler triage` per request",
                [
                    "clients",
                    "runs",
                    "mean KB",
                    "juggler/s",
                    "p50 s",
                    "p99 s",
                    "peer/s",
                    "peer p50 s",
                    "peer p99 s",
                    "ratio",
                ],
                [
                    [
                        r["clients"],
                        r["runs"],
                        r["mean_log_kb"],
                        r["juggler"]["triages_per_s"],
                        r["juggler"]["p50_s"],
                        r["juggler"]["p99_s"],
                        r["peer"]["triages_per_s"],
                        r["peer"]["p50_s"],
                        r["peer"]["p99_s"],
                        r["ratio"],
                    ]
                    for r in rows
                ],
            )
        if "s8" in only:
            r = results["s8"] = s8(folder, 30 if args.quick else 100)
            print_table("S8: server memory over sequential runs", list(r), [list(r.values())])
        if "r16" in only:
            r = results["r16"] = r16(folder)
            print_table("R16: SIGTERM with 5 runs in flight", list(r), [list(r.values())])
    write_json(args.json, results)


if __name__ == "__main__":
    main()
