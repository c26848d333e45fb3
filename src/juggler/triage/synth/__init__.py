"""Memo synthesis: the offline extractive memo, the optional LLM summary, and renderers.

Layering: uses only the standard library, httpx and :mod:`juggler.triage._redact`; never
the engine's private modules. The pipeline runs :func:`synthesise` as an ``aio`` branch beside
retrieval.
"""

from ._model import Memo as Memo
from ._model import MemoCause as MemoCause
from ._model import MemoFinding as MemoFinding
from ._model import MemoIncident as MemoIncident
from ._model import TimingRow as TimingRow
from .extractive import build_memo as build_memo
from .llm import LlmSettings as LlmSettings
from .llm import adopt_summary as adopt_summary
from .llm import summarise as summarise
from .llm import synthesise as synthesise
from .render import render_html as render_html
from .render import render_json as render_json
from .render import render_markdown as render_markdown

__all__ = [
    "LlmSettings",
    "Memo",
    "MemoCause",
    "MemoFinding",
    "MemoIncident",
    "TimingRow",
    "adopt_summary",
    "build_memo",
    "render_html",
    "render_json",
    "render_markdown",
    "summarise",
    "synthesise",
]
