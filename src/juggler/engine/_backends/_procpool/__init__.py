"""The supervised process pool behind the ``cpu`` placement.

Layering: ``_protocol`` (framing, function references, :class:`FileRange`) is shared by both
sides; ``_worker`` runs only in the child and imports nothing from the parent side;
``_supervisor`` is the parent's engine room; ``_faults`` is test-only and never imported by the
engine. The engine uses :class:`ProcessPool` through the ``CpuBackend`` protocol only.
"""

from ._protocol import FileRange as FileRange
from ._protocol import check_importable as check_importable
from ._signals import sigterm_as_sigint as sigterm_as_sigint
from ._stats import DeathRecord as DeathRecord
from ._stats import PoolStatistics as PoolStatistics
from ._supervisor import ProcessPool as ProcessPool

__all__ = [
    "DeathRecord",
    "FileRange",
    "PoolStatistics",
    "ProcessPool",
    "check_importable",
    "sigterm_as_sigint",
]
