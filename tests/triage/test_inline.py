"""Which inputs a triage scans in this process, and which on the worker pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from juggler.triage._inline import INLINE_MAX_BYTES, runs_inline

if TYPE_CHECKING:
    from pathlib import Path


def _log(path: Path, size: int) -> str:
    path.write_bytes(b"x" * size)
    return str(path)


def test_inputs_up_to_the_limit_run_inline_and_bigger_ones_on_the_pool(tmp_path: Path) -> None:
    at_limit = _log(tmp_path / "a.log", INLINE_MAX_BYTES)
    assert runs_inline([at_limit])
    assert not runs_inline([_log(tmp_path / "b.log", INLINE_MAX_BYTES + 1)])
    # Logs and baselines together: two halves and one byte more go to the pool.
    half = _log(tmp_path / "c.log", INLINE_MAX_BYTES // 2)
    assert not runs_inline([half, _log(tmp_path / "d.log", INLINE_MAX_BYTES // 2 + 1)])


def test_compressed_folders_and_stdin_count_what_the_scan_will_read(tmp_path: Path) -> None:
    # A .gz counts ten times its size (logs compress about 10:1); stdin's size is unknown.
    assert not runs_inline([_log(tmp_path / "a.log.gz", INLINE_MAX_BYTES // 10 + 1)])
    assert runs_inline([_log(tmp_path / "b.log.gz", INLINE_MAX_BYTES // 10)])
    assert not runs_inline(["-"])
    folder = tmp_path / "logs"
    folder.mkdir()
    for i in range(3):
        _log(folder / f"{i}.log", INLINE_MAX_BYTES // 2)
    assert not runs_inline([str(folder)])
    assert runs_inline([str(tmp_path / "missing.log")])  # refused later, with its reason
