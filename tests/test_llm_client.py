"""The OpenAI-compatible HTTP client: retries, Retry-After, timeouts, limits, structured output."""

from __future__ import annotations

import email.utils
import functools
import time

import anyio
import httpx
import pytest
from llm_helpers import FakeLLM, Sleeps, completion, make_client

from alliance_monitor import ScorerUnavailable, ScoringError
from alliance_monitor.scoring._openai import RateLimit, RetryPolicy, parse_retry_after

pytestmark = pytest.mark.anyio
MSGS = [{"role": "user", "content": "hi"}]


async def test_success_and_usage() -> None:
    fake = FakeLLM([completion("hello", prompt_tokens=7, completion_tokens=3)])
    client = make_client(fake)
    out = await client.chat(MSGS, max_tokens=10)
    assert (out.content, out.prompt_tokens, out.completion_tokens, out.attempts) == (
        "hello",
        7,
        3,
        1,
    )
    body = fake.requests[0]
    assert body["model"] == "test-model" and body["max_tokens"] == 10 and body["stream"] is True
    await client.aclose()


async def test_429_retry_after_is_honoured() -> None:
    sleeps = Sleeps()
    fake = FakeLLM([httpx.Response(429, headers={"Retry-After": "7"}), completion("ok")])
    client = make_client(fake, sleeps=sleeps)
    out = await client.chat(MSGS, max_tokens=10)
    assert out.content == "ok" and out.attempts == 2
    assert len(sleeps.delays) == 1 and 7.0 <= sleeps.delays[0] <= 7.7  # + at most 10% jitter
    assert client.stats.rate_limited == 1 and client.stats.retries == 1


async def test_retry_after_ms_and_http_date() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500"})) == 1.5
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    got = parse_retry_after(httpx.Headers({"retry-after": date}), now=now)
    assert got is not None and 28 <= got <= 31
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None


async def test_retry_after_over_limit_gives_up_at_once() -> None:
    sleeps = Sleeps()
    fake = FakeLLM([httpx.Response(429, headers={"Retry-After": "3600"})])
    client = make_client(fake, sleeps=sleeps)
    with pytest.raises(ScorerUnavailable, match="over the"):
        await client.chat(MSGS, max_tokens=10)
    assert sleeps.delays == [] and len(fake.requests) == 1


async def test_500_then_success_with_exponential_backoff() -> None:
    sleeps = Sleeps()
    fake = FakeLLM([httpx.Response(500), httpx.Response(503), completion("ok")])
    client = make_client(
        fake, sleeps=sleeps, retry=RetryPolicy(max_attempts=3, backoff_base=0.5, jitter=0.0)
    )
    assert (await client.chat(MSGS, max_tokens=10)).content == "ok"
    assert sleeps.delays == [0.5, 1.0]


async def test_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(backoff_base=1.0, jitter=0.25)
    import random

    rng = random.Random(3)
    delays = [policy.backoff(2, rng) for _ in range(200)]
    assert all(1.5 <= d <= 2.5 for d in delays) and len(set(delays)) > 100


async def test_retries_are_bounded_then_unavailable() -> None:
    fake = FakeLLM([httpx.Response(502)])
    client = make_client(fake)
    with pytest.raises(ScorerUnavailable) as info:
        await client.chat(MSGS, max_tokens=10)
    assert "http 502 after 3 attempt(s)" in info.value.reason
    assert len(fake.requests) == 3 and client.stats.failed == 1


async def test_timeouts_and_connection_errors_are_retried() -> None:
    req = httpx.Request("POST", "http://llm.test/v1/chat/completions")
    fake = FakeLLM(
        [
            httpx.ReadTimeout("slow", request=req),
            httpx.ConnectError("down", request=req),
            completion("ok"),
        ]
    )
    client = make_client(fake)
    assert (await client.chat(MSGS, max_tokens=10)).content == "ok"
    assert client.stats.timeouts == 1 and client.stats.connect_errors == 1
    fake2 = FakeLLM([httpx.ReadTimeout("slow", request=req)])
    client2 = make_client(fake2)
    with pytest.raises(ScorerUnavailable, match="timeout after 3"):
        await client2.chat(MSGS, max_tokens=10)


