"""The scorer interface: one async method and `aclose()`.

A scorer turns a closed window (`WindowRequest`) into a `WindowScore`. It must never raise for a
bad model answer: it returns an *unscored* `WindowScore` with a reason instead. It may raise
`ScorerUnavailable` when its backend is down; the monitor then records the window as unscored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from .._models import WindowRequest, WindowScore

__all__ = ["Scorer", "SyncScorer"]


class Scorer(ABC):
    """Base class of every scorer."""

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
