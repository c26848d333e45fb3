"""Exact cosine search over vectors held in memory with numpy.

Scale: one float32 row per incident (256 dimensions: 1 KiB). 10^5 incidents are 100 MiB of
memory, and a search reads all of it: a matrix-vector product of 5-10 ms on a quiet core,
10-30 ms on this shared 2-core machine (memory bandwidth, not arithmetic, is the limit).
That is where an exact scan stops being a good trade. Past a few 10^5, or for several
processes sharing one KB, use an approximate index (pgvector's HNSW in the PostgreSQL store,
or sqlite-vec/FAISS) behind the same interface.

Not thread-safe by itself: the store serialises calls (one lock) and runs them in a worker
thread, where numpy releases the GIL, so the event loop stays responsive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["DenseIndex"]

# Candidates returned per list; fusion only needs the head of each ranking.
_CANDIDATES: Final = 50


@final
class DenseIndex:
    """Vectors of one embedder, with their incident ids and projects.

    Args:
        idf_weighted: Weight dimensions by inverse document frequency before the cosine
            (for hashed counts; learned embeddings are compared as they are).
    """

    __slots__ = ("_codes", "_idf", "_idf_weighted", "_ids", "_inv_norms", "_projects", "_raw")

    def __init__(self, *, idf_weighted: bool) -> None:
        self._idf_weighted = idf_weighted
        self._ids: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._projects: NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._raw: NDArray[np.float32] | None = None
        self._inv_norms: NDArray[np.float32] | None = None
        self._idf: NDArray[np.float32] | None = None
        self._codes: dict[str, int] = {}

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    @property
    def size(self) -> int:
        """Floats held: rows times dimensions (the cost of one search)."""
        return 0 if self._raw is None else int(self._raw.size)

    @property
    def max_id(self) -> int:
        """The largest id held, or 0."""
        return int(self._ids[-1]) if len(self) else 0

    def _code(self, project: str) -> int:
        return self._codes.setdefault(project, len(self._codes))

    def append(self, ids: list[int], projects: list[str], blobs: list[bytes]) -> None:
        """Add rows (ids ascending, all above :attr:`max_id`); rows of another size are skipped."""
        if not ids:
            return
        dim = self._raw.shape[1] if self._raw is not None else len(blobs[0]) // 4
        keep = [i for i, b in enumerate(blobs) if len(b) == dim * 4]
        if not keep:
            return
        rows = np.frombuffer(b"".join(blobs[i] for i in keep), dtype=np.float32)
        rows = rows.reshape(len(keep), dim)
        new_ids = np.asarray([ids[i] for i in keep], dtype=np.int64)
        new_projects = np.asarray([self._code(projects[i]) for i in keep], dtype=np.int32)
        self._raw = rows.copy() if self._raw is None else np.vstack([self._raw, rows])
        self._ids = np.concatenate([self._ids, new_ids])
        self._projects = np.concatenate([self._projects, new_projects])
        self._inv_norms = None  # weights and norms depend on every row: recomputed lazily

    def _prepare(self) -> NDArray[np.float32]:
        """Per-dimension weights and per-row inverse norms (the matrix itself is not copied).

        With IDF weights ``w``, cos(q, r) = Σ q_j w_j · r_j w_j / (|q∘w| |r∘w|), so the
        search multiplies the raw rows by ``q∘w²/|q∘w|`` and scales by ``1/|r∘w|``: one
        matrix in memory instead of a raw and a weighted copy.
        """
        if self._inv_norms is None:
            assert self._raw is not None
            raw = self._raw
            if self._idf_weighted:
                df = np.count_nonzero(raw, axis=0).astype(np.float32)
                self._idf = np.log1p(raw.shape[0] / (1.0 + df)).astype(np.float32)
                norms = np.sqrt(np.square(raw) @ np.square(self._idf))
            else:
                self._idf = None
                norms = np.linalg.norm(raw, axis=1)
            norms[norms == 0] = 1.0
            self._inv_norms = (1.0 / norms).astype(np.float32)
        return self._inv_norms

    def search(
        self, query: NDArray[np.float32], *, project: str = "", candidates: int = _CANDIDATES
    ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """The nearest incidents overall and within ``project``.

        Args:
            query: The query's vector (raw, as the embedder made it).
            project: Also rank this project's incidents on their own, if given.
            candidates: Length of each returned list.

        Returns:
            ``(overall, same_project)``: lists of ``(incident id, cosine)``, best first,
            leaving out vectors orthogonal to the query.
        """
        if not len(self) or self._raw is None or query.shape[-1] != self._raw.shape[1]:
            return [], []
        inv_norms = self._prepare()
        q = query.astype(np.float32).reshape(-1)
        weights = q * self._idf if self._idf is not None else q
        norm = float(np.linalg.norm(weights))
        if norm == 0.0:
            return [], []
        if self._idf is not None:
            weights = weights * self._idf
        scores = (self._raw @ (weights / norm)) * inv_norms
        overall = self._top(scores, np.arange(len(self)), candidates)
        same: list[tuple[int, float]] = []
        code = self._codes.get(project) if project else None
        if code is not None:
            rows = np.flatnonzero(self._projects == code)
            same = self._top(scores, rows, candidates)
        return overall, same

    def _top(
        self, scores: NDArray[np.float32], rows: NDArray[np.intp] | NDArray[np.int64], n: int
    ) -> list[tuple[int, float]]:
        sub = scores[rows]
        if sub.shape[0] > n:
            part = np.argpartition(-sub, n)[:n]
        else:
            part = np.arange(sub.shape[0])
        order = part[np.argsort(-sub[part], kind="stable")]
        return [(int(self._ids[rows[i]]), float(sub[i])) for i in order if sub[i] > 1e-6]
