"""juggler.triage.kb: the knowledge base of failure causes and past incidents.

Layering: used by the triage pipeline, the CLI (``juggler kb``) and the server; uses only
``juggler`` public names and ``juggler.triage.scrape`` (for masking). Implementation lives
in ``_``-prefixed modules; this module re-exports the supported names.

- Causes (Jenkins Build Failure Analyzer's model) are matched by :func:`match_causes`, a
  pure function a ``cpu`` worker can run.
- Incidents are learned from triage results (:func:`signature_of`) and retrieved by
  :meth:`SqliteStore.search` (FTS5 BM25 + cosine, fused by reciprocal rank).
"""

import typing

from juggler import _lazy

if typing.TYPE_CHECKING:
    from ._catalogue import load_catalogue as load_catalogue
    from ._catalogue import parse_causes as parse_causes
    from ._embed import Embedder as Embedder
    from ._embed import HashingEmbedder as HashingEmbedder
    from ._embed import OpenAIEmbedder as OpenAIEmbedder
    from ._embed import default_embedder as default_embedder
    from ._errors import CatalogueError as CatalogueError
    from ._errors import EmbeddingError as EmbeddingError
    from ._errors import KnowledgeBaseError as KnowledgeBaseError
    from ._errors import SchemaTooNew as SchemaTooNew
    from ._errors import StoreBusy as StoreBusy
    from ._match import match_causes as match_causes
    from ._migrations import SCHEMA_VERSION as SCHEMA_VERSION
    from ._model import Cause as Cause
    from ._model import CauseMatch as CauseMatch
    from ._model import Incident as Incident
    from ._model import Indication as Indication
    from ._model import Resolution as Resolution
    from ._model import Signature as Signature
    from ._model import SimilarIncident as SimilarIncident
    from ._paths import resolve_path as resolve_path
    from ._search import fts_query as fts_query
    from ._search import lexical_terms as lexical_terms
    from ._semantic import SemanticEmbedder as SemanticEmbedder
    from ._signature import signature_of as signature_of
    from ._signature import signature_of_lines as signature_of_lines
    from ._store import KnowledgeStore as KnowledgeStore
    from ._store import Ranking as Ranking
    from ._store import SqliteStore as SqliteStore
    from ._store import open_store as open_store

__all__ = [
    "SCHEMA_VERSION",
    "CatalogueError",
    "Cause",
    "CauseMatch",
    "Embedder",
    "EmbeddingError",
    "HashingEmbedder",
    "Incident",
    "Indication",
    "KnowledgeBaseError",
    "KnowledgeStore",
    "OpenAIEmbedder",
    "Ranking",
    "Resolution",
    "SchemaTooNew",
    "SemanticEmbedder",
    "Signature",
    "SimilarIncident",
    "SqliteStore",
    "StoreBusy",
    "default_embedder",
    "fts_query",
    "lexical_terms",
    "load_catalogue",
    "match_causes",
    "open_store",
    "parse_causes",
    "resolve_path",
    "signature_of",
    "signature_of_lines",
]

# Importing the package costs nothing: each name's module (numpy, SQLite, httpx behind them)
# loads when the name is first used.
__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "load_catalogue": "._catalogue",
        "parse_causes": "._catalogue",
        "Embedder": "._embed",
        "HashingEmbedder": "._embed",
        "OpenAIEmbedder": "._embed",
        "default_embedder": "._embed",
        "CatalogueError": "._errors",
        "EmbeddingError": "._errors",
        "KnowledgeBaseError": "._errors",
        "SchemaTooNew": "._errors",
        "StoreBusy": "._errors",
        "match_causes": "._match",
        "SCHEMA_VERSION": "._migrations",
        "Cause": "._model",
        "CauseMatch": "._model",
        "Incident": "._model",
        "Indication": "._model",
        "Resolution": "._model",
        "Signature": "._model",
        "SimilarIncident": "._model",
        "fts_query": "._search",
        "lexical_terms": "._search",
        "SemanticEmbedder": "._semantic",
        "signature_of": "._signature",
        "signature_of_lines": "._signature",
        "KnowledgeStore": "._store",
        "Ranking": "._store",
        "SqliteStore": "._store",
        "open_store": "._store",
        "resolve_path": "._paths",
    },
)
