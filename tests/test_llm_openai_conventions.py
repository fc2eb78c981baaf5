"""OpenAI conventions: OPENAI_BASE_URL / OPENAI_API_KEY fallbacks at the edge, ``api_key=``, and
``max_completion_tokens`` with a fallback to ``max_tokens`` for servers that only know the old name."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from llm_helpers import FakeLLM, Sleeps, completion, make_client

from alliance_monitor import ConfigError, ScorerUnavailable
from alliance_monitor.scoring._factory import make_feedback_writer, make_scorer
from alliance_monitor.scoring._llm import LLMScorer
from alliance_monitor.scoring._openai import OpenAICompatibleClient, RetryPolicy

pytestmark = pytest.mark.anyio
MSGS = [{"role": "user", "content": "hi"}]


def openai_client(
    fake: FakeLLM, base_url: str = "https://api.openai.com/v1", **kw: Any
) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(
        base_url=base_url,
        model="m",
        environ={},
        seed=1,
        transport=fake.transport(),
        sleep=Sleeps(),
        **kw,
    )


async def test_openai_hosts_get_max_completion_tokens_others_max_tokens() -> None:
    for url in ("https://api.openai.com/v1", "https://res.openai.azure.com/openai/v1"):
        fake = FakeLLM([completion("ok", completion_tokens=3)])
        client = openai_client(fake, url)
        await client.chat(MSGS, max_tokens=12)
        body = fake.requests[0]
        assert body["max_completion_tokens"] == 12 and "max_tokens" not in body
    fake = FakeLLM([completion("ok", completion_tokens=3)])
    local = make_client(fake)  # http://llm.test/v1
    await local.chat(MSGS, max_tokens=12)
    assert fake.requests[0]["max_tokens"] == 12 and "max_completion_tokens" not in fake.requests[0]
    assert local.active_token_param == "max_tokens"


async def test_server_rejecting_the_new_name_gets_max_tokens() -> None:
    refusal = httpx.Response(
        400,
        json={
            "error": {"message": "Unrecognized request argument supplied: max_completion_tokens"}
        },
    )
    fake = FakeLLM([refusal, completion("ok"), completion("ok")])
    client = openai_client(fake, "https://proxy.openai.com/v1")
    out = await client.chat(MSGS, max_tokens=12)
    assert out.content == "ok" and out.attempts == 1  # the refusal is not a failed attempt
    assert fake.requests[1]["max_tokens"] == 12 and "max_completion_tokens" not in fake.requests[1]
    await client.chat(MSGS, max_tokens=12)  # remembered: no second refusal
    assert len(fake.requests) == 3 and "max_tokens" in fake.requests[2]
    assert client.stats.token_param_fallbacks == 1 and client.stats.retries == 0


async def test_server_rejecting_the_old_name_gets_max_completion_tokens() -> None:
    refusal = httpx.Response(
        400,
        json={
            "error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead."
            }
        },
    )
    fake = FakeLLM([refusal, completion("ok")])
    client = make_client(fake)  # a proxy in front of a model that needs the new name
    await client.chat(MSGS, max_tokens=12)
    assert fake.requests[1]["max_completion_tokens"] == 12 and "max_tokens" not in fake.requests[1]
    assert client.active_token_param == "max_completion_tokens"


async def test_server_ignoring_the_new_name_is_noticed_from_usage() -> None:
    fake = FakeLLM(
        [completion("long", completion_tokens=900), completion("ok", completion_tokens=5)]
    )
    client = openai_client(fake, "https://gw.openai.azure.com/v1")
    await client.chat(MSGS, max_tokens=100)  # answered past the cap: the name was ignored
    await client.chat(MSGS, max_tokens=100)
    assert "max_completion_tokens" in fake.requests[0] and fake.requests[1]["max_tokens"] == 100
    assert client.stats.token_param_fallbacks == 1


async def test_other_400s_and_explicit_names_do_not_switch() -> None:
    too_big = httpx.Response(400, json={"error": {"message": "max_completion_tokens is too large"}})
    client = openai_client(FakeLLM([too_big]), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ScorerUnavailable, match="http 400"):
        await client.chat(MSGS, max_tokens=10**6)
    assert client.stats.token_param_fallbacks == 0
    fake = FakeLLM([completion("ok")])
    pinned = make_client(fake, token_param="max_completion_tokens")
    await pinned.chat(MSGS, max_tokens=7)
    assert fake.requests[0]["max_completion_tokens"] == 7
    refusal = httpx.Response(
        400, json={"error": {"message": "unknown field max_completion_tokens"}}
    )
    strict = make_client(FakeLLM([refusal]), token_param="max_completion_tokens")
    with pytest.raises(ScorerUnavailable, match="http 400"):
        await strict.chat(MSGS, max_tokens=7)
    both = httpx.Response(
        400, json={"error": {"message": "unsupported: max_tokens, max_completion_tokens"}}
    )
    pingpong = make_client(FakeLLM([both]), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ScorerUnavailable, match="http 400"):  # switches at most twice, then fails
        await pingpong.chat(MSGS, max_tokens=7)
    assert pingpong.stats.token_param_fallbacks == 2
    with pytest.raises(ConfigError):
        make_client(FakeLLM([]), token_param="tokens")  # type: ignore[arg-type]


async def test_api_key_argument_is_sent_and_never_shown() -> None:
    fake = FakeLLM([completion("ok")])
    client = make_client(
        fake, api_key="sk-explicit-1", environ={"ALLIANCE_MONITOR_LLM_API_KEY": "x"}
    )
    await client.chat(MSGS, max_tokens=5)
    assert fake.headers[0]["authorization"] == "Bearer sk-explicit-1"
    assert "sk-explicit-1" not in repr(client) and "api_key (set)" in repr(client)


async def test_openai_environment_is_the_fallback_at_the_edge() -> None:
    env = {"OPENAI_BASE_URL": "http://openai.test/v1", "OPENAI_API_KEY": "sk-openai"}
    s = make_scorer("llm", model="m", environ=env)
    assert isinstance(s, LLMScorer)
    assert s.client.base_url == "http://openai.test/v1" and s.client.api_key_env == "OPENAI_API_KEY"
    assert s.client.has_api_key and "sk-openai" not in repr(s)
    await s.aclose()
    # explicit settings win over the OpenAI variables
    env2 = {**env, "ALLIANCE_MONITOR_LLM_API_KEY": "sk-ours"}
    s2 = make_scorer("cascade", base_url="http://x/v1", model="m", environ=env2)
    llm = s2.llm  # type: ignore[attr-defined]
    assert llm.client.base_url == "http://x/v1"
    assert llm.client.api_key_env == "ALLIANCE_MONITOR_LLM_API_KEY"
    await s2.aclose()
    s3 = make_scorer("llm", model="m", environ=env, api_key_env=None)
    assert isinstance(s3, LLMScorer) and not s3.client.has_api_key
    await s3.aclose()
    s4 = make_scorer("llm", model="m", environ=env, api_key="sk-arg")
    assert isinstance(s4, LLMScorer) and s4.client.api_key_env is None and s4.client.has_api_key
    await s4.aclose()
    w = make_feedback_writer(base_url=None, model="m", environ=env)
    assert w.client.base_url == "http://openai.test/v1" and w.client.has_api_key
    await w.aclose()
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        make_scorer("llm", model="m", environ={})
