"""Crashers the zip fuzz target found, minimised (RELIABILITY.md F2)."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from juggler.triage import InputError, UnsupportedInput, read_logs

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


def test_unsupported_zip_version_is_refused_in_one_line(tmp_path: Path) -> None:
    """fuzz_zip: a "version needed" of 23.5 made zipfile.ZipFile raise NotImplementedError."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("step.log", b"step ok\n")
    raw = bytearray(data.getvalue())
    central = raw.index(b"PK\x01\x02")
    raw[central + 6 : central + 8] = (235).to_bytes(2, "little")  # version needed: 23.5
    archive = tmp_path / "future.zip"
    archive.write_bytes(bytes(raw))
    (refused,) = list(read_logs([archive]))
    assert isinstance(refused, UnsupportedInput)
    assert "zip file version 23.5" in str(refused)
    assert "\n" not in str(refused)


def test_lzma_member_with_bad_properties_is_refused_in_one_line(tmp_path: Path) -> None:
    """fuzz_zip, crash-a7adbbce: an LZMA member's invalid properties raised LZMAError.

    The other members of the archive are still read.
    """
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", compression=zipfile.ZIP_LZMA) as zf:
        zf.writestr("bad.log", b"error: boom\n" * 10)
        zf.writestr("good.log", b"step ok\n")
    raw = bytearray(data.getvalue())
    # The member's data starts after the 30-byte local header and its name; its LZMA header
    # is version (2 bytes), properties size (2), then the lc/lp/pb byte: 0xFF is invalid.
    raw[30 + len("bad.log") + 4] = 0xFF
    archive = tmp_path / "lzma.zip"
    archive.write_bytes(bytes(raw))
    results = list(read_logs([archive]))
    (refused,) = [r for r in results if isinstance(r, InputError)]
    assert refused.source == f"{archive}!bad.log"
    assert "damaged member" in str(refused)
    assert "\n" not in str(refused)
    assert [r.lines for r in results if not isinstance(r, InputError)] == [["step ok"]]
