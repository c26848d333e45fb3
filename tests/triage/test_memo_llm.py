"""The optional LLM summary against a real local OpenAI-compatible server (S9)."""

from __future__ import annotations

import asyncio
import json
import time

from juggler.triage.synth import build_memo
from juggler.triage.synth.llm import LlmSettings, compact_extract, synthesise
from juggler.triage.synth.render import render_html, render_markdown

from .test_deliver_webhooks import LocalServer, Reply, Seen
from .test_memo import md_parser, sample_triage

API_KEY = "sk-local-test-8d1e5c"


def sse(*pieces: str, done: bool = True) -> list[bytes]:
    """An OpenAI-style chat-completions stream of ``pieces``."""
    chunks = [
        b"data: "
        + json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}).encode()
        + b"\n\n"
        for p in pieces
    ]
    return [b": keep-alive\n\n", *chunks, *([b"data: [DONE]\n\n"] if done else [])]


def stream_reply(*pieces: str) -> Reply:
    return Reply(200, content_type="text/event-stream", chunks=sse(*pieces))


def settings(url: str, **options: object) -> LlmSettings:
    return LlmSettings(url=f"{url}/v1", model="tiny", api_key=API_KEY, **options)  # type: ignore[arg-type]


def test_streamed_summary_is_used_and_the_request_is_compact() -> None:
    """The SSE answer becomes the summary; the request holds the extract, not the log."""
    triage = sample_triage()
    with LocalServer(lambda n, s: stream_reply("The price ", "field rejects strings.")) as server:
        memo = asyncio.run(synthesise(triage, llm=settings(server.url, max_input_chars=4000)))
        (seen,) = server.seen
    assert memo.source == "llm"
    assert memo.summary == "The price field rejects strings."
    assert memo.headline == build_memo(triage).headline  # the facts stay extractive
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["Authorization"] == f"Bearer {API_KEY}"
    request = json.loads(seen.body)
    assert request["stream"] is True
    assert request["model"] == "tiny"
    extract = request["messages"][1]["content"]
    assert len(extract) <= 4000
    assert json.loads(extract)["findings"][0]["where"] == "build.log:1406-1410"


def test_slow_server_falls_back_at_the_deadline() -> None:
    """A server slower than the deadline: the extractive memo, noted, close to the deadline."""
    with LocalServer(lambda n, s: Reply(hang_s=15.0)) as server:
        started = time.monotonic()
        memo = asyncio.run(synthesise(sample_triage(), llm=settings(server.url, deadline_s=0.5)))
        elapsed = time.monotonic() - started
    assert memo.source == "extractive"
    assert memo.summary is None
    assert 0.5 <= elapsed < 3.0  # generous upper bound: shared, noisy cores
    assert any("0.5 s deadline" in n and "extractive memo shown" in n for n in memo.notes)
    assert "0.5 s deadline" in render_markdown(memo)


def test_stream_stalling_mid_answer_also_falls_back() -> None:
    """Headers and a first chunk arrive, then silence: the deadline still applies."""

    def script(n: int, s: Seen) -> Reply:
        chunks = sse("partial", done=False)
        return Reply(200, content_type="text/event-stream", chunks=chunks, stall_s=15.0)

    with LocalServer(script) as server:
        started = time.monotonic()
        memo = asyncio.run(synthesise(sample_triage(), llm=settings(server.url, deadline_s=0.5)))
        elapsed = time.monotonic() - started
    assert memo.summary is None  # a half answer is not used
    assert memo.source == "extractive"
    assert 0.5 <= elapsed < 3.0
    assert "deadline" in memo.notes[-1]


def test_http_error_falls_back_with_a_note_without_the_url() -> None:
    """HTTP 500 from the API: fallback; the note gives the status, never the URL."""
    with LocalServer(lambda n, s: Reply(500, b"overloaded")) as server:
        memo = asyncio.run(synthesise(sample_triage(), llm=settings(server.url)))
    assert memo.source == "extractive"
    (note,) = memo.notes
    assert "HTTP 500" in note
    assert server.url not in note


def test_refused_connection_and_garbage_fall_back() -> None:
    """No server, or a non-JSON stream: fallback, no exception."""
    with LocalServer(lambda n, s: Reply()) as server:
        url = server.url
    memo = asyncio.run(synthesise(sample_triage(), llm=settings(url)))
    assert memo.source == "extractive"
    assert "ConnectError" in memo.notes[-1]
    garbage = Reply(200, content_type="text/event-stream", chunks=[b"data: {not json\n\n"])
    with LocalServer(lambda n, s: garbage) as server:
        memo = asyncio.run(synthesise(sample_triage(), llm=settings(server.url)))
    assert memo.source == "extractive"


