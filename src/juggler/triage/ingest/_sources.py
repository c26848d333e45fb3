"""Turning paths, folders and stdin into readable sources, refusing what is not a log.

Every input ends up as either a :class:`FileSource` (a text file, read later by byte ranges
so that a multi-GB log never sits in memory), a :class:`MemorySource` (a rendered JUnit
report), or an :class:`InputError` *value* naming the input and the reason in one line.
Nothing here raises for a bad input: iteration goes on with the next one.

Every kind of input takes the same bounded path. A plain file is used where it lies. A gzip
stream, a zip or tar member and stdin are read block by block: the first block decides
(archive, JUnit, binary: refused at once, however long the stream), then the blocks are
spooled to a private temp file (``_spool``) that becomes a :class:`FileSource`. So memory
never holds more than a block and a sample, and a bomb or ``/dev/zero`` costs no more than
the time to its first block or to a cap.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import stat
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Final

from .._errors import ArchiveRejected, DecodeError, InputError, UnsupportedInput
from ._archives import GZIP_MAGIC, Member, is_tar, is_zip, iter_gunzip, read_tar, read_zip
from ._decode import SAMPLE_BYTES, binary_kind, sniff_encoding
from ._document import DEFAULT_LIMITS, Limits
from ._junit import looks_like_junit, render_junit
from ._spool import SpillArea, default_area, spool, take

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["FileSource", "MemorySource", "Source", "iter_sources", "source_from_bytes"]

STDIN_NAME: Final = "<stdin>"
#: JUnit reports up to this size are parsed and rendered; larger ones are read as text
#: (an XML tree costs several times its size in memory).
MAX_JUNIT_BYTES: Final = 32 * 1024 * 1024
_BLOCK_BYTES: Final = 1024 * 1024
_BOMB_PROBE_BYTES: Final = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSource:
    """A regular text file, to be read by byte ranges.

    Attributes:
        path: Where to open it.
        name: Display name.
        size: Size in bytes when it was checked.
        encoding: Chosen from its first bytes, for every chunk alike.
        problems: Damage met while reading that did not stop it (kept for the report).
        spilled: ``path`` is a temp file of a :class:`~._spool.SpillArea` holding a
            decompressed member or stdin (removed with its area).
    """

    path: str
    name: str
    size: int
    encoding: str
    problems: tuple[InputError, ...] = ()
    spilled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MemorySource:
    """Text held in memory: a rendered JUnit report, or bytes a caller built.

    Attributes:
        name: Display name (``archive.zip!member`` for members).
        data: The bytes, at most ``Limits.max_bytes``.
        encoding: The codec for ``data``.
        kind: ``"text"`` or ``"junit"``.
        problems: Damage met while reading that did not stop it (kept for the report).
    """

    name: str
    data: bytes
    encoding: str
    kind: str = "text"
    problems: tuple[InputError, ...] = ()


Source = FileSource | MemorySource


def iter_sources(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    limits: Limits = DEFAULT_LIMITS,
    stdin: IO[bytes] | None = None,
    spill: SpillArea | None = None,
) -> Iterator[Source | InputError]:
    """Yield a source, or an error value, for every log found in ``inputs``.

    Args:
        inputs: Files, folders (searched recursively) and ``"-"`` for stdin.
        limits: Caps on sizes, members and files.
        stdin: The binary stream ``"-"`` reads (default: ``sys.stdin.buffer``).
        spill: Where decompressed members and stdin are spooled (default: a process-wide
            area removed at exit). A run passes its own and closes it when done.

    Yields:
        :class:`FileSource` / :class:`MemorySource` for readable logs, :class:`InputError`
        for inputs refused, in a stable order (folders sorted by name).
    """
    reader = _Reader(limits, spill)
    for item in inputs:
        text = os.fspath(item)
        if text == "-":
            yield from reader.stdin(stdin)
        else:
            yield from reader.path(text)


def _kind_of(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "a special file"


class _Reader:
    """Classifies inputs and spools streams, with one set of caps and one spill area."""

    def __init__(self, limits: Limits, spill: SpillArea | None) -> None:
        self.limits = limits
        self._spill = spill

    @property
    def spill(self) -> SpillArea:
        if self._spill is None:
            self._spill = default_area()
        return self._spill

    def stdin(self, stdin: IO[bytes] | None) -> Iterator[Source | InputError]:
        if stdin is None:
            import sys

            stdin = sys.stdin.buffer
        blocks = _blocks(stdin, STDIN_NAME)
        try:
            sample, rest = take(blocks, SAMPLE_BYTES)
        except InputError as err:
            yield err
            return
        yield from self.stream(sample, rest, name=STDIN_NAME, problems=[], cap_cuts=True)

    def path(self, path: str) -> Iterator[Source | InputError]:
        try:
            st = os.stat(path)  # a path named on the command line is followed if it is a link
        except OSError as err:
            yield UnsupportedInput(path, f"cannot open ({err.strerror or err})")
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self.walk(path)
        else:
            yield from self.file(path, path)

    def walk(self, root: str) -> Iterator[Source | InputError]:
        """Walk a folder without recursion; links inside stay inside it, loops are detected."""
        limits = self.limits
        real_root = os.path.realpath(root)
        root_st = os.stat(real_root)
        seen_dirs = {(root_st.st_dev, root_st.st_ino)}
        stack = [root]
        files = 0
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as err:
                yield UnsupportedInput(folder, f"cannot list ({err.strerror or err})")
                continue
            subfolders: list[str] = []
            for entry in entries:
                try:
                    if entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if os.path.commonpath([real_root, target]) != real_root:
                            yield UnsupportedInput(entry.path, "link points outside the folder")
                            continue
                        st = os.stat(target)
                    else:
                        st = entry.stat(follow_symlinks=False)
                except (OSError, ValueError) as err:
                    yield UnsupportedInput(entry.path, f"cannot open ({err})")
                    continue
                if stat.S_ISDIR(st.st_mode):
                    ident = (st.st_dev, st.st_ino)
                    if ident in seen_dirs:
                        yield UnsupportedInput(entry.path, "folder seen before (link loop)")
                        continue
                    seen_dirs.add(ident)
                    subfolders.append(entry.path)
                elif stat.S_ISREG(st.st_mode):
                    files += 1
                    if files > limits.max_files:
                        yield UnsupportedInput(root, f"more than {limits.max_files:,} files (cap)")
                        return
                    yield from self.file(entry.path, entry.path)
                else:
                    kind = _kind_of(st.st_mode)
                    yield UnsupportedInput(entry.path, f"not a regular file ({kind})")
            stack.extend(reversed(subfolders))

    def file(self, path: str, name: str) -> Iterator[Source | InputError]:
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            yield UnsupportedInput(name, f"cannot open ({err.strerror or err})")
            return
        with os.fdopen(fd, "rb") as fh:
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    yield UnsupportedInput(name, f"not a regular file ({_kind_of(st.st_mode)})")
                    return
                sample = fh.read(SAMPLE_BYTES)
            except OSError as err:
                yield UnsupportedInput(name, f"cannot read ({err.strerror or err})")
                return
            if sample.startswith(GZIP_MAGIC) or is_zip(sample) or is_tar(sample):
                rest = _blocks(fh, name)
                yield from self.stream(sample, rest, name=name, problems=[], seekable=fh)
                return
            if looks_like_junit(sample) and st.st_size <= MAX_JUNIT_BYTES:
                fh.seek(0)
                yield from self._junit(fh.read(MAX_JUNIT_BYTES), name=name, problems=[])
                return
        encoding = sniff_encoding(sample)
        kind = binary_kind(sample, encoding)
        if kind is not None:
            yield UnsupportedInput(name, f"{kind}, not a text log")
            return
        yield FileSource(path=path, name=name, size=st.st_size, encoding=encoding)

    def stream(
        self,
        sample: bytes,
        rest: Iterator[bytes],
        *,
        name: str,
        problems: list[InputError],
        depth: int = 0,
        seekable: IO[bytes] | None = None,
        compressed: bool = False,
        cap_cuts: bool = False,
    ) -> Iterator[Source | InputError]:
        """Classify a stream by its ``sample`` (its first bytes), then read ``rest`` of it.

        Args:
            sample: The stream's first bytes (at least ``SAMPLE_BYTES`` unless it is shorter).
            rest: The blocks after the sample.
            name: Display name.
            problems: Damage already met (or met later, while ``rest`` is read).
            depth: 1 inside an archive (archives there are listed, not opened).
            seekable: The stream as a seekable file, if it is one (zip needs it).
            compressed: The stream is decompressed output (bomb checks need read-ahead).
            cap_cuts: Past ``max_bytes`` keep the first part (stdin) instead of refusing.
        """
        limits = self.limits
        try:
            if sample.startswith(GZIP_MAGIC):
                if depth:
                    yield ArchiveRejected(name, "archive inside an archive: listed, not opened")
                    return
                read = _IterReader(itertools.chain((sample,), rest)).read
                inner = iter_gunzip(read, name=name, limits=limits, problems=problems)
                inner_sample, inner_rest = take(inner, self._read_ahead())
                yield from self.stream(
                    inner_sample,
                    inner_rest,
                    name=name,
                    problems=problems,
                    depth=1,
                    compressed=True,
                )
                return
            if is_zip(sample) or is_tar(sample):
                if depth and is_zip(sample):
                    yield ArchiveRejected(name, "archive inside an archive: listed, not opened")
                    return
                if is_zip(sample):
                    members = self._zip(sample, rest, name=name, seekable=seekable)
                else:
                    stream = io.BufferedReader(_IterReader(itertools.chain((sample,), rest)))
                    members = read_tar(stream, name=name, limits=limits)
                for member in members:
                    if member.problem is not None:
                        yield member.problem
                    if member.blocks is not None:
                        first, more = take(member.blocks, self._read_ahead())
                        yield from self._text(
                            first, more, name=member.name, problems=member.problems, compressed=True
                        )
                yield from problems
                return
            yield from self._text(
                sample, rest, name=name, problems=problems, compressed=compressed, cap_cuts=cap_cuts
            )
        except InputError as err:
            yield err
        except (OSError, EOFError, ValueError) as err:
            yield DecodeError(name, f"cannot read ({err})")

    def _read_ahead(self) -> int:
        # Decompressed output is read past the sample up to the size where the ratio check
        # starts, so a bomb is named a bomb (ArchiveRejected), not merely binary data.
        return max(SAMPLE_BYTES, self.limits.ratio_floor_bytes + 1)

    def _zip(
        self, sample: bytes, rest: Iterator[bytes], *, name: str, seekable: IO[bytes] | None
    ) -> Iterator[Member]:
        """The members of a zip; a zip that is not a file (stdin) is spooled first."""
        if seekable is not None:
            seekable.seek(0)
            yield from read_zip(seekable, name=name, limits=self.limits)
            return
        path, _, cut = spool(sample, rest, name=name, area=self.spill, cap=self.limits.max_bytes)
        try:
            if cut:
                raise ArchiveRejected(name, f"more than {self.limits.max_bytes:,} bytes (cap)")
            with open(path, "rb") as fh:
                yield from read_zip(fh, name=name, limits=self.limits)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _text(
        self,
        sample: bytes,
        rest: Iterator[bytes],
        *,
        name: str,
        problems: list[InputError],
        compressed: bool = False,
        cap_cuts: bool = False,
    ) -> Iterator[Source | InputError]:
        """A text stream: refused on its first block if binary, else spooled to a file."""
        limits = self.limits
        head = sample[:SAMPLE_BYTES]
        if looks_like_junit(head):
            data, more = take(itertools.chain((sample,), rest), MAX_JUNIT_BYTES + 1)
            if len(data) <= MAX_JUNIT_BYTES:
                yield from self._junit(data, name=name, problems=problems)
                return
            problems.append(
                UnsupportedInput(name, f"JUnit report over {MAX_JUNIT_BYTES:,} bytes: read as text")
            )
            sample, rest = data, more
        encoding = sniff_encoding(head)
        kind = binary_kind(head, encoding)
        if kind is not None:
            if compressed:
                _probe_bomb(rest)
            yield UnsupportedInput(name, f"{kind}, not a text log")
            return
        # Decompressed streams are capped by their budget (it raises); stdin keeps its head.
        cap = limits.max_bytes if cap_cuts else None
        path, size, cut = spool(sample, rest, name=name, area=self.spill, cap=cap)
        if cut:
            problems.append(
                ArchiveRejected(name, f"only the first {limits.max_bytes:,} bytes read")
            )
        yield FileSource(
            path=path,
            name=name,
            size=size,
            encoding=encoding,
            problems=tuple(problems),
            spilled=True,
        )

    def _junit(
        self, data: bytes, *, name: str, problems: list[InputError]
    ) -> Iterator[Source | InputError]:
        try:
            text = render_junit(data, name=name)
        except InputError as err:
            yield err
            return
        yield MemorySource(
            name=name, data=text.encode(), encoding="utf-8", kind="junit", problems=tuple(problems)
        )


def _probe_bomb(rest: Iterator[bytes]) -> None:
    """Read on (discarding) a little past a binary sample, so a bomb is named a bomb.

    Zipfile reads compressed data 64 KiB at a time, so the ratio check may need some MiB of
    output to fire; zeros decompress that in milliseconds. A real binary member just stops.

    Raises:
        ArchiveRejected: The stream passed a cap while probing.
    """
    seen = 0
    for block in rest:
        seen += len(block)
        if seen > _BOMB_PROBE_BYTES:
            return


def _blocks(fh: IO[bytes], name: str) -> Iterator[bytes]:
    """``fh`` read block by block until its end."""
    try:
        while block := fh.read(_BLOCK_BYTES):
            yield block
    except OSError as err:
        raise UnsupportedInput(name, f"cannot read ({err.strerror or err})") from None


class _IterReader(io.RawIOBase):
    """A readable binary stream over an iterator of blocks (for ``tarfile`` and gunzip)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        while not self._left:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._left = block
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self._left + b"".join(self._blocks)
        while not self._left:
            block = next(self._blocks, None)
            if block is None:
                return b""
            self._left = block
        out, self._left = self._left[:size], self._left[size:]
        return out


def source_from_bytes(
    data: bytes,
    *,
    name: str,
    limits: Limits = DEFAULT_LIMITS,
    problems: list[InputError] | None = None,
    spill: SpillArea | None = None,
) -> Iterator[Source | InputError]:
    """Classify bytes already in memory (a test input, an upload).

    Yields:
        Sources for the text found (several for an archive), or error values.
    """
    sample, rest = data[:SAMPLE_BYTES], iter((data[SAMPLE_BYTES:],))
    yield from _Reader(limits, spill).stream(
        sample, rest, name=name, problems=problems or [], seekable=io.BytesIO(data)
    )
