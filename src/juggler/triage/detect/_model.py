"""The record a detector produces: one hit is one block of consecutive lines.

Hits are plain frozen dataclasses so a ``cpu`` worker can pickle them back to the parent
cheaply; nothing here holds a compiled regex or a reference to the log itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

# Kinds are the coarse vocabulary the JSON contract exposes as ``finding.kind``.
KINDS = (
    "test_failure",
    "compile_error",
    "exception",
    "build_error",
    "dependency",
    "infrastructure",
    "lint",
    "ci_marker",
    "error",
    "warning",
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One detected block.

    Attributes:
        start: First line of the block, 1-based.
        end: Last line of the block, 1-based, inclusive (``end >= start``).
        family: The tool or error family, e.g. ``"python.traceback"`` or ``"maven"``.
        kind: One of :data:`KINDS`.
        severity: How strongly the block explains a failure, 0..1 (a warning ≈ 0.2,
            a compiler error or failing test ≈ 0.8, a fatal crash ≈ 0.9).
        confidence: How sure the detector is that the pattern means what it says, 0..1.
        title: A one-line summary, usually the most telling line of the block.
        test: The failing test's name when the block is a test failure, else ``""``.
        copies: How many identical blocks this hit stands for (a chunk scan keeps the first
            and last of a repeated message and counts the rest here).
        head: The line that matched (``start`` unless leading context joined the block);
            0 means ``start``.
    """

    start: int
    end: int
    family: str
    kind: str
    severity: float
    confidence: float
    title: str
    test: str = ""
    copies: int = 1
    head: int = 0

    def __reduce__(self) -> tuple[type[Hit], tuple[object, ...]]:
        # By its fields, in order: a slots dataclass's own pickling looks its fields up for
        # each object (ten times slower), and workers send the parent hundreds per chunk.
        return Hit, _hit_fields(self)

    @property
    def span(self) -> int:
        """Number of lines in the block."""
        return self.end - self.start + 1


_hit_fields = attrgetter(*(f.name for f in fields(Hit)))
