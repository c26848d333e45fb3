"""juggler.triage: build-log triage on top of the juggler engine.

Layering: ``juggler.cli`` and ``juggler.server`` use this package; it uses only the public
``juggler`` API (never the engine's private modules). Implementation lives in ``_``-prefixed
modules and the ``ingest``, ``scrape`` and ``detect`` subpackages; this module re-exports the
supported names.
"""

from ._errors import ArchiveRejected as ArchiveRejected
from ._errors import DecodeError as DecodeError
from ._errors import InputError as InputError
from ._errors import UnsupportedInput as UnsupportedInput
from .ingest import Limits as Limits
from .ingest import LogDocument as LogDocument
from .ingest import read_logs as read_logs
from .scrape import Chunk as Chunk
from .scrape import ChunkResult as ChunkResult
from .scrape import ScrapeAccumulator as ScrapeAccumulator
from .scrape import ScrapeResult as ScrapeResult
from .scrape import TemplateMiner as TemplateMiner
from .scrape import fold_chunk as fold_chunk
from .scrape import merge_chunks as merge_chunks
from .scrape import mine_templates as mine_templates
from .scrape import plan_chunks as plan_chunks
from .scrape import scrape_chunk as scrape_chunk

__all__ = [
    "ArchiveRejected",
    "Chunk",
    "ChunkResult",
    "DecodeError",
    "InputError",
    "Limits",
    "LogDocument",
    "ScrapeAccumulator",
    "ScrapeResult",
    "TemplateMiner",
    "UnsupportedInput",
    "fold_chunk",
    "merge_chunks",
    "mine_templates",
    "plan_chunks",
    "read_logs",
    "scrape_chunk",
]
