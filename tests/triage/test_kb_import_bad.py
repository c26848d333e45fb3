"""``juggler kb import`` refuses every bad file with one line and exit 3, never crashes."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

BAD: dict[str, tuple[str, bytes, str]] = {
    # name: (file name, content, words the one-line reason must hold)
    "deep-json": ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
    "deep-json-under-python-limit": ("d.json", b"[" * 500 + b"]" * 500, "nested deeper"),
    "deep-yaml": ("deep.yaml", b"a: " + b"{x: " * 500 + b"1" + b"}" * 500, "nested deeper"),
    "huge-int": ("n.json", b'{"causes": [' + b"9" * 5000 + b"]}", "invalid number"),
    "nan-time": (
        "nan.json",
        b'{"incidents": [{"created_at": NaN, "resolution": {"cause": "x"}}]}',
        "created_at",
    ),
    "inf-time": ("inf.json", b'{"incidents": [{"created_at": 1e999}]}', "created_at"),
    "invalid-utf8": ("bad.json", b'\xff\xfe{"causes": []}', "not UTF-8"),
    "truncated": ("t.json", b'{"causes": [{"name": "x", "indic', "invalid JSON"),
    "wrong-type": ("w.json", b'{"causes": [{"name": 5}]}', "must be a string"),
    "wrong-shape": ("s.json", b'{"incidents": {"a": 1}}', "must be a list"),
    "bad-regex": ("r.yaml", b"causes: [{name: x, indications: ['(open']}]", "not a valid regex"),
    "scalar": ("x.yaml", b"42", "expected a list"),
}


def _import(
    tmp_path: Path, name: str, data: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    args = [sys.executable, "-m", "juggler", "kb", "--kb", str(tmp_path / "kb.sqlite3")]
    return subprocess.run(
        [*args, "import", name],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_import_is_one_line_naming_file_and_reason(tmp_path: Path, case: str) -> None:
    """Exit 3 (the input refused), one stderr line with the file and the reason."""
    name, content, reason = BAD[case]
    (tmp_path / name).write_bytes(content)
    done = _import(tmp_path, name)
    err = done.stderr.decode()
    assert done.returncode == 3, err
    assert len(err.strip().splitlines()) == 1, err
    assert name in err
    assert reason in err
    assert "internal error" not in err
    assert "Traceback" not in err


def test_bad_stdin_is_refused_the_same_way(tmp_path: Path) -> None:
    """``-`` with invalid UTF-8 or deep nesting: exit 3, one line."""
    for data in (b"\xff\xfe\x00", b"[" * 50_000):
        done = _import(tmp_path, "-", data)
        assert done.returncode == 3, done.stderr
        assert len(done.stderr.decode().strip().splitlines()) == 1


def test_a_good_import_still_works(tmp_path: Path) -> None:
    """The refusals do not catch valid files: a cause and an incident are imported."""
    (tmp_path / "ok.yaml").write_text(
        "causes:\n  - name: flaky-dns\n    indications: ['Temporary failure in name resolution']\n"
        "incidents:\n  - created_at: 1700000000\n    resolution: {cause: flaky-dns}\n"
    )
    done = _import(tmp_path, "ok.yaml")
    assert done.returncode == 0, done.stderr
    assert b"imported 1 causes" in done.stdout
    assert b"and 1 incidents" in done.stdout
