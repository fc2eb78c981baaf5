"""Small, frozen policy objects: how windows close, when a session ends, what counts as a decline
or a pattern. Pass them as keyword arguments to `Monitor`; every field has a reasoned default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._errors import ConfigError

__all__ = [
    "DEFAULT_MAX_PAIRS",
    "DeclinePolicy",
    "EventPolicy",
    "OrderPolicy",
    "PatternPolicy",
    "ScoringPolicy",
    "SessionPolicy",
    "WindowPolicy",
]


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    """When a rolling window closes.

    A window closes when it holds `max_exchanges` counselor-client exchanges (an exchange is one
    counselor turn and one client turn; consecutive messages from the same role are one turn), or
    when its text reaches `max_tokens` (cl100k tokens), or `max_messages` messages, whichever
    comes first. Six exchanges is about what a supervisor reads as "a stretch of the conversation"
    and keeps an LLM call small.
    """

    max_exchanges: int = 6
    max_tokens: int = 1200
    max_messages: int = 64
    #: Longer messages are cut to this many tokens for scoring (flagged `truncated`); the safety
    #: scan always sees the whole text.
    max_message_tokens: int = 512
    #: The first N scored windows of a pair form its baseline.
    baseline_windows: int = 1
    #: Scored windows kept per pair for carry-over and decline detection (bounds memory).
    history: int = 8

    def __post_init__(self) -> None:
        for name in ("max_exchanges", "max_tokens", "max_messages", "max_message_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"WindowPolicy.{name} must be >= 1")
        if self.baseline_windows < 1 or self.history < 2:
            raise ConfigError("WindowPolicy.baseline_windows >= 1 and history >= 2 are required")


@dataclass(frozen=True, slots=True)
class OrderPolicy:
    """How much reordering at a window boundary is absorbed.

    Messages are ordered by platform `seq` where present, else by `ts`. A window does not close
    the moment its boundary is seen: it closes once a message has arrived that comes after the
    boundary and at least the allowance past it (`seq_allowance` sequence numbers when the
    boundary message has a `seq`, else `lateness` seconds of platform time), when `max_held`
    messages are waiting behind it (memory stays bounded), or when the session ends. A message
    that arrives before any message at least its allowance past it lands exactly where it would
    have in order: the same windows, scores and trajectory. One that arrives later than that,
    behind a window already closed, is *late*: kept, counted, placed at the start of the open
    window.

    The defaults (0, 0.0) hold a window until one message past its boundary has arrived: any
    message overtaken by at most one other lands in order. Raise them for platforms whose
    deliveries cross more; the cost is that a window closes that much later.
    """

    seq_allowance: int = 0
    lateness: float = 0.0
    max_held: int = 256
    #: Seconds a timestamp may run ahead of where the pair's clock can be (its latest timestamp
    #: plus the host time elapsed, or the host's time); beyond, it is clamped to that point and
    #: counted (`timestamps_clamped`), so one bad stamp cannot end or freeze the pair's session.
    max_ahead: float = 24 * 3600.0

    def __post_init__(self) -> None:
        if self.seq_allowance < 0 or not 0 <= self.lateness < float("inf"):
            raise ConfigError("OrderPolicy.seq_allowance >= 0 and finite lateness >= 0")
        if self.max_held < 1:
            raise ConfigError("OrderPolicy.max_held >= 1")
        if not 0 < self.max_ahead < float("inf"):
            raise ConfigError("OrderPolicy.max_ahead must be finite and > 0")


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """When a session ends and how its trajectory is labelled."""

    #: A gap of this many seconds between messages of a pair (platform time), or this long
    #: without any message (wall-clock, live only), ends the session.
    idle_timeout: float = 30 * 60.0
    #: |late - early| below this many levels is "unchanged".
    trajectory_tolerance: float = 0.25

    def __post_init__(self) -> None:
        if self.idle_timeout <= 0 or self.trajectory_tolerance < 0:
            raise ConfigError("SessionPolicy.idle_timeout > 0 and trajectory_tolerance >= 0")


@dataclass(frozen=True, slots=True)
class DeclinePolicy:
    """What counts as an alliance decline or a low alliance, confirmed against noise.

    A decline is confirmed on evidence, never on a score alone: the latest scored window is at
    least `levels` below the reference (the pair's baseline or its recent peak, whichever is
    higher) *and* the last `confirm_windows` windows show what fell, weighing at least
    `min_evidence`: client ruptures the counselor did not repair, or counselor overstepping (see
    `alliance_monitor.DECLINE_DEFINITION`). A noisy window without such evidence never pages.
    With ``min_evidence=0`` it is confirmed on the level alone instead (the earlier rule): the
    mean of the last `confirm_windows` windows at least `levels` below the reference and each of
    them at least half that far. It re-arms once the pair recovers to within `rearm_margin` (at
    most half of `levels`) of the reference it fell from. Low alliance: the mean of the last
    `confirm_windows` windows at or below `low_level`.
    """

    #: Half a level, with cited evidence of what fell (measured: benchmarks/traj_halves.py;
    #: one level with evidence pages on a third of the spliced AnnoMI declines, half a level on
    #: half of them, at the same false alarms on paired controls, about 2%).
    levels: float = 0.5
    confirm_windows: int = 2
    low_level: float = 2.0
    rearm_margin: float = 0.5
    #: Windows with fewer exchanges than this carry too little evidence to confirm a decline.
    min_exchanges: int = 2
    dimensions: tuple[str, ...] = ("goal", "task", "bond", "overall")
    #: How much evidence the confirming windows must show of what fell (`_decline`): an
    #: unrepaired confrontation or an overstepping counselor message weighs 1, an unrepaired
    #: withdrawal marker half. 0 fires on the level alone (the earlier behaviour).
    min_evidence: float = 1.0

    def __post_init__(self) -> None:
        if self.levels <= 0 or self.confirm_windows < 1 or self.min_evidence < 0:
            raise ConfigError(
                "DeclinePolicy.levels > 0, confirm_windows >= 1 and min_evidence >= 0 are required"
            )
        bad = set(self.dimensions) - {"goal", "task", "bond", "overall"}
        if bad:
            raise ConfigError(f"DeclinePolicy.dimensions: unknown {sorted(bad)}")


@dataclass(frozen=True, slots=True)
class PatternPolicy:
    """A pattern is a rate over a window's counselor turns, not one message."""

    #: Share of the window's counselor messages that must be flagged.
    min_rate: float = 0.4
    #: And at least this many flagged messages.
    min_flagged: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.min_rate <= 1 or self.min_flagged < 1:
            raise ConfigError("PatternPolicy.min_rate in (0, 1] and min_flagged >= 1")


