"""An ``openai.AsyncAzureOpenAI`` client with Azure AD tokens as the scorer's wire (``llm_client=``).

Azure cannot be reached from here, so its side is a scripted transport of the SDK's own HTTP
library: the test checks what the SDK puts on the wire for us (the deployment path, the
``api-version``, the Azure AD bearer token from the provider) and that the streamed answer is read
back. The same wire against the real llama.cpp server: tests/test_llm_local_server.py.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from alliance_monitor import ConfigError
from alliance_monitor.scoring import LLMScorer, make_scorer

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.anyio


def _http_library() -> Any:
    """The HTTP library the installed SDK is built on (httpx, or httpx2 in newer releases)."""
    base = next(c for c in openai.DefaultAsyncHttpxClient.__mro__ if c.__name__ == "AsyncClient")
    return importlib.import_module(base.__module__.split(".")[0])


async def test_azure_ad_client_as_the_wire() -> None:
    http = _http_library()
    seen: list[Any] = []
    tokens = iter(["token-1", "token-2"])

    def handler(request: Any) -> Any:
        seen.append(request)
        stream = (
            'data: {"model": "gpt-4o-mini", "choices": [{"delta": {"content": "{\\"ok\\": "}}]}\n\n'
            'data: {"choices": [{"delta": {"content": "true}"}, "finish_reason": "stop"}]}\n\n'
            'data: {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3, '
            '"prompt_tokens_details": {"cached_tokens": 8}}}\n\n'
            "data: [DONE]\n\n"
        )
        return http.Response(
            200, headers={"content-type": "text/event-stream"}, content=stream.encode()
        )

    azure = openai.AsyncAzureOpenAI(
        azure_endpoint="https://res.openai.azure.com",
        api_version="2024-10-21",
        azure_ad_token_provider=lambda: next(tokens),
        http_client=openai.DefaultAsyncHttpxClient(transport=http.MockTransport(handler)),
    )
    scorer = make_scorer("llm", model="my-deployment", llm_client=azure)
    assert isinstance(scorer, LLMScorer)
    client = scorer.client
    assert client.hosted_openai and client.active_token_param == "max_completion_tokens"
    assert not scorer.constrains_evidence  # the schema is part of Azure's cached prefix
    out = await client.chat([{"role": "user", "content": "hi"}], max_tokens=20, schema={})
    assert json.loads(out.content) == {"ok": True}
    assert (out.prompt_tokens, out.completion_tokens, out.cached_tokens) == (12, 3, 8)
    request = seen[0]
    assert request.url.path == "/openai/deployments/my-deployment/chat/completions"
    assert request.url.params["api-version"] == "2024-10-21"
    assert request.headers["authorization"] == "Bearer token-1"
    body = json.loads(request.content)
    assert body["stream"] is True and body["max_completion_tokens"] == 20
    assert body["response_format"]["type"] == "json_schema"
    await scorer.aclose()
    await client.chat([{"role": "user", "content": "again"}], max_tokens=5)  # azure still open
    assert seen[1].headers["authorization"] == "Bearer token-2"
    await azure.close()


async def test_sdk_status_errors_go_through_the_same_policy() -> None:
    http = _http_library()
    replies = [
        http.Response(429, headers={"retry-after": "0"}, json={"error": {"message": "slow"}}),
        http.Response(
            200,
            json={
                "model": "m",
                "choices": [{"message": {"content": "{}"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            },
        ),
    ]
    sdk = openai.AsyncOpenAI(
        base_url="https://llm.example/v1",
        api_key="k",
        http_client=openai.DefaultAsyncHttpxClient(
            transport=http.MockTransport(lambda r: replies.pop(0))
        ),
    )
    scorer = make_scorer("llm", model="m", llm_client=sdk)
    out = await scorer.client.chat([{"role": "user", "content": "hi"}], max_tokens=5)
    assert out.content == "{}" and out.attempts == 2
    assert scorer.client.stats.rate_limited == 1
    await sdk.close()


def test_llm_client_must_be_an_openai_client_and_owns_the_endpoint() -> None:
    with pytest.raises(ConfigError, match="AsyncOpenAI"):
        make_scorer("llm", model="m", llm_client=object())
    sdk = openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
    with pytest.raises(ConfigError, match="the client's own"):
        make_scorer("llm", model="m", llm_client=sdk, base_url="http://x/v1")
    with pytest.raises(ConfigError, match="needs model"):
        make_scorer("llm", llm_client=sdk)
