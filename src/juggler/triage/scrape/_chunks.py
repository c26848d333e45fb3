"""Cutting a log into byte-range chunks, scraping each in a worker, merging the results.

A chunk is a *reference*: a path and a byte range (only text already in memory, such as a
decompressed member, travels as bytes). Cuts fall right after a ``\\n``, or, inside a line
longer than ``max_line_bytes``, exactly where the line splitter would cut it anyway: so the
lines of all chunks are the lines of the whole file, none lost or doubled.

Workers number lines locally; :func:`merge_chunks` turns local numbers into file line numbers
from the newline counts of the chunks before. The template miner merges by adding counts,
and samples keep the smallest line numbers, so the merge equals a single pass.
"""

from __future__ import annotations

import io
import itertools
import os
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Final, final

from .._errors import UnsupportedInput
from ..ingest._decode import ascii_compatible, strip_bom
from ..ingest._document import DEFAULT_LIMITS, split_lines
from ..ingest._sources import FileSource
from ._templates import KeyCache, TemplateMiner

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..ingest._sources import Source

__all__ = [
    "Chunk",
    "ChunkResult",
    "ScrapeAccumulator",
    "ScrapeResult",
    "fold_chunk",
    "merge_chunks",
    "plan_chunks",
    "scrape_chunk",
]

