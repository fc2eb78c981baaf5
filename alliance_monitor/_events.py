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
    "EndReason",
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
    "trajectory_of",
]


class EventType(StrEnum):
    """The `type` of every event (a string: ``event.type == "safety_signal"`` works too).

    ``window_scored`` / ``window_unscored``: a rolling window was rated, or could not be.
    ``alliance_declined`` / ``alliance_low``: a confirmed drop, or a low level, on a dimension.
    ``passive_pattern`` / ``directive_pattern``: a counselor pattern within one window.
    ``session_summary``: a session ended; its phases and trajectory.
    ``safety_signal``: a client message indicating risk of harm; route to a human at once.
    """

    WINDOW_SCORED = "window_scored"
    WINDOW_UNSCORED = "window_unscored"
    ALLIANCE_DECLINED = "alliance_declined"
    ALLIANCE_LOW = "alliance_low"
    PASSIVE_PATTERN = "passive_pattern"
    DIRECTIVE_PATTERN = "directive_pattern"
    SESSION_SUMMARY = "session_summary"
    SAFETY_SIGNAL = "safety_signal"


#: Why a session ended: explicitly, after idling, at a new platform session id, or at shutdown.
EndReason = Literal["explicit", "idle", "new_session", "shutdown"]


class Severity(StrEnum):
    """How urgently a supervisor should look, in increasing order.

    ``info``: scores and summaries. ``low``: counselor patterns. ``medium``: a decline or low
    level on one dimension. ``high``: a large or overall decline, a very low level, and every
    safety signal. The alert policy filters on it (`AlertPolicy.min_severity`).
    """

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


def trajectory_of(change: float, tolerance: float) -> Trajectory:
    """Late minus early, in levels: a change inside +-tolerance is "unchanged"."""
    if change <= -tolerance:
        return Trajectory.DECLINED
    if change >= tolerance:
        return Trajectory.IMPROVED
    return Trajectory.UNCHANGED


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
    """Fields every event has.

    - `id`: stable (same input, same id: receivers de-duplicate on it).
    - `severity`: see `Severity`.
    - `conversation_id`: the counselor-client pair; `session_id`, `counselor_id`, `client_id`:
      as given on the messages, when given.
    - `ts`: platform time (the message `ts`) of what triggered the event.
    """

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
    and a concrete alternative move. `quotes` is empty unless the deployment opted in to text.

    - `pattern`: "passive", "directive" or "decline"; `dimension`: goal / task / bond / overall.
    - `message_ids`: the counselor messages (or, for a decline, the evidence) it is about.
    - `summary`: what happened, in a sentence; `suggestion`: what to try instead.
    - `quotes`: short excerpts, only with `include_text=True`.
    - `source`: "template" (built in) or "llm" (written by `LLMFeedbackWriter`).
    """

    model_config = ConfigDict(frozen=True)

    pattern: str
    message_ids: tuple[str, ...]
    dimension: str
    summary: str
    suggestion: str
    quotes: tuple[str, ...] = ()
    source: Literal["template", "llm"] = "template"


class WindowScored(_Event):
    """A closed rolling window was rated (severity info).

    - `window_index`: 0, 1, 2... in the pair's time order.
    - `score`: the `WindowScore` (twelve construct ratings, goal/task/bond/overall, confidence,
      per-message passive/directive scores); `score.status` may be "insufficient_evidence".
    - `baseline`: True for the first windows, which set the pair's baseline.
    """

    type: Literal[EventType.WINDOW_SCORED] = EventType.WINDOW_SCORED
    window_index: int
    score: WindowScore
    baseline: bool = False


class WindowUnscored(_Event):
    """A window could not be rated (the scorer failed, timed out or gave an invalid answer).
    It is recorded, never guessed: `window_index` is the window, `reason` says why (no message
    text), `message_ids` lists the window's messages."""

    type: Literal[EventType.WINDOW_UNSCORED] = EventType.WINDOW_UNSCORED
    window_index: int
    reason: str
    message_ids: tuple[str, ...] = ()


class AllianceDeclined(_Event):
    """A confirmed alliance decline on one dimension (severity medium; high when the drop is
    1.5 levels or more, or on the overall dimension).

    Confirmed means the last `DeclinePolicy.confirm_windows` windows are together at least
    `DeclinePolicy.levels` below the reference, each at least half as far, *and* they show what
    fell (`DeclinePolicy.min_evidence`): a client rupture the counselor did not repair, or
    counselor overstepping (the definition is `alliance_monitor.DECLINE_DEFINITION`). A lower
    score without such evidence, or a repaired rupture, never fires it.

    - `dimension`: goal, task, bond or overall.
    - `from_level` -> `to_level`: the reference and the confirmed current level (1-5);
      `change` = to - from (negative).
    - `reference`: "baseline" (the pair's first windows) or "peak" (its best recent window).
    - `windows`: the indices of the confirming windows; `evidence`: message ids behind them.
    - `feedback`: what may have happened and a move to try (template or LLM-written).
    - `reason`, `ruptures`: what the windows show and the messages that show it.
    """

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
    #: What the confirming windows show ("unrepaired_rupture" or "overstepping"), and the
    #: messages that show it (client ruptures first, then overstepping counselor messages).
    reason: Literal["unrepaired_rupture", "overstepping"] = "unrepaired_rupture"
    ruptures: tuple[str, ...] = ()


