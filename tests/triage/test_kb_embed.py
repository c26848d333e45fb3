"""The OpenAI-compatible embeddings client, against a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from juggler.triage.kb import (
    EmbeddingError,
    Incident,
    OpenAIEmbedder,
    open_store,
    signature_of_lines,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DIM = 16


def _vector(text: str) -> list[float]:
    """A deterministic toy embedding: bag of words hashed into DIM buckets, normalised."""
    vec = [0.0] * DIM
    for word in text.lower().split():
        vec[zlib.crc32(word.encode()) % DIM] += 1.0
    norm = sum(x * x for x in vec) ** 0.5 or 1.0
    return [x / norm for x in vec]


class _Handler(BaseHTTPRequestHandler):
    """``POST /v1/embeddings`` as OpenAI and Ollama answer it; the model name picks a fault."""

    server: _Server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        model, inputs = body["model"], body["input"]
        if self.path != "/v1/embeddings" or model == "fail-500":
            self._send(500 if model == "fail-500" else 404, b'{"error": "no"}')
        elif model == "not-json":
            self._send(200, b"<html>proxy error</html>")
        elif model == "short":
            self._send(200, json.dumps({"data": []}).encode())
        else:
            data = [{"index": i, "embedding": _vector(t)} for i, t in enumerate(inputs)]
            data.reverse()  # the client must order by index, not by position
            self._send(200, json.dumps({"object": "list", "data": data, "model": model}).encode())

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``server.requests`` instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[dict[str, Any]]


@pytest.fixture
def server() -> Iterator[_Server]:
    """A real HTTP server on a free loopback port, stopped and joined after the test."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.requests = []
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="embeddings-server"
    )
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _url(httpd: _Server) -> str:
    host, port = httpd.server_address[:2]
    return f"http://{host!s}:{port}/v1"


def test_embeds_in_batches_in_index_order(server: _Server) -> None:
    """Vectors come back in input order, one request per batch, with the bearer token."""
    embedder = OpenAIEmbedder(base_url=_url(server), model="toy", api_key="s3cret", batch_size=2)
    texts = ["disk full", "connection refused", "disk full again"]
    vectors = asyncio.run(embedder.embed(texts))
    assert vectors.shape == (3, DIM)
    assert vectors.dtype == np.float32
    assert np.allclose(vectors[1], _vector("connection refused"))
    assert [len(r["body"]["input"]) for r in server.requests] == [2, 1]
    assert {r["auth"] for r in server.requests} == {"Bearer s3cret"}
    assert "s3cret" not in repr(embedder)


@pytest.mark.parametrize(
    ("model", "reason"),
    [("fail-500", "HTTP 500"), ("not-json", "not JSON"), ("short", "expected 1 vectors")],
)
def test_endpoint_faults_are_one_line_errors(server: _Server, model: str, reason: str) -> None:
    """A failing or confused endpoint raises EmbeddingError naming the URL and the reason."""
    embedder = OpenAIEmbedder(base_url=_url(server), model=model)
    with pytest.raises(EmbeddingError, match=reason) as caught:
        asyncio.run(embedder.embed(["x"]))
    assert "\n" not in str(caught.value)
    assert _url(server) in str(caught.value)


def test_unreachable_endpoint_is_an_embedding_error() -> None:
    """Nothing listening: a one-line EmbeddingError, not an httpx exception."""
    embedder = OpenAIEmbedder(base_url="http://127.0.0.1:9/v1", model="toy", timeout_s=2)
    with pytest.raises(EmbeddingError, match="ConnectError"):
        asyncio.run(embedder.embed(["x"]))


def test_store_retrieves_with_endpoint_embeddings(server: _Server, tmp_path: Path) -> None:
    """A store configured with the endpoint embeds incidents and queries through it."""
    embedder = OpenAIEmbedder(base_url=_url(server), model="toy")

    async def main() -> list[str]:
        async with open_store(tmp_path / "kb.sqlite3", embedder=embedder, seed=False) as kb:
            await kb.add_incidents(
                Incident(signature=signature_of_lines([line]), project="p")
                for line in ["registry rate limit reached", "segmentation fault in worker"]
            )
            found = await kb.search("worker segmentation fault", project="p")
            return [s.incident.signature.templates[0] for s in found]

    assert asyncio.run(main())[0] == "segmentation fault in worker"
    # incidents and the query all went through the endpoint
    assert sum(len(r["body"]["input"]) for r in server.requests) == 3
