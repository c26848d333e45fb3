"""JUnit XML reports rendered as log lines.

Parsed with ``defusedxml`` (DTDs, entities and external references forbidden), so billion
laughs and XXE fail safely whatever the expat version. Only the parts a triage needs are
kept: suites, failing and erroring test cases with their messages and text, skipped counts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final
from xml.etree.ElementTree import ParseError

# No stubs ship with defusedxml (types-defusedxml is not a dev dependency yet).
import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .._errors import DecodeError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = ["looks_like_junit", "render_junit"]

# An XML prolog (declaration, comments, a DOCTYPE: refused later) or the root element itself.
_XML_START: Final = re.compile(rb"(?:\xef\xbb\xbf)?\s*<(?:\?xml|!--|!DOCTYPE|testsuites?[\s>/])")
# Attribute values and texts are shown up to this many characters each.
_MAX_FIELD_CHARS: Final = 4000


def looks_like_junit(sample: bytes) -> bool:
    """True if ``sample`` (the first bytes) looks like a JUnit XML report."""
    return _XML_START.match(sample) is not None and b"<testsuite" in sample


def _field(element: Element, name: str) -> str:
    return (element.get(name) or "")[:_MAX_FIELD_CHARS]


def render_junit(data: bytes, *, name: str) -> str:
    """Render a JUnit XML report as text, one finding per block.

    Example output::

        testsuite tests.test_api: tests=12 failures=1 errors=0 skipped=2 time=1.5
        FAILED tests.test_api.TestLogin.test_bad_password: AssertionError: 401 != 200
            <failure text, line by line>

    Raises:
        DecodeError: The XML is malformed or uses forbidden constructs (DTDs, entities).
    """
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as err:
        # LookupError: the XML declaration names an encoding Python does not know
        # (found by fuzzing, tests/fuzz/regressions/test_junit.py).
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DecodeError(name, f"unsafe or malformed JUnit XML ({reason})") from None
    out: list[str] = []
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        out.append(
            f"testsuite {_field(suite, 'name')}: tests={_field(suite, 'tests')} "
            f"failures={_field(suite, 'failures')} errors={_field(suite, 'errors')} "
            f"skipped={_field(suite, 'skipped')} time={_field(suite, 'time')}"
        )
        for case in suite.iter("testcase"):
            test = ".".join(p for p in (_field(case, "classname"), _field(case, "name")) if p)
            for outcome, label in (("failure", "FAILED"), ("error", "ERROR")):
                for found in case.findall(outcome):
                    kind = _field(found, "type")
                    message = _field(found, "message")
                    head = ": ".join(p for p in (kind, message) if p)
                    out.append(f"{label} {test}" + (f": {head}" if head else ""))
                    text = (found.text or "")[: _MAX_FIELD_CHARS * 4]
                    out.extend(f"    {line}" for line in text.strip("\n").splitlines())
            for stream in ("system-out", "system-err"):
                for found in case.findall(stream):
                    text = (found.text or "")[: _MAX_FIELD_CHARS * 4]
                    if text.strip() and (
                        case.find("failure") is not None or case.find("error") is not None
                    ):
                        out.append(f"{stream} of {test}:")
                        out.extend(f"    {line}" for line in text.strip("\n").splitlines())
    return "\n".join(out) + ("\n" if out else "")
