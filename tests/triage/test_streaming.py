"""Every input streams through one bounded path (RELIABILITY.md M7, M14; issue 15 item 1).

Real ``juggler triage`` processes, with the peak RSS of the whole process tree measured by
polling: a zip bomb of 10 GiB of zeros, ``/dev/zero`` piped to stdin, and a legitimate
``.gz`` that must be read as a spooled file by reference, not held in memory. Spill files
are removed after a run, after Ctrl-C, and (by the next run) after a SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import IO, TYPE_CHECKING, Any

import psutil
import pytest

from juggler.triage import ArchiveRejected, InputError, UnsupportedInput
from juggler.triage.ingest import FileSource, SpillArea, iter_sources, read_logs
from juggler.triage.ingest._spool import default_area
from juggler.triage.scrape import plan_chunks
from tests.triage.big_inputs import MiB, gzip_of_repeats, zip_of_repeats

if TYPE_CHECKING:
    from pathlib import Path

#: The issue's bound for the whole process tree, whatever the input (M14).
TREE_LIMIT_MIB = 512
_SPILL = "juggler-spill-"


def _segment(tag: bytes = b"") -> bytes:
    """1 MiB of build-log text that compresses about 10:1 (well under the 200:1 cap)."""
    lines = b"".join(
        b"%s[%05d] worker-%d fetched shard %07d in %d ms, cache %s\n"
        % (tag, i, i % 7, (i * 7919) % 10_000_000, (i * 31) % 997, b"hit" if i % 3 else b"miss")
        for i in range(20_000)
    )
    return lines[: lines.rindex(b"\n", 0, MiB) + 1].ljust(MiB - 1, b"-") + b"\n"


class Measured:
    """A finished process: exit code, outputs, peak RSS of its tree and of itself, wall."""

    def __init__(self, proc: subprocess.Popen[bytes], out: bytes, err: bytes) -> None:
        self.returncode = proc.returncode
        self.stdout = out.decode()
        self.stderr = err.decode()
        self.peak_tree_mib = 0.0
        self.peak_parent_mib = 0.0
        self.wall_s = 0.0

    def document(self) -> dict[str, Any]:
        return json.loads(self.stdout)  # type: ignore[no-any-return]


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    own = proc.memory_info().rss
    total = own
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return own, total


def run_measured(
    args: list[str], *, stdin: IO[bytes] | int | None = None, env: dict[str, str] | None = None
) -> Measured:
    """Run ``juggler`` with ``args``, polling the RSS of its process tree every 20 ms."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "juggler", *args],
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=out_file,  # files, not pipes: a full pipe would stall the run
            stderr=err_file,
            env={**os.environ, **(env or {})},
        )
        try:
            watched = psutil.Process(proc.pid)
            peak_own = peak_tree = 0
            while proc.poll() is None:
                try:
                    own, tree = _tree_rss(watched)
                except psutil.NoSuchProcess:
                    break
                peak_own, peak_tree = max(peak_own, own), max(peak_tree, tree)
                time.sleep(0.02)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:  # the test failed or timed out: leave nothing running
                proc.kill()
                proc.wait()
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    result = Measured(proc, out, err)
    result.peak_tree_mib = peak_tree / MiB
    result.peak_parent_mib = peak_own / MiB
    result.wall_s = time.monotonic() - started
    return result


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_zip_bomb_of_10_gib_zeros_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """M7/M14: one member of 10 GiB of zeros (10 MB zipped) is refused; tree ≤ 512 MiB.

    Before streaming, the parent decompressed up to the 1 GiB cap into memory (1,079 MiB).
    """
    bomb = tmp_path / "bomb.zip"
    size = zip_of_repeats(bomb, "zeros.log", bytes(MiB), 10 * 1024)
    assert size == 10 * 1024**3
    assert bomb.stat().st_size < 12 * MiB
    done = run_measured(["triage", str(bomb), "--json", "--quiet", "--no-kb"])
    assert done.returncode == 3, done.stderr  # every input refused
    (refused,) = done.document()["rejected_inputs"]
    assert "zeros.log" in refused["reason"]
    assert "200:1" in refused["reason"]
    assert done.peak_tree_mib <= TREE_LIMIT_MIB, done.peak_tree_mib
    # What a refusal may cost: the interpreter and the ratio check's few MiB, not the cap.
    assert done.peak_parent_mib < 200, done.peak_parent_mib


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_dev_zero_on_stdin_is_refused_as_binary_in_bounded_memory() -> None:
    """M14: ``cat /dev/zero | juggler triage -`` is binary on its first block (was 2 GiB)."""
    with subprocess.Popen(["cat", "/dev/zero"], stdout=subprocess.PIPE) as cat:
        assert cat.stdout is not None
        done = run_measured(["triage", "-", "--json", "--quiet", "--no-kb"], stdin=cat.stdout)
        cat.stdout.close()
        cat.kill()
    assert done.returncode == 3, done.stderr
    (refused,) = done.document()["rejected_inputs"]
    assert refused["path"] == "<stdin>"
    assert "binary" in refused["reason"]
    assert done.peak_tree_mib <= TREE_LIMIT_MIB, done.peak_tree_mib
    assert done.peak_parent_mib < 200, done.peak_parent_mib


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_large_gz_is_read_by_reference_not_held(tmp_path: Path) -> None:
    """M14: a .gz of 48 MiB of text: the parent's peak grows by far less than the log.

    Compared with the same triage of a tiny .gz, so the interpreter's own size cancels out.
    Before streaming the parent held the text and a copy per chunk (≥ 2× the log).
    """
    tiny, big = tmp_path / "tiny.log.gz", tmp_path / "big.log.gz"
    gzip_of_repeats(tiny, _segment(), 1)
    size = gzip_of_repeats(big, _segment(), 48)
    base = run_measured(["triage", str(tiny), "--json", "--quiet", "--no-kb"])
    done = run_measured(["triage", str(big), "--json", "--quiet", "--no-kb"])
    assert base.returncode == done.returncode == 0, done.stderr
    (entry,) = done.document()["inputs"]
    assert entry["lines"] == size // len(_segment()) * _segment().count(b"\n")
    growth = done.peak_parent_mib - base.peak_parent_mib
    assert growth < size / MiB / 2, (growth, base.peak_parent_mib, done.peak_parent_mib)
    assert done.peak_tree_mib <= TREE_LIMIT_MIB


