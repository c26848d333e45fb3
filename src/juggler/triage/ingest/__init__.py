"""Ingest: files, folders, archives, JUnit XML and stdin turned into clean, numbered lines.

Layering: used by ``juggler.triage``; imports only the standard library, ``defusedxml`` and
the triage error classes. Hostile inputs become :class:`~juggler.triage.InputError` values,
never tracebacks (RELIABILITY.md M1–M10).
"""

from ._aiter import aiter_sources as aiter_sources
from ._ansi import clean_line as clean_line
from ._decode import sniff_encoding as sniff_encoding
from ._document import DEFAULT_LIMITS as DEFAULT_LIMITS
from ._document import Limits as Limits
from ._document import LogDocument as LogDocument
from ._document import split_lines as split_lines
from ._read import read_document as read_document
from ._read import read_logs as read_logs
from ._sources import FileSource as FileSource
from ._sources import MemorySource as MemorySource
from ._sources import Source as Source
from ._sources import iter_sources as iter_sources
from ._sources import source_from_bytes as source_from_bytes
from ._spool import SpillArea as SpillArea

__all__ = [
    "DEFAULT_LIMITS",
    "FileSource",
    "Limits",
    "LogDocument",
    "MemorySource",
    "Source",
    "SpillArea",
    "aiter_sources",
    "clean_line",
    "iter_sources",
    "read_document",
    "read_logs",
    "sniff_encoding",
    "source_from_bytes",
    "split_lines",
]
