"""The one exception tree of alliance-monitor.

    AllianceMonitorError
    ├── InvalidMessage          a submitted message was rejected (carries `reason`, `field`)
    │   └── JSONRejected        (also a ValueError) JSON refused: too deep, huge number, NaN
    ├── ConfigError             (also a ValueError) a setting or configuration file is wrong;
    │   │                       adapters and stores raise it for bad constructor arguments
    │   ├── PromptTooLarge      an LLM prompt's fixed parts exceed the token budget
    │   └── MatrixLoginError    (adapters.matrix) the homeserver refused the credentials
    ├── MonitorClosed           the monitor (or a store, a dispatcher) is not running
    ├── StoreError              the state store failed; the message was NOT accepted
    │   ├── StoreFenced         a scale-out worker lost its shard lease; its write was refused
    │   └── StoreLocked         another process holds the state file (one writer per file)
    ├── WebhookVerificationError  (alerts) a received webhook failed verification
    ├── EvaluationError         (evaluate) an evaluation input cannot be used
    ├── BodyTooLarge            (asgi) a request body is longer than its limit (413)
    └── ScoringError            a scorer could not produce a valid score
        └── ScorerUnavailable   the scorer's backend cannot be reached

Every one of them is importable from `alliance_monitor` (the two alerts/evaluate ones from their
packages as well; `BodyTooLarge` from `alliance_monitor.asgi`, the one place that raises it);
`except AllianceMonitorError` catches everything this library raises on purpose.

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
    "JSONRejected",
    "MatrixLoginError",
    "MonitorClosed",
    "PromptTooLarge",
    "RejectReason",
    "ScorerUnavailable",
    "ScoringError",
    "StoreError",
    "StoreFenced",
    "StoreLocked",
]


class RejectReason(StrEnum):
    """Why a submitted message was not accepted. Every rejection is counted by reason."""

    INVALID_SCHEMA = "invalid_schema"  # not an object, or wrong types
    MISSING_FIELD = "missing_field"
    BAD_ROLE = "bad_role"
    BAD_ID = "bad_id"  # not a string or integer, empty, over-long, control characters
    # `ts` neither a finite number nor numeric or ISO 8601 text, `seq` not an integer, or either
    # out of range
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_METADATA = "bad_metadata"  # too many or too long entries, invalid Unicode, NaN
    EMPTY_TEXT = "empty_text"  # nothing left after sanitising
    INVALID_JSON = "invalid_json"  # a line of input that is not JSON at all
    CAPACITY = "capacity"  # the monitor is at its conversation cap and cannot evict
    RECURSION_DEPTH = "recursion_depth"  # JSON nested deeper than the reader allows
    NUMBER_RANGE = "number_range"  # a number that is not finite or beyond 64 bits
    INTERNAL_ERROR = "internal_error"  # an unexpected error while ingesting it (a bug: logged)
    STORE_ERROR = "store_error"  # the store did not commit it: not accepted, re-submit it


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


class JSONRejected(InvalidMessage, ValueError):
    """JSON from an untrusted source refused before parsing it further (`reason` says why:
    nesting too deep, a number out of range, NaN or Infinity). Never holds the document."""

    def __init__(self, reason: RejectReason) -> None:
        super().__init__(reason, None, "JSON refused")


class ConfigError(AllianceMonitorError, ValueError):
    """A configuration value is invalid: a constructor argument, a policy, a settings file or a
    store URL. The message names the setting, never a secret's value. Also a `ValueError`, which
    constructors raised before."""


class PromptTooLarge(ConfigError):
    """The fixed parts of the prompt alone exceed the per-call token budget."""

    def __init__(self, needed: int, budget: int) -> None:
        self.needed = needed
        self.budget = budget
        super().__init__(f"prompt needs {needed} tokens before any transcript; budget {budget}")


class MatrixLoginError(ConfigError):
    """The Matrix homeserver refused the observer account's credentials (never carries them)."""


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


class StoreFenced(StoreError):
    """The writer no longer holds the shard lease: its batch was refused (another worker took
    the shard over)."""


class StoreLocked(StoreError):
    """Another process has the state file open (`pid`, when it could be read): two writers on
    one SQLite file would each overwrite what the other accepted, so the second one stops."""

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid
