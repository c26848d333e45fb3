"""The one seam between the knowledge base and the template miner.

Signatures must be masked exactly as the scrape stage masks lines, so that a template learned
from one run matches the next run's. ``juggler.triage.scrape`` owns the masking rules; this
module only strips terminal noise first (colour codes, carriage returns) because incidents are
learned from raw excerpts.
"""

from __future__ import annotations

import re
from typing import Final

from juggler.triage.scrape import mask_line

__all__ = ["mask", "strip_noise"]

# CSI sequences (colours, cursor moves), OSC titles and bare carriage returns. Ingest strips
# these in a full triage; excerpts handed to the KB directly (CLI, bench) may still hold them.
_NOISE: Final = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\r")


def strip_noise(line: str) -> str:
    """``line`` without ANSI escape sequences and carriage returns."""
    return _NOISE.sub("", line) if ("\x1b" in line or "\r" in line) else line


def mask(line: str) -> str:
    """The template of one line: noise stripped, variables written ``<*>``."""
    return mask_line(strip_noise(line))
