"""Crashers the JUnit fuzz target found, minimised (RELIABILITY.md F2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from juggler.triage import DecodeError, read_logs
from juggler.triage.ingest._junit import render_junit

if TYPE_CHECKING:
    from pathlib import Path


def test_unknown_xml_encoding_is_a_decode_error() -> None:
    """fuzz_junit, crash-e29e68b0: ``encoding="UPF-8"`` raised LookupError from expat."""
    data = b'<?xml version="1.0" encoding="UPF-8"?><testsuite name="s"/>'
    with pytest.raises(DecodeError, match="UPF-8"):
        render_junit(data, name="report.xml")


def test_unknown_xml_encoding_file_is_refused_in_one_line(tmp_path: Path) -> None:
    """The same report as a file: refused with a reason, never a traceback."""
    report = tmp_path / "report.xml"
    report.write_bytes(b'<?xml version="1.0" encoding="no-such-codec"?>\n<testsuite name="s"/>')
    (refused,) = list(read_logs([report]))
    assert isinstance(refused, DecodeError)
    assert "\n" not in str(refused)
