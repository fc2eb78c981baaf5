"""Test doubles for users' own tests (and ours): a scripted scorer and an event collector.

from alliance_monitor.testing import StaticScorer, EventCollector
monitor = Monitor(scorer=StaticScorer(overall=4.0))
collector = EventCollector()
monitor.on(collector)
"""

from __future__ import annotations

from collections.abc import Callable

from ._events import Event, EventType
from ._models import (
    CONSTRUCTS,
    DimensionScores,
    MessagePattern,
    Role,
    Rupture,
    WindowRequest,
    WindowScore,
    WindowSignals,
)
from .scoring._base import SyncScorer

__all__ = ["EventCollector", "StaticScorer", "rupture_signals"]


def rupture_signals(request: WindowRequest) -> WindowSignals:
    """Signals of a window whose last client message is a rupture the counselor did not repair
    (a complaint about the counselor): what a scripted decline needs to page
    (`DeclinePolicy.min_evidence`). Use as ``StaticScorer(levels, signals=...)``."""
    clients = [m.id for m in request.messages if m.role is Role.CLIENT]
    ruptures = (
        (Rupture(message_id=clients[-1], kind="confrontation", marker="discord"),)
        if clients
        else ()
    )
    return WindowSignals(stage="working", ruptures=ruptures)


class StaticScorer(SyncScorer):
    """Scores every window from a script, without looking at the text.

    `level(request) -> float` (or a constant) gives the rating of all twelve constructs;
    `passive`/`directive` give every counselor message's pattern scores. `fail(request)` returning
    a reason string makes that window unscored. `signals(request)` (or a constant) gives the
    window's `WindowSignals` (stage, ruptures, repairs; `rupture_signals` scripts an unrepaired
    rupture); None leaves them to the monitor, which reads them from the text.
    """

    name = "static"

    def __init__(
        self,
        level: float | Callable[[WindowRequest], float] = 3.0,
        *,
        passive: float | Callable[[str], float] = 0.0,
        directive: float | Callable[[str], float] = 0.0,
        fail: Callable[[WindowRequest], str | None] | None = None,
        signals: WindowSignals | Callable[[WindowRequest], WindowSignals | None] | None = None,
    ) -> None:
        self._level = level
        self._signals = signals
        self._passive = passive
        self._directive = directive
        self._fail = fail
        self.calls: list[WindowRequest] = []

    def score_sync(self, request: WindowRequest) -> WindowScore:
        self.calls.append(request)
        msgs = request.messages
        common = {**request.window_fields(), "scorer": self.name}
        reason = self._fail(request) if self._fail else None
        if reason:
            return WindowScore.unscored(request, reason, self.name)
        lvl = self._level(request) if callable(self._level) else self._level
        constructs = {c: float(lvl) for ids in CONSTRUCTS.values() for c in ids}
        patterns = tuple(
            MessagePattern(
                id=m.id,
                passive=self._passive(m.text) if callable(self._passive) else self._passive,
                directive=self._directive(m.text) if callable(self._directive) else self._directive,
            )
            for m in msgs
            if m.role is Role.COUNSELOR
        )
        ids = tuple(m.id for m in msgs)
        return WindowScore(
            constructs=constructs,
            scores=DimensionScores.from_constructs(constructs),
            confidence=0.5,
            evidence=ids,
            construct_evidence={c: ids for c in constructs},
            messages=patterns,
            signals=self._signals(request) if callable(self._signals) else self._signals,
            **common,
        )


class EventCollector:
    """A handler that keeps every event it gets: ``monitor.on(collector)``."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, event_type: EventType | str) -> list[Event]:
        return [e for e in self.events if e.type == event_type]

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events]
