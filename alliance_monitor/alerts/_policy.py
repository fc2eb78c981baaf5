"""Alert policy: which events page someone, how urgently, and how often.

Pure logic, no I/O: `AlertPolicy.decide` takes an event, the time and the pair's last alert of
that type, and says *send*, *digest* (hold for a batched message) or *suppress* with a reason.
The dispatcher counts every suppression by reason (`AlertDispatcher.stats().suppressed`).

Safety signals bypass the severity floor, the cooldown and the digest: they are always sent at
once (only an exact duplicate, the same event id, is dropped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .._events import EVENT_KINDS, Event, SafetySignal, Severity

__all__ = [
    "DEFAULT_ALERT_TYPES",
    "AlertPolicy",
    "Decision",
    "SuppressReason",
    "severity_rank",
]

#: Event types that alert by default (each type's `EventKind.alerts`). `window_scored` (every
#: window) never does by default.
DEFAULT_ALERT_TYPES: frozenset[str] = frozenset(t for t, k in EVENT_KINDS.items() if k.alerts)

_RANK = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


SuppressReason = Literal[
    "not_alertable",  # the event type is not in `alert_types`
    "below_min_severity",
    "cooldown",  # same pair and alert type alerted less than `cooldown` seconds ago
    "duplicate",  # this event id was already alerted (also across restarts)
    "no_endpoint",  # no enabled endpoint subscribes to this event type
]


def severity_rank(severity: Severity | str) -> int:
    return _RANK[Severity(severity)]


@dataclass(frozen=True, slots=True)
class Decision:
    action: Literal["send", "digest", "suppress"]
    severity: Severity
    reason: SuppressReason | None = None

    @property
    def suppressed(self) -> bool:
        return self.action == "suppress"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertPolicy:
    """How events become alerts. All fields are optional keywords.

    - `alert_types`: event types that alert (default: declines, low alliance, both patterns,
      safety signals).
    - `severity_overrides`: a fixed severity per event type.
    - `min_severity`: alerts below it are suppressed (never safety signals).
    - `cooldown`: seconds during which a second alert of the same type for the same pair is
      suppressed; with `escalation_bypasses_cooldown` a *more severe* one still goes out.
    - `digest_interval`: when set, alerts at or below `digest_max_severity` are held and sent
      together, at most this many seconds after the first one was held.
    """

    alert_types: frozenset[str] = DEFAULT_ALERT_TYPES
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)
    min_severity: Severity = Severity.INFO
    cooldown: float = 1800.0
    escalation_bypasses_cooldown: bool = True
    digest_interval: float | None = None
    digest_max_severity: Severity = Severity.LOW

    def severity(self, event: Event) -> Severity:
        """The alert severity of `event`."""
        if isinstance(event, SafetySignal):
            return Severity.HIGH
        if event.type in self.severity_overrides:
            return Severity(self.severity_overrides[event.type])
        if event.severity is not Severity.INFO:
            return event.severity
        return event.kind.severity  # the type's declared severity

    def decide(self, event: Event, now: float, last: tuple[float, int] | None) -> Decision:
        """Send, digest or suppress `event`. `last` is (time, severity rank) of the previous
        alert of this type for this pair, if any."""
        severity = self.severity(event)
        if event.type not in self.alert_types:
            return Decision("suppress", severity, "not_alertable")
        if isinstance(event, SafetySignal):
            return Decision("send", severity)
        if _RANK[severity] < _RANK[self.min_severity]:
            return Decision("suppress", severity, "below_min_severity")
        if last is not None and now - last[0] < self.cooldown:
            escalated = self.escalation_bypasses_cooldown and _RANK[severity] > last[1]
            if not escalated:
                return Decision("suppress", severity, "cooldown")
        if self.digest_interval is not None and _RANK[severity] <= _RANK[self.digest_max_severity]:
            return Decision("digest", severity)
        return Decision("send", severity)


def cooldown_key(event: Event) -> str:
    """Cooldowns are per pair (conversation) and alert type."""
    return f"{event.conversation_id}\x1f{event.type}"
