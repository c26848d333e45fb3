"""Errors of the knowledge base.

::

    JugglerError                  (juggler) base for everything juggler raises on purpose
    └── KnowledgeBaseError        the KB could not do what was asked; str() is one line
        ├── StoreBusy             the database stayed locked past the retry deadline
        ├── SchemaTooNew          the file was written by a newer juggler
        ├── EmbeddingError        the embeddings endpoint failed or answered nonsense
        └── CatalogueError        a cause or an import file is invalid (bad regex, shape)

The CLI prints ``str(err)`` and exits 2 (usage/config); the triage pipeline treats any of
them as "no KB results" and goes on.
"""

from __future__ import annotations

from juggler import JugglerError

__all__ = [
    "CatalogueError",
    "EmbeddingError",
    "KnowledgeBaseError",
    "SchemaTooNew",
    "StoreBusy",
]


class KnowledgeBaseError(JugglerError):
    """The knowledge base could not do what was asked.

    Attributes:
        subject: What it was about (a path, a URL, a cause name).
        reason: Why, in a few words.
    """

    def __init__(self, subject: str, reason: str) -> None:
        self.subject = subject
        self.reason = reason
        super().__init__(f"{subject}: {reason}")

    def __reduce__(self) -> tuple[type[KnowledgeBaseError], tuple[str, str]]:
        return (type(self), (self.subject, self.reason))


class StoreBusy(KnowledgeBaseError):
    """Another process held the database's write lock past the deadline (default 30 s).

    Retry later; nothing was written by the failed call.
    """


class SchemaTooNew(KnowledgeBaseError):
    """The database's schema version is newer than this juggler knows; upgrade juggler."""


class EmbeddingError(KnowledgeBaseError):
    """The embeddings endpoint failed, timed out or answered an unexpected shape.

    Retrieval falls back to lexical search when the caller catches this.
    """


class CatalogueError(KnowledgeBaseError, ValueError):
    """A cause or an import document is invalid: a bad regex, a missing field, a bad shape."""
