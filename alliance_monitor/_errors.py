"""The one exception tree of alliance-monitor.

    AllianceMonitorError
    ├── InvalidMessage          a submitted message was rejected (carries `reason`, `field`)
    ├── ConfigError             a setting or configuration file is wrong
    ├── MonitorClosed           the monitor is not running (used outside `async with`)
    ├── StoreError              the state store failed; the message was NOT accepted
    ├── WebhookVerificationError  (alerts) a received webhook failed verification
    └── ScoringError            a scorer could not produce a valid score
        └── ScorerUnavailable   the scorer's backend cannot be reached

No exception raised by this library carries message text: errors name the field
and the reason, never the value (mental-health text must not leak into logs or
error trackers).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AllianceMonitorError",
    "ConfigError",
    "InvalidMessage",
    "MonitorClosed",
    "RejectReason",
    "ScorerUnavailable",
    "ScoringError",
    "StoreError",
]


class RejectReason(StrEnum):
    """Why a submitted message was not accepted. Every rejection is counted by reason."""

    INVALID_SCHEMA = "invalid_schema"  # not an object, or wrong types
    MISSING_FIELD = "missing_field"
    BAD_ROLE = "bad_role"
    BAD_ID = "bad_id"  # empty or over-long conversation/message id
    BAD_TIMESTAMP = "bad_timestamp"  # `ts` or `seq` not a finite number within range
    BAD_METADATA = "bad_metadata"  # too many or too long entries, invalid Unicode, NaN
    EMPTY_TEXT = "empty_text"  # nothing left after sanitising
    INVALID_JSON = "invalid_json"  # a line of input that is not JSON at all
    CAPACITY = "capacity"  # the monitor is at its conversation cap and cannot evict
    RECURSION_DEPTH = "recursion_depth"  # JSON nested deeper than the reader allows
    NUMBER_RANGE = "number_range"  # a number that is not finite or beyond 64 bits
    INTERNAL_ERROR = "internal_error"  # an unexpected error while ingesting it (a bug: logged)


class AllianceMonitorError(Exception):
    """Base class of every error raised by alliance-monitor."""


class InvalidMessage(AllianceMonitorError):
    """A message was rejected. The text of the message is never part of the error."""

    def __init__(self, reason: RejectReason, field: str | None = None, detail: str = "") -> None:
        self.reason = reason
        self.field = field
        self.detail = detail
        where = f" (field {field!r})" if field else ""
        extra = f": {detail}" if detail else ""
        super().__init__(f"message rejected: {reason.value}{where}{extra}")


class ConfigError(AllianceMonitorError):
    """A configuration value is invalid: a constructor argument, a policy, a settings file or a
    store URL. The message names the setting, never a secret's value."""


class MonitorClosed(AllianceMonitorError):
    """The monitor is not running; use it inside `async with monitor:`."""


class ScoringError(AllianceMonitorError):
    """A scorer could not produce a valid score for a window."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"scoring failed: {reason}")


class ScorerUnavailable(ScoringError):
    """The scorer's backend (for example an LLM server) cannot be reached."""


class StoreError(AllianceMonitorError):
    """The state store could not record a write. The message in hand was not accepted durably:
    re-submit it (duplicates are absorbed)."""
