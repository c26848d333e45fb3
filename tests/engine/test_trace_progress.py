"""Live progress: when it shows, where it writes, and that counting is all ``advance`` does."""

from __future__ import annotations

import io
import threading

import pytest

from juggler.engine._trace._progress import open_progress, should_show


class _Tty(io.StringIO):
    """A capture stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_should_show_only_on_a_terminal(plain_env: None) -> None:
    assert should_show(_Tty())
    assert not should_show(io.StringIO())
    assert not should_show(_Tty(), quiet=True)


def test_should_show_respects_dumb_terminals_and_keeps_bars_without_colour() -> None:
    assert not should_show(_Tty(), environ={"TERM": "dumb"})
    assert not should_show(_Tty(), environ={"TERM": "unknown"})
    # NO_COLOR asks for no colour, not for no progress: rich draws the bars uncoloured.
    assert should_show(_Tty(), environ={"TERM": "xterm", "NO_COLOR": "1"})


def test_should_show_on_a_closed_stream_is_false() -> None:
    closed = io.StringIO()  # isatty() on a closed stream raises ValueError
    closed.close()
    assert not should_show(closed, environ={})


def test_disabled_progress_only_counts(capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    with open_progress(["a", "b"], enabled=False, stream=stream) as progress:
        progress.advance(0)
        progress.advance(1, 5)
        progress.advance(0)
        assert not progress.is_live
    assert progress.counts == (2, 5)
    assert stream.getvalue() == ""
    assert capsys.readouterr() == ("", "")


def test_auto_detection_stays_off_on_a_pipe(
    plain_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_progress(["a"], stream=io.StringIO(), delay_s=0) as progress:
        progress.advance(0)
        assert not progress.is_live
    assert capsys.readouterr() == ("", "")


def test_quiet_wins_over_enabled() -> None:
    stream = _Tty()
    with open_progress(["a"], enabled=True, quiet=True, stream=stream, delay_s=0) as progress:
        assert not progress.is_live
    assert stream.getvalue() == ""


def test_enabled_progress_draws_bars_on_its_stream_not_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = io.StringIO()
    names = ["fetch", "[bold]parse[/bold]"]  # user text: markup must show as typed
    with open_progress(names, enabled=True, stream=stream, delay_s=0) as progress:
        live_inside = progress.is_live
        progress.set_total(0, 10)
        progress.advance(0, 4)
        progress.advance(1, 7)
    out = stream.getvalue()
    assert live_inside
    assert not progress.is_live
    assert "fetch" in out
    assert "[bold]parse[/bold]" in out
    assert "4/10" in out  # the last frame shows the counters as they ended
    assert capsys.readouterr().out == ""


def test_bars_wait_for_the_delay(capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    before = _threads()
    with open_progress(["a"], enabled=True, stream=stream, delay_s=30) as progress:
        progress.advance(0)
        assert not progress.is_live  # a short run never shows bars
    assert stream.getvalue() == ""
    assert _threads() <= before  # the delay timer is gone
    assert capsys.readouterr() == ("", "")


def test_bars_appear_after_the_delay() -> None:
    stream = io.StringIO()
    with open_progress(["a"], enabled=True, stream=stream, delay_s=0.05) as progress:
        for _ in range(200):
            if progress.is_live:
                break
            threading.Event().wait(0.01)  # polling a condition set by the timer thread
        assert progress.is_live
    assert "a" in stream.getvalue()
