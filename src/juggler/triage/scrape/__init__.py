"""Scrape: template mining and chunked, parallel reading of large logs.

Layering: used by ``juggler.triage``; depends on ``juggler.triage.ingest`` for decoding and
line splitting, and on nothing from the engine (its functions are plain, picklable callables
that a ``juggler.cpu`` stage can run).
"""

from ._chunks import Chunk as Chunk
from ._chunks import ChunkResult as ChunkResult
from ._chunks import ScrapeAccumulator as ScrapeAccumulator
from ._chunks import ScrapeResult as ScrapeResult
from ._chunks import fold_chunk as fold_chunk
from ._chunks import merge_chunks as merge_chunks
from ._chunks import plan_chunks as plan_chunks
from ._chunks import scrape_chunk as scrape_chunk
from ._templates import TemplateMiner as TemplateMiner
from ._templates import mask_line as mask_line
from ._templates import mine_templates as mine_templates

__all__ = [
    "Chunk",
    "ChunkResult",
    "ScrapeAccumulator",
    "ScrapeResult",
    "TemplateMiner",
    "fold_chunk",
    "mask_line",
    "merge_chunks",
    "mine_templates",
    "plan_chunks",
    "scrape_chunk",
]
