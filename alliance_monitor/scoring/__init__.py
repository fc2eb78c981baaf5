"""Scorers: the embedded offline scorer (default), the LLM scorer over any OpenAI-compatible API,
the cascade of both, and the interface they implement (one async method plus `aclose()`)."""

from ._base import Scorer, SyncScorer
from ._cascade import CascadePolicy, CascadeScorer
from ._embedded import EmbeddedScorer
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
    "basic_redactor",
    "chain_redactors",
    "make_feedback_writer",
    "make_llm_scorer",
    "make_scorer",
    "no_redaction",
    "presidio_redactor",
]
