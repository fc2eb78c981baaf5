"""A small client for OpenAI-compatible chat-completions endpoints, over httpx.

Works with OpenAI, Azure OpenAI (``auth="api-key"`` plus an ``api-version`` query), vLLM, Ollama,
the llama.cpp servers and LM Studio. What it adds over a bare POST:

- the answer is streamed (``stream: true``); when an attempt runs out of time the stream is
  closed, which stops the generation on llama.cpp, llama-cpp-python, vLLM and Ollama at the next
  token, so an abandoned answer never keeps a local server busy (a server that ignores
  ``stream`` and answers with one JSON body is read as such);
- a deadline per attempt derived from the answer budget and the speed measured on earlier calls
  (`Pacing`), or fixed (``call_timeout``); a timeout is retried only once the server is free
  again (llama-server's ``/slots``, or llama-cpp-python's ``/v1/models``, which waits for its
  one generation lock);
- bounded retries with exponential backoff and jitter on 408/409/429/5xx, timeouts and connection
  errors, honouring ``Retry-After`` / ``retry-after-ms``;
- a concurrency limit (`anyio.CapacityLimiter`) matched to the server: by default 1 for a local
  server (loopback, private address or a one-label host name), or the slots llama-server
  advertises in ``/props``, and 4 for hosted APIs; an optional requests/tokens-per-minute limit;
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

The requests go out over httpx, or through an existing ``openai.AsyncOpenAI`` /
``AsyncAzureOpenAI`` client (``sdk_client=``; its own authentication, Azure AD tokens included),
with the same retries, limits, streaming and timeouts.

Failures surface as `ScorerUnavailable` (backend unreachable or refusing) or `ScoringError`
(the server answered 200 with something that is not a chat completion). Neither carries text.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio
import httpx

from .._errors import ConfigError, ScorerUnavailable, ScoringError

__all__ = [
    "ChatCompletion",
    "ClientStats",
    "OpenAICompatibleClient",
    "Pacing",
    "RateLimit",
    "RetryPolicy",
    "StructuredOutput",
    "TokenParam",
    "is_local_url",
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
class Pacing:
    """How long one attempt may take when no fixed ``call_timeout`` is set.

    Until an answer has been timed: `first_timeout`. After that: `margin` times what the speed
    measured on earlier calls predicts for this one (time to the first token for this many
    prompt tokens, plus the whole answer budget at the measured generation rate), within
    [`min_timeout`, `max_timeout`]. A retry after a timeout gets `retry_growth` times more. A
    timeout is retried once the server is free again, waited for at most `free_wait` seconds.
    """

    first_timeout: float = 300.0
    margin: float = 3.0
    min_timeout: float = 15.0
    max_timeout: float = 900.0
    retry_growth: float = 1.5
    free_wait: float = 300.0

    def __post_init__(self) -> None:
        if not (0 < self.min_timeout <= self.max_timeout and self.first_timeout > 0):
            raise ConfigError("Pacing: 0 < min_timeout <= max_timeout and first_timeout > 0")
        if self.margin < 1 or self.retry_growth < 1 or self.free_wait < 0:
            raise ConfigError("Pacing: margin >= 1, retry_growth >= 1, free_wait >= 0")


class _Speed:
    """The server's speed as measured on this client's answers: seconds per prompt token to the
    first answer token (queueing included), and seconds per generated token. Each estimate is
    the larger of its running mean and the latest call, so a slowdown counts at once."""

    def __init__(self) -> None:
        self.first_per_prompt: float | None = None
        self.per_token: float | None = None
        self.calls = 0

    @staticmethod
    def _blend(old: float | None, new: float) -> float:
        return new if old is None else max(new, 0.7 * old + 0.3 * new)

    def record(self, prompt_tokens: int, tokens: int, first: float, total: float) -> None:
        if tokens <= 0 or total <= 0:
            return
        self.calls += 1
        generating = total - first
        if tokens >= 4 and generating > 0:
            self.per_token = self._blend(self.per_token, generating / (tokens - 1))
            if prompt_tokens > 0:
                self.first_per_prompt = self._blend(self.first_per_prompt, first / prompt_tokens)
        else:  # one body at the end (not streamed): charge it all to generation
            self.per_token = self._blend(self.per_token, total / tokens)

    def predict(self, prompt_tokens: int, max_tokens: int) -> float | None:
        if self.per_token is None:
            return None
        return (self.first_per_prompt or 0.0) * prompt_tokens + self.per_token * max_tokens


def is_local_url(url: str) -> bool:
    """A server on this machine or this network: loopback, private or link-local address,
    ``localhost``, or a host name of one label (a container or service name)."""
    host = (httpx.URL(url).host or "").strip("[]").lower()
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost") or ("." not in host and ":" not in host):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


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
    #: Seconds from sending the request to the first answer token, and to the end of the answer.
    first_token_seconds: float | None = None
    seconds: float | None = None
    #: Content pieces streamed (about one per token on llama.cpp); 0 when not streamed.
    chunks: int = 0


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
    #: Streams that ended before the answer did (the server dropped or pre-empted them).
    interrupted: int = 0
    #: Timeouts after which the client waited for the server to be free, and the seconds waited.
    waited_for_server: int = 0
    wait_seconds: float = 0.0
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
            "interrupted": self.interrupted,
            "waited_for_server": self.waited_for_server,
            "wait_seconds": round(self.wait_seconds, 3),
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


class Wire(Protocol):
    """How requests reach the server: over httpx (`HttpxWire`) or through an ``openai`` SDK
    client (``_openai_sdk.SDKWire``). Both hand back plain `httpx.Response` objects."""

    base_url: str

    def post(
        self, body: dict[str, Any], headers: dict[str, str], limits: httpx.Timeout
    ) -> AbstractAsyncContextManager[httpx.Response]:
        """POST ``chat/completions``; the response's body is not read yet."""
        ...

    async def get(self, url: str, seconds: float) -> httpx.Response:
        """GET an absolute URL (server probes) within `seconds`, body read."""
        ...

    async def aclose(self) -> None: ...