def test_gz_and_stdin_become_spooled_file_sources(tmp_path: Path) -> None:
    """Decompressed and piped text is a file in the spill area: chunks are references."""
    log = tmp_path / "ci.log.gz"
    gzip_of_repeats(log, _segment(), 3)
    with SpillArea(str(tmp_path)) as area, (tmp_path / "plain.log").open("wb+") as stdin:
        stdin.write(_segment(b"in "))
        stdin.seek(0)
        sources = list(iter_sources([log, "-"], stdin=stdin, spill=area))
        assert all(isinstance(s, FileSource) and s.spilled for s in sources)
        for source in sources:
            assert isinstance(source, FileSource)
            assert os.path.dirname(source.path) == area.path
            chunks = plan_chunks(source, chunk_bytes=MiB)
            assert len(chunks) >= 1
            assert all(c.data is None for c in chunks)
        assert [s.size for s in sources if isinstance(s, FileSource)] == [3 * MiB, MiB]
        folder = area.path
        assert folder is not None
        assert os.path.isdir(folder)
    assert not os.path.exists(folder)


def test_binary_stream_is_refused_on_its_first_block(tmp_path: Path) -> None:
    """Only the sample is read from a binary stream: the rest is never consumed."""

    class Endless:
        """A stdin that never ends and counts what was read from it."""

        def __init__(self) -> None:
            self.read_bytes = 0

        def read(self, n: int = -1) -> bytes:
            n = MiB if n is None or n < 0 else n
            self.read_bytes += n
            return b"\x00\x01\x02\x03" * (n // 4)

    stream = Endless()
    with SpillArea(str(tmp_path)) as area:
        (refused,) = list(iter_sources(["-"], stdin=stream, spill=area))  # type: ignore[list-item]
    assert isinstance(refused, UnsupportedInput)
    assert "binary" in str(refused)
    assert stream.read_bytes <= 2 * MiB


def test_read_logs_leaves_no_spill_files(tmp_path: Path) -> None:
    """Library readers: each spooled file goes once its document is read."""
    log = tmp_path / "x.log.gz"
    gzip_of_repeats(log, b"step ok\n" * 1000, 2)
    area = default_area()
    before = set(os.listdir(area.path)) if area.path else set()
    (doc,) = list(read_logs([log]))
    assert not isinstance(doc, InputError)
    assert len(doc.lines) == 2000
    assert area.path is not None  # the .gz was spooled there...
    assert set(os.listdir(area.path)) - before == set()  # ...and its file is gone


def test_gzip_bomb_refused_without_spooling_the_cap(tmp_path: Path) -> None:
    """A gzip of 10 GiB of repeated text stops at the ratio check, long before the cap."""
    bomb = tmp_path / "bomb.log.gz"
    gzip_of_repeats(bomb, b"a" * MiB, 10 * 1024, crc=False)
    with SpillArea(str(tmp_path)) as area:
        (refused,) = list(iter_sources([bomb], spill=area))
        assert isinstance(refused, ArchiveRejected)
        assert "200:1" in str(refused)
        assert area.path is None or os.listdir(area.path) == []


def _spill_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(_SPILL))


def _wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
@pytest.mark.crash
@pytest.mark.timeout(120)
def test_spill_area_is_removed_after_a_run_ctrl_c_and_sigkill(tmp_path: Path) -> None:
    """Spill files never outlive a run: normal exit, SIGINT mid-spool, and SIGKILL (swept)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp)}
    small = tmp_path / "small.log.gz"
    gzip_of_repeats(small, _segment(), 2)
    done = run_measured(["triage", str(small), "--json", "--quiet", "--no-kb"], env=env)
    assert done.returncode == 0, done.stderr
    assert _spill_dirs(temp) == []
    # A stdin that keeps coming: the run is still spooling when the signal arrives.
    for sig in (signal.SIGINT, signal.SIGKILL):
        feeder = subprocess.Popen(
            ["sh", "-c", 'while :; do cat "$0"; done', str(tmp_path / "seg.log")],
            stdout=subprocess.PIPE,
        )
        (tmp_path / "seg.log").write_bytes(_segment())
        assert feeder.stdout is not None
        proc = subprocess.Popen(
            [sys.executable, "-m", "juggler", "triage", "-", "--quiet", "--no-kb"],
            stdin=feeder.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
        )
        feeder.stdout.close()
        try:
            assert _wait_for(lambda: _spill_dirs(temp), 60), "no spill folder appeared"
            proc.send_signal(sig)
            code = proc.wait(timeout=30)
        finally:
            feeder.kill()
            feeder.wait()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stderr is not None
            proc.stderr.close()
        if sig == signal.SIGINT:
            assert code == 130
            assert _spill_dirs(temp) == []
        else:
            assert code == -signal.SIGKILL
            assert len(_spill_dirs(temp)) == 1  # a killed process cannot clean up...
            again = run_measured(["triage", str(small), "--json", "--quiet", "--no-kb"], env=env)
            assert again.returncode == 0
            assert _spill_dirs(temp) == []  # ...the next run sweeps what a dead pid left
