"""The monitor's stages around the scorer: scoring a window, and rewriting its feedback.

- `ScoringStage.score`: one window through the scorer within the time limit; a failure or a
  timeout becomes an unscored window with its reason (never an exception), counted as
  ``scoring_failures`` and logged without text.
- `FeedbackStage.rewrite`: a `FeedbackWriter` (e.g. `LLMFeedbackWriter`) may write better
  counselor feedback for a pattern or a decline than the built-in template; it is asked, within
  a time limit, for each such event of a scored window, and whenever it fails, times out or
  returns None the template stays. Counts: ``feedback_llm`` (rewritten), ``feedback_template``.

The phase-rating stage lives beside its rater (`_phases.PhaseStage`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import anyio

from ._config import EventPolicy
from ._events import AllianceDeclined, Event, Feedback, PatternDetected
from ._models import WindowRequest, WindowScore
from .scoring._base import Scorer, score_or_unscored

if TYPE_CHECKING:
    from .scoring._feedback_llm import FeedbackRequest

__all__ = ["FeedbackStage", "FeedbackWriter", "ScoringStage"]

_log = logging.getLogger("alliance_monitor.monitor")


class ScoringStage:
    """Scores windows with `scorer`, each within `timeout` seconds."""

    def __init__(self, scorer: Scorer, *, timeout: float) -> None:
        self.scorer = scorer
        self.timeout = timeout
        self.counts: Counter[str] = Counter()

    async def score(self, req: WindowRequest) -> WindowScore:
        score = await score_or_unscored(self.scorer, req, time_limit=self.timeout)
        if not score.scored:
            self.counts["scoring_failures"] += 1
            # Too little evidence is a normal outcome, not a fault: info, so a host logging at
            # WARNING hears only about scorers that failed.
            abstained = score.status == "insufficient_evidence"
            (_log.info if abstained else _log.warning)(
                "alliance_monitor.window_unscored",
                extra={
                    "conversation_id": req.conversation_id,
                    "window_index": req.window_index,
                    "reason": score.reason,
                },
            )
        return score


class FeedbackWriter(Protocol):
    """Writes counselor feedback for a pattern or decline (e.g. `LLMFeedbackWriter`); returns
    None when it cannot, and the template feedback stays."""

    async def write(self, request: FeedbackRequest) -> Feedback | None: ...

    async def aclose(self) -> None: ...


class FeedbackStage:
    """Rewrites the feedback of pattern and decline events through a `FeedbackWriter`."""

    def __init__(self, writer: FeedbackWriter, *, timeout: float, include_quotes: bool) -> None:
        self.writer = writer
        self.timeout = timeout
        self.include_quotes = include_quotes
        self.counts: Counter[str] = Counter()

    @classmethod
    def for_writer(
        cls, writer: FeedbackWriter | None, policy: EventPolicy, include_quotes: bool
    ) -> FeedbackStage | None:
        """The stage for a monitor's `feedback_writer`: None without one."""
        if writer is None:
            return None
        return cls(writer, timeout=policy.feedback_timeout, include_quotes=include_quotes)

    async def rewrite(self, events: Sequence[Event], req: WindowRequest) -> list[Event]:
        """`events` of the window `req`, each pattern or decline with the writer's feedback
        where it gave one."""
        return [await self._rewrite(ev, req) for ev in events]

    def request(
        self, ev: PatternDetected | AllianceDeclined, req: WindowRequest
    ) -> FeedbackRequest:
        """What the writer is asked for one event of the window `req`."""
        from .scoring._feedback_llm import FeedbackRequest

        if isinstance(ev, PatternDetected):
            return FeedbackRequest(
                pattern=ev.pattern,
                dimension=ev.feedback.dimension,
                message_ids=ev.message_ids,
                messages=req.messages,
                include_quotes=self.include_quotes,
            )
        return FeedbackRequest(
            pattern="decline",
            dimension=ev.dimension,
            message_ids=tuple(m for m in ev.evidence if any(x.id == m for x in req.messages)),
            messages=req.messages,
            detail=f"{ev.dimension} fell from {ev.from_level:.1f} to {ev.to_level:.1f}",
            include_quotes=self.include_quotes,
        )

    async def _rewrite(self, ev: Event, req: WindowRequest) -> Event:
        if not isinstance(ev, PatternDetected | AllianceDeclined) or ev.feedback is None:
            return ev
        written: Feedback | None = None
        try:
            with anyio.fail_after(self.timeout):
                written = await self.writer.write(self.request(ev, req))
        except Exception as exc:  # the template stays
            _log.warning("alliance_monitor.feedback_failed", extra={"error": type(exc).__name__})
        if written is None:
            self.counts["feedback_template"] += 1
            return ev
        self.counts["feedback_llm"] += 1
        return ev.model_copy(update={"feedback": written})