class HttpxWire:
    """Requests over this package's own `httpx.AsyncClient`."""

    def __init__(
        self,
        base_url: str,
        *,
        query: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        max_connections: int,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.base_url = base_url
        self._http = httpx.AsyncClient(
            base_url=base_url + "/",
            params=dict(query or {}),
            headers=dict(headers or {}),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            follow_redirects=False,
        )

    @asynccontextmanager
    async def post(
        self, body: dict[str, Any], headers: dict[str, str], limits: httpx.Timeout
    ) -> AsyncIterator[httpx.Response]:
        async with self._http.stream(
            "POST", "chat/completions", json=body, headers=headers, timeout=limits
        ) as response:
            yield response

    async def get(self, url: str, seconds: float) -> httpx.Response:
        return await self._http.get(url, timeout=seconds)

    async def aclose(self) -> None:
        await self._http.aclose()


class OpenAICompatibleClient:
    """POST ``{base_url}/chat/completions`` with retries, limits, pacing and structured output.

    `api_key` is the key itself; without it, `api_key_env` names the environment variable holding
    it (read once, here); pass ``api_key_env=None`` and no `api_key` for local servers without
    auth. `environ` replaces `os.environ` (tests). `token_param` says how the answer length cap is
    sent (see `TokenParam`).

    `call_timeout` fixes the deadline of one attempt; None (default) derives it from the answer
    budget and the measured speed (`pacing`). `max_concurrency` None (default) is 1 for a local
    server (`is_local_url`) unless llama-server advertises more slots, and 4 for a hosted API.
    `stream` False sends ``stream: false`` (an abandoned answer then runs on at the server).
    `wire` replaces the HTTP layer (``openai`` SDK clients, see `_openai_sdk`); `transport`
    replaces the network of the built-in one (``httpx.MockTransport`` in tests); `sleep` and
    `clock` replace `anyio.sleep` and `time.monotonic`.
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
        read_timeout: float | None = None,
        write_timeout: float = 10.0,
        call_timeout: float | None = None,
        pacing: Pacing | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        rate_limit: RateLimit | None = None,
        structured_output: StructuredOutput = "auto",
        token_param: TokenParam = "auto",
        stream: bool = True,
        wire: Wire | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
        seed: int | None = None,
    ) -> None:
        if not base_url or not model:
            raise ConfigError("an LLM scorer needs base_url and model")
        if max_concurrency is not None and max_concurrency < 1:
            raise ConfigError("max_concurrency must be >= 1")
        if call_timeout is not None and not call_timeout > 0:
            raise ConfigError("call_timeout must be > 0 (or None: derived from measured speed)")
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
        self.pacing = pacing or Pacing()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.max_response_bytes = max_response_bytes
        self.structured_output: StructuredOutput = structured_output
        self._active: StructuredOutput = (
            "json_schema" if structured_output == "auto" else structured_output
        )
        if token_param not in ("auto", "max_completion_tokens", "max_tokens"):
            raise ConfigError("token_param must be auto, max_completion_tokens or max_tokens")
        self.token_param: TokenParam = token_param
        host = httpx.URL(self.base_url).host or ""
        #: OpenAI or Azure OpenAI (not a self-hosted server speaking their API).
        self.hosted_openai = bool(_OPENAI_HOSTS.search(host))
        if token_param == "auto":
            self._token_key = "max_completion_tokens" if self.hosted_openai else "max_tokens"
        else:
            self._token_key = token_param
        self.local = is_local_url(self.base_url)
        self.stream = stream
        self._stream_usage = stream
        self.stats = ClientStats()
        self.speed = _Speed()
        self._auto_concurrency = max_concurrency is None
        limit = max_concurrency or (1 if self.local else 4)
        self._limiter = anyio.CapacityLimiter(limit)
        self._probed = not (self._auto_concurrency and self.local)
        self._probe_lock = anyio.Lock()
        self._free_probe: str | None = None  # "slots" | "models" | "none", found on first need
        self._sleep = sleep or anyio.sleep
        self._clock = clock or time.monotonic
        rl = rate_limit or RateLimit()
        self._rpm = _Bucket(rl.requests_per_minute, self._clock) if rl.requests_per_minute else None
        self._tpm = _Bucket(rl.tokens_per_minute, self._clock) if rl.tokens_per_minute else None
        self._rng = random.Random(seed)
        self._wire: Wire = wire or HttpxWire(
            self.base_url,
            query=query,
            headers=headers,
            max_connections=max(limit, 4),
            transport=transport,
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

    @property
    def max_concurrency(self) -> int:
        """Requests in flight at most (after the server probe, when automatic)."""
        return int(self._limiter.total_tokens)

    async def aclose(self) -> None:
        await self._wire.aclose()

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
        await self._probe_concurrency()
        async with self._limiter:
            await self._throttle(estimated_tokens + max_tokens)
            attempt = 0
            while True:
                attempt += 1
                body = self._body(messages, max_tokens, temperature, schema, schema_name, seed)
                deadline = self.deadline(estimated_tokens, max_tokens, attempt)
                try:
                    completion = await self._attempt(body, attempt, deadline)
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
                    if exc.reason in ("timeout", "interrupted") and not await self._until_free():
                        self.stats.failed += 1
                        raise ScorerUnavailable(
                            f"{exc.reason}; the server stayed busy for {self.pacing.free_wait:.0f}s"
                        ) from None
                    continue
                self._check_cap(completion, max_tokens)
                self._measure(completion, estimated_tokens)
                return completion

    def deadline(self, prompt_tokens: int, max_tokens: int, attempt: int = 1) -> float:
        """Seconds attempt number `attempt` of a call may take (see `Pacing`)."""
        if self.call_timeout is not None:
            return self.call_timeout
        p = self.pacing
        predicted = self.speed.predict(prompt_tokens, max_tokens)
        if predicted is None:
            base = p.first_timeout
        else:
            base = min(p.max_timeout, max(p.min_timeout, p.margin * predicted))
        return min(p.max_timeout, base * p.retry_growth ** (attempt - 1))

    def _measure(self, c: ChatCompletion, estimated_prompt: int) -> None:
        tokens = c.completion_tokens if c.completion_tokens is not None else c.chunks
        if c.seconds is None:
            return
        prompt = c.prompt_tokens if c.prompt_tokens is not None else estimated_prompt
        first = c.first_token_seconds if c.first_token_seconds is not None else c.seconds
        self.speed.record(prompt, tokens, first, c.seconds)

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
            and (completion.completion_tokens or completion.chunks) > max_tokens
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

    # ------------------------------------------------------------------ the server's capacity
    def _root(self) -> str:
        """The server's root URL (the base URL without a trailing ``/v1``)."""
        return re.sub(r"/v1$", "", self.base_url)

    async def _get_json(self, url: str, seconds: float) -> Any:
        """A probe's JSON, or None when the server has no such endpoint or does not answer."""
        try:
            with anyio.fail_after(seconds):
                response = await self._wire.get(url, seconds)
        except (TimeoutError, httpx.HTTPError, ScorerUnavailable):
            return None
        except Exception as exc:  # an SDK error type: the probe only failed
            logger.debug("alliance_monitor.llm_probe_failed", extra={"error": type(exc).__name__})
            return None
        if response.status_code != 200:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    async def _probe_concurrency(self) -> None:
        """Once, for a local server with automatic concurrency: llama-server's ``/props`` says
        how many slots decode in parallel; any other server gets one request at a time."""
        if self._probed:
            return
        async with self._probe_lock:
            if self._probed:
                return
            props = await self._get_json(self._root() + "/props", 5.0)
            slots = props.get("total_slots") if isinstance(props, dict) else None
            if isinstance(slots, int) and not isinstance(slots, bool) and 1 <= slots <= 256:
                self._limiter.total_tokens = slots
            logger.info(
                "alliance_monitor.llm_concurrency",
                extra={"max_concurrency": self.max_concurrency, "advertised": slots},
            )
            self._probed = True

    async def _until_free(self) -> bool:
        """After a timeout, before the retry: wait until the server shows it is free (at most
        ``pacing.free_wait`` seconds). llama-server: a slot not processing in ``/slots``;
        llama-cpp-python: ``/v1/models`` answers (it waits for the one generation lock). A
        hosted API, or a server with neither, is taken as free."""
        if not self.local or self.pacing.free_wait <= 0:
            return True
        started = self._clock()
        give_up = started + self.pacing.free_wait
        self.stats.waited_for_server += 1
        try:
            if self._free_probe in (None, "slots"):
                slots = await self._get_json(self._root() + "/slots", 5.0)
                if isinstance(slots, list):
                    self._free_probe = "slots"
                    while not any(
                        isinstance(s, dict) and not s.get("is_processing", True) for s in slots
                    ):
                        if self._clock() >= give_up:
                            return False
                        await self._sleep(1.0)
                        slots = await self._get_json(self._root() + "/slots", 5.0)
                        if not isinstance(slots, list):
                            break
                    return True
                self._free_probe = "models"
            if self._free_probe == "models":
                left = max(1.0, give_up - self._clock())
                models = await self._get_json(self.base_url + "/models", left)
                return models is not None
            return True
        finally:
            self.stats.wait_seconds += self._clock() - started

    # ------------------------------------------------------------------ one request
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
            "stream": self.stream,
        }
        if self.stream and self._stream_usage:
            body["stream_options"] = {"include_usage": True}
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

    @property
    def constrains_decoding(self) -> bool:
        """Whether answers are decoded under the request's JSON schema (a grammar on
        llama.cpp, vLLM and Ollama; strict structured output at OpenAI)."""
        return self._active in ("json_schema", "json_object_schema")

    def _headers(self) -> dict[str, str]:
        if not self.__key:
            return {}
        if self._auth == "api-key":
            return {"api-key": self.__key}
        return {"Authorization": f"Bearer {self.__key}"}

    def _timeout(self, deadline: float) -> httpx.Timeout:
        read = self.read_timeout if self.read_timeout is not None else deadline
        return httpx.Timeout(
            connect=self.connect_timeout, read=read, write=self.write_timeout, pool=deadline
        )

    async def _attempt(self, body: dict[str, Any], attempt: int, deadline: float) -> ChatCompletion:
        self.stats.requests += 1
        started = self._clock()
        try:
            # Leaving this block early (the deadline) closes the stream: the server sees the
            # disconnect and stops generating.
            with anyio.fail_after(deadline) as scope:
                async with self._wire.post(
                    body, self._headers(), self._timeout(max(deadline, self.pacing.max_timeout))
                ) as response:
                    if response.status_code == 200 and _is_event_stream(response):
                        budget = int(body.get(self._token_key) or 0)
                        reader = _StreamReader(
                            self._clock, started, lambda r: self._repace(scope, r, budget)
                        )
                        await reader.read(response, self.max_response_bytes)
                        return self._finish_stream(reader, attempt)
                    response = await _read_capped(response, self.max_response_bytes)
        except _TooLarge:
            self.stats.failed += 1
            raise ScoringError("response_too_large") from None
        except (TimeoutError, httpx.TimeoutException):
            self.stats.timeouts += 1
            logger.info(
                "alliance_monitor.llm_timeout",
                extra={"deadline": round(deadline, 1), "attempt": attempt},
            )
            raise _Retry("timeout") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            self.stats.connect_errors += 1
            raise _Retry("connection error") from None
        except httpx.HTTPError as exc:
            raise ScorerUnavailable(f"http client error: {type(exc).__name__}") from None
        status = response.status_code
        if status != 200:
            self.stats.http_status[status] = self.stats.http_status.get(status, 0) + 1
            self._maybe_drop_stream_options(body, response)
            self._maybe_token_fallback(body, response)
            self._maybe_downgrade(body, response)
            if status == 429:
                self.stats.rate_limited += 1
            if status in _RETRY_STATUS:
                raise _Retry(f"http {status}", parse_retry_after(response.headers))
            self.stats.failed += 1
            raise ScorerUnavailable(f"http {status}")
        completion = _parse_completion(response, attempt)
        elapsed = self._clock() - started
        completion = _timed(completion, elapsed, elapsed, 0)
        self.stats.succeeded += 1
        return completion

    def _repace(self, scope: anyio.CancelScope, reader: _StreamReader, budget: int) -> None:
        """While an answer streams (derived deadlines only): once 8 tokens have come, and every
        32 after, the attempt's deadline becomes `margin` times what the rest of the answer
        budget takes at the rate measured so far (at most `max_timeout` in all)."""
        n = reader.chunks
        if self.call_timeout is not None or reader.first is None or n < 8 or (n - 8) % 32:
            return
        now = self._clock()
        per_token = (now - reader.started - reader.first) / (n - 1)
        rest = self.pacing.margin * per_token * max(0, budget - n) + self.pacing.min_timeout
        left = self.pacing.max_timeout - (now - reader.started)
        scope.deadline = anyio.current_time() + max(1.0, min(rest, left))

    def _finish_stream(self, reader: _StreamReader, attempt: int) -> ChatCompletion:
        if reader.error:
            raise _Retry("stream error")
        if reader.finish_reason is None:  # ended early: dropped, or pre-empted by the server
            self.stats.interrupted += 1
            raise _Retry("interrupted")
        self.stats.succeeded += 1
        return reader.completion(attempt)

    def _maybe_drop_stream_options(self, body: dict[str, Any], response: httpx.Response) -> None:
        """A server that refuses ``stream_options`` by name gets streams without it."""
        if "stream_options" not in body or response.status_code not in (400, 422):
            return
        if "stream_options" in response.text[:4000].lower():  # keywords only, never logged
            self._stream_usage = False
            logger.info("alliance_monitor.llm_stream_options_dropped")
            raise _Downgrade

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


