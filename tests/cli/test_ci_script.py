"""CI installs what the tests need, and a missing browser fails the browser tests there."""

from __future__ import annotations

import pytest

from tests.engine import _browser

from ._run import REPO


def test_browser_tests_fail_instead_of_skipping_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    assert _browser.needs_chromium().args == (False,)  # not skipped: the test runs...
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        _browser.require_chromium()  # ...and fails, naming the fix
    monkeypatch.delenv("CI")
    assert _browser.needs_chromium().args == (True,)  # a developer without it is spared


def test_ci_script_installs_chromium_and_never_falls_back_to_skipping() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install" in script
    assert "chromium" in script
    assert 'export CI="${CI:-true}"' in script
    assert "skip" not in script.lower()
    assert script.rstrip().endswith("exec make test")
