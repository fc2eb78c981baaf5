"""Events the monitor emits. Every event is a frozen pydantic model with a stable id.

The id is a hash of the event type, the conversation and the *cause* (the window index, the
dimension, the message id...), so replaying the same input yields the same ids: receivers can
de-duplicate on them, and a restarted monitor does not page twice for the same cause.

No event carries message text unless the deployment opted in (`include_text=True`), in which case
`Feedback.quotes` holds short excerpts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ._models import DimensionScores, WindowScore

__all__ = [
    "EVENT_CLASSES",
    "EVENT_KINDS",
    "SAFETY_NOTE",
    "AllianceDeclined",
    "AllianceLow",
    "EndReason",
    "Event",
    "EventKind",
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
    "event_class",
    "make_event_id",
    "short_text",
    "strip_quotes",
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


@dataclass(frozen=True, slots=True)
class EventKind:
    """What every surface needs to know about one event type, declared once, beside its class.

    - `severity`: what an alert uses when the event itself says ``info``;
    - `alerts`: the type alerts by default (`AlertPolicy.alert_types`);
    - `notable`: shown by `alliance-monitor demo` and `replay`'s default selection (not the
      routine windows);
    - `title`: a few words a person reads ("Alliance declining");
    - `action`: what a supervisor should do when the event carries no suggestion of its own;
    - `marker`: the supervisor board's marker for it (None: the board keeps no marker);
    - `board_count`: the board's per-pair counter it adds to (None: none).

    How each type renders (alert data, headline, facts for Slack and Teams, the command line's
    line, the board's marker) is a method of its class (`_Event`).
    """

    severity: Severity
    alerts: bool
    notable: bool
    title: str
    action: str
    marker: str | None = None
    board_count: str | None = None


# Pieces of the alert data schemas (`alert_schema`), shared by the event classes.
_IDS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_INTS: dict[str, Any] = {"type": "array", "items": {"type": "integer"}}
_LEVEL: dict[str, Any] = {"type": "number", "minimum": 1, "maximum": 5}
_SCORES: dict[str, Any] = {
    "type": "object",
    "properties": {d: _LEVEL for d in ("goal", "task", "bond", "overall")},
}
_FEEDBACK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string"},
        "dimension": {"type": "string"},
        "summary": {"type": "string"},
        "suggestion": {"type": "string"},
        "message_ids": _IDS,
        "source": {"enum": ["template", "llm"]},
        "quotes": {"type": "array", "items": {"type": "string"}},
    },
}
_MAX_TEXT = 600
_MAX_IDS = 50
#: What every safety-signal alert says about itself.
SAFETY_NOTE = (
    "Automated safety net, not a clinical assessment: a person must check on the client now "
    "and follow the platform's crisis protocol."
)
# Quoted passages: "...", “...”, „...“, «...», ‘...’ and '...' (not apostrophes inside words).
# Bounded to 600 characters inside the quotes (the texts are at most 600), and a quote does not
# run over another opening mark: a text of unclosed quote marks is read once, not once per mark.
_QUOTED = re.compile(
    r"\"[^\"]{0,600}\"|“[^“”]{0,600}”|„[^„“”]{0,600}[“”]|«[^«»]{0,600}»|‘[^‘’]{0,600}’"
    r"|(?<![\w'])'[^'\n]{1,600}'(?![\w'])"
)


def strip_quotes(text: str) -> str:
    """Replace quoted passages (likely excerpts of the conversation) with ``[…]``."""
    return _QUOTED.sub("[…]", text)


def short_text(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ids(ids: Sequence[Any], limit: int = _MAX_IDS) -> list[Any]:
    return list(ids[:limit])


def _level(value: Any) -> str:
    return f"{float(value):.1f}/5" if isinstance(value, int | float) else "?"


def _suggestion(data: Mapping[str, Any]) -> str | None:
    feedback = data.get("feedback") or {}
    return feedback.get("suggestion") if isinstance(feedback, Mapping) else None


def _joined(values: Any) -> str:
    return ", ".join(str(v) for v in values or ()) or "-"


def _fmt_scores(s: DimensionScores) -> str:
    return f"goal {s.goal:.2f}  task {s.task:.2f}  bond {s.bond:.2f}  overall {s.overall:.2f}"


#: A board marker: (kind, window index, dimension, detail, feedback).
Marker = tuple[str, int | None, str | None, str, "Feedback | None"]


class _Event(BaseModel):
    """Fields every event has.

    - `id`: stable (same input, same id: receivers de-duplicate on it).
    - `severity`: see `Severity`.
    - `conversation_id`: the counselor-client pair; `session_id`, `counselor_id`, `client_id`:
      as given on the messages, when given.
    - `ts`: platform time (the message `ts`) of what triggered the event.

    Each event class declares its types (`KINDS`: `EventKind` by `EventType`) and how it
    renders; the alert policy, payloads, Slack and Teams formats, the command line, the demo
    and the supervisor board read them from here, so a new event type is its rule plus its
    class.
    """

    model_config = ConfigDict(frozen=True)

    #: The event types this class carries, and what surfaces need to know about each.
    KINDS: ClassVar[dict[EventType, EventKind]] = {}
    #: The type-specific fields of its alert data: JSON schemas by name, and the required ones.
    ALERT_FIELDS: ClassVar[tuple[dict[str, Any], tuple[str, ...]]] = ({}, ())

    id: str
    severity: Severity = Severity.INFO
    conversation_id: str
    session_id: str | None = None
    counselor_id: str | None = None
    client_id: str | None = None
    #: Platform time (message `ts`) of what triggered the event; deterministic on replay.
    ts: float | None = None

    @classmethod
    def alert_schema(cls, event_type: EventType) -> tuple[dict[str, Any], tuple[str, ...]]:
        """JSON schemas of the type-specific alert data fields, and the required ones."""
        return cls.ALERT_FIELDS

    @property
    def kind(self) -> EventKind:
        return self.KINDS[EventType(getattr(self, "type"))]  # noqa: B009 - each subclass's own

    def alert_fields(self, include_text: bool) -> dict[str, Any]:
        """The type-specific part of this event's alert data (thin: no message text, unless
        `include_text` lets feedback quotes through)."""
        return {}

    @classmethod
    def headline(cls, data: Mapping[str, Any]) -> str:
        """What happened and how bad, in one line, from alert data alone (a stored alert or a
        digest item renders the same)."""
        return cls.KINDS[EventType(data["type"])].title

    @classmethod
    def action(cls, data: Mapping[str, Any]) -> str:
        """What a supervisor should do, from alert data alone."""
        return cls.KINDS[EventType(data["type"])].action

    @classmethod
    def facts(cls, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Type-specific (title, value) facts of alert data, as plain text (Slack, Teams)."""
        return []

    def line(self) -> str:
        """The command line's rendering: one line, plus indented detail lines."""
        return f"{self.head()}  {self.kind.title}"

    def head(self) -> str:
        return f"[{self.severity.value:>6}] {self.conversation_id}"

    def marker(self) -> Marker | None:
        """The supervisor board's marker for this event, or None."""
        return None


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

    def alert_data(self, include_text: bool) -> dict[str, Any]:
        """As alert data: quoted passages removed from the sentences unless `include_text`,
        quotes themselves only with it."""
        summary, suggestion = self.summary, self.suggestion
        if not include_text:
            summary, suggestion = strip_quotes(summary), strip_quotes(suggestion)
        out: dict[str, Any] = {
            "pattern": self.pattern,
            "dimension": self.dimension,
            "summary": short_text(summary),
            "suggestion": short_text(suggestion),
            "message_ids": _ids(self.message_ids),
            "source": self.source,
        }
        if include_text and self.quotes:
            out["quotes"] = [short_text(q, 300) for q in self.quotes[:5]]
        return out


