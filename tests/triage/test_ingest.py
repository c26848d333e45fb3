"""Ingest: decoding, cleaning, archives and hostile inputs (RELIABILITY.md M1–M10)."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
import time
import zipfile
import zlib
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage import (
    ArchiveRejected,
    DecodeError,
    InputError,
    Limits,
    LogDocument,
    UnsupportedInput,
    read_logs,
)
from juggler.triage.ingest import clean_line, sniff_encoding, split_lines
from tests.strategies import log_text

if TYPE_CHECKING:
    from pathlib import Path


def _read(*inputs: str | Path, limits: Limits | None = None) -> list[LogDocument | InputError]:
    return list(read_logs([str(i) for i in inputs], limits=limits or Limits()))


def _docs(results: list[LogDocument | InputError]) -> list[LogDocument]:
    return [r for r in results if isinstance(r, LogDocument)]


def _errors(results: list[LogDocument | InputError]) -> list[InputError]:
    return [r for r in results if isinstance(r, InputError)]


def _one_line(err: InputError, name: str) -> None:
    text = str(err)
    assert "\n" not in text
    assert name in text


# --- cleaning -------------------------------------------------------------------------------


def test_clean_line_strips_ansi_cr_and_actions_timestamps() -> None:
    """Colours, OSC titles, CR progress and the GitHub Actions time prefix are removed."""
    assert clean_line("\x1b[1;31mERROR\x1b[0m: boom") == "ERROR: boom"
    assert clean_line("\x1b]0;my title\x07done") == "done"
    assert clean_line("10%\r50%\r100%") == "100%"
    assert clean_line("2024-05-01T10:00:00.1234567Z ##[error]exit 1") == "##[error]exit 1"
    assert clean_line("bell\x07 nul\x00 tab\tkept") == "bell nul tab\tkept"


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=st.one_of(log_text(), st.binary(max_size=300)))
def test_split_lines_equals_cleaning_each_line(data: bytes) -> None:
    """Property: the whole-text fast path gives what cleaning line by line gives."""
    encoding = sniff_encoding(data)
    expected = data.decode(encoding, errors="replace").split("\n")
    if expected[-1] == "":
        expected.pop()
    split = split_lines(data, encoding)
    assert split.lines == [clean_line(x.removesuffix("\r")) for x in expected]
    assert split.numbers == list(range(1, len(expected) + 1))


def test_line_numbers_are_kept(tmp_path: Path) -> None:
    """Cleaning never joins or drops lines: numbers are the original 1-based ones."""
    log = tmp_path / "job.log"
    log.write_bytes(b"first\r\n\x1b[32msecond\x1b[0m\r\n\r\nfourth")
    (doc,) = _docs(_read(log))
    assert doc.lines == ["first", "second", "", "fourth"]
    assert doc.numbers == [1, 2, 3, 4]


def test_actions_zip_steps_are_read_as_documents(tmp_path: Path) -> None:
    """A GitHub Actions log archive yields one cleaned document per step file."""
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("build/1_Set up job.txt", "2024-05-01T10:00:00.0000000Z Runner 2.3\n")
        zf.writestr("build/2_Run tests.txt", "2024-05-01T10:00:01.5Z \x1b[31mFAILED\x1b[0m t1\n")
        zf.writestr("build/", "")
    docs = _docs(_read(archive))
    assert [d.name for d in docs] == [
        f"{archive}!build/1_Set up job.txt",
        f"{archive}!build/2_Run tests.txt",
    ]
    assert docs[1].lines == ["FAILED t1"]


def test_stdin_is_read(tmp_path: Path) -> None:
    """'-' reads the given binary stream, gzip included."""
    stream = io.BytesIO(gzip.compress(b"from stdin\n"))
    (doc,) = list(read_logs(["-"], stdin=stream))
    assert isinstance(doc, LogDocument)
    assert doc.name == "<stdin>"
    assert doc.lines == ["from stdin"]


# --- M1 binary ----------------------------------------------------------------------------


def test_m1_binary_inputs_are_skipped_with_a_reason(tmp_path: Path) -> None:
    """M1: random bytes, an ELF and a PNG are classified binary and skipped, one line each."""
    rnd = tmp_path / "random.bin"
    rnd.write_bytes(os.urandom(10 * 1024 * 1024))
    elf = tmp_path / "tool"
    elf.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    png = tmp_path / "shot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(100))
    results = _read(rnd, elf, png)
    errors = _errors(results)
    assert len(errors) == 3
    assert all(isinstance(e, UnsupportedInput) for e in errors)
    assert "ELF" in str(errors[1])
    assert "PNG" in str(errors[2])
    for err, path in zip(errors, (rnd, elf, png), strict=True):
        _one_line(err, str(path))


def test_m1_mostly_printable_text_is_kept(tmp_path: Path) -> None:
    """M1: text with a few stray control bytes (≥ 90 % printable) is processed."""
    log = tmp_path / "noisy.log"
    log.write_bytes(b"build ok\x01 step 3 finished\n" * 50)
    (doc,) = _docs(_read(log))
    assert doc.lines[0] == "build ok step 3 finished"


# --- M2 encodings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("café résumé naïve\n".encode("latin-1"), "café résumé naïve"),
        ("\ufefferror: ünïcode\n".encode("utf-16-le"), "error: ünïcode"),
        ("\ufefferror: ünïcode\n".encode("utf-16-be"), "error: ünïcode"),
        ("\ufeffplain utf-8 ✓\n".encode(), "plain utf-8 ✓"),
    ],
)
def test_m2_encodings_decode(tmp_path: Path, raw: bytes, expected: str) -> None:
    """M2: Latin-1, UTF-16 LE/BE with BOM and UTF-8 with BOM decode to the same text."""
    log = tmp_path / "enc.log"
    log.write_bytes(raw)
    (doc,) = _docs(_read(log))
    assert doc.lines == [expected]


def test_m2_invalid_bytes_never_raise(tmp_path: Path) -> None:
    """M2: Shift-JIS, invalid UTF-8 and NULs decode with replacement; numbers stay right."""
    log = tmp_path / "mixed.log"
    log.write_bytes(
        "ビルド失敗\n".encode("shift_jis")
        + b"ok \xff\xfe\xc3 bad\nnul\x00here\n"
        + "✓ end\n".encode()
    )
    (doc,) = _docs(_read(log))
    assert doc.numbers == [1, 2, 3, 4]
    assert doc.lines[2] == "nulhere"
    assert doc.lines[3] == "✓ end"


# --- M3 long lines ---------------------------------------------------------------------------


def test_m3_long_line_is_split_and_flagged(tmp_path: Path) -> None:
    """M3: a line longer than the cap is split into pieces sharing its number, flagged."""
    log = tmp_path / "long.log"
    log.write_bytes(b"a" * (3 * 1024 * 1024 + 5) + b"\nshort\n")
    started = time.perf_counter()
    (doc,) = _docs(_read(log))
    assert time.perf_counter() - started < 5
    assert doc.truncated == (1,)
    assert doc.numbers == [1, 1, 1, 1, 2]
    assert [len(x) for x in doc.lines] == [1024 * 1024] * 3 + [5, 5]


# --- M4 empty inputs -----------------------------------------------------------------------


def test_m4_empty_inputs_yield_empty_documents(tmp_path: Path) -> None:
    """M4: an empty file, a 0-byte .gz, only newlines and only ANSI codes are fine and empty."""
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "empty.gz").write_bytes(b"")
    (tmp_path / "newlines.log").write_bytes(b"\n\n\n")
    (tmp_path / "ansi.log").write_bytes(b"\x1b[0m\x1b[31m\n\x1b[2K\n")
    results = _read(tmp_path)
    assert not _errors(results)
    docs = _docs(results)
    assert len(docs) == 4
    assert all(not line for doc in docs for line in doc.lines)


# --- M5 / M6 gzip damage -------------------------------------------------------------------


def test_m5_truncated_gzip_keeps_what_it_decoded(tmp_path: Path) -> None:
    """M5: a truncated gzip yields its decoded lines and a 'truncated gzip after N bytes'."""
    text = b"".join(b"step %d passed\n" % i for i in range(20_000))
    whole = gzip.compress(text)
    log = tmp_path / "cut.log.gz"
    log.write_bytes(whole[: len(whole) // 2])
    (doc,) = _docs(_read(log))
    assert doc.lines[0] == "step 0 passed"
    assert 0 < len(doc.lines) < 20_000
    (problem,) = doc.problems
    assert isinstance(problem, DecodeError)
    assert "truncated gzip after" in str(problem)
    _one_line(problem, str(log))


def test_m6_concatenated_members_and_trailing_garbage(tmp_path: Path) -> None:
    """M6: every gzip member is read; trailing garbage is reported, not fatal."""
    log = tmp_path / "multi.gz"
    log.write_bytes(gzip.compress(b"one\n") + gzip.compress(b"two\n") + b"GARBAGE!!")
    (doc,) = _docs(_read(log))
    assert doc.lines == ["one", "two"]
    (problem,) = doc.problems
    assert "trailing garbage" in str(problem)


def test_corrupt_gzip_is_one_line_error(tmp_path: Path) -> None:
    """A .gz that is gzip only in its magic bytes is refused with a one-line reason."""
    log = tmp_path / "bad.gz"
    log.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(64))
    (err,) = _errors(_read(log))
    assert isinstance(err, DecodeError)
    _one_line(err, str(log))


# --- M7 bombs ------------------------------------------------------------------------------


def _zeros_member(zf: zipfile.ZipFile, name: str, mib: int) -> None:
    block = bytes(1024 * 1024)
    with zf.open(name, "w", force_zip64=True) as fh:
        for _ in range(mib):
            fh.write(block)


def test_m7_zip_of_zeros_is_rejected_early(tmp_path: Path) -> None:
    """M7: a member of zeros (ratio ≈ 1000:1) is rejected by the ratio cap within 2 s."""
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        _zeros_member(zf, "zeros.txt", 64)
    started = time.perf_counter()
    (err,) = _errors(_read(bomb))
    assert time.perf_counter() - started < 2
    assert isinstance(err, ArchiveRejected)
    assert "200:1" in str(err)


def test_m7_gzip_of_zeros_is_rejected_early(tmp_path: Path) -> None:
    """M7: the same bomb as gzip is rejected while streaming."""
    bomb = tmp_path / "bomb.gz"
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb.write_bytes(b"".join(comp.compress(bytes(1 << 20)) for _ in range(64)) + comp.flush())
    (err,) = _errors(_read(bomb))
    assert isinstance(err, ArchiveRejected)


def test_m7_total_cap_and_overlapping_entries(tmp_path: Path) -> None:
    """M7: many directory entries pointing at one member hit the byte cap, not the disk."""
    member = os.urandom(256 * 1024).hex().encode()  # compresses about 2:1
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", member)
    raw = plain.getvalue()
    # Repeat the central-directory record: every entry reads the same local member.
    eocd = raw.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", raw[eocd + 12 : eocd + 20])
    record = raw[cd_offset : cd_offset + cd_size]
    copies = 40
    tail = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, copies, copies, cd_size * copies, cd_offset, 0
    )
    bomb = tmp_path / "overlap.zip"
    bomb.write_bytes(raw[:cd_offset] + record * copies + tail)
    before = set(tmp_path.iterdir())
    results = _read(bomb, limits=Limits(max_bytes=4 * 1024 * 1024))
    errors = _errors(results)
    assert any(isinstance(e, ArchiveRejected) and "cap" in str(e) for e in errors)
    assert set(tmp_path.iterdir()) == before


def test_m7_nested_archive_is_listed_not_opened(tmp_path: Path) -> None:
    """M7: an archive inside an archive is reported and not opened (depth 1)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep.txt", "deep\n")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("inner.zip", inner.getvalue())
        zf.writestr("inner.bin", gzip.compress(b"x\n"))
        zf.writestr("top.txt", "top\n")
    results = _read(outer)
    assert [d.lines for d in _docs(results)] == [["top"]]
    assert len([e for e in _errors(results) if "inside an archive" in str(e)]) == 2


