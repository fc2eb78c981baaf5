"""alliance-monitor: watch the therapeutic alliance of counselor-client pairs as they talk.

A counseling platform embeds the library in its chat backend. Every message goes to a
`Monitor`; it keeps rolling windows per pair, scores each on Goal, Task and Bond (1-5, with an
offline scorer by default or an LLM), and emits events when the alliance declines or sits low, when
a counselor keeps a passive or directive pattern, when a session ends, and at once when a client
message signals a risk of harm. No event, log line or error carries message text unless you opt in.

Live, inside an event loop::

    async with Monitor() as monitor:                    # offline scorer, in-memory state
        monitor.on(handler, types=[EventType.SAFETY_SIGNAL, EventType.ALLIANCE_DECLINED])
        result = await monitor.ingest({"conversation_id": "pair-1", "id": "m1",
                                       "role": "client", "text": "...", "ts": 1732550400.0})
        # result.status: "accepted" | "duplicate" | "rejected" (result.reason says why)

`handler(event)` may be a plain or async function. Finished transcripts: `analyze_transcript`.

Where to look next:

- events: `Event` (the union), `EventType`, `Severity`, `SafetySignal`, `AllianceDeclined`,
  `AllianceLow`, `PatternDetected`, `SessionSummary`, `WindowScored`, `WindowUnscored`;
- policies (keyword arguments of `Monitor`): `WindowPolicy`, `SessionPolicy`, `DeclinePolicy`,
  `PatternPolicy`, `OrderPolicy`;
- messages and scores: `Message`, `parse_message`, `WindowRequest`, `WindowScore` (with its
  `WindowSignals`: stage, ruptures, repairs);
- what "declined" means: `DECLINE_DEFINITION`, `assess_decline` (the one definition behind the
  live event, `analyze` and `study`), `DeclineVerdict`, `verdict_word`;
- errors: `AllianceMonitorError` and its subclasses (`ConfigError`, `StoreError`, ...);
- sub-packages: `alliance_monitor.scoring` (scorers), `alliance_monitor.store` (durable
  state), `alliance_monitor.alerts` (signed webhooks to supervisors), `alliance_monitor.adapters`
  (chat platforms), `alliance_monitor.study` (reports and the supervisor view) and
  `alliance_monitor.testing` (test doubles for your own tests).

Logging goes through the standard `logging` module under `alliance_monitor.*` and shows nothing
unless the host configures it. README.md and docs/ have the details.
"""

import logging as _logging
import typing as _typing

from ._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from ._batch import TranscriptResult, analyze_transcript, analyze_transcript_async
    from ._config import (
        DeclinePolicy,
        EventPolicy,
        OrderPolicy,
        PatternPolicy,
        ScoringPolicy,
        SessionPolicy,
        WindowPolicy,
    )
    from ._core import IngestResult, MonitorCore
    from ._decline import DEFINITION as DECLINE_DEFINITION
    from ._decline import Verdict as DeclineVerdict
    from ._decline import assess as assess_decline
    from ._decline import verdict_word
    from ._errors import (
        AllianceMonitorError,
        ConfigError,
        InvalidMessage,
        JSONRejected,
        MatrixLoginError,
        MonitorClosed,
        PromptTooLarge,
        RejectReason,
        ScorerUnavailable,
        ScoringError,
        StoreError,
        StoreFenced,
    )
    from ._events import (
        AllianceDeclined,
        AllianceLow,
        Event,
        EventType,
        Feedback,
        PatternDetected,
        PhaseScores,
        SafetySignal,
        SessionSummary,
        Severity,
        Trajectory,
        WindowScored,
        WindowUnscored,
        event_adapter,
    )
    from ._fanout import EventStream
    from ._lang import SUPPORTED_LANGUAGES, detect_language
    from ._models import (
        CONSTRUCTS,
        DIMENSIONS,
        DimensionScores,
        Message,
        MessagePattern,
        Role,
        Rupture,
        ScoringMessage,
        WindowRequest,
        WindowScore,
        WindowSignals,
        parse_message,
        sanitize_text,
    )
    from ._monitor import EventHandler, Monitor
    from ._safejson import loads as safe_json_loads

