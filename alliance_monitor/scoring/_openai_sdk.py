"""An existing ``openai`` SDK client as the wire of `OpenAICompatibleClient` (``llm_client=``).

Platforms that already hold an ``openai.AsyncOpenAI`` or ``openai.AsyncAzureOpenAI`` client (API
keys, Azure AD tokens through ``azure_ad_token_provider``, proxies, custom ``http_client``) pass
it as it is. The SDK sends each request, with its own authentication and URL rules (Azure's
deployment paths and ``api-version``); this package keeps everything above the wire: retries
(the SDK's own are turned off for these calls), limits, pacing, streaming and closing the
stream on timeout, structured output and its fallbacks, usage. Responses are read from the
SDK's raw HTTP response, so both wires parse answers with the same code.

The caller owns the SDK client: closing the scorer does not close it. ``openai`` is imported
only when such a client is given (the ``openai`` extra).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from .._errors import ConfigError
from ._openai import OpenAICompatibleClient

__all__ = ["SDKWire", "sdk_chat_client"]


class SDKWire:
    """Requests through an ``openai.AsyncOpenAI`` (or ``AsyncAzureOpenAI``) client."""

    def __init__(self, sdk: Any) -> None:
        try:
            import openai
        except ModuleNotFoundError:
            raise ConfigError(
                "llm_client= needs the openai package: pip install 'alliance-monitor[openai]'"
            ) from None
        if not isinstance(sdk, openai.AsyncOpenAI):
            raise ConfigError(
                "llm_client must be an openai.AsyncOpenAI or openai.AsyncAzureOpenAI client "
                f"(got {type(sdk).__name__})"
            )
        self._sdk = sdk
        self._openai = openai
        self.base_url = str(sdk.base_url).rstrip("/")

    @asynccontextmanager
    async def post(
        self, body: dict[str, Any], headers: dict[str, str], limits: httpx.Timeout
    ) -> AsyncIterator[httpx.Response]:
        openai = self._openai
        client = self._sdk.with_options(max_retries=0, timeout=limits.pool)
        extra = {"extra_headers": headers} if headers else {}
        create: Any = client.chat.completions.with_streaming_response.create
        manager = create(**body, **extra)
        url = self.base_url + "/chat/completions"
        async with AsyncExitStack() as stack:
            try:
                raw = await stack.enter_async_context(manager)
            except openai.APIStatusError as exc:  # the body is read: handled like any status
                response = _copy(exc.response, url)
            except openai.APITimeoutError:
                raise httpx.ReadTimeout("timeout") from None
            except openai.APIConnectionError:
                raise httpx.ConnectError("connection error") from None
            else:
                response = _streamed(raw.http_response, url)
            yield response

    async def get(self, url: str, seconds: float) -> httpx.Response:
        """Only ``{base_url}/models`` (through the SDK's public models API); any other probe
        (llama-server's ``/props``, ``/slots``) is answered 404 here, so it is skipped."""
        if url.rstrip("/") != self.base_url + "/models":
            return httpx.Response(404, request=httpx.Request("GET", url))
        openai = self._openai
        try:
            raw = await self._sdk.with_options(
                max_retries=0, timeout=seconds
            ).models.with_raw_response.list()
        except openai.APIStatusError as exc:
            return _copy(exc.response, url)
        except openai.APITimeoutError:
            raise httpx.ReadTimeout("timeout") from None
        except openai.APIConnectionError:
            raise httpx.ConnectError("connection error") from None
        return _copy(raw.http_response, url)

    async def aclose(self) -> None:
        """Nothing: the SDK client belongs to the caller."""


class _SDKBytes(httpx.AsyncByteStream):
    """The body of an SDK response, read as it arrives; the SDK's HTTP errors become httpx's."""

    def __init__(self, source: Any) -> None:
        self._source = source

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._source.aiter_bytes():
                yield chunk
        except Exception as exc:
            if not type(exc).__module__.startswith("httpx"):
                raise
            if "Timeout" in type(exc).__name__:
                raise httpx.ReadTimeout("timeout") from None
            raise httpx.ReadError("connection error") from None


def _headers(source: Any) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in source.headers.multi_items()]


def _streamed(source: Any, url: str) -> httpx.Response:
    """An httpx response streaming the body of the SDK's response (whatever its library)."""
    return httpx.Response(
        source.status_code,
        headers=_headers(source),
        stream=_SDKBytes(source),
        request=httpx.Request("POST", url),
    )


def _copy(source: Any, url: str) -> httpx.Response:
    """An httpx response holding the (already read) body of the SDK's response."""
    return httpx.Response(
        source.status_code,
        headers=[h for h in _headers(source) if h[0].lower() != "content-encoding"],
        content=bytes(source.content),
        request=httpx.Request("GET", url),
    )


def sdk_chat_client(sdk: Any, *, model: str, **options: Any) -> OpenAICompatibleClient:
    """An `OpenAICompatibleClient` whose requests go through `sdk` (see the module docstring);
    `options` are the client's keyword options (timeouts, retries, limits...)."""
    wire = SDKWire(sdk)
    return OpenAICompatibleClient(
        base_url=wire.base_url, model=model, api_key_env=None, wire=wire, **options
    )
