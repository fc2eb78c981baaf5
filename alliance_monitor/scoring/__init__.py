"""Scorers: the embedded offline scorer (default), the LLM scorer over any OpenAI-compatible API,
the cascade of both, and the interface they implement (one async method plus `aclose()`)."""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports as _lazy_exports
from ._base import Scorer, SyncScorer, score_or_unscored
from ._options import add_scorer_args, scorer_from_args

if TYPE_CHECKING:
    from ._cascade import CascadePolicy, CascadeScorer
    from ._embedded import EmbeddedScorer, window_signals
    from ._factory import make_feedback_writer, make_llm_scorer, make_scorer
    from ._feedback_llm import FeedbackRequest, LLMFeedbackWriter
    from ._llm import LLMScorer
    from ._openai import OpenAICompatibleClient, RateLimit, RetryPolicy
    from ._redact import (
        Redactor,
        basic_redactor,
        chain_redactors,
        no_redaction,
        presidio_redactor,
    )


#: Where each public name lives. Imported on first use (PEP 562), so `import alliance_monitor`
#: does not load the LLM client, httpx, the prompts or the lexicons until a scorer needs them.
_LAZY: dict[str, str | tuple[str, str]] = {
    "CascadePolicy": "._cascade",
    "CascadeScorer": "._cascade",
    "EmbeddedScorer": "._embedded",
    "window_signals": "._embedded",
    "make_feedback_writer": "._factory",
    "make_llm_scorer": "._factory",
    "make_scorer": "._factory",
    "FeedbackRequest": "._feedback_llm",
    "LLMFeedbackWriter": "._feedback_llm",
    "LLMScorer": "._llm",
    "OpenAICompatibleClient": "._openai",
    "RateLimit": "._openai",
    "RetryPolicy": "._openai",
    "Redactor": "._redact",
    "basic_redactor": "._redact",
    "chain_redactors": "._redact",
    "no_redaction": "._redact",
    "presidio_redactor": "._redact",
}


__getattr__, __dir__ = _lazy_exports(__name__, globals(), _LAZY)


__all__ = [
    "CascadePolicy",
    "CascadeScorer",
    "EmbeddedScorer",
    "FeedbackRequest",
    "LLMFeedbackWriter",
    "LLMScorer",
    "OpenAICompatibleClient",
    "RateLimit",
    "Redactor",
    "RetryPolicy",
    "Scorer",
    "SyncScorer",
    "add_scorer_args",
    "basic_redactor",
    "chain_redactors",
    "make_feedback_writer",
    "make_llm_scorer",
    "make_scorer",
    "no_redaction",
    "presidio_redactor",
    "score_or_unscored",
    "scorer_from_args",
    "window_signals",
]