def test_m7_too_many_members(tmp_path: Path) -> None:
    """M7: more members than the cap rejects the archive."""
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(30):
            zf.writestr(f"m{i}.txt", "x\n")
    (err,) = _errors(_read(many, limits=Limits(max_members=10)))
    assert isinstance(err, ArchiveRejected)


# --- M8 traversal --------------------------------------------------------------------------


def test_m8_hostile_names_are_read_as_streams(tmp_path: Path) -> None:
    """M8: traversal and absolute names are just labels; nothing is written anywhere."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    archive = sandbox / "evil.zip"
    names = ["../../x", "/abs/x", "C:\\x", "a\\..\\..\\x"]
    with zipfile.ZipFile(archive, "w") as zf:
        for name in names:
            zf.writestr(name, f"content of {name}\n")
        link = zipfile.ZipInfo("link")
        link.external_attr = (0o120777) << 16
        zf.writestr(link, "/etc/passwd")
    before = set(tmp_path.rglob("*"))
    cwd_before = set(os.listdir("."))
    results = _read(archive)
    docs = _docs(results)
    assert len(docs) == 4
    assert all(d.name.startswith(f"{archive}!") for d in docs)
    (link_err,) = _errors(results)
    assert "link" in str(link_err)
    assert set(tmp_path.rglob("*")) == before
    assert set(os.listdir(".")) == cwd_before


def test_m8_tar_links_are_not_followed(tmp_path: Path) -> None:
    """M8: tar symlink and hard-link members are listed as problems; files are read."""
    archive = tmp_path / "logs.tar"
    with tarfile.open(archive, "w") as tf:
        data = b"tar log line\n"
        info = tarfile.TarInfo("../escape.log")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
        for kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
            link = tarfile.TarInfo(f"link{kind!r}")
            link.type = kind
            link.linkname = "/etc/passwd"
            tf.addfile(link)
    results = _read(archive)
    assert [d.lines for d in _docs(results)] == [["tar log line"]]
    assert len(_errors(results)) == 2
    assert not (tmp_path.parent / "escape.log").exists()


def test_tar_gz_members_are_read(tmp_path: Path) -> None:
    """A .tar.gz is one archive level: its regular members become documents."""
    archive = tmp_path / "logs.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, text in (("a/build.log", b"compile ok\n"), ("a/test.log", b"2 failed\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tf.addfile(info, io.BytesIO(text))
    docs = _docs(_read(archive))
    assert [(d.name, d.lines) for d in docs] == [
        (f"{archive}!a/build.log", ["compile ok"]),
        (f"{archive}!a/test.log", ["2 failed"]),
    ]


# --- M9 JUnit -------------------------------------------------------------------------------


def test_junit_failures_are_rendered(tmp_path: Path) -> None:
    """A JUnit report becomes lines naming the failing tests and their messages."""
    report = tmp_path / "report.xml"
    report.write_text(
        '<?xml version="1.0"?>\n<testsuite name="api" tests="2" failures="1">'
        '<testcase classname="api.Login" name="test_ok"/>'
        '<testcase classname="api.Login" name="test_bad">'
        '<failure type="AssertionError" message="401 != 200">trace line 1\ntrace line 2</failure>'
        "</testcase></testsuite>"
    )
    (doc,) = _docs(_read(report))
    assert doc.kind == "junit"
    assert "FAILED api.Login.test_bad: AssertionError: 401 != 200" in doc.lines
    assert "    trace line 2" in doc.lines


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><testsuite name="&c;"/>',
        '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<testsuite name="&x;"/>',
        '<?xml version="1.0"?><!DOCTYPE t SYSTEM "http://127.0.0.1:9/x.dtd"><testsuite/>',
        '<testsuite name="unclosed"><testcase>',
    ],
    ids=["billion-laughs", "xxe-file", "external-dtd", "malformed"],
)
def test_m9_hostile_junit_fails_safely(tmp_path: Path, xml: str) -> None:
    """M9: entity expansion, XXE, external DTDs and bad XML fail fast with a reason."""
    report = tmp_path / "report.xml"
    report.write_text(xml)
    started = time.perf_counter()
    (err,) = _errors(_read(report))
    assert time.perf_counter() - started < 1
    assert isinstance(err, DecodeError)
    assert "passwd" not in str(err)
    _one_line(err, str(report))


def test_m9_huge_attribute_is_clipped(tmp_path: Path) -> None:
    """M9: a very large attribute parses within a second and is clipped in the output."""
    report = tmp_path / "big.xml"
    report.write_text('<testsuite name="' + "n" * (8 * 1024 * 1024) + '"/>')
    started = time.perf_counter()
    (doc,) = _docs(_read(report))
    assert time.perf_counter() - started < 1
    assert len(doc.lines[0]) < 10_000


# --- M10 special files -----------------------------------------------------------------------


def test_m10_fifo_and_devices_are_refused(tmp_path: Path) -> None:
    """M10: a FIFO, /dev/zero and /proc/self/mem are refused without blocking."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    started = time.perf_counter()
    errors = _errors(_read(fifo, "/dev/zero", "/proc/self/mem"))
    assert time.perf_counter() - started < 2
    assert len(errors) == 3
    assert all(isinstance(e, UnsupportedInput) for e in errors)
    assert "FIFO" in str(errors[0])


