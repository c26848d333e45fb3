"""Memo files are written atomically: an interrupted write never leaves half a memo."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from juggler.triage.deliver import write_atomic, write_memos
from juggler.triage.synth import build_memo

from .test_memo import sample_triage

if TYPE_CHECKING:
    from pathlib import Path


def test_writes_all_three_formats(tmp_path: Path) -> None:
    """memo.md, memo.html and memo.json appear; the JSON embeds the triage and the memo."""
    triage = sample_triage()
    result = write_memos(tmp_path / "out", triage, build_memo(triage), timeline_href="tl.html")
    assert result.delivered
    assert result.error is None
    paths = dict(result.detail)
    assert set(paths) == {"md", "html", "json"}
    assert json.loads((tmp_path / "out" / "memo.json").read_text())["memo"]["headline"]
    assert 'href="tl.html"' in (tmp_path / "out" / "memo.html").read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "memo.html",
        "memo.json",
        "memo.md",
    ]


def test_interrupted_write_keeps_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between writing and renaming (here: Ctrl-C in fsync) leaves the old memo whole."""
    target = tmp_path / "memo.md"
    target.write_text("old memo\n")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new memo " * 10_000)
    monkeypatch.undo()
    assert target.read_text() == "old memo\n"
    assert [p.name for p in tmp_path.iterdir()] == ["memo.md"]  # no .tmp left behind


def test_failed_rename_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the rename itself fails the target is untouched and the temp file removed."""
    target = tmp_path / "memo.json"
    target.write_text("{}")

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"{...}")
    monkeypatch.undo()
    assert target.read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["memo.json"]


def test_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    """Every read during 50 rewrites sees one complete version."""
    import threading

    target = tmp_path / "memo.md"
    versions = [f"v{n}\n" * 20_000 for n in range(50)]
    write_atomic(target, versions[0])
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(target.read_text())

    thread = threading.Thread(target=reader, name="memo-reader")
    thread.start()
    try:
        for text in versions[1:]:
            write_atomic(target, text)
    finally:
        stop.set()
        thread.join()
    assert seen <= set(versions)


def test_unwritable_directory_is_a_failed_result(tmp_path: Path) -> None:
    """A path under a regular file cannot be a directory: reported, not raised."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    triage = sample_triage()
    result = write_memos(blocker / "out", triage, build_memo(triage))
    assert not result.delivered
    assert result.error is not None
    assert "Error" in result.error


def test_unknown_format_is_a_failed_result(tmp_path: Path) -> None:
    """An unknown format is reported; formats before it were written."""
    triage = sample_triage()
    result = write_memos(tmp_path, triage, build_memo(triage), formats=("md", "pdf"))
    assert not result.delivered
    assert "pdf" in (result.error or "")
    assert dict(result.detail) == {"md": str(tmp_path / "memo.md")}


def test_mode_is_applied(tmp_path: Path) -> None:
    """The new file gets the requested permission bits (mkstemp alone would give 0600)."""
    path = write_atomic(tmp_path / "m.md", "x", mode=0o640)
    assert path.stat().st_mode & 0o777 == 0o640
