"""`make_scorer`: one entry point for the CLI and for users who configure scorers by name.

    make_scorer("embedded")
    make_scorer("llm", base_url="http://127.0.0.1:8080/v1", model="qwen2.5-7b-instruct")
    make_scorer("cascade", base_url=..., model=..., max_llm_share=0.1, n_samples=3)

Options are keyword arguments, routed by name to the HTTP client (`OpenAICompatibleClient`), the
LLM scorer (`LLMScorer`) or the cascade policy (`CascadePolicy`); an unknown option is a
`ConfigError`, never silently ignored. Shorthands: ``max_retries`` (RetryPolicy.max_attempts),
``samples`` (``n_samples``), ``requests_per_minute`` / ``tokens_per_minute`` (RateLimit),
``redactor="basic"|"none"|"presidio"``.

OpenAI conventions are honoured here, at the edge, when no explicit setting is given: a missing
`base_url` is read from ``OPENAI_BASE_URL``; with neither ``api_key=`` nor an explicit
`api_key_env`, the key comes from ``ALLIANCE_MONITOR_LLM_API_KEY`` and, when that is unset, from
``OPENAI_API_KEY`` (as the OpenAI SDK does, it is then sent to whatever `base_url` is configured;
pass ``api_key_env=None`` for a server that must not see it).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Mapping
from typing import Any, Literal

from .._errors import ConfigError
from ._base import Scorer
from ._cascade import CascadePolicy, CascadeScorer
from ._feedback_llm import LLMFeedbackWriter
from ._llm import LLMScorer
from ._openai import OpenAICompatibleClient, RateLimit, RetryPolicy
from ._redact import Redactor, basic_redactor, no_redaction, presidio_redactor

__all__ = ["ScorerKind", "make_feedback_writer", "make_llm_scorer", "make_scorer"]

ScorerKind = Literal["embedded", "llm", "cascade"]
DEFAULT_API_KEY_ENV = "ALLIANCE_MONITOR_LLM_API_KEY"
OPENAI_BASE_URL_ENV = "OPENAI_BASE_URL"
OPENAI_API_KEY_ENV = "OPENAI_API_KEY"


def _params(fn: Any) -> set[str]:
    return {
        n
        for n, p in inspect.signature(fn).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


_CLIENT_OPTS = _params(OpenAICompatibleClient.__init__) - {"base_url", "model", "api_key_env"}
_SCORER_OPTS = _params(LLMScorer.__init__) - {"owns_client"}
_WRITER_OPTS = _params(LLMFeedbackWriter.__init__) - {"owns_client"}
_POLICY_OPTS = {f.name for f in dataclasses.fields(CascadePolicy)}
_SHORTHANDS = {"max_retries", "requests_per_minute", "tokens_per_minute", "samples"}


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
    base_url: str | None, api_key_env: str | None, options: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """(base URL, key variable) after the OpenAI fallbacks (see the module docstring)."""
    environ: Mapping[str, str] = options.get("environ") or os.environ
    base_url = base_url or environ.get(OPENAI_BASE_URL_ENV) or None
    if (
        options.get("api_key") is None
        and api_key_env == DEFAULT_API_KEY_ENV
        and not environ.get(DEFAULT_API_KEY_ENV)
        and environ.get(OPENAI_API_KEY_ENV)
    ):
        api_key_env = OPENAI_API_KEY_ENV
    return base_url, api_key_env


def _make_embedded() -> Scorer:
    from ._embedded import EmbeddedScorer

    return EmbeddedScorer()


def make_llm_scorer(
    *, base_url: str | None, model: str | None, api_key_env: str | None, **options: Any
) -> LLMScorer:
    """An `LLMScorer` with its own client; see `make_scorer` for the options."""
    base_url, api_key_env = resolve_endpoint(base_url, api_key_env, options)
    if not base_url or not model:
        raise ConfigError(
            "the llm and cascade scorers need base_url and model (base_url may come from "
            "OPENAI_BASE_URL)"
        )
    unknown = set(options) - _CLIENT_OPTS - _SCORER_OPTS - _SHORTHANDS
    if unknown:
        raise ConfigError(f"unknown scorer option(s): {', '.join(sorted(unknown))}")
    client_kw = {k: v for k, v in options.items() if k in _CLIENT_OPTS}
    scorer_kw = {k: v for k, v in options.items() if k in _SCORER_OPTS}
    if "max_retries" in options:
        client_kw["retry"] = RetryPolicy(max_attempts=int(options["max_retries"]))
    rpm, tpm = options.get("requests_per_minute"), options.get("tokens_per_minute")
    if rpm or tpm:
        client_kw["rate_limit"] = RateLimit(requests_per_minute=rpm, tokens_per_minute=tpm)
    if "redactor" in scorer_kw:
        scorer_kw["redactor"] = _redactor(scorer_kw["redactor"])
    if options.get("samples") is not None:
        if "n_samples" in scorer_kw:
            raise ConfigError("pass either samples or n_samples, not both")
        scorer_kw["n_samples"] = int(options["samples"])
    client = OpenAICompatibleClient(
        base_url=base_url, model=model, api_key_env=api_key_env, **client_kw
    )
    return LLMScorer(client, **scorer_kw)


def make_scorer(
    kind: ScorerKind,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = DEFAULT_API_KEY_ENV,
    **options: Any,
) -> Scorer:
    """Build a scorer by name.

    - ``"embedded"``: the offline scorer (no options);
    - ``"llm"``: `LLMScorer` against the OpenAI-compatible server at `base_url` (default
      ``$OPENAI_BASE_URL``) serving `model`, the key given as ``api_key=`` or read from the
      environment variable `api_key_env` (default ``ALLIANCE_MONITOR_LLM_API_KEY``, then
      ``OPENAI_API_KEY``; None: no key);
    - ``"cascade"``: `CascadeScorer` over both; `CascadePolicy` fields (``max_llm_share``,
      ``confidence_below``, ``max_calls``, ``max_tokens``, ...) or ``policy=`` are accepted too.
    """
    if kind == "embedded":
        if options:
            raise ConfigError(f"the embedded scorer takes no options: {', '.join(sorted(options))}")
        return _make_embedded()
    if kind == "llm":
        return make_llm_scorer(base_url=base_url, model=model, api_key_env=api_key_env, **options)
    if kind == "cascade":
        policy_kw = {k: options.pop(k) for k in list(options) if k in _POLICY_OPTS}
        policy = options.pop("policy", None)
        if policy is not None and policy_kw:
            raise ConfigError("pass either policy= or CascadePolicy fields, not both")
        policy = policy or CascadePolicy(**policy_kw)
        llm = make_llm_scorer(base_url=base_url, model=model, api_key_env=api_key_env, **options)
        return CascadeScorer(_make_embedded(), llm, policy=policy)
    raise ConfigError(f"unknown scorer kind {kind!r} (embedded, llm or cascade)")


def make_feedback_writer(
    *,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None = DEFAULT_API_KEY_ENV,
    **options: Any,
) -> LLMFeedbackWriter:
    """An `LLMFeedbackWriter` with its own client (closed by its `aclose()`).

    Options: the HTTP client's (as for `make_scorer`) and the writer's (`redactor`,
    `prompt_version`, `max_prompt_tokens`, `max_completion_tokens`, `temperature`,
    `output_language`).
    """
    base_url, api_key_env = resolve_endpoint(base_url, api_key_env, options)
    if not base_url or not model:
        raise ConfigError("LLM feedback needs base_url and model (or OPENAI_BASE_URL)")
    unknown = set(options) - _CLIENT_OPTS - _WRITER_OPTS - {"max_retries"}
    if unknown:
        raise ConfigError(f"unknown feedback option(s): {', '.join(sorted(unknown))}")
    client_kw = {k: v for k, v in options.items() if k in _CLIENT_OPTS}
    writer_kw = {k: v for k, v in options.items() if k in _WRITER_OPTS}
    if "max_retries" in options:
        client_kw["retry"] = RetryPolicy(max_attempts=int(options["max_retries"]))
    if "redactor" in writer_kw:
        writer_kw["redactor"] = _redactor(writer_kw["redactor"])
    client = OpenAICompatibleClient(
        base_url=base_url, model=model, api_key_env=api_key_env, **client_kw
    )
    return LLMFeedbackWriter(client, owns_client=True, **writer_kw)