def _is_event_stream(response: httpx.Response) -> bool:
    kind: str = response.headers.get("content-type", "")
    return kind.startswith("text/event-stream")


class _StreamReader:
    """Reads a server-sent-events chat completion stream, chunk by chunk."""

    def __init__(
        self,
        clock: Callable[[], float],
        started: float,
        on_token: Callable[[_StreamReader], None] | None = None,
    ) -> None:
        self._clock = clock
        self.started = started
        self._on_token = on_token
        self.parts: list[str] = []
        self.model: str | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.chunks = 0
        self.first: float | None = None
        self.error = False
        self.done = False

    async def read(self, response: httpx.Response, limit: int) -> None:
        size = 0
        pending = b""
        async for data in response.aiter_bytes():
            size += len(data)
            if size > limit:
                raise _TooLarge
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._line(line.rstrip(b"\r"))
            if self.done:
                break
        if pending and not self.done:
            self._line(pending.rstrip(b"\r"))

    def _line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return  # comments (": ping"), event names, blank separators
        data = line[5:].strip()
        if data == b"[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            self.error = True
            return
        if not isinstance(chunk, dict):
            return
        if "error" in chunk:
            self.error = True
            return
        if isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(text, str) and text:
                self.parts.append(text)
                self.chunks += 1
                if self.first is None:
                    self.first = self._clock() - self.started
                if self._on_token is not None:
                    self._on_token(self)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])

    def completion(self, attempt: int) -> ChatCompletion:
        details = self.usage.get("prompt_tokens_details") or {}
        return ChatCompletion(
            content="".join(self.parts),
            model=self.model,
            prompt_tokens=_int(self.usage.get("prompt_tokens")),
            completion_tokens=_int(self.usage.get("completion_tokens")),
            cached_tokens=_int(details.get("cached_tokens")) if isinstance(details, dict) else None,
            finish_reason=self.finish_reason,
            attempts=attempt,
            first_token_seconds=self.first,
            seconds=self._clock() - self.started,
            chunks=self.chunks,
        )


def _timed(c: ChatCompletion, first: float, total: float, chunks: int) -> ChatCompletion:
    return ChatCompletion(
        content=c.content,
        model=c.model,
        prompt_tokens=c.prompt_tokens,
        completion_tokens=c.completion_tokens,
        cached_tokens=c.cached_tokens,
        finish_reason=c.finish_reason,
        attempts=c.attempts,
        first_token_seconds=first,
        seconds=total,
        chunks=chunks,
    )


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