#: Where each public name lives: (module, name there). Imported on first use (PEP 562), so
#: `import alliance_monitor` is cheap, and a command such as `alliance-monitor analyze` loads
#: only what it uses (not the live monitor, its stores and safety scanner).
_LAZY: dict[str, str | tuple[str, str]] = {
    "TranscriptResult": ("._batch", "TranscriptResult"),
    "analyze_transcript": ("._batch", "analyze_transcript"),
    "analyze_transcript_async": ("._batch", "analyze_transcript_async"),
    "DeclinePolicy": ("._config", "DeclinePolicy"),
    "EventPolicy": ("._config", "EventPolicy"),
    "ScoringPolicy": ("._config", "ScoringPolicy"),
    "OrderPolicy": ("._config", "OrderPolicy"),
    "PatternPolicy": ("._config", "PatternPolicy"),
    "SessionPolicy": ("._config", "SessionPolicy"),
    "WindowPolicy": ("._config", "WindowPolicy"),
    "IngestResult": ("._core", "IngestResult"),
    "MonitorCore": ("._core", "MonitorCore"),
    "DECLINE_DEFINITION": ("._decline", "DEFINITION"),
    "DeclineVerdict": ("._decline", "Verdict"),
    "assess_decline": ("._decline", "assess"),
    "verdict_word": ("._decline", "verdict_word"),
    "AllianceMonitorError": ("._errors", "AllianceMonitorError"),
    "ConfigError": ("._errors", "ConfigError"),
    "InvalidMessage": ("._errors", "InvalidMessage"),
    "JSONRejected": ("._errors", "JSONRejected"),
    "MatrixLoginError": ("._errors", "MatrixLoginError"),
    "MonitorClosed": ("._errors", "MonitorClosed"),
    "PromptTooLarge": ("._errors", "PromptTooLarge"),
    "RejectReason": ("._errors", "RejectReason"),
    "ScorerUnavailable": ("._errors", "ScorerUnavailable"),
    "ScoringError": ("._errors", "ScoringError"),
    "StoreError": ("._errors", "StoreError"),
    "StoreFenced": ("._errors", "StoreFenced"),
    "AllianceDeclined": ("._events", "AllianceDeclined"),
    "AllianceLow": ("._events", "AllianceLow"),
    "Event": ("._events", "Event"),
    "EventType": ("._events", "EventType"),
    "Feedback": ("._events", "Feedback"),
    "PatternDetected": ("._events", "PatternDetected"),
    "PhaseScores": ("._events", "PhaseScores"),
    "SafetySignal": ("._events", "SafetySignal"),
    "SessionSummary": ("._events", "SessionSummary"),
    "Severity": ("._events", "Severity"),
    "Trajectory": ("._events", "Trajectory"),
    "WindowScored": ("._events", "WindowScored"),
    "WindowUnscored": ("._events", "WindowUnscored"),
    "event_adapter": ("._events", "event_adapter"),
    "SUPPORTED_LANGUAGES": ("._lang", "SUPPORTED_LANGUAGES"),
    "detect_language": ("._lang", "detect_language"),
    "CONSTRUCTS": ("._models", "CONSTRUCTS"),
    "DIMENSIONS": ("._models", "DIMENSIONS"),
    "DimensionScores": ("._models", "DimensionScores"),
    "Message": ("._models", "Message"),
    "MessagePattern": ("._models", "MessagePattern"),
    "Role": ("._models", "Role"),
    "Rupture": ("._models", "Rupture"),
    "ScoringMessage": ("._models", "ScoringMessage"),
    "WindowRequest": ("._models", "WindowRequest"),
    "WindowScore": ("._models", "WindowScore"),
    "WindowSignals": ("._models", "WindowSignals"),
    "parse_message": ("._models", "parse_message"),
    "sanitize_text": ("._models", "sanitize_text"),
    "EventHandler": ("._monitor", "EventHandler"),
    "EventStream": ("._fanout", "EventStream"),
    "Monitor": ("._monitor", "Monitor"),
    "safe_json_loads": ("._safejson", "loads"),
}


__getattr__, __dir__ = _lazy_exports(__name__, globals(), _LAZY)


__version__ = "0.1.0"

# A library never decides where its logs go. Records from `alliance_monitor.*` loggers reach
# whatever the host configured; with nothing configured they go nowhere (not even the
# standard library's last-resort stderr printer).
_logging.getLogger("alliance_monitor").addHandler(_logging.NullHandler())

__all__ = [
    "CONSTRUCTS",
    "DECLINE_DEFINITION",
    "DIMENSIONS",
    "SUPPORTED_LANGUAGES",
    "AllianceDeclined",
    "AllianceLow",
    "AllianceMonitorError",
    "ConfigError",
    "DeclinePolicy",
    "DeclineVerdict",
    "DimensionScores",
    "Event",
    "EventHandler",
    "EventPolicy",
    "EventStream",
    "EventType",
    "Feedback",
    "IngestResult",
    "InvalidMessage",
    "JSONRejected",
    "MatrixLoginError",
    "Message",
    "MessagePattern",
    "Monitor",
    "MonitorClosed",
    "MonitorCore",
    "OrderPolicy",
    "PatternDetected",
    "PatternPolicy",
    "PhaseScores",
    "PromptTooLarge",
    "RejectReason",
    "Role",
    "Rupture",
    "SafetySignal",
    "ScorerUnavailable",
    "ScoringError",
    "ScoringMessage",
    "ScoringPolicy",
    "SessionPolicy",
    "SessionSummary",
    "Severity",
    "StoreError",
    "StoreFenced",
    "Trajectory",
    "TranscriptResult",
    "WindowPolicy",
    "WindowRequest",
    "WindowScore",
    "WindowScored",
    "WindowSignals",
    "WindowUnscored",
    "__version__",
    "analyze_transcript",
    "analyze_transcript_async",
    "assess_decline",
    "detect_language",
    "event_adapter",
    "parse_message",
    "safe_json_loads",
    "sanitize_text",
    "verdict_word",
]
