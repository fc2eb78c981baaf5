"""Scorers: the embedded offline scorer (default), the LLM scorer over any OpenAI-compatible API,
the cascade of both, and the interface they implement (one async method plus `aclose()`)."""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports as _lazy_exports
from ._base import Scorer, SyncScorer, score_or_unscored, score_sync_or_unscored

if TYPE_CHECKING:
    from ._cascade import CascadePolicy, CascadeScorer
    from ._embedded import EmbeddedScorer, window_signals
    from ._factory import ScorerOptions, make_feedback_writer, make_llm_scorer, make_scorer
    from ._feedback_llm import FeedbackRequest, LLMFeedbackWriter
    from ._llm import LLMScorer
    from ._openai import OpenAICompatibleClient, Pacing, RateLimit, RetryPolicy
    from ._redact import (
        Redactor,
        basic_redactor,
        chain_redactors,
        no_redaction,
        presidio_redactor,
    )


#: Public names: the imports of the TYPE_CHECKING block above (the one list of them),
#: imported on first use (PEP 562), and the names imported above it; `__all__` lists them.
__getattr__, __dir__ = _lazy_exports(
    __name__,
    globals(),
    also=("Scorer", "SyncScorer", "score_or_unscored", "score_sync_or_unscored"),
)