class AllianceLow(_Event):
    """The alliance on one `dimension` sits at or below `DeclinePolicy.low_level` (2) over the
    confirming windows (severity medium; high at 1.5 or below). `level` is the current level,
    `windows` the windows, `evidence` the message ids behind it."""

    type: Literal[EventType.ALLIANCE_LOW] = EventType.ALLIANCE_LOW
    dimension: str
    level: float
    windows: tuple[int, ...]
    evidence: tuple[str, ...] = ()


class PatternDetected(_Event):
    """A counselor pattern within one window (`type` passive_pattern or directive_pattern,
    severity low): at least `PatternPolicy.min_rate` (40%) of the window's counselor messages,
    and `min_flagged` (2) of them, scored passive (acknowledging without exploring) or
    directive (advice or instructions the client did not ask for).

    - `pattern`: "passive" or "directive"; `window_index`: the window.
    - `rate`: the flagged share of the window's counselor messages (0-1).
    - `message_ids`: the flagged counselor messages; `feedback`: specific feedback.
    """

    type: Literal[EventType.PASSIVE_PATTERN, EventType.DIRECTIVE_PATTERN]
    pattern: Literal["passive", "directive"]
    window_index: int
    #: Share of the window's counselor messages flagged with this pattern.
    rate: float
    message_ids: tuple[str, ...]
    feedback: Feedback


class PhaseScores(BaseModel):
    """Goal/task/bond/overall (`DimensionScores`) of a session's `early`, `middle` and `late`
    thirds."""

    model_config = ConfigDict(frozen=True)

    early: DimensionScores
    middle: DimensionScores
    late: DimensionScores


class SessionSummary(_Event):
    """A session ended (explicitly, after idling, at a new session id, or at shutdown).

    - `session_index`: 0, 1... per pair; `n_messages`, `n_windows`: its size.
    - `alliance`: the whole session's scores; `phases`: its early, middle and late thirds.
    - `trajectory`: late third against early third (declined / unchanged / improved /
      insufficient_evidence, by `SessionPolicy.trajectory_tolerance`); `change`: late minus
      early, overall, in levels; `dimension_trajectories` / `dimension_changes`: the same per
      dimension.
    - `phase_convention`: "windows" (phases from the windows), "too_short" (fewer than three
      exchanges: the whole session stands for every phase), "no_scores" (nothing was scored) or
      "rated_phases" (each third rated as a phase at session end, ``session_scoring="phases"``).
    - `end_reason`: "explicit", "idle", "new_session" or "shutdown".
    - `decline_reason`: why the trajectory is what it is ("unrepaired_rupture" or
      "overstepping" for a decline, "fell_without_evidence" for a lower score that nothing in
      the session explains, "held", "rose", "insufficient_evidence"); `evidence`: the messages
      cited for a decline; `repaired`: ruptures the counselor repaired (rupture message id,
      repair message id), a good sign, never a decline.
    - `stages`: the stage of each phase ("opening", "working", "action", "closing").
    """

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
    phase_convention: Literal["windows", "too_short", "no_scores", "rated_phases"] = "windows"
    end_reason: EndReason = "explicit"
    decline_reason: str = "held"
    evidence: tuple[str, ...] = ()
    repaired: tuple[tuple[str, str], ...] = ()
    stages: dict[str, str] = Field(default_factory=dict)


class SafetySignal(_Event):
    """A client message indicating risk of harm: routed to a human at once. Not a clinical
    instrument; see README, "Safety signal".

    Emitted as soon as the message is ingested (no window, no cooldown), severity high.
    `message_id`: the message; `category`: "self_harm" or "harm_to_others"; `cues`: the
    names of the cues that matched (never the text).
    """

    type: Literal[EventType.SAFETY_SIGNAL] = EventType.SAFETY_SIGNAL
    severity: Severity = Severity.HIGH
    message_id: str
    category: Literal["self_harm", "harm_to_others"]
    cues: tuple[str, ...] = ()


#: Any event: a union of the event classes, discriminated by `type`. Handlers receive one;
#: `isinstance(event, SafetySignal)` or `event.type == EventType.SAFETY_SIGNAL` tells which.
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
