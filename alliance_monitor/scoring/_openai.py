"""A small client for OpenAI-compatible chat-completions endpoints, over httpx.

Works with OpenAI, Azure OpenAI (``auth="api-key"`` plus an ``api-version`` query), vLLM, Ollama,
the llama.cpp servers and LM Studio. What it adds over a bare POST:

- explicit timeouts (connect, read, write, pool) and a hard deadline per attempt;
- bounded retries with exponential backoff and jitter on 408/409/429/5xx, timeouts and connection
  errors, honouring ``Retry-After`` / ``retry-after-ms``;
- a concurrency limit (`anyio.CapacityLimiter`) and an optional requests/tokens-per-minute limit;
- structured output: ``response_format`` with a JSON schema where the server supports it, falling
  back (``auto``) to JSON mode and then to plain text when the server rejects the parameter;
- the answer length cap goes out as ``max_completion_tokens`` to OpenAI and Azure OpenAI (what
  current models there require) and as ``max_tokens`` elsewhere; ``auto`` switches when a server
  refuses one name, or shows it ignored the new one (its reported completion tokens exceed the
  cap);
- the API key (``api_key=``, or read once from the environment variable `api_key_env`) is sent
  only as a header and never logged, put in an exception, or shown by ``repr``. The
  ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` fallbacks are applied by `make_scorer` (the edge), not
  here.

Failures surface as `ScorerUnavailable` (backend unreachable or refusing) or `ScoringError`
(the server answered 200 with something that is not a chat completion). Neither carries text.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx

from .._errors import ConfigError, ScorerUnavailable, ScoringError

__all__ = [
    "ChatCompletion",
    "ClientStats",
    "OpenAICompatibleClient",
    "RateLimit",
    "RetryPolicy",
    "StructuredOutput",
    "TokenParam",
]

logger = logging.getLogger("alliance_monitor.scoring")

StructuredOutput = Literal["auto", "json_schema", "json_object_schema", "json_object", "none"]
#: How the answer length cap is sent: ``max_completion_tokens`` (OpenAI's current name; o-series
#: and newer models reject ``max_tokens``), ``max_tokens`` (what other servers know), or ``auto``:
#: the new name for OpenAI and Azure OpenAI hosts, the old one elsewhere, switching when the server
#: refuses one by name, or shows by its usage that it ignored the new one. (Starting elsewhere with
#: the new name would cost one unbounded answer on servers that silently ignore it, as
#: llama-cpp-python does.)
TokenParam = Literal["auto", "max_completion_tokens", "max_tokens"]
_OPENAI_HOSTS = re.compile(r"(^|\.)(openai\.com|openai\.azure\.com|azure-api\.net)$")
#: The order `auto` tries: OpenAI / vLLM / LM Studio / Ollama / llama-server take `json_schema`;
#: llama-cpp-python takes `json_object` with a `schema`; older servers plain `json_object`.
_FALLBACK: dict[str, StructuredOutput] = {
    "json_schema": "json_object_schema",
    "json_object_schema": "json_object",
    "json_object": "none",
}
_UNKNOWN_PARAM = re.compile(
    r"unsupported|unrecogni[sz]ed|unknown|not supported|not permitted|unexpected|extra"
    r"|not allowed|invalid (param|field|argument|key)"
)
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: Largest response body read from the server; a longer one is refused unparsed.
MAX_RESPONSE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: at most `max_attempts` tries per call, backoff doubling from
    `backoff_base` up to `backoff_max` seconds, +/- `jitter` (a fraction). A ``Retry-After``
    longer than `max_retry_after` ends the retries at once (the window goes unscored)."""

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.backoff_base < 0 or not 0 <= self.jitter < 1:
            raise ConfigError("RetryPolicy: max_attempts >= 1, backoff_base >= 0, 0 <= jitter < 1")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before retry number `attempt` (1-based)."""
        base = min(self.backoff_max, self.backoff_base * float(2 ** (attempt - 1)))
        return max(0.0, base * (1 + self.jitter * (2 * rng.random() - 1)))


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Client-side limits matching a provider's quota; None means unlimited."""

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None


@dataclass(frozen=True, slots=True)
class ChatCompletion:
    """The parts of a chat completion the scorers use. Token counts are the server's (None when
    it did not report usage)."""

    content: str
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    finish_reason: str | None
    attempts: int


