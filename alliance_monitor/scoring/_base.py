"""The scorer interface: one async method and `aclose()`.

A scorer turns a closed window (`WindowRequest`) into a `WindowScore`. It must never raise for a
bad model answer: it returns an *unscored* `WindowScore` with a reason instead. It may raise
`ScorerUnavailable` when its backend is down; the monitor then records the window as unscored.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from .._errors import ScoringError
from .._models import DIMENSIONS, WindowRequest, WindowScore

__all__ = ["Scorer", "SyncScorer", "score_or_unscored", "score_sync_or_unscored"]


class Scorer(ABC):
    """Base class of every scorer: implement `score(request) -> WindowScore` (and `aclose()` if
    it holds resources). Return an unscored `WindowScore` with a reason for a bad answer; raise
    `ScorerUnavailable` only when the backend cannot be reached."""

    #: Short stable name recorded in every score ("embedded", "llm", "cascade", ...).
    name: str = "scorer"

    @abstractmethod
    async def score(self, request: WindowRequest) -> WindowScore:
        """Score one window."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Release resources (HTTP clients, ...)."""


class SyncScorer(Scorer):
    """A scorer that is pure CPU and fast: batch paths call `score_sync` directly."""

    @abstractmethod
    def score_sync(self, request: WindowRequest) -> WindowScore:
        """Score one window without awaiting anything."""

    async def score(self, request: WindowRequest) -> WindowScore:
        return self.score_sync(request)


async def score_or_unscored(
    scorer: Scorer, request: WindowRequest, *, time_limit: float | None = None
) -> WindowScore:
    """Score a window; any failure (timeout, `ScoringError`, a scorer bug, a non-finite score)
    becomes an *unscored* window with a reason, never an exception and never a made-up score.
    The live monitor, batch analysis and the study all score through this."""
    import anyio  # here: a synchronous batch run (`analyze` with the embedded scorer) needs none

    reason: str
    try:
        with anyio.fail_after(time_limit):
            score = await scorer.score(request)
        return _checked(score, request)
    except TimeoutError:
        reason = "scorer_timeout"
    except ScoringError as exc:
        reason = exc.reason
    except Exception as exc:  # a scorer bug must not take the caller down
        reason = f"scorer_error:{type(exc).__name__}"
    return WindowScore.unscored(request, reason, getattr(scorer, "name", "unknown"))


def score_sync_or_unscored(scorer: SyncScorer, request: WindowRequest) -> WindowScore:
    """`score_or_unscored` for a synchronous scorer, without an event loop (batch work in
    worker processes): the same score, or the same unscored window, for the same request."""
    reason: str
    try:
        return _checked(scorer.score_sync(request), request)
    except ScoringError as exc:
        reason = exc.reason
    except Exception as exc:  # a scorer bug must not take the caller down
        reason = f"scorer_error:{type(exc).__name__}"
    return WindowScore.unscored(request, reason, getattr(scorer, "name", "unknown"))


def _checked(score: WindowScore, request: WindowRequest) -> WindowScore:
    """`score` as the caller gets it: with the request's merge record; a non-finite score is
    refused (`ScoringError` ``non_finite_score``)."""
    sc = score.scores
    if sc is None or all(math.isfinite(sc.get(d)) for d in DIMENSIONS):
        if score.merged_from != request.merged_from:
            score = score.model_copy(update={"merged_from": request.merged_from})
        return score
    raise ScoringError("non_finite_score")