def test_non_streaming_json_answer_is_accepted() -> None:
    """A server that ignores ``stream`` and answers once in JSON still works."""
    body = json.dumps({"choices": [{"message": {"content": "One shot."}}]}).encode()
    with LocalServer(lambda n, s: Reply(200, body, content_type="application/json")) as server:
        memo = asyncio.run(synthesise(sample_triage(), llm=settings(server.url)))
    assert memo.summary == "One shot."


def test_hostile_output_is_capped_and_escaped() -> None:
    """Markup, links, workflow commands and a flood from the model are cut and rendered inert."""
    hostile = (
        "<script>alert(1)</script> [click](javascript:alert(1)) @everyone\n"
        "::add-mask::x\n<img src=http://evil.example/x.png>"
    )
    flood = hostile + "A" * 50_000
    with LocalServer(lambda n, s: stream_reply(flood[:200], flood[200:])) as server:
        memo = asyncio.run(
            synthesise(sample_triage(), llm=settings(server.url, max_output_chars=500))
        )
    assert memo.summary is not None
    assert len(memo.summary) <= 500
    assert any("cut at 500 characters" in n for n in memo.notes)
    html = render_html(memo)
    assert "<script>alert(1)" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    rendered = md_parser().render(render_markdown(memo))
    assert "<script>" not in rendered
    assert "<img" not in rendered
    assert 'href="javascript' not in rendered


def test_extract_is_capped_and_drops_excerpts_first() -> None:
    """The extract fits the cap: excerpts shrink, then low-ranked findings go."""
    memo = build_memo(sample_triage())
    full = compact_extract(memo, max_chars=100_000)
    assert "excerpt" in full
    small = compact_extract(memo, max_chars=1200)
    assert len(small) <= 1200
    assert json.loads(small)["headline"] == memo.headline


def test_synthesis_overlaps_with_another_coroutine() -> None:
    """As an aio branch, synthesis awaits the LLM while a sibling (retrieval) runs."""
    spans: dict[str, tuple[float, float]] = {}

    async def timed(name: str, coro: object) -> None:
        start = time.monotonic()
        await coro  # type: ignore[misc]
        spans[name] = (start, time.monotonic())

    async def retrieval() -> None:
        await asyncio.sleep(0.3)

    async def main(url: str) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(timed("synth", synthesise(sample_triage(), llm=settings(url))))
            tg.create_task(timed("retrieve", retrieval()))

    def script(n: int, s: Seen) -> Reply:
        time.sleep(0.3)  # the model "thinks"
        return stream_reply("ok")

    with LocalServer(script) as server:
        asyncio.run(main(server.url))
    (s0, s1), (r0, r1) = spans["synth"], spans["retrieve"]
    assert s0 < r1
    assert r0 < s1


def test_settings_from_env_and_endpoint() -> None:
    """The key comes from the named variable; a full endpoint URL is kept as is."""
    s = LlmSettings.from_env(
        url="http://h/v1/chat/completions", model="m", environ={"JUGGLER_LLM_API_KEY": "k"}
    )
    assert s.api_key == "k"
    assert s.endpoint == "http://h/v1/chat/completions"
    assert "k" not in repr(s).replace("kw", "")  # the key is not in repr
    assert LlmSettings(url="http://h/v1/", model="m").endpoint == "http://h/v1/chat/completions"


def test_adopt_summary_moves_the_llm_part_onto_a_rebuilt_memo() -> None:
    """The join keeps the full document's facts and the LLM branch's summary and notes."""
    from juggler.triage.synth.llm import adopt_summary

    early = build_memo(sample_triage(similar_incidents=[]))
    with LocalServer(lambda n, s: stream_reply("Decimal, not float.")) as server:
        summarised = asyncio.run(
            synthesise(sample_triage(similar_incidents=[]), llm=settings(server.url))
        )
    full = adopt_summary(build_memo(sample_triage()), summarised)
    assert early.incidents == ()
    assert len(full.incidents) == 1
    assert full.summary == "Decimal, not float."
    assert full.source == "llm"
    assert any("Summary by LLM" in n for n in full.notes)
