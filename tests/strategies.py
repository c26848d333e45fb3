"""Hypothesis strategies shared by the tests: log lines, log texts, chunk boundaries.

The grammar below writes plausible build-log lines from a small vocabulary (our own words,
not copied from any corpus): event words, numbers, ids, addresses, paths, key=value pairs,
ANSI colours, CI timestamps and carriage-return progress updates.
"""

from __future__ import annotations

from hypothesis import strategies as st

_WORDS = (
    "build",
    "compile",
    "linking",
    "started",
    "finished",
    "FAILED",
    "ERROR",
    "warning",
    "test",
    "worker",
    "cache",
    "miss",
    "hit",
    "download",
    "retry",
    "timeout",
    "connected",
    "to",
    "from",
    "in",
    "step",
    "job",
    "ok",
    "module",
)

_numbers = st.integers(min_value=0, max_value=10**9).map(str)
_floats = st.floats(min_value=0, max_value=1e4, allow_nan=False).map(lambda f: f"{f:.3f}")
_hex = st.integers(min_value=0, max_value=2**64).map(lambda n: f"0x{n:x}")
_ips = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
_paths = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts) + ".py"
)
_pairs = st.tuples(st.sampled_from(_WORDS), _numbers).map(lambda kv: f"{kv[0]}={kv[1]}")
_ansi = st.sampled_from(("\x1b[31m", "\x1b[0m", "\x1b[1;32m", "\x1b]0;title\x07", ""))

token = st.one_of(st.sampled_from(_WORDS), _numbers, _floats, _hex, _ips, _paths, _pairs, _ansi)

#: One log line, without its line end.
log_line = st.lists(token, min_size=0, max_size=12).map(" ".join)


@st.composite
def decorated_line(draw: st.DrawFn) -> str:
    """A line as a CI runner prints it: maybe a timestamp prefix, maybe a CR overwrite."""
    line = draw(log_line)
    if draw(st.booleans()):
        day, fraction = draw(st.integers(1, 9)), draw(st.integers(0, 9_999_999))
        line = f"2024-05-0{day}T10:11:12.{fraction:07d}Z {line}"
    if draw(st.booleans()):
        line = f"{draw(log_line)}\r{line}"
    return line


#: A list of lines with repetition, as real logs have.
log_lines = st.lists(
    st.one_of(log_line, st.sampled_from(("", "step 1 ok", "step 2 ok"))), max_size=60
)


@st.composite
def log_text(draw: st.DrawFn) -> bytes:
    """A whole log as bytes: LF or CRLF line ends, maybe no final line end, maybe long lines."""
    lines = draw(
        st.lists(st.one_of(decorated_line(), st.just("x" * draw(st.integers(0, 90)))), max_size=40)
    )
    end: str = draw(st.sampled_from(("\n", "\r\n")))
    text = end.join(lines)
    closed: bool = draw(st.booleans())
    if lines and closed:
        text += end
    return text.encode("utf-8")


#: Chunk sizes small enough to put many cuts inside a test-sized log.
chunk_bytes = st.integers(min_value=1, max_value=300)
#: Piece length for long lines, small so that tests meet split lines.
max_line_bytes = st.integers(min_value=8, max_value=120)


@st.composite
def split_points(draw: st.DrawFn, length: int) -> list[int]:
    """Sorted cut positions in ``range(length + 1)`` (repeats allowed: empty parts)."""
    cuts = draw(st.lists(st.integers(0, length), max_size=8))
    return sorted(cuts)
