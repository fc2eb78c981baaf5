"""Frozen records that cross the library's boundaries: messages in, scores and windows between
the core and the scorers.

`Message` is validated with pydantic at the edge (`parse_message` maps every validation failure to
a `RejectReason`); everything downstream trusts it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from ._errors import InvalidMessage, RejectReason

__all__ = [
    "CONSTRUCTS",
    "DIMENSIONS",
    "DimensionScores",
    "Message",
    "MessagePattern",
    "Role",
    "Rupture",
    "ScoringMessage",
    "WindowRequest",
    "WindowScore",
    "WindowSignals",
    "parse_message",
    "sanitize_text",
]

MAX_ID_LENGTH = 256
MAX_TEXT_CHARS = 16 * 1024 * 1024
#: `ts` is seconds (epoch or relative); milliseconds since 1970 still fit, 400-digit numbers do not.
MAX_ABS_TS = 1e13
#: `seq` orders messages as a float key: beyond 2**53 neighbouring values would collide.
MAX_ABS_SEQ = 2**53
MAX_METADATA_ITEMS = 64
MAX_METADATA_CHARS = 4096

#: The twelve WAI-O-S-style constructs of domain.md, grouped by Bordin's dimensions.
CONSTRUCTS: dict[str, tuple[str, ...]] = {
    "goal": ("G1", "G2", "G3", "G4"),
    "task": ("T1", "T2", "T3", "T4"),
    "bond": ("B1", "B2", "B3", "B4"),
}
DIMENSIONS: tuple[str, ...] = ("goal", "task", "bond", "overall")


class Role(StrEnum):
    """Who wrote a message. ``other`` (a bot, a system notice) is kept but never scored as
    either side of the pair."""

    COUNSELOR = "counselor"
    CLIENT = "client"
    OTHER = "other"


# C0/C1 controls except tab and newline, plus Unicode format characters (zero-width space,
# joiners, bidi marks, BOM, soft hyphen...). NFKC does not remove these: strip them explicitly.
_STRIP_RE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]"
)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# What an identifier may not contain: lone surrogates (UTF-8 storage rejects them; files read
# with surrogateescape turn raw bytes into them) and C0/C1 control characters.
_BAD_ID_RE = re.compile("[\ud800-\udfff\x00-\x1f\x7f-\x9f]")


def sanitize_text(text: str) -> str:
    """Return `text` safe to store and score.

    Lone surrogates (which `json.loads` accepts but UTF-8 storage rejects) become U+FFFD,
    control and zero-width/format characters are removed, CRLF becomes LF, and the result is
    NFC-normalised and stripped.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE_RE.sub("\ufffd", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _STRIP_RE.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.strip()


_Scalar = str | int | float | bool | None


def id_text(value: Any) -> Any:
    """An integer id as its decimal string (``42`` -> ``"42"``); anything else unchanged (a
    bool or a float is then refused as ``bad_id``, never guessed at: ``1.0`` is not an id)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def readable_id(data: Any, key: str) -> str | None:
    """`data[key]` as a `Message` would keep it, or None if it is missing or not a valid id
    (so a rejected message can still be named, never by anything but a valid id)."""
    value = id_text(data.get(key)) if isinstance(data, Mapping) else None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        return None
    return None if _BAD_ID_RE.search(value) else value


def timestamp_seconds(value: Any) -> float | None:
    """What `Message` reads `ts` as, or None when it would reject it (used to order raw input
    before it is validated)."""
    try:
        if isinstance(value, str) and len(value) <= 64:
            seconds = _ts_seconds(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) else None


def _ts_seconds(value: str) -> float:
    """Seconds for a timestamp given as text: a number (``"1714645867.5"``) or ISO 8601
    (``"2024-05-02T10:31:07Z"``, ``"2024-05-02T12:31:07+02:00"``; no offset means UTC)."""
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("timestamp is neither a number nor ISO 8601") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


class Message(BaseModel):
    """One chat message of a counselor-client conversation (a "pair").

    `ts` is the platform's timestamp: seconds as a number (epoch or relative, but consistent
    within a conversation), or text: a number, or an ISO 8601 date-time (read as epoch seconds;
    without an offset it is UTC). `seq`, when the platform has one, orders messages instead of
    `ts`. Ids (`conversation_id`, `id`, `counselor_id`, `client_id`, `session_id`) are strings
    or integers; integers are kept as their decimal string (``42`` is ``"42"``).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        hide_input_in_errors=True,
        str_strip_whitespace=False,
    )

    conversation_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    role: Role
    text: str = Field(max_length=MAX_TEXT_CHARS)
    ts: float = Field(allow_inf_nan=False, ge=-MAX_ABS_TS, le=MAX_ABS_TS)
    seq: int | None = Field(default=None, ge=-MAX_ABS_SEQ, le=MAX_ABS_SEQ)
    counselor_id: str | None = Field(default=None, max_length=MAX_ID_LENGTH)
    client_id: str | None = Field(default=None, max_length=MAX_ID_LENGTH)
    session_id: str | None = Field(default=None, max_length=MAX_ID_LENGTH)
    metadata: dict[str, _Scalar] = Field(default_factory=dict)

    @field_validator("text", mode="before")
    @classmethod
    def _sanitize(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value  # pydantic reports the type error
        cleaned = sanitize_text(value)
        if not cleaned:
            raise ValueError("empty after sanitising")
        return cleaned

    @field_validator("ts", mode="before")
    @classmethod
    def _no_bool_ts(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("timestamp must be a number")
        if isinstance(value, str):
            if len(value) > 64:
                raise ValueError("timestamp text too long")
            return _ts_seconds(value)
        if isinstance(value, int) and abs(value) > MAX_ABS_TS:
            raise ValueError("timestamp out of range")  # before float() overflows on it
        return value

    @field_validator("seq", mode="before")
    @classmethod
    def _int_seq(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("seq must be an integer")
        return value

    @field_validator(
        "conversation_id", "id", "counselor_id", "client_id", "session_id", mode="before"
    )
    @classmethod
    def _integer_id(cls, value: Any) -> Any:
        return id_text(value)

    @field_validator(
        "conversation_id", "id", "counselor_id", "client_id", "session_id", mode="after"
    )
    @classmethod
    def _storable_id(cls, value: str | None) -> str | None:
        if value is not None and _BAD_ID_RE.search(value):
            raise ValueError("identifier has control characters or invalid Unicode")
        return value

    @field_validator("metadata", mode="after")
    @classmethod
    def _storable_metadata(cls, value: dict[str, _Scalar]) -> dict[str, _Scalar]:
        if len(value) > MAX_METADATA_ITEMS:
            raise ValueError("too many metadata entries")
        for k, v in value.items():
            if len(k) > MAX_ID_LENGTH or _SURROGATE_RE.search(k):
                raise ValueError("bad metadata key")
            if isinstance(v, str) and (len(v) > MAX_METADATA_CHARS or _SURROGATE_RE.search(v)):
                raise ValueError("bad metadata value")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError("metadata number not finite")
        return value


_FIELD_REASONS: dict[str, RejectReason] = {
    "role": RejectReason.BAD_ROLE,
    "ts": RejectReason.BAD_TIMESTAMP,
    "seq": RejectReason.BAD_TIMESTAMP,
    "id": RejectReason.BAD_ID,
    "conversation_id": RejectReason.BAD_ID,
    "counselor_id": RejectReason.BAD_ID,
    "client_id": RejectReason.BAD_ID,
    "session_id": RejectReason.BAD_ID,
    "metadata": RejectReason.BAD_METADATA,
}


def parse_message(data: Mapping[str, Any] | Message) -> Message:
    """Validate `data` into a `Message`, or raise `InvalidMessage` with a reason.

    The error names the field and the reason but never contains the submitted values.
    """
    if isinstance(data, Message):
        return data
    if not isinstance(data, Mapping):
        raise InvalidMessage(RejectReason.INVALID_SCHEMA, None, "not a JSON object")
    try:
        return Message.model_validate(data)
    except ValidationError as exc:
        raise _to_invalid(exc) from None


def _to_invalid(exc: ValidationError) -> InvalidMessage:
    first = exc.errors(include_input=False, include_url=False)[0]
    loc = first.get("loc") or ()
    name = str(loc[0]) if loc else None
    kind = first.get("type", "")
    if kind == "missing":
        return InvalidMessage(RejectReason.MISSING_FIELD, name)
    if name == "text":
        if kind == "value_error":
            return InvalidMessage(RejectReason.EMPTY_TEXT, name)
        if kind == "string_too_long":
            return InvalidMessage(RejectReason.INVALID_SCHEMA, name, "text too long")
        return InvalidMessage(RejectReason.INVALID_SCHEMA, name, "text must be a string")
    reason = _FIELD_REASONS.get(name or "", RejectReason.INVALID_SCHEMA)
    return InvalidMessage(reason, name, str(kind))


@dataclass(frozen=True, slots=True)
class ScoringMessage:
    """What a scorer sees of one message: sanitised text, cut to the scoring limit."""

    id: str
    role: Role
    text: str
    ts: float
    truncated: bool = False


_M = TypeVar("_M", bound=BaseModel)
_set = object.__setattr__


def _trusted(cls: type[_M], values: dict[str, Any]) -> _M:
    """`cls.model_construct(**values)` for `values` holding every field of `cls` in the order
    declared, for a model without aliases, extra fields, private attributes or post-init: the
    same instance, without `model_construct`'s walk over the fields (a hot path: one per
    counselor message). A test checks both agree."""
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


#: Field defaults that `model_construct` hands out as they are (pydantic copies nothing of these).
_SHARED_DEFAULT = (type(None), str, int, float, bool)


def _construct_plan(cls: type[BaseModel]) -> tuple[list[tuple[str, Any, Any]], dict[str, Any]]:
    """Per field in declaration order: (name, a default handed out as it is or `_ASK`, the
    field to ask for its default otherwise); and the private attributes' defaults."""
    plan: list[tuple[str, Any, Any]] = []
    for name, f in cls.__pydantic_fields__.items():
        shared = f.default_factory is None and (
            type(f.default) in _SHARED_DEFAULT or f.default == ()
        )
        plan.append((name, f.default if shared else _ASK, f))
    private = {n: a.get_default() for n, a in cls.__private_attributes__.items()}
    if not all(type(v) in _SHARED_DEFAULT for v in private.values()):
        raise TypeError(f"{cls.__name__}: private defaults that need copying")
    return plan, private


_ASK = object()
_PLANS: dict[type[BaseModel], tuple[list[tuple[str, Any, Any]], dict[str, Any]]] = {}


def constructed(cls: type[_M], values: dict[str, Any]) -> _M:
    """`cls.model_construct(**values)` for a model without aliases, extra fields or a post-init
    of its own: the same instance (fields in declaration order, defaults where `values` has
    none, private attributes at their defaults), without re-reading the fields' settings on
    every call (a hot path: one per scored window). A test checks both agree."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _construct_plan(cls)
    fields, private = plan
    out: dict[str, Any] = {}
    for name, default, f in fields:
        if name in values:
            out[name] = values[name]
        elif default is not _ASK:
            out[name] = default
        elif not f.is_required():
            out[name] = f.get_default(call_default_factory=True, validated_data=out)
    obj = cls.__new__(cls)
    _set(obj, "__dict__", out)
    _set(obj, "__pydantic_fields_set__", {n for n in values if n in out})
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", dict(private) if private else None)
    return obj


class DimensionScores(BaseModel):
    """Goal, Task (Approach), Bond and overall on the 1-5 evidence scale."""

    model_config = ConfigDict(frozen=True)

    goal: float = Field(ge=1.0, le=5.0)
    task: float = Field(ge=1.0, le=5.0)
    bond: float = Field(ge=1.0, le=5.0)
    overall: float = Field(ge=1.0, le=5.0)

    @classmethod
    def from_constructs(cls, constructs: Mapping[str, float]) -> DimensionScores:
        """Roll the twelve construct ratings up: a dimension is the mean of its four items, the
        overall score the mean of the three dimensions."""
        dims = {d: sum(constructs[c] for c in ids) / len(ids) for d, ids in CONSTRUCTS.items()}
        overall = (dims["goal"] + dims["task"] + dims["bond"]) / 3.0
        return _trusted(
            cls,
            {
                "goal": round(dims["goal"], 4),
                "task": round(dims["task"], 4),
                "bond": round(dims["bond"], 4),
                "overall": round(overall, 4),
            },
        )

    @classmethod
    def weighted_mean(cls, items: list[tuple[DimensionScores, float]]) -> DimensionScores:
        """Weighted mean of several score sets (weights are exchange counts)."""
        total = sum(w for _, w in items)
        if total <= 0:
            return cls.neutral()
        vals = {d: round(sum(getattr(s, d) * w for s, w in items) / total, 4) for d in DIMENSIONS}
        return _trusted(cls, vals)  # DIMENSIONS is the fields' order

    @classmethod
    def neutral(cls) -> DimensionScores:
        """No evidence either way: 3 on every dimension."""
        return _trusted(cls, {"goal": 3.0, "task": 3.0, "bond": 3.0, "overall": 3.0})

    def get(self, dimension: str) -> float:
        return float(getattr(self, dimension))


class MessagePattern(BaseModel):
    """Passive and directive scores in [0, 1] for one counselor message (>= 0.5 is flagged)."""

    model_config = ConfigDict(frozen=True)

    id: str
    passive: float = Field(ge=0.0, le=1.0)
    directive: float = Field(ge=0.0, le=1.0)
    #: Short machine-readable reasons, e.g. ``("minimal_encourager",)`` or ``("you_should",)``.
    cues: tuple[str, ...] = ()

    @classmethod
    def trusted(
        cls, id: str, passive: float, directive: float, cues: tuple[str, ...]
    ) -> MessagePattern:
        """Built from values the scorer computed in range (no validation): as
        ``model_construct(id=..., passive=..., directive=..., cues=...)``, faster."""
        return _trusted(cls, {"id": id, "passive": passive, "directive": directive, "cues": cues})

    @property
    def is_passive(self) -> bool:
        return self.passive >= 0.5

    @property
    def is_directive(self) -> bool:
        return self.directive >= 0.5


#: The stage of a helping conversation a window is in (domain.md, "Stages are not declines"):
#: "opening" (greeting, first exploring), "working" (exploring, comforting, insight), "action"
#: (suggestions, plans) or "closing" (thanks, summary, goodbye).
Stage = Literal["opening", "working", "action", "closing"]


class Rupture(BaseModel):
    """One rupture marker in a client message (Safran and Muran's model).

    - `kind`: "withdrawal" (the client moves away: a shrug, vague agreement to advice, a reply
      that shrank, deflection) or "confrontation" (the client moves against: a complaint about
      the counselor or the help, rejecting the counselor's framing, "yes, but" to advice).
    - `marker`: which marker (see `alliance_monitor.scoring._rupture`).
    - `repaired_by`: the counselor message that repaired it (acknowledged the strain, invited
      the client's view, changed course) and that the client then took up; None while it is
      unrepaired.
    """

    model_config = ConfigDict(frozen=True)

    message_id: str
    kind: Literal["withdrawal", "confrontation"]
    marker: str
    repaired_by: str | None = None


class WindowSignals(BaseModel):
    """What a window shows about the relationship beside its ratings: its stage, how the client
    engages, and ruptures and repairs. Read from the text by the embedded scorer's lexicons
    (`alliance_monitor.scoring.window_signals`), whatever scorer rated the window.

    - `stage`: see `Stage`; the window's ratings judge each move by what its stage calls for.
    - `client_turns`, `client_words`: the client's turns and their median length in words (a
      Chinese character counts as 1 / 1.7 of a word), closing pleasantries left out.
    - `engagement`: `client_words` against the client's own earlier windows (1.0 = as before;
      None with nothing to compare).
    - `ruptures`: rupture markers of this window, and earlier ones this window repaired.
    - `repairs`: counselor messages that repair (acknowledge the strain, check how it is going
      for the client, change course), whether or not a rupture preceded them.
    - `overstepping`: directive counselor messages that overstep at any stage: advice pushed
      on after the client said no, warning, persuading, moralizing, dismissing or overriding
      the client's view.
    - `heard`: by the end of this window the client has disclosed something and the counselor
      has explored or reflected it (so far in the pair's history); `asked`: the client has asked
      for help or agreed to hear suggestions and has not declined since.
    """

    model_config = ConfigDict(frozen=True)

    stage: Stage = "working"
    client_turns: int = 0
    client_words: float = 0.0
    engagement: float | None = None
    ruptures: tuple[Rupture, ...] = ()
    repairs: tuple[str, ...] = ()
    overstepping: tuple[str, ...] = ()
    heard: bool = False
    asked: bool = False

    @property
    def unrepaired(self) -> tuple[Rupture, ...]:
        return tuple(r for r in self.ruptures if r.repaired_by is None)


@dataclass(frozen=True, slots=True)
class WindowRequest:
    """A closed window of one conversation, ready to score.

    `history` carries the earlier window scores of the pair (most recent last, bounded) so an
    incremental scorer never has to see the whole transcript again.
    """

    conversation_id: str
    window_index: int
    messages: tuple[ScoringMessage, ...]
    n_exchanges: int
    history: tuple[WindowScore, ...] = ()
    #: "window" for a rolling window, "final" for the last window of a session, "phase" for a
    #: batch phase third, "session" for a whole batch transcript.
    kind: Literal["window", "final", "phase", "session"] = "window"
    merged_from: tuple[int, ...] = ()
    counselor_id: str | None = None
    session_id: str | None = None
    #: The live monitor's session counter for the pair (windows of different sessions are
    #: never merged), and where the window sits in that session, in exchanges: it starts at
    #: `span_start` and covers `span_width` (None for batch requests, which have no session).
    session_index: int | None = None
    span_start: float | None = None
    span_width: float = 0.0

    def window_fields(self) -> dict[str, Any]:
        """The fields of a `WindowScore` that describe this window (ids, counts, time span)."""
        msgs = self.messages
        return {
            "conversation_id": self.conversation_id,
            "window_index": self.window_index,
            "n_messages": len(msgs),
            "n_exchanges": self.n_exchanges,
            "first_message_id": msgs[0].id if msgs else None,
            "last_message_id": msgs[-1].id if msgs else None,
            "start_ts": msgs[0].ts if msgs else None,
            "end_ts": msgs[-1].ts if msgs else None,
            "merged_from": self.merged_from,
        }


class WindowScore(BaseModel):
    """A scorer's verdict on one window: twelve construct ratings, the roll-up, a confidence,
    the evidence message ids, and passive/directive scores per counselor message.

    `status == "unscored"` means the scorer could not produce a valid score; then `constructs`
    and `scores` are None and `reason` says why (for example ``"unsupported_language"``). A
    made-up score is never stored.

    `status == "insufficient_evidence"` means the scorer read the window but found too little
    evidence to say anything (a short or bland window): `scores` may hold its near-3 reading for
    information, but the window is not `scored`, so decline and low-alliance rules ignore it and
    reports count it as "insufficient evidence", never as "unchanged".

    Every window says what its numbers rest on: `dimension_confidence` (0-1 per dimension and
    ``"overall"``), `evidence_count` (cues or model evidence behind each dimension) and the
    window's `language` (``"en"``, ``"zh"``, ``"mixed"``, ``"other"``, ``"und"``; see
    `alliance_monitor.detect_language`).
    """

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    window_index: int
    status: Literal["scored", "unscored", "insufficient_evidence"] = "scored"
    reason: str | None = None
    constructs: dict[str, float] | None = None
    scores: DimensionScores | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    dimension_confidence: dict[str, float] = Field(default_factory=dict)
    evidence_count: dict[str, int] = Field(default_factory=dict)
    language: str | None = None
    evidence: tuple[str, ...] = ()
    construct_evidence: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    messages: tuple[MessagePattern, ...] = ()
    n_messages: int = 0
    n_exchanges: int = 0
    first_message_id: str | None = None
    last_message_id: str | None = None
    start_ts: float | None = None
    end_ts: float | None = None
    merged_from: tuple[int, ...] = ()
    scorer: str = "unknown"
    model: str | None = None
    prompt_version: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: LLM scorers: the pair's running summary up to this window (model-written, redacted,
    #: bounded in tokens). The next window's request sees it through `WindowRequest.history`, so
    #: it lives and persists with the pair's history. Text about the conversation: events carry
    #: it only when the deployment opted in to text (`without_text()`).
    summary: str | None = None
    #: Several samples per window: mean spread of the item ratings between samples (population
    #: standard deviation, levels); None with one sample.
    sample_spread: float | None = None
    #: The samples disagreed widely (see `LLMScorer.disagreement_spread`): the mean is kept but
    #: should not be trusted alone; counted in the scorer's stats.
    samples_disagree: bool = False
    #: Stage, client engagement, ruptures and repairs of the window (`WindowSignals`); None for
    #: unscored windows.
    signals: WindowSignals | None = None
    # JSON text, computed once: a pair's snapshot re-serialises its recent scores every window.
    _json: str | None = PrivateAttr(default=None)
    # The embedded scorer's evidence per message of a batch phase (message id -> pieces,
    # points), for cutting phases on evidence (`_batch`); never serialised.
    _evidence_by_message: dict[str, tuple[int, float]] | None = PrivateAttr(default=None)

    def json_text(self) -> str:
        """`model_dump_json()`, cached (the model is frozen)."""
        if self._json is None:
            self._json = self.model_dump_json()
        return self._json

    @property
    def scored(self) -> bool:
        return self.status == "scored" and self.scores is not None

    def without_text(self) -> WindowScore:
        """This score without any text about the conversation (the running `summary`)."""
        return self if self.summary is None else self.model_copy(update={"summary": None})

    @classmethod
    def unscored(cls, request: WindowRequest, reason: str, scorer: str) -> WindowScore:
        """A window that could not be scored, with the reason (never a made-up score)."""
        return cls(status="unscored", reason=reason, scorer=scorer, **request.window_fields())


def finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))