#: Default chunk size: large enough that per-chunk overhead is small, small enough that two
#: workers get several chunks each of a 100 MB log.
CHUNK_BYTES: Final = 2 * 1024 * 1024
#: Line numbers kept per template.
SAMPLES_PER_KEY: Final = 3
_WINDOW: Final = 64 * 1024
# One key cache per process, shared by the chunks a worker scrapes: chunks of one log repeat
# each other's lines, and keys are a pure function of the line.
_PROCESS_CACHE: Final = KeyCache()
# Per plan, the keys whose first samples this process already sent: once enough were sent
# from chunks before this one, this chunk's lines of that key cannot be among its first, so
# they need not travel (sample lists are most of a result's size and of the parent's work to
# fold it). Bounded (plans, keys per plan); forgetting only sends more samples.
_SENT_SAMPLES: Final[dict[str, dict[str, tuple[int, int]]]] = {}
_SENT_PLANS_LIMIT: Final = 16
_SENT_KEYS_LIMIT: Final = 100_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """A byte range of one source, to be scraped by :func:`scrape_chunk`.

    Attributes:
        source: Display name of the input.
        path: File to read the range from, or ``None`` when ``data`` holds the bytes.
        data: The range's bytes, for sources held in memory.
        start: First byte (inclusive) in the source.
        end: Last byte (exclusive).
        encoding: The source's codec, the same for all its chunks.
        starts_mid_line: ``start`` is a piece boundary inside a long line.
        ends_mid_line: ``end`` is a piece boundary inside a long line.
        max_line_bytes: Piece length for long lines.
        plan: Which :func:`plan_chunks` call made it (``""``: none). The chunks of one plan
            are scraped once, into one merge; plan again for another pass.
    """

    source: str
    path: str | None
    data: bytes | None
    start: int
    end: int
    encoding: str
    starts_mid_line: bool = False
    ends_mid_line: bool = False
    max_line_bytes: int = DEFAULT_LIMITS.max_line_bytes
    plan: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkResult:
    """What a worker sends back for one chunk: compact, no text but templates' keys.

    Line numbers here are *local*: 0 is the line containing ``start``. ``samples`` may leave
    out keys whose first samples the same worker sent for an earlier chunk of the plan.
    """

    source: str
    start: int
    starts_mid_line: bool
    newlines: int
    counts: dict[str, int]
    samples: dict[str, list[int]]
    truncated: list[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScrapeResult:
    """The merged scrape of one source.

    Attributes:
        source: Display name of the input.
        miner: Template counts of every non-blank line.
        samples: For each miner key, the first line numbers (1-based) it occurred on.
        truncated: Numbers of lines longer than the cap, split and flagged.
        newlines: Line ends seen (the number of lines, give or take a final open line).
    """

    source: str
    miner: TemplateMiner
    samples: dict[str, list[int]]
    truncated: list[int]
    newlines: int


def _find(fh: IO[bytes], lo: int, hi: int) -> int:
    """Offset of the first ``\\n`` in ``[lo, hi)``, or -1."""
    pos = lo
    while pos < hi:
        fh.seek(pos)
        block = fh.read(min(_WINDOW, hi - pos))
        if not block:
            break
        found = block.find(b"\n")
        if found >= 0:
            return pos + found
        pos += len(block)
    return -1


def _rfind(fh: IO[bytes], lo: int, hi: int) -> int:
    """Offset of the last ``\\n`` in ``[lo, hi)``, or -1."""
    pos = hi
    while pos > lo:
        begin = max(lo, pos - _WINDOW)
        fh.seek(begin)
        found = fh.read(pos - begin).rfind(b"\n")
        if found >= 0:
            return begin + found
        pos = begin
    return -1


def _next_cut(
    fh: IO[bytes], target: int, prev_cut: int, prev_line_start: int, size: int, max_line: int
) -> tuple[int, bool, int]:
    """Smallest valid cut at or after ``target``: (offset, inside a long line, its line start)."""
    newline = _rfind(fh, prev_cut, target)
    if newline == target - 1:
        return target, False, target
    line_start = newline + 1 if newline >= 0 else prev_line_start
    pieces = -(-(target - line_start) // max_line)  # ceil: the piece boundary at/after target
    piece_cut = line_start + pieces * max_line
    newline = _find(fh, target, min(piece_cut + 1, size))
    if newline >= 0 and newline < piece_cut:
        return newline + 1, False, newline + 1
    if newline == piece_cut:
        # The line is exactly `pieces` pieces long: its end is the cut, not a piece boundary.
        return newline + 1, False, newline + 1
    if piece_cut < size:
        return piece_cut, True, line_start
    return size, False, line_start


def plan_chunks(
    source: Source,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    max_line_bytes: int = DEFAULT_LIMITS.max_line_bytes,
    whole_lines: bool = False,
) -> list[Chunk]:
    """Cut ``source`` into chunks of about ``chunk_bytes``, aligned to line ends.

    UTF-16/32 text is not cut (a ``\\n`` byte may be half a character): it is one chunk.
    With ``whole_lines`` no cut falls inside a line, however long: a chunk then ends after
    the line end that follows its target size (the failure scan wants each line in one
    chunk and reads a long one's head and tail only, see ``_lines.scan_lines``); otherwise
    a line longer than ``max_line_bytes`` is cut where the line splitter cuts it.
    Reads only a few windows around each cut, not the whole file. Scrape each chunk once,
    into one merge (:func:`merge_chunks`, :func:`fold_chunk`): workers remember which
    samples they sent for the plan.

    Raises:
        UnsupportedInput: The file can no longer be read.
    """
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be >= 1, got {chunk_bytes}")
    if isinstance(source, FileSource):
        try:
            fh: IO[bytes] = open(source.path, "rb")  # closed below
        except OSError as err:
            raise UnsupportedInput(source.name, f"cannot read ({err.strerror or err})") from None
        path: str | None = source.path
    else:
        fh = io.BytesIO(source.data)
        path = None
    with fh:
        size = fh.seek(0, io.SEEK_END)
        cuts: list[tuple[int, bool]] = [(0, False)]
        if ascii_compatible(source.encoding):
            prev_cut = prev_line_start = 0
            target = chunk_bytes
            # A piece longer than the file never ends inside it: cuts only after a "\n".
            cut_line = size + 1 if whole_lines else max_line_bytes
            while target < size:
                cut, mid, line_start = _next_cut(
                    fh, target, prev_cut, prev_line_start, size, cut_line
                )
                if cut >= size:
                    break
                cuts.append((cut, mid))
                prev_cut, prev_line_start = cut, line_start
                target = cut + chunk_bytes
        cuts.append((size, False))
        plan = os.urandom(8).hex()
        chunks = []
        for (start, starts_mid), (end, ends_mid) in itertools.pairwise(cuts):
            if end <= start and size:
                continue
            data = None
            if path is None:
                fh.seek(start)
                data = fh.read(end - start)
            chunks.append(
                Chunk(
                    source=source.name,
                    path=path,
                    data=data,
                    start=start,
                    end=end,
                    encoding=source.encoding,
                    starts_mid_line=starts_mid,
                    ends_mid_line=ends_mid,
                    max_line_bytes=max_line_bytes,
                    plan=plan,
                )
            )
    return chunks


def read_chunk(chunk: Chunk) -> bytes:
    """The bytes of ``chunk`` (a leading byte-order mark removed).

    Raises:
        UnsupportedInput: The file can no longer be read.
    """
    if chunk.data is not None:
        data = chunk.data
    else:
        assert chunk.path is not None
        try:
            with open(chunk.path, "rb") as fh:
                fh.seek(chunk.start)
                data = fh.read(chunk.end - chunk.start)
        except OSError as err:
            raise UnsupportedInput(chunk.source, f"cannot read ({err.strerror or err})") from None
    return strip_bom(data, chunk.encoding) if chunk.start == 0 else data


def scrape_chunk(chunk: Chunk) -> ChunkResult:
    """Read, decode, clean and mine one chunk; a ``cpu`` stage function (picklable).

    Blank lines are not mined. Line numbers in the result are local to the chunk.

    Raises:
        UnsupportedInput: The file can no longer be read.
    """
    data = read_chunk(chunk)
    split = split_lines(
        data,
        chunk.encoding,
        first_line=0,
        max_line_bytes=chunk.max_line_bytes,
        starts_mid_line=chunk.starts_mid_line,
        ends_mid_line=chunk.ends_mid_line,
    )
    key_of = _PROCESS_CACHE.key
    counts: dict[str, int] = {}
    samples: dict[str, list[int]] = {}
    # The hot loop of a scrape: kept to dict operations, one call per line.
    for line, number in zip(split.lines, split.numbers, strict=True):
        if not line or line.isspace():
            continue
        key = key_of(line)
        seen = counts.get(key)
        if seen is None:
            counts[key] = 1
            samples[key] = [number]
        else:
            counts[key] = seen + 1
            kept = samples[key]
            if len(kept) < SAMPLES_PER_KEY and kept[-1] != number:
                kept.append(number)
    return ChunkResult(
        source=chunk.source,
        start=chunk.start,
        starts_mid_line=chunk.starts_mid_line,
        newlines=data.count(b"\n") if ascii_compatible(chunk.encoding) else 0,
        counts=counts,
        samples=_new_samples(chunk, samples) if chunk.plan else samples,
        truncated=split.truncated,
    )


def _new_samples(chunk: Chunk, samples: dict[str, list[int]]) -> dict[str, list[int]]:
    """``samples`` without keys whose first samples this process sent for earlier chunks."""
    sent = _SENT_SAMPLES.get(chunk.plan)
    if sent is None:
        if len(_SENT_SAMPLES) >= _SENT_PLANS_LIMIT:
            _SENT_SAMPLES.clear()
        sent = _SENT_SAMPLES[chunk.plan] = {}
    elif len(sent) >= _SENT_KEYS_LIMIT:
        sent.clear()
    start = chunk.start
    kept: dict[str, list[int]] = {}
    for key, numbers in samples.items():
        # (last start, samples sent): that many surely distinct lines, all in chunks that
        # start at or before ``last start``.
        history = sent.get(key)
        if history is not None and history[0] < start and history[1] >= SAMPLES_PER_KEY:
            continue
        kept[key] = numbers
        # Local line 0 of a chunk that starts inside a long line may be the previous
        # chunk's last line: it does not count as a distinct line.
        sure = len(numbers) - (chunk.starts_mid_line and numbers[0] == 0)
        if history is None:
            sent[key] = (start, sure)
        else:
            sent[key] = (max(history[0], start), history[1] + sure)
    return kept


# A sample candidate: (chunk start, local line number, continues the previous chunk's line).
# Ordering candidates by (start, local) orders them by file line number.
_Candidate = tuple[int, int, bool]


@final
class ScrapeAccumulator:
    """Merges chunk results one at a time, in any order, with memory bounded by templates.

    Template counts are added as results arrive; per chunk only its start and newline count
    are kept, and per template a few sample candidates, so a multi-GB log costs memory in
    proportion to its distinct templates, not to its chunks' results. Use it as the state of
    a ``juggler.reduce`` stage (see :func:`fold_chunk`), then call :meth:`finish`.
    """

    __slots__ = ("_counts", "_full", "_meta", "_samples", "_truncated")

    def __init__(self) -> None:
        self._counts: dict[str, TemplateMiner] = {}
        self._meta: dict[str, list[tuple[int, int]]] = {}
        self._samples: dict[str, dict[str, list[_Candidate]]] = {}
        # Keys whose samples hold SAMPLES_PER_KEY surely distinct lines: most keys, soon.
        self._full: dict[str, set[str]] = {}
        self._truncated: dict[str, list[tuple[int, int]]] = {}

    def add(self, result: ChunkResult) -> None:
        """Fold one chunk result in."""
        source = result.source
        miner = self._counts.get(source)
        if miner is None:
            miner = self._counts[source] = TemplateMiner()
        miner.merge(TemplateMiner.from_counts(result.counts))
        self._meta.setdefault(source, []).append((result.start, result.newlines))
        self._truncated.setdefault(source, []).extend((result.start, n) for n in result.truncated)
        samples = self._samples.setdefault(source, {})
        full = self._full.setdefault(source, set())
        start = result.start
        for key, numbers in result.samples.items():
            kept = samples.get(key)
            if kept is None:
                kept = samples[key] = []
            elif key in full and kept[-1][0] < start:
                continue  # results mostly arrive in order: later lines cannot be first
            for number in numbers:
                # Local line 0 of a chunk that starts inside a long line may be the same
                # file line as the previous chunk's last: such candidates are kept beyond
                # the quota and deduplicated in finish(), once line numbers are known.
                kept.append((start, number, number == 0 and result.starts_mid_line))
            kept.sort()
            if _trim(kept):
                full.add(key)

    def finish(self) -> dict[str, ScrapeResult]:
        """One :class:`ScrapeResult` per source, equal to a single pass over it."""
        merged: dict[str, ScrapeResult] = {}
        for source, meta in self._meta.items():
            offsets: dict[int, int] = {}
            offset = 1
            for start, newlines in sorted(meta):
                offsets[start] = offset
                offset += newlines
            samples: dict[str, list[int]] = {}
            for key, candidates in self._samples[source].items():
                numbers: list[int] = []
                for start, number, _ in candidates:
                    absolute = offsets[start] + number
                    if absolute not in numbers and len(numbers) < SAMPLES_PER_KEY:
                        numbers.append(absolute)
                samples[key] = numbers
            truncated = sorted({offsets[start] + n for start, n in self._truncated[source]})
            merged[source] = ScrapeResult(
                source=source,
                miner=self._counts[source],
                samples=samples,
                truncated=truncated,
                newlines=offset - 1,
            )
        return merged


def _trim(kept: list[_Candidate]) -> bool:
    """Drop candidates after the SAMPLES_PER_KEY-th one that is surely a new line.

    Returns:
        True if ``kept`` holds that many (it stays so: candidates are only ever added).
    """
    sure = 0
    for index, (_, _, maybe_repeat) in enumerate(kept):
        if not maybe_repeat:
            sure += 1
            if sure == SAMPLES_PER_KEY:
                del kept[index + 1 :]
                return True
    return False


def fold_chunk(state: ScrapeAccumulator | None, result: ChunkResult) -> ScrapeAccumulator:
    """Reducer for ``juggler.reduce(fold_chunk, initial=None)``: add ``result`` to ``state``."""
    if state is None:
        state = ScrapeAccumulator()
    state.add(result)
    return state


def merge_chunks(results: Iterable[ChunkResult]) -> dict[str, ScrapeResult]:
    """Merge chunk results, in any order, into one result per source.

    Equal to scraping each source in a single chunk: same template counts, same sample
    line numbers, same truncated lines.
    """
    state = ScrapeAccumulator()
    for result in results:
        state.add(result)
    return state.finish()
