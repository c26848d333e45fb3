"""Crashers the zip fuzz target found, minimised (RELIABILITY.md F2)."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from juggler.triage import InputError, read_logs

if TYPE_CHECKING:
    from pathlib import Path


def test_member_without_a_name_is_read(tmp_path: Path) -> None:
    """fuzz_zip: a member named "" made zipfile's is_dir() raise IndexError."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr(zipfile.ZipInfo(""), b"no name\n")
        zf.writestr("dir/", b"")
        zf.writestr("dir/step.log", b"step ok\n")
    archive = tmp_path / "steps.zip"
    archive.write_bytes(data.getvalue())
    results = list(read_logs([archive]))
    assert not [r for r in results if isinstance(r, InputError)]
    assert [(r.name, r.lines) for r in results if not isinstance(r, InputError)] == [
        (f"{archive}!", ["no name"]),
        (f"{archive}!dir/step.log", ["step ok"]),
    ]
