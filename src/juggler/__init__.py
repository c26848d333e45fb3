"""juggler: run pipelines across the event loop, threads and processes.

The public engine API lives here; everything under ``juggler.engine._*`` is private.
Layering: ``juggler.cli`` and ``juggler.server`` use ``juggler.triage``, which uses only the
names below; ``juggler.engine`` imports nothing from the rest of the package.
"""

from ._version import __version__ as __version__
from .engine._channel import Channel as Channel
from .engine._channel import ChannelStatistics as ChannelStatistics
from .engine._channel import EndOfChannel as EndOfChannel
from .engine._channel import WouldBlock as WouldBlock
from .engine._errors import ChannelClosed as ChannelClosed
from .engine._errors import ConfigError as ConfigError
from .engine._errors import ItemError as ItemError
from .engine._errors import ItemTimeout as ItemTimeout
from .engine._errors import JugglerError as JugglerError
from .engine._errors import PipelineFailed as PipelineFailed
from .engine._errors import PoisonItem as PoisonItem
from .engine._errors import RuntimeBusy as RuntimeBusy
from .engine._errors import WorkerCrashed as WorkerCrashed
from .engine._pipeline import Pipeline as Pipeline
from .engine._pipeline import run as run
from .engine._report import ItemFailure as ItemFailure
from .engine._report import RunReport as RunReport
from .engine._report import StageReport as StageReport
from .engine._retry import RetryPolicy as RetryPolicy
from .engine._runtime import Runtime as Runtime
from .engine._runtime import RuntimeStatistics as RuntimeStatistics
from .engine._stage import Batch as Batch
from .engine._stage import Branches as Branches
from .engine._stage import Reduce as Reduce
from .engine._stage import Stage as Stage
from .engine._stage import aio as aio
from .engine._stage import auto as auto
from .engine._stage import batch as batch
from .engine._stage import branches as branches
from .engine._stage import cpu as cpu
from .engine._stage import io as io
from .engine._stage import reduce as reduce
from .engine._trace._export import check_trace_path as check_trace_path
from .engine._trace._export import write_trace as write_trace
from .engine._trace._metrics import TraceMetrics as TraceMetrics
from .engine._trace._span import Span as Span
from .engine._trace._span import Trace as Trace

__all__ = [
    "Batch",
    "Branches",
    "Channel",
    "ChannelClosed",
    "ChannelStatistics",
    "ConfigError",
    "EndOfChannel",
    "ItemError",
    "ItemFailure",
    "ItemTimeout",
    "JugglerError",
    "Pipeline",
    "PipelineFailed",
    "PoisonItem",
    "Reduce",
    "RetryPolicy",
    "RunReport",
    "Runtime",
    "RuntimeBusy",
    "RuntimeStatistics",
    "Span",
    "Stage",
    "StageReport",
    "Trace",
    "TraceMetrics",
    "WorkerCrashed",
    "WouldBlock",
    "__version__",
    "aio",
    "auto",
    "batch",
    "branches",
    "check_trace_path",
    "cpu",
    "io",
    "reduce",
    "run",
    "write_trace",
]