@dataclass
class ClientStats:
    """Counters of one client; read them, don't write them."""

    requests: int = 0
    succeeded: int = 0
    retries: int = 0
    failed: int = 0
    timeouts: int = 0
    connect_errors: int = 0
    rate_limited: int = 0
    downgrades: int = 0
    token_param_fallbacks: int = 0
    http_status: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "succeeded": self.succeeded,
            "retries": self.retries,
            "failed": self.failed,
            "timeouts": self.timeouts,
            "connect_errors": self.connect_errors,
            "rate_limited": self.rate_limited,
            "downgrades": self.downgrades,
            "token_param_fallbacks": self.token_param_fallbacks,
            "http_status": dict(self.http_status),
        }


class _Bucket:
    """A token bucket refilled continuously; `reserve` returns how long to wait."""

    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.capacity = per_minute
        self.level = per_minute
        self.rate = per_minute / 60.0
        self.clock = clock
        self.stamp = clock()

    def reserve(self, amount: float) -> float:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        self.level -= min(amount, self.capacity)
        return 0.0 if self.level >= 0 else -self.level / self.rate


class _Retry(Exception):
    def __init__(self, reason: str, delay: float | None = None) -> None:
        self.reason = reason
        self.delay = delay
        super().__init__(reason)


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class OpenAICompatibleClient:
    """POST ``{base_url}/chat/completions`` with retries, limits and structured output.

    `api_key` is the key itself; without it, `api_key_env` names the environment variable holding
    it (read once, here); pass ``api_key_env=None`` and no `api_key` for local servers without
    auth. `environ` replaces `os.environ` (tests). `token_param` says how the answer length cap is
    sent (see `TokenParam`).
    `transport` replaces the network (``httpx.MockTransport`` in tests); `sleep` and `clock`
    replace `anyio.sleep` and `time.monotonic`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key_env: str | None = "ALLIANCE_MONITOR_LLM_API_KEY",
        api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
        auth: Literal["bearer", "api-key"] = "bearer",
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        write_timeout: float = 10.0,
        call_timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 4,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        rate_limit: RateLimit | None = None,
        structured_output: StructuredOutput = "auto",
        token_param: TokenParam = "auto",
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
        seed: int | None = None,
    ) -> None:
        if not base_url or not model:
            raise ConfigError("an LLM scorer needs base_url and model")
        if max_concurrency < 1:
            raise ConfigError("max_concurrency must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        env = os.environ if environ is None else environ
        if api_key is not None:
            self.__key: str | None = api_key or None
            self.api_key_env = None
        else:
            self.__key = env.get(api_key_env) if api_key_env else None
        self._auth = auth
        self.retry = retry or RetryPolicy()
        self.call_timeout = call_timeout
        self.max_response_bytes = max_response_bytes
        self.structured_output: StructuredOutput = structured_output
        self._active: StructuredOutput = (
            "json_schema" if structured_output == "auto" else structured_output
        )
        if token_param not in ("auto", "max_completion_tokens", "max_tokens"):
            raise ConfigError("token_param must be auto, max_completion_tokens or max_tokens")
        self.token_param: TokenParam = token_param
        if token_param == "auto":
            host = httpx.URL(self.base_url).host or ""
            new_name = bool(_OPENAI_HOSTS.search(host))
            self._token_key = "max_completion_tokens" if new_name else "max_tokens"
        else:
            self._token_key = token_param
        self.stats = ClientStats()
        self._limiter = anyio.CapacityLimiter(max_concurrency)
        self._sleep = sleep or anyio.sleep
        clock = clock or time.monotonic
        rl = rate_limit or RateLimit()
        self._rpm = _Bucket(rl.requests_per_minute, clock) if rl.requests_per_minute else None
        self._tpm = _Bucket(rl.tokens_per_minute, clock) if rl.tokens_per_minute else None
        self._rng = random.Random(seed)
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            params=dict(query or {}),
            headers=dict(headers or {}),
            timeout=httpx.Timeout(
                connect=connect_timeout, read=read_timeout, write=write_timeout, pool=call_timeout
            ),
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        key = "set" if self.__key else "unset"
        source = f"api_key_env={self.api_key_env!r}" if self.api_key_env else "api_key"
        return (
            f"OpenAICompatibleClient(base_url={self.base_url!r}, model={self.model!r}, "
            f"{source} ({key}))"
        )

    @property
    def has_api_key(self) -> bool:
        return bool(self.__key)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        schema: Mapping[str, Any] | None = None,
        schema_name: str = "answer",
        estimated_tokens: int = 0,
        seed: int | None = None,
    ) -> ChatCompletion:
        """One chat completion, retried within the policy. Raises `ScorerUnavailable`."""
        async with self._limiter:
            await self._throttle(estimated_tokens + max_tokens)
            attempt = 0
            while True:
                attempt += 1
                body = self._body(messages, max_tokens, temperature, schema, schema_name, seed)
                try:
                    completion = await self._attempt(body, attempt)
                except _Downgrade:
                    attempt -= 1  # the server refused a parameter's form, not the request
                    continue
                except _Retry as exc:
                    if attempt >= self.retry.max_attempts:
                        self.stats.failed += 1
                        raise ScorerUnavailable(
                            f"{exc.reason} after {attempt} attempt(s)"
                        ) from None
                    delay = exc.delay
                    if delay is None:
                        delay = self.retry.backoff(attempt, self._rng)
                    elif delay > self.retry.max_retry_after:
                        self.stats.failed += 1
                        raise ScorerUnavailable(
                            f"{exc.reason}: server asks to wait {delay:.0f}s, over the "
                            f"{self.retry.max_retry_after:.0f}s limit"
                        ) from None
                    else:
                        delay += delay * 0.1 * self._rng.random()
                    self.stats.retries += 1
                    logger.info(
                        "alliance_monitor.llm_retry",
                        extra={"reason": exc.reason, "attempt": attempt, "delay": round(delay, 3)},
                    )
                    await self._sleep(delay)
                    continue
                self._check_cap(completion, max_tokens)
                return completion

    @property
    def active_token_param(self) -> str:
        """The name the length cap goes out under now (``auto`` may have switched it)."""
        return self._token_key

    def _check_cap(self, completion: ChatCompletion, max_tokens: int) -> None:
        """A server that silently ignored ``max_completion_tokens`` answers longer than the cap:
        `auto` then sends ``max_tokens`` from the next call on."""
        if (
            self.token_param == "auto"
            and self._token_key == "max_completion_tokens"
            and self.stats.token_param_fallbacks == 0  # not when a server asked for this name
            and completion.completion_tokens is not None
            and completion.completion_tokens > max_tokens
        ):
            self._use_max_tokens("ignored")

    def _use_max_tokens(self, why: str) -> None:
        self._switch_token_param("max_tokens", why)

    def _switch_token_param(self, name: str, why: str) -> None:
        self._token_key = name
        self.stats.token_param_fallbacks += 1
        logger.info("alliance_monitor.llm_token_param_fallback", extra={"to": name, "why": why})

    async def _throttle(self, tokens: int) -> None:
        wait = 0.0
        if self._rpm is not None:
            wait = max(wait, self._rpm.reserve(1))
        if self._tpm is not None:
            wait = max(wait, self._tpm.reserve(tokens))
        if wait > 0:
            await self._sleep(wait)

    def _body(
        self,
        messages: Sequence[Mapping[str, str]],
        max_tokens: int,
        temperature: float,
        schema: Mapping[str, Any] | None,
        schema_name: str,
        seed: int | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            self._token_key: max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        if seed is not None:
            body["seed"] = seed
        mode = self._mode(schema)
        if mode == "json_schema" and schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": dict(schema), "strict": True},
            }
        elif mode == "json_object_schema" and schema is not None:
            body["response_format"] = {"type": "json_object", "schema": dict(schema)}
        elif mode in ("json_object", "json_object_schema"):
            body["response_format"] = {"type": "json_object"}
        return body

    def _mode(self, schema: Mapping[str, Any] | None) -> StructuredOutput:
        mode = self._active
        if schema is None and mode in ("json_schema", "json_object_schema"):
            return "json_object"
        return mode

    @property
    def active_structured_output(self) -> StructuredOutput:
        """The mode in use now (`auto` starts at ``json_schema`` and steps down on refusal)."""
        return self._active

    def _headers(self) -> dict[str, str]:
        if not self.__key:
            return {}
        if self._auth == "api-key":
            return {"api-key": self.__key}
        return {"Authorization": f"Bearer {self.__key}"}

    async def _attempt(self, body: dict[str, Any], attempt: int) -> ChatCompletion:
        self.stats.requests += 1
        try:
            with anyio.fail_after(self.call_timeout):
                async with self._http.stream(
                    "POST", "chat/completions", json=body, headers=self._headers()
                ) as streamed:
                    response = await _read_capped(streamed, self.max_response_bytes)
        except _TooLarge:
            self.stats.failed += 1
            raise ScoringError("response_too_large") from None
        except (TimeoutError, httpx.TimeoutException):
            self.stats.timeouts += 1
            raise _Retry("timeout") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            self.stats.connect_errors += 1
            raise _Retry("connection error") from None
        except httpx.HTTPError as exc:
            raise ScorerUnavailable(f"http client error: {type(exc).__name__}") from None
        status = response.status_code
        if status != 200:
            self.stats.http_status[status] = self.stats.http_status.get(status, 0) + 1
            self._maybe_token_fallback(body, response)
            self._maybe_downgrade(body, response)
            if status == 429:
                self.stats.rate_limited += 1
            if status in _RETRY_STATUS:
                raise _Retry(f"http {status}", parse_retry_after(response.headers))
            self.stats.failed += 1
            raise ScorerUnavailable(f"http {status}")
        completion = _parse_completion(response, attempt)
        self.stats.succeeded += 1
        return completion

    def _maybe_token_fallback(self, body: dict[str, Any], response: httpx.Response) -> None:
        """An `auto` client whose length-cap name the server refuses by name retries the same
        call with the other name (not counted as an attempt; at most twice per client)."""
        if self.token_param != "auto" or self.stats.token_param_fallbacks >= 2:
            return
        if response.status_code not in (400, 422):
            return
        text = response.text[:4000].lower()  # searched for keywords only, never logged
        if not _UNKNOWN_PARAM.search(text):
            return
        if "max_completion_tokens" in body and "max_completion_tokens" in text:
            self._switch_token_param("max_tokens", "rejected")
            raise _Downgrade
        if "max_tokens" in body and re.search(r"\bmax_tokens\b", text):
            # e.g. OpenAI o-series: "'max_tokens' is not supported ... use max_completion_tokens"
            self._switch_token_param("max_completion_tokens", "rejected")
            raise _Downgrade

    def _maybe_downgrade(self, body: dict[str, Any], response: httpx.Response) -> None:
        """An `auto` client steps down a structured-output mode when the server rejects it."""
        if self.structured_output != "auto" or "response_format" not in body:
            return
        if response.status_code not in (400, 404, 415, 422, 500, 501):
            return
        text = response.text[:4000].lower()  # searched for keywords only, never logged
        if "response_format" not in text and "schema" not in text and "json" not in text:
            return
        rf = body["response_format"]
        current: StructuredOutput = "json_schema"
        if rf.get("type") == "json_object":
            current = "json_object_schema" if "schema" in rf else "json_object"
        nxt = _FALLBACK.get(current)
        if nxt is None:
            return
        self._active = nxt
        self.stats.downgrades += 1
        logger.info("alliance_monitor.llm_structured_output_downgraded", extra={"to": nxt})
        raise _Downgrade


class _Downgrade(Exception):
    pass


class _TooLarge(Exception):
    pass


async def _read_capped(response: httpx.Response, limit: int) -> httpx.Response:
    """The response with its body read, refusing (`_TooLarge`) past `limit` bytes: a runaway or
    hostile server cannot make the client hold and parse megabytes."""
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code, headers=headers, content=b"".join(chunks), request=response.request
    )


def _parse_completion(response: httpx.Response, attempt: int) -> ChatCompletion:
    try:
        data = response.json()
        choice = data["choices"][0]
        message = choice.get("message") or {}
        content = message.get("content")
        usage = data.get("usage") or {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ScoringError("malformed_response: not a chat completion") from None
    details = usage.get("prompt_tokens_details") or {}
    return ChatCompletion(
        content=content if isinstance(content, str) else "",
        model=data.get("model") if isinstance(data.get("model"), str) else None,
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        cached_tokens=_int(details.get("cached_tokens")) if isinstance(details, dict) else None,
        finish_reason=choice.get("finish_reason"),
        attempts=attempt,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