class WindowScored(_Event):
    """A closed rolling window was rated (severity info).

    - `window_index`: 0, 1, 2... in the pair's time order.
    - `score`: the `WindowScore` (twelve construct ratings, goal/task/bond/overall, confidence,
      per-message passive/directive scores); `score.status` may be "insufficient_evidence".
    - `baseline`: True for the first windows, which set the pair's baseline.
    """

    KINDS: ClassVar[dict[EventType, EventKind]] = {
        EventType.WINDOW_SCORED: EventKind(
            Severity.INFO, alerts=False, notable=False, title="Window scored",
            action="No action needed.", board_count="windows",
        )
    }  # fmt: skip
    ALERT_FIELDS: ClassVar[tuple[dict[str, Any], tuple[str, ...]]] = (
        {
            "window_index": {"type": "integer"},
            "scores": {"anyOf": [_SCORES, {"type": "null"}]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "baseline": {"type": "boolean"},
        },
        ("window_index", "scores", "confidence"),
    )

    type: Literal[EventType.WINDOW_SCORED] = EventType.WINDOW_SCORED
    window_index: int
    score: WindowScore
    baseline: bool = False

    def alert_fields(self, include_text: bool) -> dict[str, Any]:
        return {
            "window_index": self.window_index,
            "scores": self.score.scores.model_dump() if self.score.scores else None,
            "confidence": self.score.confidence,
            "baseline": self.baseline,
        }

    @classmethod
    def headline(cls, data: Mapping[str, Any]) -> str:
        return f"Window {data.get('window_index')} scored"

    def line(self) -> str:
        sc = self.score.scores
        base = " (baseline)" if self.baseline else ""
        body = _fmt_scores(sc) if sc else "-"
        return (
            f"{self.head()}  window {self.window_index}{base}: {body}  "
            f"conf {self.score.confidence:.2f}"
        )


class WindowUnscored(_Event):
    """A window could not be rated (the scorer failed, timed out or gave an invalid answer).
    It is recorded, never guessed: `window_index` is the window, `reason` says why (no message
    text), `message_ids` lists the window's messages."""

    KINDS: ClassVar[dict[EventType, EventKind]] = {
        EventType.WINDOW_UNSCORED: EventKind(
            Severity.INFO, alerts=False, notable=True, title="Window not scored",
            action="Check the scorer's health; the window was not scored.", marker="unscored",
            board_count="unscored",
        )
    }  # fmt: skip
    ALERT_FIELDS: ClassVar[tuple[dict[str, Any], tuple[str, ...]]] = (
        {"window_index": {"type": "integer"}, "reason": {"type": "string"}},
        ("window_index", "reason"),
    )

    type: Literal[EventType.WINDOW_UNSCORED] = EventType.WINDOW_UNSCORED
    window_index: int
    reason: str
    message_ids: tuple[str, ...] = ()

    def alert_fields(self, include_text: bool) -> dict[str, Any]:
        return {"window_index": self.window_index, "reason": short_text(self.reason, 200)}

    @classmethod
    def headline(cls, data: Mapping[str, Any]) -> str:
        return f"Window {data.get('window_index')} not scored"

    def line(self) -> str:
        return f"{self.head()}  window {self.window_index} UNSCORED: {self.reason}"

    def marker(self) -> Marker | None:
        return ("unscored", self.window_index, None, self.reason, None)


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
    - `windows`: the indices of the windows that fell (the confirming windows under
      level-only confirmation); `evidence`: message ids behind them.
    - `feedback`: what may have happened and a move to try (template or LLM-written).
    - `reason`, `ruptures`: what the windows show and the messages that show it.
    - `basis`: "windows" (confirmed by the rolling windows as they closed, above) or
      "session" (at the end of a session whose trajectory declined, late third against early
      third by the same definition, when no decline was paged for the pair during it; then
      `from_level` / `to_level` are the session's early and late thirds, `reference` is
      "baseline" and `windows` is empty: the session as a whole fell).
    """

    KINDS: ClassVar[dict[EventType, EventKind]] = {
        EventType.ALLIANCE_DECLINED: EventKind(
            Severity.MEDIUM, alerts=True, notable=True, title="Alliance declining",
            action="Review the recent exchanges with the counselor; check the client's goals "
            "are still shared and explored.",
            marker="decline", board_count="declines",
        )
    }  # fmt: skip
    ALERT_FIELDS: ClassVar[tuple[dict[str, Any], tuple[str, ...]]] = (
        {
            "dimension": {"type": "string"},
            "from_level": _LEVEL,
            "to_level": _LEVEL,
            "change": {"type": "number"},
            "reference": {"enum": ["baseline", "peak"]},
            "windows": _INTS,
            "evidence_message_ids": _IDS,
            "feedback": _FEEDBACK,
            "basis": {"enum": ["windows", "session"]},
        },
        ("dimension", "from_level", "to_level", "change", "reference", "windows"),
    )

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
    #: Where the decline was confirmed: "windows" (rolling windows) or "session" (the
    #: trajectory of a session that ended without a page).
    basis: Literal["windows", "session"] = "windows"

    def alert_fields(self, include_text: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "dimension": self.dimension,
            "from_level": round(self.from_level, 2),
            "to_level": round(self.to_level, 2),
            "change": round(self.change, 2),
            "reference": self.reference,
            "windows": _ids(self.windows),
            "evidence_message_ids": _ids(self.evidence),
            "basis": self.basis,
        }
        if self.feedback is not None:
            data["feedback"] = self.feedback.alert_data(include_text)
        return data

    @classmethod
    def headline(cls, data: Mapping[str, Any]) -> str:
        return (
            f"Alliance declining ({data.get('dimension')}): {_level(data.get('from_level'))} → "
            f"{_level(data.get('to_level'))} vs {data.get('reference')}"
        )

    @classmethod
    def action(cls, data: Mapping[str, Any]) -> str:
        return _suggestion(data) or super().action(data)

    @classmethod
    def facts(cls, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            ("Dimension", str(data.get("dimension"))),
            ("Change", f"{data.get('change'):+} levels vs {data.get('reference')}"),
            ("Windows", _joined(data.get("windows"))),
        ]

    def line(self) -> str:
        out = (
            f"{self.head()}  ALLIANCE DECLINED in {self.dimension}: {self.from_level:.2f} -> "
            f"{self.to_level:.2f} ({self.reference}, windows {list(self.windows)})"
        )
        if self.feedback:
            out += (
                f"\n           feedback: {self.feedback.summary}\n           try: "
                f"{self.feedback.suggestion}"
            )
        return out

    def marker(self) -> Marker | None:
        detail = f"{self.from_level:.2f} → {self.to_level:.2f} (from {self.reference})"
        window = self.windows[-1] if self.windows else None
        return ("decline", window, self.dimension, detail, self.feedback)


class AllianceLow(_Event):
    """The alliance on one `dimension` sits at or below `DeclinePolicy.low_level` (2) over the
    confirming windows (severity medium; high at 1.5 or below). `level` is the current level,
    `windows` the windows, `evidence` the message ids behind it."""

    KINDS: ClassVar[dict[EventType, EventKind]] = {
        EventType.ALLIANCE_LOW: EventKind(
            Severity.MEDIUM, alerts=True, notable=True, title="Low alliance",
            action="Review soon and consider a supervision check-in with the counselor.",
            marker="low", board_count="low",
        )
    }  # fmt: skip
    ALERT_FIELDS: ClassVar[tuple[dict[str, Any], tuple[str, ...]]] = (
        {
            "dimension": {"type": "string"},
            "level": _LEVEL,
            "windows": _INTS,
            "evidence_message_ids": _IDS,
        },
        ("dimension", "level", "windows"),
    )

    type: Literal[EventType.ALLIANCE_LOW] = EventType.ALLIANCE_LOW
    dimension: str
    level: float
    windows: tuple[int, ...]
    evidence: tuple[str, ...] = ()

    def alert_fields(self, include_text: bool) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "level": round(self.level, 2),
            "windows": _ids(self.windows),
            "evidence_message_ids": _ids(self.evidence),
        }

    @classmethod
    def headline(cls, data: Mapping[str, Any]) -> str:
        return f"Low alliance ({data.get('dimension')}): {_level(data.get('level'))}"

    @classmethod
    def facts(cls, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            ("Dimension", str(data.get("dimension"))),
            ("Windows", _joined(data.get("windows"))),
        ]

    def line(self) -> str:
        return f"{self.head()}  LOW ALLIANCE in {self.dimension}: {self.level:.2f}"

    def marker(self) -> Marker | None:
        window = self.windows[-1] if self.windows else None
        return ("low", window, self.dimension, f"level {self.level:.2f}", None)


class PatternDetected(_Event):
    """A counselor pattern within one window (`type` passive_pattern or directive_pattern,
    severity low): at least `PatternPolicy.min_rate` (40%) of the window's counselor messages,
    and `min_flagged` (2) of them, scored passive (acknowledging without exploring) or
    directive (advice or instructions the client did not ask for).

    - `pattern`: "passive" or "directive"; `window_index`: the window.
    - `rate`: the flagged share of the window's counselor messages (0-1).
    - `message_ids`: the flagged counselor messages; `feedback`: specific feedback.
    """

    KINDS: ClassVar[dict[EventType, EventKind]] = {
        EventType.PASSIVE_PATTERN: EventKind(
            Severity.LOW, alerts=True, notable=True, title="Passive responding",
            action="Explore rather than acknowledge: an open question or a reflection of "
            "feeling.",
            marker="passive", board_count="passive",
        ),
        EventType.DIRECTIVE_PATTERN: EventKind(
            Severity.LOW, alerts=True, notable=True, title="Directive / overstepping",
            action="Ask permission before advice and offer choices; follow the client's lead.",
            marker="directive", board_count="directive",
        ),
    }  # fmt: skip
    ALERT_FIELDS: ClassVar[tuple[dict[str, Any], tuple[str, ...]]] = (
        {
            "pattern": {"enum": ["passive", "directive"]},
            "window_index": {"type": "integer"},
            "rate": {"type": "number", "minimum": 0, "maximum": 1},
            "message_ids": _IDS,
            "feedback": _FEEDBACK,
        },
        ("pattern", "window_index", "rate", "message_ids"),
    )

    type: Literal[EventType.PASSIVE_PATTERN, EventType.DIRECTIVE_PATTERN]
    pattern: Literal["passive", "directive"]
    window_index: int
    #: Share of the window's counselor messages flagged with this pattern.
    rate: float
    message_ids: tuple[str, ...]
    feedback: Feedback

    @classmethod
    def alert_schema(cls, event_type: EventType) -> tuple[dict[str, Any], tuple[str, ...]]:
        fields, required = cls.ALERT_FIELDS
        pattern = "passive" if event_type == EventType.PASSIVE_PATTERN else "directive"
        return {**fields, "pattern": {"const": pattern}}, required

    def alert_fields(self, include_text: bool) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "window_index": self.window_index,
            "rate": round(self.rate, 3),
            "message_ids": _ids(self.message_ids),
            "feedback": self.feedback.alert_data(include_text),
        }

    @classmethod
    def headline(cls, data: Mapping[str, Any]) -> str:
        rate = data.get("rate")
        share = f" in {float(rate):.0%} of counselor turns" if isinstance(rate, float) else ""
        return f"{super().headline(data)}{share}"

    @classmethod
    def action(cls, data: Mapping[str, Any]) -> str:
        return _suggestion(data) or super().action(data)

    @classmethod
    def facts(cls, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            ("Window", str(data.get("window_index"))),
            ("Messages", _joined(data.get("message_ids"))),
        ]

    def line(self) -> str:
        return (
            f"{self.head()}  {self.pattern.upper()} PATTERN in window {self.window_index} "
            f"({self.rate:.0%} of counselor replies: {', '.join(self.message_ids[:4])})\n"
            f"           feedback: {self.feedback.summary}\n"
            f"           try: {self.feedback.suggestion}"
        )

    def marker(self) -> Marker | None:
        detail = f"{self.rate:.0%} of counselor replies"
        return (self.pattern, self.window_index, self.feedback.dimension, detail, self.feedback)


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

    KINDS: ClassVar[dict[EventType, EventKind]] = {
        EventType.SESSION_SUMMARY: EventKind(
            Severity.INFO, alerts=False, notable=True, title="Session ended",
            action="No action needed unless the trajectory is declining.",
            board_count="sessions",
        )
    }  # fmt: skip
    ALERT_FIELDS: ClassVar[tuple[dict[str, Any], tuple[str, ...]]] = (
        {
            "session_index": {"type": "integer"},
            "trajectory": {"type": "string"},
            "change": {"type": "number"},
            "alliance": _SCORES,
            "n_messages": {"type": "integer"},
            "n_windows": {"type": "integer"},
            "end_reason": {"type": "string"},
        },
        ("session_index", "trajectory", "change", "alliance", "n_messages", "n_windows"),
    )

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

    def alert_fields(self, include_text: bool) -> dict[str, Any]:
        return {
            "session_index": self.session_index,
            "trajectory": str(self.trajectory),
            "change": round(self.change, 2),
            "alliance": self.alliance.model_dump(),
            "n_messages": self.n_messages,
            "n_windows": self.n_windows,
            "end_reason": self.end_reason,
        }

    @classmethod
    def headline(cls, data: Mapping[str, Any]) -> str:
        return f"Session ended: alliance {data.get('trajectory')}"

    @classmethod
    def facts(cls, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [("Change", f"{data.get('change'):+} levels (late vs early)")]

    def line(self) -> str:
        p = self.phases
        return (
            f"{self.head()}  SESSION {self.session_index} ended ({self.end_reason}): trajectory "
            f"{self.trajectory.value} ({self.change:+.2f} levels), {self.n_messages} messages, "
            f"{self.n_windows} windows\n"
            f"           early  {_fmt_scores(p.early)}\n"
            f"           middle {_fmt_scores(p.middle)}\n"
            f"           late   {_fmt_scores(p.late)}"
        )


class SafetySignal(_Event):
    """A client message indicating risk of harm: routed to a human at once. Not a clinical
    instrument; see README, "Safety signal".

    Emitted as soon as the message is ingested (no window, no cooldown), severity high.
    `message_id`: the message; `category`: "self_harm" or "harm_to_others"; `cues`: the
    names of the cues that matched (never the text).
    """

    KINDS: ClassVar[dict[EventType, EventKind]] = {
        EventType.SAFETY_SIGNAL: EventKind(
            Severity.HIGH, alerts=True, notable=True, title="Possible risk of harm",
            action=SAFETY_NOTE, marker="safety", board_count="safety",
        )
    }  # fmt: skip
    ALERT_FIELDS: ClassVar[tuple[dict[str, Any], tuple[str, ...]]] = (
        {
            "message_id": {"type": "string"},
            "category": {"enum": ["self_harm", "harm_to_others"]},
            "cues": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
        },
        ("message_id", "category", "cues"),
    )

    type: Literal[EventType.SAFETY_SIGNAL] = EventType.SAFETY_SIGNAL
    severity: Severity = Severity.HIGH
    message_id: str
    category: Literal["self_harm", "harm_to_others"]
    cues: tuple[str, ...] = ()

    def alert_fields(self, include_text: bool) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "category": self.category,
            "cues": list(self.cues),
            "note": SAFETY_NOTE,
        }

    @classmethod
    def headline(cls, data: Mapping[str, Any]) -> str:
        who = "harm to others" if data.get("category") == "harm_to_others" else "self-harm"
        return f"Possible risk of {who} in a client message"

    @classmethod
    def facts(cls, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            ("Category", str(data.get("category", "")).replace("_", " ")),
            ("Cues", _joined(data.get("cues"))),
            ("Message id", str(data.get("message_id"))),
        ]

    def line(self) -> str:
        return (
            f"{self.head()}  SAFETY SIGNAL ({self.category}) on message {self.message_id}: "
            "route to a human now"
        )

    def marker(self) -> Marker | None:
        detail = f"{self.category.replace('_', ' ')} (message {self.message_id})"
        return ("safety", None, None, detail, None)


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

_CLASSES: tuple[type[_Event], ...] = get_args(get_args(Event)[0])
#: The class of each event type (its declaration: fields, `EventKind`, renderings).
EVENT_CLASSES: Mapping[str, type[_Event]] = {t.value: c for c in _CLASSES for t in c.KINDS}
#: What surfaces need to know about each event type, by its wire name.
EVENT_KINDS: Mapping[str, EventKind] = {t.value: k for c in _CLASSES for t, k in c.KINDS.items()}


def event_class(event_type: str) -> type[_Event] | None:
    """The class declaring `event_type` (its wire name), or None for an unknown type."""
    return EVENT_CLASSES.get(str(event_type))
