"""Seed inputs for the fuzz targets, written here (none copied from shared data).

``python -m tests.fuzz.seeds DIR`` writes one folder of seeds per target into ``DIR``;
the PR-tier test runs every target over the same seeds.
"""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
import zipfile
from pathlib import Path

_LOG = b"""\
2024-05-01T10:00:00.1Z ##[group]Run pytest -q
collecting ... collected 3 items
tests/test_api.py::test_login PASSED [ 33%]
tests/test_api.py::test_logout FAILED [ 66%]
\x1b[31mE   AssertionError: 401 != 200\x1b[0m
progress 10%\rprogress 100%
Traceback (most recent call last):
  File "/srv/app/main.py", line 12, in <module>
    run()
KeyError: 'region'
FAILED tests/test_api.py::test_logout - AssertionError: 401 != 200
make: *** [Makefile:9: test] Error 1
##[error]Process completed with exit code 2.
"""

_JUNIT = b"""\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="api" tests="3" failures="1" errors="1" skipped="1" time="0.4">
<testcase classname="api.Login" name="test_ok" time="0.1"/>
<testcase classname="api.Login" name="test_bad"><failure type="AssertionError"
 message="401 != 200">trace line 1
trace line 2</failure></testcase>
<testcase classname="api.Db" name="test_conn"><error type="OSError" message="refused"/>
</testcase>
<testcase classname="api.Db" name="test_skip"><skipped/></testcase>
</testsuite></testsuites>
"""


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def seeds() -> dict[str, dict[str, bytes]]:
    """Seeds per target: name -> bytes."""
    utf16 = "\ufeffbuild step\nerror: boom\n".encode("utf-16-le")
    long_line = b"." * 600 + b" FAILED tests/a.py::t - RuntimeError: boom\nnext\n"
    gz = gzip.compress(_LOG)
    return {
        "plain": {
            "log": _LOG,
            "crlf": _LOG.replace(b"\n", b"\r\n"),
            "no-final-newline": _LOG.rstrip(b"\n"),
            "long-line": long_line,
            "latin1": "Fehler: Datei nicht gefunden \xe4\xf6\n".encode("latin-1"),
            "utf16": utf16,
            "empty": b"",
            "nul": b"ok\x00\x00\nerror\n",
        },
        "gz": {
            "log": gz,
            "two-members": gz + gzip.compress(b"second member\n"),
            "truncated": gz[: len(gz) // 2],
            "garbage": gz + b"trailing bytes",
            "tar-gz": gzip.compress(_tar({"a/build.log": _LOG, "b/x.xml": _JUNIT})),
            "long-line": gzip.compress(long_line * 3),
        },
        "zip": {
            "steps": _zip({"1_build.txt": _LOG, "2_test.txt": long_line, "dir/": b""}),
            "stored": _zip({"a.log": _LOG}, zipfile.ZIP_STORED),
            "nested": _zip({"inner.zip": _zip({"x.log": b"x\n"}), "top.log": b"top\n"}),
            "junit": _zip({"report.xml": _JUNIT}),
            "gz-member": _zip({"x.log.gz": gz}),
        },
        "junit": {
            "report": _JUNIT,
            "minimal": b'<testsuite name="s" tests="1"><testcase name="t"/></testsuite>',
            "error": _JUNIT.replace(b"failure", b"error"),
        },
    }


def write_seeds(folder: Path) -> None:
    for target, items in seeds().items():
        where = folder / target
        where.mkdir(parents=True, exist_ok=True)
        for name, data in items.items():
            (where / name).write_bytes(data)


if __name__ == "__main__":
    write_seeds(Path(sys.argv[1]))
