"""Events the monitor emits. Every event is a frozen pydantic model with a stable id.

The id is a hash of the event type, the conversation and the *cause* (the window index, the
dimension, the message id...), so replaying the same input yields the same ids: receivers can
de-duplicate on them, and a restarted monitor does not page twice for the same cause.

No event carries message text unless the deployment opted in (`include_text=True`), in which case
`Feedback.quotes` holds short excerpts.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ._models import DimensionScores, WindowScore

__all__ = [
    "AllianceDeclined",
    "AllianceLow",
    "Event",
    "EventType",
    "Feedback",
    "PatternDetected",
    "PhaseScores",
    "SafetySignal",
    "SessionSummary",
    "Severity",
    "Trajectory",
    "WindowScored",
    "WindowUnscored",
    "event_adapter",
    "make_event_id",
]


class EventType(StrEnum):
    WINDOW_SCORED = "window_scored"
    WINDOW_UNSCORED = "window_unscored"
    ALLIANCE_DECLINED = "alliance_declined"
    ALLIANCE_LOW = "alliance_low"
    PASSIVE_PATTERN = "passive_pattern"
    DIRECTIVE_PATTERN = "directive_pattern"
    SESSION_SUMMARY = "session_summary"
    SAFETY_SIGNAL = "safety_signal"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Trajectory(StrEnum):
    """How late compares with early. ``INSUFFICIENT_EVIDENCE``: the phases lack the evidence to
    compare them; it is its own category and never counts as "unchanged"."""

    DECLINED = "declined"
    UNCHANGED = "unchanged"
    IMPROVED = "improved"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


def make_event_id(event_type: str, conversation_id: str, *cause: object) -> str:
    """Stable event id: the same type, pair and cause always give the same id."""
    h = hashlib.blake2b(digest_size=12)
    h.update(event_type.encode())
    h.update(b"\x1f")
    h.update(conversation_id.encode("utf-8", "replace"))
    for part in cause:
        h.update(b"\x1f")
        h.update(str(part).encode("utf-8", "replace"))
    return "evt_" + h.hexdigest()


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    severity: Severity = Severity.INFO
    conversation_id: str
    session_id: str | None = None
    counselor_id: str | None = None
    client_id: str | None = None
    #: Platform time (message `ts`) of what triggered the event; deterministic on replay.
    ts: float | None = None


class Feedback(BaseModel):
    """Feedback for a counselor: which messages, which pattern, which dimension it likely hurts,
    and a concrete alternative move. `quotes` is empty unless the deployment opted in to text."""

    model_config = ConfigDict(frozen=True)

    pattern: str
    message_ids: tuple[str, ...]
    dimension: str
    summary: str
    suggestion: str
    quotes: tuple[str, ...] = ()
    source: Literal["template", "llm"] = "template"


class WindowScored(_Event):
    type: Literal[EventType.WINDOW_SCORED] = EventType.WINDOW_SCORED
    window_index: int
    score: WindowScore
    baseline: bool = False


class WindowUnscored(_Event):
    type: Literal[EventType.WINDOW_UNSCORED] = EventType.WINDOW_UNSCORED
    window_index: int
    reason: str
    message_ids: tuple[str, ...] = ()


class AllianceDeclined(_Event):
    type: Literal[EventType.ALLIANCE_DECLINED] = EventType.ALLIANCE_DECLINED
    dimension: str
    #: Reference level (baseline or recent peak) and the confirmed current level, 1-5.
    from_level: float
    to_level: float
    change: float
    reference: Literal["baseline", "peak"]
    windows: tuple[int, ...]
    evidence: tuple[str, ...] = ()
    feedback: Feedback | None = None


class AllianceLow(_Event):
    type: Literal[EventType.ALLIANCE_LOW] = EventType.ALLIANCE_LOW
    dimension: str
    level: float
    windows: tuple[int, ...]
    evidence: tuple[str, ...] = ()


class PatternDetected(_Event):
    type: Literal[EventType.PASSIVE_PATTERN, EventType.DIRECTIVE_PATTERN]
    pattern: Literal["passive", "directive"]
    window_index: int
    #: Share of the window's counselor messages flagged with this pattern.
    rate: float
    message_ids: tuple[str, ...]
    feedback: Feedback


class PhaseScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    early: DimensionScores
    middle: DimensionScores
    late: DimensionScores


class SessionSummary(_Event):
    type: Literal[EventType.SESSION_SUMMARY] = EventType.SESSION_SUMMARY
    session_index: int
    alliance: DimensionScores
    phases: PhaseScores
    trajectory: Trajectory
    #: late minus early, overall, in levels (kept alongside the category).
    change: float
    dimension_trajectories: dict[str, Trajectory] = Field(default_factory=dict)
    dimension_changes: dict[str, float] = Field(default_factory=dict)
    n_messages: int
    n_windows: int
    phase_convention: Literal["windows", "too_short", "no_scores"] = "windows"
    end_reason: Literal["explicit", "idle", "new_session", "shutdown"] = "explicit"


class SafetySignal(_Event):
    """A client message indicating risk of harm: routed to a human at once. Not a clinical
    instrument; see README, "Safety signal"."""

    type: Literal[EventType.SAFETY_SIGNAL] = EventType.SAFETY_SIGNAL
    severity: Severity = Severity.HIGH
    message_id: str
    category: Literal["self_harm", "harm_to_others"]
    cues: tuple[str, ...] = ()


Event = Annotated[
    WindowScored
    | WindowUnscored
    | AllianceDeclined
    | AllianceLow
    | PatternDetected
    | SessionSummary
    | SafetySignal,
    Field(discriminator="type"),
]

#: Validate or dump any event: ``event_adapter.validate_json(data)``.
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
