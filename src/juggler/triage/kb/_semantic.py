"""A semantic embedder whose weights ship inside a PyPI wheel: WordLlama (``juggler[semantic]``).

WordLlama is a static word-embedding model distilled from a large language model's token
embeddings (Llama 2's 32,000 tokens, 256 dimensions, 16 MiB): a text's vector is the pooled
vectors of its tokens. It knows that ``ModuleNotFoundError`` and ``No module named`` mean the
same, which feature hashing cannot. It needs no GPU and embeds thousands of texts a second.

Nothing is downloaded at run time: the model is loaded from the files inside the installed
wheel. (``WordLlama.load()`` of wordllama 0.4 looks for its tokenizer in a folder name the
wheel does not have, and then goes to the network; so the files are opened here directly.)
"""

from __future__ import annotations

import asyncio
import threading
from importlib import resources
from typing import TYPE_CHECKING, Any, Final, final

import numpy as np

from ._errors import EmbeddingError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

__all__ = ["SemanticEmbedder"]

_MODEL: Final = "l2_supercat"
_DIM: Final = 256
# Below this many texts the thread hand-off costs more than the embedding (~0.3 ms a text).
_INLINE_TEXTS: Final = 4
_LOAD_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def _model() -> Any:
    """The WordLlama model, loaded once per process from the wheel's own files."""
    with _LOAD_LOCK:
        if "model" not in _LOADED:
            try:
                from safetensors import safe_open
                from tokenizers import Tokenizer
                from wordllama.inference import WordLlamaInference
            except ImportError as exc:
                raise EmbeddingError(
                    "semantic embedder",
                    f"needs pip install 'juggler[semantic]' ({exc.name} is missing)",
                ) from None
            root = resources.files("wordllama")
            tokenizer = Tokenizer.from_file(
                str(root / "tokenizers" / f"{_MODEL}_tokenizer_config.json")
            )
            weights = str(root / "weights" / f"{_MODEL}_{_DIM}.safetensors")
            with safe_open(weights, framework="np", device="cpu") as fh:
                table = fh.get_tensor("embedding.weight")
            _LOADED["model"] = WordLlamaInference(table, tokenizer, binary=False)
        return _LOADED["model"]


@final
class SemanticEmbedder:
    """Learned, offline embeddings of WordLlama ``l2_supercat`` (256 dimensions), L2-normed.

    The model loads on the first :meth:`embed` (about 0.5 s, once per process).

    Raises:
        EmbeddingError: On first use, when ``juggler[semantic]`` is not installed.
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        """``wordllama-l2_supercat-256``: a new model is a new vector space."""
        return f"wordllama-{_MODEL}-{_DIM}"

    @property
    def idf_weighted(self) -> bool:
        """False: learned embeddings are compared by plain cosine."""
        return False

    def embed_sync(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One normalised float32 row per text (synchronous; CPU-bound)."""
        if not texts:
            return np.zeros((0, _DIM), dtype=np.float32)
        vectors = _model().embed(list(texts), norm=True)
        return np.asarray(vectors, dtype=np.float32)

    async def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors of ``texts``; many texts, or the first load, run in a thread."""
        if len(texts) <= _INLINE_TEXTS and "model" in _LOADED:
            return self.embed_sync(texts)
        return await asyncio.to_thread(self.embed_sync, texts)
