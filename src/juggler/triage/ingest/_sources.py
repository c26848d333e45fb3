"""Turning paths, folders and stdin into readable sources, refusing what is not a log.

Every input ends up as either a :class:`FileSource` (a plain text file, read later by byte
ranges so that a multi-GB log never sits in memory), a :class:`MemorySource` (decompressed
or rendered text, bounded by the caps), or an :class:`InputError` *value* naming the input
and the reason in one line. Nothing here raises for a bad input: iteration goes on with the
next one.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Final

from .._errors import ArchiveRejected, DecodeError, InputError, UnsupportedInput
from ._archives import GZIP_MAGIC, gunzip, is_tar, is_zip, read_tar, read_zip
from ._decode import SAMPLE_BYTES, binary_kind, sniff_encoding
from ._document import DEFAULT_LIMITS, Limits
from ._junit import looks_like_junit, render_junit

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["FileSource", "MemorySource", "Source", "iter_sources", "source_from_bytes"]

STDIN_NAME: Final = "<stdin>"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSource:
    """A regular text file, to be read by byte ranges.

    Attributes:
        path: Where to open it.
        name: Display name.
        size: Size in bytes when it was checked.
        encoding: Chosen from its first bytes, for every chunk alike.
    """

    path: str
    name: str
    size: int
    encoding: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MemorySource:
    """Text held in memory: a decompressed member, stdin, or a rendered JUnit report.

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
) -> Iterator[Source | InputError]:
    """Yield a source, or an error value, for every log found in ``inputs``.

    Args:
        inputs: Files, folders (searched recursively) and ``"-"`` for stdin.
        limits: Caps on sizes, members and files.
        stdin: The binary stream ``"-"`` reads (default: ``sys.stdin.buffer``).

    Yields:
        :class:`FileSource` / :class:`MemorySource` for readable logs, :class:`InputError`
        for inputs refused, in a stable order (folders sorted by name).
    """
    for item in inputs:
        text = os.fspath(item)
        if text == "-":
            yield from _from_stdin(stdin, limits)
        else:
            yield from _from_path(text, limits)


def _from_stdin(stdin: IO[bytes] | None, limits: Limits) -> Iterator[Source | InputError]:
    if stdin is None:
        import sys

        stdin = sys.stdin.buffer
    try:
        data = stdin.read(limits.max_bytes + 1)
    except OSError as err:
        yield UnsupportedInput(STDIN_NAME, f"cannot read ({err.strerror or err})")
        return
    problems: list[InputError] = []
    if len(data) > limits.max_bytes:
        data = data[: limits.max_bytes]
        problems.append(
            ArchiveRejected(STDIN_NAME, f"only the first {limits.max_bytes:,} bytes read")
        )
    yield from source_from_bytes(data, name=STDIN_NAME, limits=limits, problems=problems)


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


def _from_path(path: str, limits: Limits) -> Iterator[Source | InputError]:
    try:
        st = os.stat(path)  # a path named on the command line is followed if it is a link
    except OSError as err:
        yield UnsupportedInput(path, f"cannot open ({err.strerror or err})")
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk(path, limits)
    else:
        yield from _open_file(path, path, limits)


def _walk(root: str, limits: Limits) -> Iterator[Source | InputError]:
    """Walk a folder without recursion; links inside stay inside it, loops are detected."""
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
                yield from _open_file(entry.path, entry.path, limits)
            else:
                yield UnsupportedInput(entry.path, f"not a regular file ({_kind_of(st.st_mode)})")
        stack.extend(reversed(subfolders))


def _open_file(path: str, name: str, limits: Limits) -> Iterator[Source | InputError]:
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
            fh.seek(0)
            yield from _from_stream(fh, sample, name=name, limits=limits, problems=[])
            return
        if looks_like_junit(sample) and st.st_size <= limits.max_bytes:
            fh.seek(0)
            yield from source_from_bytes(fh.read(), name=name, limits=limits, problems=[])
            return
    encoding = sniff_encoding(sample)
    kind = binary_kind(sample, encoding)
    if kind is not None:
        yield UnsupportedInput(name, f"{kind}, not a text log")
        return
    yield FileSource(path=path, name=name, size=st.st_size, encoding=encoding)


def source_from_bytes(
    data: bytes,
    *,
    name: str,
    limits: Limits = DEFAULT_LIMITS,
    problems: list[InputError] | None = None,
) -> Iterator[Source | InputError]:
    """Classify bytes already in memory (stdin, a decompressed stream, a test input).

    Yields:
        Sources for the text found (several for an archive), or error values.
    """
    yield from _from_stream(
        io.BytesIO(data), data[:SAMPLE_BYTES], name=name, limits=limits, problems=problems or []
    )


def _from_stream(
    fh: IO[bytes],
    sample: bytes,
    *,
    name: str,
    limits: Limits,
    problems: list[InputError],
    depth: int = 0,
) -> Iterator[Source | InputError]:
    try:
        if sample.startswith(GZIP_MAGIC):
            if depth:
                yield ArchiveRejected(name, "archive inside an archive: listed, not opened")
                return
            data, damage = gunzip(fh.read, name=name, limits=limits)
            inner = io.BytesIO(data)
            yield from _from_stream(
                inner,
                data[:SAMPLE_BYTES],
                name=name,
                limits=limits,
                problems=problems + damage,
                depth=1,
            )
            return
        if is_zip(sample) or is_tar(sample):
            if depth and is_zip(sample):
                yield ArchiveRejected(name, "archive inside an archive: listed, not opened")
                return
            reader = read_zip if is_zip(sample) else read_tar
            for member in reader(fh, name=name, limits=limits):
                if member.problem is not None:
                    yield member.problem
                if member.data is not None:
                    yield from _text_source(
                        member.data, name=member.name, limits=limits, problems=[]
                    )
            yield from problems
            return
        data = fh.read(limits.max_bytes + 1)
    except InputError as err:
        yield err
        return
    except (OSError, EOFError, ValueError) as err:
        yield DecodeError(name, f"cannot read ({err})")
        return
    if len(data) > limits.max_bytes:
        yield ArchiveRejected(name, f"more than {limits.max_bytes:,} bytes (cap)")
        return
    yield from _text_source(data, name=name, limits=limits, problems=problems)


def _text_source(
    data: bytes, *, name: str, limits: Limits, problems: list[InputError]
) -> Iterator[Source | InputError]:
    sample = data[:SAMPLE_BYTES]
    if looks_like_junit(sample):
        try:
            text = render_junit(data, name=name)
        except InputError as err:
            yield err
            return
        yield MemorySource(
            name=name, data=text.encode(), encoding="utf-8", kind="junit", problems=tuple(problems)
        )
        return
    encoding = sniff_encoding(sample)
    kind = binary_kind(sample, encoding)
    if kind is not None:
        yield UnsupportedInput(name, f"{kind}, not a text log")
        return
    yield MemorySource(name=name, data=data, encoding=encoding, problems=tuple(problems))