async def test_call_deadline_cuts_a_stalled_server() -> None:
    async def stall(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(5)
        return completion("late")

    from alliance_monitor.scoring._openai import OpenAICompatibleClient

    client = OpenAICompatibleClient(
        base_url="http://llm.test/v1",
        model="m",
        environ={},
        transport=httpx.MockTransport(stall),
        call_timeout=0.05,
        retry=RetryPolicy(max_attempts=2, backoff_base=0.0),
    )
    start = time.monotonic()
    with pytest.raises(ScorerUnavailable, match="timeout"):
        await client.chat(MSGS, max_tokens=10)
    assert time.monotonic() - start < 2


async def test_client_errors_are_not_retried() -> None:
    fake = FakeLLM([httpx.Response(401, json={"error": {"message": "bad key"}})])
    client = make_client(fake)
    with pytest.raises(ScorerUnavailable, match="http 401"):
        await client.chat(MSGS, max_tokens=10)
    assert len(fake.requests) == 1


async def test_malformed_completion_is_a_scoring_error() -> None:
    fake = FakeLLM([httpx.Response(200, text="<html>gateway</html>")])
    with pytest.raises(ScoringError, match="malformed_response"):
        await make_client(fake).chat(MSGS, max_tokens=10)


async def test_api_key_from_env_sent_as_header_never_shown() -> None:
    secret = "sk-test-SECRET-123"
    fake = FakeLLM([completion("ok")])
    client = make_client(fake, environ={"MY_KEY": secret}, api_key_env="MY_KEY")
    await client.chat(MSGS, max_tokens=5)
    assert fake.headers[0]["authorization"] == f"Bearer {secret}"
    assert secret not in repr(client) and "set" in repr(client)
    fake_az = FakeLLM([completion("ok")])
    azure = make_client(
        fake_az,
        environ={"K": secret},
        api_key_env="K",
        auth="api-key",
        query={"api-version": "2024-10-21"},
    )
    await azure.chat(MSGS, max_tokens=5)
    assert fake_az.headers[0]["api-key"] == secret and "authorization" not in fake_az.headers[0]
    assert fake_az.urls[0].params["api-version"] == "2024-10-21"
    assert secret not in repr(azure)


async def test_no_key_means_no_auth_header() -> None:
    fake = FakeLLM([completion("ok")])
    client = make_client(fake, environ={}, api_key_env="ABSENT")
    await client.chat(MSGS, max_tokens=5)
    assert "authorization" not in fake.headers[0] and "unset" in repr(client)


async def test_json_schema_then_downgrade_on_refusal() -> None:
    refusal = httpx.Response(
        500,
        json={
            "error": {"message": "response_format.type: Input should be 'text' or 'json_object'"}
        },
    )
    fake = FakeLLM([refusal, completion("{}"), completion("{}")])
    client = make_client(fake)
    schema = {"type": "object"}
    await client.chat(MSGS, max_tokens=5, schema=schema)
    assert fake.requests[0]["response_format"]["type"] == "json_schema"
    assert fake.requests[1]["response_format"] == {"type": "json_object", "schema": schema}
    assert client.active_structured_output == "json_object_schema"
    await client.chat(MSGS, max_tokens=5, schema=schema)  # remembered, no second refusal
    assert fake.requests[2]["response_format"]["type"] == "json_object"
    assert client.stats.downgrades == 1 and client.stats.retries == 0


async def test_downgrades_all_the_way_to_plain_text() -> None:
    refusal = httpx.Response(400, json={"error": {"message": "unsupported response_format"}})
    fake = FakeLLM([refusal, refusal, refusal, completion("{}")])
    client = make_client(fake)
    await client.chat(MSGS, max_tokens=5, schema={"type": "object"})
    assert "response_format" not in fake.requests[-1]
    assert client.active_structured_output == "none"


async def test_explicit_mode_is_not_downgraded() -> None:
    refusal = httpx.Response(400, json={"error": {"message": "unsupported response_format"}})
    client = make_client(FakeLLM([refusal]), structured_output="json_schema")
    with pytest.raises(ScorerUnavailable, match="http 400"):
        await client.chat(MSGS, max_tokens=5, schema={"type": "object"})


async def test_concurrency_limit() -> None:
    inflight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await anyio.sleep(0.01)
        inflight -= 1
        return completion("ok")

    from alliance_monitor.scoring._openai import OpenAICompatibleClient

    client = OpenAICompatibleClient(
        base_url="http://llm.test/v1",
        model="m",
        environ={},
        transport=httpx.MockTransport(handler),
        max_concurrency=2,
    )
    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(functools.partial(client.chat, MSGS, max_tokens=5))
    assert peak == 2


async def test_requests_and_tokens_per_minute_limit() -> None:
    now = [0.0]
    sleeps = Sleeps()
    fake = FakeLLM([completion("ok")])
    client = make_client(
        fake,
        sleeps=sleeps,
        clock=lambda: now[0],
        rate_limit=RateLimit(requests_per_minute=2, tokens_per_minute=1000),
    )
    await client.chat(MSGS, max_tokens=100, estimated_tokens=100)
    await client.chat(MSGS, max_tokens=100, estimated_tokens=100)
    assert sleeps.delays == []
    await client.chat(MSGS, max_tokens=100, estimated_tokens=100)  # third request in the minute
    assert len(sleeps.delays) == 1 and sleeps.delays[0] == pytest.approx(30.0)
    sleeps.delays.clear()
    now[0] = 1000.0
    await client.chat(MSGS, max_tokens=500, estimated_tokens=400)
    await client.chat(MSGS, max_tokens=500, estimated_tokens=400)  # 1800 tokens > 1000/min
    assert sleeps.delays and sleeps.delays[-1] == pytest.approx(48.0)
