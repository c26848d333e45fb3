"""Errors for inputs that triage refuses or only partly reads.

::

    JugglerError                 (juggler) base for everything juggler raises on purpose
    └── InputError               a log, archive or stream we refuse; never crashes a run
        ├── UnsupportedInput     binary data, a special file, an unknown archive type
        ├── ArchiveRejected      a bomb, too many members, nesting, a link member
        └── DecodeError          truncated or corrupt compressed data, undecodable text

An ``InputError`` is raised when a whole input is refused. When an input is only partly
read (a truncated gzip keeps what it decoded), the same classes are *returned* as data in
``LogDocument.problems`` so the run goes on.
"""

from __future__ import annotations

from juggler import JugglerError

__all__ = ["ArchiveRejected", "DecodeError", "InputError", "UnsupportedInput"]


class InputError(JugglerError):
    """An input was refused or only partly read; ``str(err)`` is one line naming it.

    Catch this to report the input and go on with the others: nothing else is affected.

    Attributes:
        source: The input's display name (a path, ``archive.zip!member`` or ``<stdin>``).
        reason: Why, in a few words.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{_printable(source)}: {_printable(reason)}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        # Rebuilt from the fields, so it pickles back from a worker process.
        return (type(self), (self.source, self.reason))


class UnsupportedInput(InputError):
    """Not a text log: binary data, a FIFO or device, a directory loop, an unknown format.

    Skip the input; there is nothing to triage in it.
    """


class ArchiveRejected(InputError):
    """An archive or one of its members breaks a safety cap (size, ratio, count, nesting).

    The input is skipped without anything being written to disk.
    """


class DecodeError(InputError):
    """Compressed data is truncated or corrupt, or text could not be decoded.

    When raised, nothing usable was read. When found in ``LogDocument.problems``, the
    document holds what was decoded before the damage (a truncated CI log is often the
    interesting one).
    """


def _printable(text: str) -> str:
    """Keep messages on one line and free of terminal escapes (names come from archives)."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)[:300]