def test_m10_symlink_loop_and_escape_are_detected(tmp_path: Path) -> None:
    """M10: a folder link loop is reported once; a link out of the root is not followed."""
    root = tmp_path / "logs"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.log").write_text("inside\n")
    (root / "a" / "loop").symlink_to(root)
    outside = tmp_path / "secret.log"
    outside.write_text("secret\n")
    (root / "out.log").symlink_to(outside)
    results = _read(root)
    assert [d.lines for d in _docs(results)] == [["inside"]]
    reasons = [str(e) for e in _errors(results)]
    assert any("loop" in r for r in reasons)
    assert any("outside" in r for r in reasons)


def test_m10_many_files_and_deep_folders(tmp_path: Path) -> None:
    """M10: thousands of tiny files and a deep tree are walked without recursion."""
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3000):
        (flat / f"{i:05d}.log").write_text(f"file {i}\n")
    deep = tmp_path / "deep"
    folder = deep
    for _ in range(300):
        folder = folder / "d"
    folder.mkdir(parents=True)
    (folder / "bottom.log").write_text("bottom\n")
    results = _read(flat, deep)
    assert not _errors(results)
    assert len(_docs(results)) == 3001


def test_missing_path_is_one_line(tmp_path: Path) -> None:
    """A path that does not exist is an UnsupportedInput naming it."""
    missing = tmp_path / "nope.log"
    (err,) = _errors(_read(missing))
    _one_line(err, str(missing))


def test_errors_pickle_and_subclass_juggler_error() -> None:
    """InputError values cross process boundaries and belong to the JugglerError tree."""
    from juggler import JugglerError

    err = ArchiveRejected("a.zip!m", "expands more than 200:1")
    clone = pickle.loads(pickle.dumps(err))
    assert isinstance(clone, ArchiveRejected)
    assert isinstance(clone, JugglerError)
    assert (clone.source, clone.reason, str(clone)) == (err.source, err.reason, str(err))
    assert "\n" not in str(InputError("x\ny", "bad\x1b[31m"))
