"""Embedders: text to vectors for the dense half of retrieval.

The default, :class:`HashingEmbedder`, needs no model and no network: the words of a masked
signature and their bigrams are hashed (feature hashing, a stable CRC32, with a sign bit to
cancel collisions on average) into a fixed number of dimensions with sublinear term
frequencies. The store weights its dimensions by inverse document frequency at search time,
which makes it a hashed TF-IDF.

:class:`OpenAIEmbedder` calls any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI,
Ollama, vLLM, llama.cpp server) with httpx, asynchronously.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import re
import zlib
from typing import TYPE_CHECKING, Final, Protocol, final

import numpy as np

from ._errors import EmbeddingError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx
    from numpy.typing import NDArray

__all__ = ["Embedder", "HashingEmbedder", "OpenAIEmbedder", "default_embedder", "tokens_of"]

_WORD: Final = re.compile(r"[^\W\d][\w.]*[^\W.]|[^\W\d]")
# Words of one letter and the wildcard carry no meaning of their own.
_MIN_WORD: Final = 2


def tokens_of(text: str) -> list[str]:
    """Lower-case words of ``text``; dotted names also give their parts (``a.b.C`` → a, b, c)."""
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if "." in word:
            out.extend(p for p in word.split(".") if len(p) >= _MIN_WORD)
        if len(word) >= _MIN_WORD:
            out.append(word)
    return out


class Embedder(Protocol):
    """Turns documents into vectors.

    Attributes:
        name: Identifies the vector space: vectors are compared only with vectors of the
            same name (a model change means new vectors, not wrong answers).
        idf_weighted: The store should weight dimensions by inverse document frequency
            (true for sparse hashed counts, false for learned embeddings).
    """

    @property
    def name(self) -> str: ...

    @property
    def idf_weighted(self) -> bool: ...

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One float32 row per text."""
        ...


@final
class HashingEmbedder:
    """Offline, deterministic embeddings by feature hashing of words and word bigrams.

    CPU cost is about 2 µs per word; documents are a few hundred words, so it runs inline.

    Args:
        dim: Number of dimensions (a power of two is not required).
    """

    __slots__ = ("_dim",)

    def __init__(self, *, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError(f"dim must be at least 8, not {dim}")
        self._dim = dim

    @property
    def name(self) -> str:
        """``hash-v1-<dim>``."""
        return f"hash-v1-{self._dim}"

    @property
    def idf_weighted(self) -> bool:
        """True: these are raw counts, the store adds the IDF."""
        return True

    def embed_one(self, text: str) -> NDArray[np.float32]:
        """The vector of one document (synchronous; pure)."""
        words = tokens_of(text)
        counts: dict[str, int] = {}
        for word in words:
            counts[word] = counts.get(word, 0) + 1
        for a, b in itertools.pairwise(words):
            bigram = f"{a} {b}"
            counts[bigram] = counts.get(bigram, 0) + 1
        vec = np.zeros(self._dim, dtype=np.float32)
        for token, count in counts.items():
            h = zlib.crc32(token.encode())
            weight = 1.0 + math.log(count)
            vec[h % self._dim] += weight if (h >> 31) & 1 else -weight
        return vec

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors of ``texts`` (computed inline: microseconds per text)."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.embed_one(text)
        return out


@final
class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

    Args:
        base_url: E.g. ``http://localhost:11434/v1`` (Ollama) or ``https://api.openai.com/v1``.
        model: The model name sent with each request.
        api_key: Sent as a bearer token when given; never logged.
        timeout_s: Per-request limit.
        batch_size: Texts per request.
        transport: An httpx transport (tests, proxies); the default opens real connections.

    Cancellation: requests are cancelled with the awaiting task; no thread is involved.
    """

    __slots__ = ("_api_key", "_base_url", "_batch_size", "_model", "_timeout_s", "_transport")

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        batch_size: int = 64,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._model = model
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._batch_size = max(1, batch_size)
        self._transport = transport

    @property
    def name(self) -> str:
        """``openai:<model>``."""
        return f"openai:{self._model}"

    @property
    def idf_weighted(self) -> bool:
        """False: learned embeddings are compared by plain cosine."""
        return False

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(base_url={self._base_url!r}, model={self._model!r})"

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors of ``texts``, one request per batch.

        Raises:
            EmbeddingError: The endpoint failed, timed out or answered an unexpected shape.
        """
        import httpx  # lazy: cpu workers import this package and never need httpx

        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        url = f"{self._base_url}/embeddings"
        rows: list[list[float]] = []
        async with httpx.AsyncClient(
            timeout=self._timeout_s, transport=self._transport, headers=headers
        ) as client:
            for start in range(0, len(texts), self._batch_size):
                batch = list(texts[start : start + self._batch_size])
                rows.extend(await self._post(client, url, batch))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(rows, dtype=np.float32)

    async def _post(
        self, client: httpx.AsyncClient, url: str, batch: list[str]
    ) -> list[list[float]]:
        import httpx  # lazy, as in embed()

        try:
            response = await client.post(url, json={"model": self._model, "input": batch})
            response.raise_for_status()
            payload = response.json()
        except httpx.HTTPStatusError as exc:
            raise EmbeddingError(url, f"HTTP {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            raise EmbeddingError(url, f"{type(exc).__name__}: {exc}") from None
        except ValueError:
            raise EmbeddingError(url, "the response is not JSON") from None
        try:
            data = sorted(payload["data"], key=lambda d: d["index"])
            vectors = [[float(x) for x in d["embedding"]] for d in data]
        except (KeyError, TypeError, ValueError):
            raise EmbeddingError(url, "the response has no data[].embedding") from None
        if len(vectors) != len(batch) or len({len(v) for v in vectors}) > 1:
            raise EmbeddingError(url, f"expected {len(batch)} vectors of one size")
        return vectors


def default_embedder() -> Embedder:
    """The embedder ``$JUGGLER_EMBEDDER`` names: ``hashing`` (the default) or ``semantic``.

    ``bench/kb_retrieval.py`` chose the default: the hashed TF-IDF fused with BM25 ranks as
    well as WordLlama fused with BM25 on the shared logs, and needs no model.

    Raises:
        EmbeddingError: An unknown name, or ``semantic`` without ``juggler[semantic]``.
    """
    name = os.environ.get("JUGGLER_EMBEDDER", "").strip().lower() or "hashing"
    if name == "hashing":
        return HashingEmbedder()
    if name == "semantic":
        if importlib.util.find_spec("wordllama") is None:
            raise EmbeddingError(
                "JUGGLER_EMBEDDER=semantic", "needs pip install 'juggler[semantic]'"
            )
        from ._semantic import SemanticEmbedder

        return SemanticEmbedder()
    raise EmbeddingError(f"JUGGLER_EMBEDDER={name}", "unknown embedder: use hashing or semantic")