#: Pairs a live monitor keeps in memory unless told otherwise (`Monitor(max_pairs=...)`, `serve`'s
#: `[monitor] max_pairs`): about 135 MB at the measured 2.7 KiB per conversation of 10 messages.
#: Beyond it the least recently used idle pairs go to the store (or, without one, are kept as
#: compressed snapshots) and come back on their next message.
DEFAULT_MAX_PAIRS = 50_000


@dataclass(frozen=True, slots=True)
class ScoringPolicy:
    """How closed windows are scored by a live `Monitor`."""

    #: Scoring tasks: pairs scored concurrently (one pair is never scored twice at once, so its
    #: windows apply in order).
    workers: int = 2
    #: When the scorer falls behind: "merge" a pair's waiting windows into one request, or
    #: "wait" (`ingest` waits for the pair's previous window to be taken: deterministic replays).
    overload: Literal["merge", "wait"] = "merge"
    #: Seconds one window may take; then it is unscored (`reason="scorer_timeout"`).
    timeout: float = 120.0
    #: "windows" builds a session summary's phases from its rolling windows; "phases" has the
    #: scorer rate each third as a phase when the session ends (falling back to the windows
    #: when a phase cannot be rated). Rolling windows drive live alerts either way.
    session_scoring: Literal["windows", "phases"] = "windows"

    def __post_init__(self) -> None:
        if self.workers < 1 or not self.timeout > 0:
            raise ConfigError("ScoringPolicy.workers >= 1 and timeout > 0 are required")
        if self.overload not in ("merge", "wait"):
            raise ConfigError("ScoringPolicy.overload must be 'merge' or 'wait'")
        if self.session_scoring not in ("windows", "phases"):
            raise ConfigError("session_scoring must be 'windows' or 'phases'")


@dataclass(frozen=True, slots=True)
class EventPolicy:
    """How a live `Monitor` hands out events: the buffer of each `events()` stream and of the
    queue of events fired at ingest, and how long an LLM feedback rewrite may take."""

    #: Buffer of each `events()` iterator; also sizes the bounded queue of events fired at
    #: ingest (safety signals; 4x this many batches, drops counted as `events_dropped`).
    buffer: int = 1024
    #: Seconds one feedback rewrite (`feedback_writer`) may take; the template stays after.
    feedback_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.buffer < 1 or not self.feedback_timeout > 0:
            raise ConfigError("EventPolicy.buffer >= 1 and feedback_timeout > 0 are required")
