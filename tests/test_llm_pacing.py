"""Streaming, pacing and server capacity of the LLM client, on scripted servers (the real server
is exercised in test_llm_local_server.py): answers read from a stream, a stream cut short
retried, deadlines derived from the measured speed, concurrency matched to the server, a timeout
retried only once the server is free."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from llm_helpers import FakeLLM, Sleeps, completion

from alliance_monitor import ConfigError, ScorerUnavailable
from alliance_monitor.scoring._openai import (
    OpenAICompatibleClient,
    Pacing,
    RetryPolicy,
    is_local_url,
)

pytestmark = pytest.mark.anyio
MSGS = [{"role": "user", "content": "hi"}]


def sse(*pieces: str, finish: str | None = "stop", usage: dict[str, int] | None = None) -> bytes:
    lines = [": ping"]
    for p in pieces:
        chunk = {"model": "m", "choices": [{"index": 0, "delta": {"content": p}}]}
        lines.append("data: " + json.dumps(chunk))
    if finish:
        lines.append(
            "data: " + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        )
    if usage:
        lines.append("data: " + json.dumps({"choices": [], "usage": usage}))
    lines.append("data: [DONE]")
    return ("\n\n".join(lines) + "\n\n").encode()


def streamed(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def client(handler: Any, **kw: Any) -> OpenAICompatibleClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=3, backoff_base=0.0, jitter=0.0))
    return OpenAICompatibleClient(
        base_url=kw.pop("base_url", "http://llm.test/v1"),
        model="m",
        environ={},
        transport=httpx.MockTransport(handler),
        sleep=kw.pop("sleep", Sleeps()),
        **kw,
    )


async def test_streamed_answer_is_assembled_with_usage() -> None:
    fake = FakeLLM(
        [streamed(sse('{"a": ', '"b"}', usage={"prompt_tokens": 9, "completion_tokens": 2}))]
    )
    c = client(fake.handler)
    out = await c.chat(MSGS, max_tokens=10)
    assert out.content == '{"a": "b"}' and out.finish_reason == "stop" and out.chunks == 2
    assert (out.prompt_tokens, out.completion_tokens) == (9, 2)
    assert out.seconds is not None and out.first_token_seconds is not None
    body = fake.requests[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert c.speed.calls == 1  # the answer was timed


async def test_a_stream_cut_short_is_retried() -> None:
    fake = FakeLLM([streamed(sse('{"a"', finish=None)), streamed(sse("{}"))])
    c = client(fake.handler)
    out = await c.chat(MSGS, max_tokens=10)
    assert out.content == "{}" and out.attempts == 2
    assert c.stats.interrupted == 1 and c.stats.retries == 1


async def test_stream_options_dropped_when_refused_by_name() -> None:
    refusal = httpx.Response(400, json={"error": "unknown field stream_options"})
    fake = FakeLLM([refusal, completion("ok")])
    c = client(fake.handler)
    assert (await c.chat(MSGS, max_tokens=5)).content == "ok"
    assert "stream_options" in fake.requests[0] and "stream_options" not in fake.requests[1]
    assert c.stats.failed == 0


async def test_deadline_is_derived_from_budget_and_measured_speed() -> None:
    c = client(FakeLLM([completion("x")]).handler, pacing=Pacing(first_timeout=200, margin=3))
    assert c.deadline(1000, 500) == 200  # nothing measured yet
    c.speed.record(prompt_tokens=1000, tokens=101, first=2.0, total=12.0)  # 0.1 s per token
    assert c.deadline(1000, 500) == pytest.approx(3 * (2.0 + 50.0))
    assert c.deadline(1000, 50) == 21.0  # 3 * (2 + 5)
    assert c.deadline(1000, 500, attempt=2) == pytest.approx(1.5 * 156.0)
    c.speed.record(prompt_tokens=1000, tokens=101, first=2.0, total=52.0)  # slowed down: 0.5 s
    assert c.deadline(1000, 100) > 3 * 0.5 * 100  # a slowdown counts at once
    fixed = client(FakeLLM([completion("x")]).handler, call_timeout=7.5)
    assert fixed.deadline(1000, 500) == 7.5
    with pytest.raises(ConfigError):
        client(FakeLLM([]).handler, call_timeout=0)


async def test_a_stalled_stream_is_closed_at_the_deadline() -> None:
    closed = anyio.Event()

    class Slow(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield b'data: {"choices": [{"delta": {"content": "{"}}]}\n\n'
            try:
                await anyio.sleep(30)
            finally:
                closed.set()
            yield b""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Slow())

    c = client(handler, call_timeout=0.2, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ScorerUnavailable, match="timeout after 1"):
        await c.chat(MSGS, max_tokens=10)
    assert closed.is_set()  # the response stream was closed, not left running
    assert c.stats.timeouts == 1


def test_local_urls() -> None:
    for url in (
        "http://127.0.0.1:8080/v1",
        "http://localhost:11434/v1",
        "http://[::1]:8000/v1",
        "http://10.1.2.3/v1",
        "http://192.168.0.7:8000/v1",
        "http://llm:8000/v1",
    ):
        assert is_local_url(url), url
    for url in ("https://api.openai.com/v1", "https://x.openai.azure.com/openai", "http://8.8.8.8"):
        assert not is_local_url(url), url


async def test_concurrency_is_one_locally_unless_llama_server_advertises_slots() -> None:
    def slots4(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/props":
            return httpx.Response(200, json={"total_slots": 4})
        return completion("ok")

    c = client(slots4, base_url="http://127.0.0.1:8080/v1")
    assert c.max_concurrency == 1
    await c.chat(MSGS, max_tokens=5)
    assert c.max_concurrency == 4

    def no_props(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404) if request.url.path == "/props" else completion("ok")

    local = client(no_props, base_url="http://127.0.0.1:8080/v1")
    await local.chat(MSGS, max_tokens=5)
    assert local.max_concurrency == 1
    hosted = client(no_props, base_url="https://api.openai.com/v1")
    assert hosted.max_concurrency == 4
    fixed = client(slots4, base_url="http://127.0.0.1:8080/v1", max_concurrency=2)
    await fixed.chat(MSGS, max_tokens=5)
    assert fixed.max_concurrency == 2


async def test_a_timeout_is_retried_once_the_server_is_free() -> None:
    seen: list[str] = []
    busy = [True, True, False]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/slots":
            return httpx.Response(200, json=[{"id": 0, "is_processing": busy.pop(0)}])
        if request.url.path == "/props":
            return httpx.Response(404)
        if seen.count("/v1/chat/completions") == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return completion("ok")

    sleeps = Sleeps()
    c = client(handler, base_url="http://127.0.0.1:8080/v1", sleep=sleeps)
    assert (await c.chat(MSGS, max_tokens=5)).content == "ok"
    chats = [i for i, p in enumerate(seen) if p == "/v1/chat/completions"]
    polls = [i for i, p in enumerate(seen) if p == "/slots"]
    assert len(polls) == 3 and chats[0] < polls[0] and polls[-1] < chats[1]
    assert c.stats.waited_for_server == 1


async def test_a_server_that_stays_busy_ends_the_retries() -> None:
    now = [0.0]

    async def sleep(delay: float) -> None:
        now[0] += delay

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slots":
            return httpx.Response(200, json=[{"is_processing": True}])
        if request.url.path == "/props":
            return httpx.Response(404)
        raise httpx.ReadTimeout("slow", request=request)

    c = client(
        handler,
        base_url="http://127.0.0.1:8080/v1",
        sleep=sleep,
        clock=lambda: now[0],
        pacing=Pacing(free_wait=30),
    )
    with pytest.raises(ScorerUnavailable, match="stayed busy"):
        await c.chat(MSGS, max_tokens=5)
    assert c.stats.requests == 1  # no request queued behind the abandoned one


async def test_llama_cpp_python_free_probe_is_models() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path in ("/slots", "/props"):
            return httpx.Response(404)
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": []})
        if seen.count("/v1/chat/completions") == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return completion("ok")

    c = client(handler, base_url="http://127.0.0.1:8080/v1")
    assert (await c.chat(MSGS, max_tokens=5)).content == "ok"
    assert seen.index("/v1/models") < len(seen) - 1
