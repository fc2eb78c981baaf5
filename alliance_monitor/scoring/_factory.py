"""`make_scorer`: one entry point for the CLI and for users who configure scorers by name.

    make_scorer("embedded")
    make_scorer("llm", base_url="http://127.0.0.1:8080/v1", model="qwen2.5-7b-instruct")
    make_scorer("cascade", base_url=..., model=..., options=ScorerOptions(max_llm_share=0.1))
    make_scorer("llm", model="gpt-4o-mini", llm_client=openai.AsyncAzureOpenAI(...))

The options of the llm and cascade scorers are one typed record, `ScorerOptions`: each field is
an option of the HTTP client (`OpenAICompatibleClient`), the LLM scorer (`LLMScorer`) or the
cascade policy (`CascadePolicy`), named once here; unset fields keep the component's default.
Keyword arguments (and the CLI's ``--scorer-option KEY=VALUE``, and the service's TOML
``options``) go through `ScorerOptions.parse`, which converts strings to the declared types and
refuses unknown names and bad values with a `ConfigError`, never silently.

OpenAI conventions are honoured here, at the edge, when no explicit setting is given: a missing
`base_url` is read from ``OPENAI_BASE_URL``; with neither ``api_key=`` nor an explicit
`api_key_env`, the key comes from ``ALLIANCE_MONITOR_LLM_API_KEY`` and, when that is unset, from
``OPENAI_API_KEY`` (as the OpenAI SDK does, it is then sent to whatever `base_url` is configured;
pass ``api_key_env=None`` for a server that must not see it).

``llm_client=`` takes an existing ``openai.AsyncOpenAI`` or ``AsyncAzureOpenAI`` client instead
(the ``openai`` extra): its base URL and authentication (API key, or Azure AD tokens through
``azure_ad_token_provider``) are used as they are, with this package's retries, limits, pacing,
streaming and structured output on top. The caller keeps and closes that client.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from .._errors import ConfigError
from ._base import Scorer
from ._cascade import CascadePolicy, CascadeScorer
from ._feedback_llm import LLMFeedbackWriter
from ._llm import LLMScorer
from ._openai import (
    OpenAICompatibleClient,
    Pacing,
    RateLimit,
    RetryPolicy,
    StructuredOutput,
    TokenParam,
)
from ._redact import Redactor, basic_redactor, no_redaction, presidio_redactor

__all__ = [
    "ScorerKind",
    "ScorerOptions",
    "make_feedback_writer",
    "make_llm_scorer",
    "make_scorer",
]

ScorerKind = Literal["embedded", "llm", "cascade"]
DEFAULT_API_KEY_ENV = "ALLIANCE_MONITOR_LLM_API_KEY"
OPENAI_BASE_URL_ENV = "OPENAI_BASE_URL"
OPENAI_API_KEY_ENV = "OPENAI_API_KEY"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScorerOptions:
    """Options of the llm and cascade scorers; None keeps the component's default.

    HTTP client: timeouts (``call_timeout`` fixes one attempt's deadline; unset, it is derived
    from the answer budget and the measured speed, see `Pacing`), ``max_concurrency`` (unset: 1
    for a local server or its advertised slots, 4 for a hosted API), retries, rate limits,
    authentication, structured output, streaming. LLM scorer: prompt, budgets, samples,
    evidence rules (``constrain_evidence``), redaction. Cascade: `CascadePolicy` fields, or a
    whole ``policy``. The feedback writer takes the client options and its own few.
    """

    # the HTTP client (OpenAICompatibleClient)
    call_timeout: float | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None
    write_timeout: float | None = None
    max_concurrency: int | None = None
    max_retries: int | None = None
    retry: RetryPolicy | None = None
    pacing: Pacing | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    structured_output: StructuredOutput | None = None
    token_param: TokenParam | None = None
    stream: bool | None = None
    auth: Literal["bearer", "api-key"] | None = None
    api_key: str | None = None
    query: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    environ: dict[str, str] | None = None
    # the LLM scorer (LLMScorer), and the feedback writer where the names are shared
    redactor: str | Redactor | None = None
    prompt_version: str | None = None
    reasoning_words: int | None = None
    output_language: str | None = None
    summary_tokens: int | None = None
    summary_words: int | None = None
    disagreement_spread: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    n_samples: int | None = None
    temperature: float | None = None
    min_valid_samples: int | None = None
    require_evidence: bool | None = None
    repair: bool | None = None
    constrain_evidence: bool | None = None
    carry_windows: int | None = None
    # the cascade (CascadePolicy fields, or the whole policy)
    policy: CascadePolicy | None = None
    confidence_below: float | None = None
    pattern_rate: float | None = None
    pattern_min_flagged: int | None = None
    on_boundaries: bool | None = None
    decline_levels: float | None = None
    low_level: float | None = None
    max_llm_share: float | None = None
    burst: int | None = None
    max_calls: int | None = None
    max_tokens: int | None = None
    low_confidence_budget_share: float | None = None
    abstained_min_exchanges: int | None = None

    #: Which component each option belongs to (the rest are shorthands handled below).
    CLIENT: typing.ClassVar[tuple[str, ...]] = (
        "call_timeout",
        "connect_timeout",
        "read_timeout",
        "write_timeout",
        "max_concurrency",
        "retry",
        "pacing",
        "structured_output",
        "token_param",
        "stream",
        "auth",
        "api_key",
        "query",
        "headers",
        "environ",
    )
    SCORER: typing.ClassVar[tuple[str, ...]] = (
        "redactor",
        "prompt_version",
        "reasoning_words",
        "output_language",
        "summary_tokens",
        "summary_words",
        "disagreement_spread",
        "max_prompt_tokens",
        "max_completion_tokens",
        "n_samples",
        "temperature",
        "min_valid_samples",
        "require_evidence",
        "repair",
        "constrain_evidence",
        "carry_windows",
    )
    WRITER: typing.ClassVar[tuple[str, ...]] = (
        "redactor",
        "prompt_version",
        "max_prompt_tokens",
        "max_completion_tokens",
        "temperature",
        "output_language",
    )
    POLICY: typing.ClassVar[tuple[str, ...]] = tuple(
        f.name for f in dataclasses.fields(CascadePolicy)
    )
    #: Other spellings accepted by `parse`.
    ALIASES: typing.ClassVar[dict[str, str]] = {"samples": "n_samples", "timeout": "call_timeout"}

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> ScorerOptions:
        """Options from names and values (CLI strings, TOML values or Python objects): strings
        are converted to the field's type (``"0.4"``, ``"3"``, ``"true"``, ``"none"``)."""
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        out: dict[str, Any] = {}
        for raw_key, value in values.items():
            key = cls.ALIASES.get(raw_key, raw_key)
            if key not in known:
                raise ConfigError(f"unknown scorer option {raw_key!r}")
            if key in out:
                raise ConfigError(f"scorer option {key!r} given twice")
            out[key] = _convert(key, value, hints[key])
        return cls(**out)

    def merged(self, other: ScorerOptions) -> ScorerOptions:
        """These options with the fields set in `other` replaced."""
        changes = {
            f.name: getattr(other, f.name)
            for f in dataclasses.fields(other)
            if getattr(other, f.name) is not None
        }
        return dataclasses.replace(self, **changes)

    def set(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The options among `names` that are set."""
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def client_keywords(self) -> dict[str, Any]:
        kw = self.set(self.CLIENT)
        if self.max_retries is not None:
            if self.retry is not None:
                raise ConfigError("pass either max_retries or retry, not both")
            kw["retry"] = RetryPolicy(max_attempts=self.max_retries)
        if self.requests_per_minute or self.tokens_per_minute:
            kw["rate_limit"] = RateLimit(
                requests_per_minute=self.requests_per_minute,
                tokens_per_minute=self.tokens_per_minute,
            )
        return kw

    def cascade_policy(self) -> CascadePolicy:
        fields = self.set(self.POLICY)
        if self.policy is not None:
            if fields:
                raise ConfigError("pass either policy or CascadePolicy fields, not both")
            return self.policy
        return CascadePolicy(**fields)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _convert(key: str, value: Any, hint: Any) -> Any:
    """`value` as the type `hint` declares (None stays None)."""
    options = [a for a in _union_args(hint) if a is not type(None)]
    text_ok = str in options  # "none" is a value there (redactor="none")
    if value is None or (
        not text_ok and isinstance(value, str) and value.strip().lower() in ("none", "null")
    ):
        return None
    for kind in options:
        try:
            return _as(value, kind)
        except (TypeError, ValueError):
            continue
    raise ConfigError(f"scorer option {key}: {value!r} is not a valid value")


def _union_args(hint: Any) -> tuple[Any, ...]:
    if get_origin(hint) in (Union, types.UnionType):
        return get_args(hint)
    return (hint,)


def _as(value: Any, kind: Any) -> Any:
    if get_origin(kind) is Literal:
        if value in get_args(kind):
            return value
        raise ValueError
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError
    if kind in (int, float):
        if isinstance(value, bool):
            raise ValueError
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        number = kind(value.strip() if isinstance(value, str) else value)
        if kind is float and number != number:
            raise ValueError
        return number
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError
    origin = get_origin(kind) or kind
    if origin is dict and isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(origin, type) and isinstance(value, origin):
        return value
    if callable(value) and getattr(kind, "__name__", "") == "Callable":
        return value
    if get_origin(kind) is not None and callable(value):  # Redactor = Callable[[str], str]
        return value
    raise ValueError


def _redactor(value: Redactor | str) -> Redactor:
    if callable(value):
        return value
    if value == "basic":
        return basic_redactor
    if value == "none":
        return no_redaction
    if value == "presidio":
        return presidio_redactor()
    raise ConfigError(f"unknown redactor {value!r} (basic, none, presidio or a callable)")


def resolve_endpoint(
    base_url: str | None, api_key_env: str | None, options: ScorerOptions
) -> tuple[str | None, str | None]:
    """(base URL, key variable) after the OpenAI fallbacks (see the module docstring)."""
    environ: Mapping[str, str] = options.environ or os.environ
    base_url = base_url or environ.get(OPENAI_BASE_URL_ENV) or None
    if (
        options.api_key is None
        and api_key_env == DEFAULT_API_KEY_ENV
        and not environ.get(DEFAULT_API_KEY_ENV)
        and environ.get(OPENAI_API_KEY_ENV)
    ):
        api_key_env = OPENAI_API_KEY_ENV
    return base_url, api_key_env


def _options(options: ScorerOptions | None, keywords: Mapping[str, Any]) -> ScorerOptions:
    parsed = ScorerOptions.parse(keywords)
    return parsed if options is None else options.merged(parsed)


def _client(
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    opts: ScorerOptions,
    llm_client: Any,
    what: str,
) -> OpenAICompatibleClient:
    if llm_client is not None:
        from ._openai_sdk import sdk_chat_client

        if not model:
            raise ConfigError(f"{what} needs model (the model or Azure deployment name)")
        if base_url or opts.api_key or opts.auth or opts.query or opts.headers:
            raise ConfigError(
                "with llm_client=, the base URL and authentication are the client's own: "
                "leave base_url, api_key, auth, query and headers unset"
            )
        return sdk_chat_client(llm_client, model=model, **opts.client_keywords())
    base_url, api_key_env = resolve_endpoint(base_url, api_key_env, opts)
    if not base_url or not model:
        raise ConfigError(
            f"{what} needs base_url and model (base_url may come from OPENAI_BASE_URL), or "
            "llm_client= and model"
        )
    return OpenAICompatibleClient(
        base_url=base_url, model=model, api_key_env=api_key_env, **opts.client_keywords()
    )


def _make_embedded() -> Scorer:
    from ._embedded import EmbeddedScorer

    return EmbeddedScorer()


def make_llm_scorer(
    *,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None = DEFAULT_API_KEY_ENV,
    options: ScorerOptions | None = None,
    llm_client: Any = None,
    **keywords: Any,
) -> LLMScorer:
    """An `LLMScorer` with its own client; see `make_scorer` for the options."""
    opts = _options(options, keywords)
    stray = opts.set(ScorerOptions.POLICY) or opts.policy
    if stray:
        raise ConfigError("cascade options are for make_scorer('cascade', ...)")
    client = _client(base_url, model, api_key_env, opts, llm_client, "the llm scorer")
    scorer_kw = opts.set(ScorerOptions.SCORER)
    if "redactor" in scorer_kw:
        scorer_kw["redactor"] = _redactor(scorer_kw["redactor"])
    return LLMScorer(client, **scorer_kw)


def make_scorer(
    kind: ScorerKind,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = DEFAULT_API_KEY_ENV,
    options: ScorerOptions | None = None,
    llm_client: Any = None,
    **keywords: Any,
) -> Scorer:
    """Build a scorer by name.

    - ``"embedded"``: the offline scorer (no options);
    - ``"llm"``: `LLMScorer` against the OpenAI-compatible server at `base_url` (default
      ``$OPENAI_BASE_URL``) serving `model`, the key given as ``api_key`` or read from the
      environment variable `api_key_env` (default ``ALLIANCE_MONITOR_LLM_API_KEY``, then
      ``OPENAI_API_KEY``; None: no key); or through `llm_client`, an ``openai.AsyncOpenAI`` /
      ``AsyncAzureOpenAI`` client;
    - ``"cascade"``: `CascadeScorer` over both, with the cascade options of `ScorerOptions`.

    `options` and the keyword arguments (the same names, converted by `ScorerOptions.parse`)
    are merged, the keywords winning.
    """
    if kind == "embedded":
        if options is not None or keywords or llm_client is not None:
            raise ConfigError(f"the embedded scorer takes no options: {', '.join(keywords)}")
        return _make_embedded()
    opts = _options(options, keywords)
    if kind == "llm":
        return make_llm_scorer(
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            options=opts,
            llm_client=llm_client,
        )
    if kind == "cascade":
        policy = opts.cascade_policy()
        cleared = {n: None for n in (*ScorerOptions.POLICY, "policy")}
        llm = make_llm_scorer(
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            options=dataclasses.replace(opts, **cleared),
            llm_client=llm_client,
        )
        return CascadeScorer(_make_embedded(), llm, policy=policy)
    raise ConfigError(f"unknown scorer kind {kind!r} (embedded, llm or cascade)")


def make_feedback_writer(
    *,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None = DEFAULT_API_KEY_ENV,
    options: ScorerOptions | None = None,
    llm_client: Any = None,
    **keywords: Any,
) -> LLMFeedbackWriter:
    """An `LLMFeedbackWriter` with its own client (closed by its `aclose()`).

    Options: the HTTP client's (as for `make_scorer`) and the writer's (`redactor`,
    `prompt_version`, `max_prompt_tokens`, `max_completion_tokens`, `temperature`,
    `output_language`).
    """
    opts = _options(options, keywords)
    allowed = {*ScorerOptions.CLIENT, *ScorerOptions.WRITER, "max_retries"}
    allowed |= {"requests_per_minute", "tokens_per_minute"}
    extra = sorted(
        n for n in opts.set(tuple(f.name for f in dataclasses.fields(opts))) if n not in allowed
    )
    if extra:
        raise ConfigError(f"unknown feedback option(s): {', '.join(extra)}")
    client = _client(base_url, model, api_key_env, opts, llm_client, "LLM feedback")
    writer_kw = opts.set(ScorerOptions.WRITER)
    if "redactor" in writer_kw:
        writer_kw["redactor"] = _redactor(writer_kw["redactor"])
    return LLMFeedbackWriter(client, owns_client=True, **writer_kw)
