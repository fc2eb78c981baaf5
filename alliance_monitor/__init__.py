"""alliance-monitor: watch the therapeutic alliance of counselor-client pairs as they talk."""

import logging as _logging

from ._batch import TranscriptResult, analyze_transcript, analyze_transcript_async
from ._config import DeclinePolicy, OrderPolicy, PatternPolicy, SessionPolicy, WindowPolicy
from ._core import IngestResult, MonitorCore
from ._errors import (
    AllianceMonitorError,
    ConfigError,
    InvalidMessage,
    MonitorClosed,
    RejectReason,
    ScorerUnavailable,
    ScoringError,
    StoreError,
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
from ._lang import SUPPORTED_LANGUAGES, detect_language
from ._models import (
    CONSTRUCTS,
    DIMENSIONS,
    DimensionScores,
    Message,
    MessagePattern,
    Role,
    ScoringMessage,
    WindowRequest,
    WindowScore,
    parse_message,
    sanitize_text,
)
from ._monitor import EventHandler, Monitor

__version__ = "0.1.0"

# A library never decides where its logs go. Records from `alliance_monitor.*` loggers reach
# whatever the host configured; with nothing configured they go nowhere (not even the
# standard library's last-resort stderr printer).
_logging.getLogger("alliance_monitor").addHandler(_logging.NullHandler())

__all__ = [
    "CONSTRUCTS",
    "DIMENSIONS",
    "SUPPORTED_LANGUAGES",
    "AllianceDeclined",
    "AllianceLow",
    "AllianceMonitorError",
    "ConfigError",
    "DeclinePolicy",
    "DimensionScores",
    "Event",
    "EventHandler",
    "EventType",
    "Feedback",
    "IngestResult",
    "InvalidMessage",
    "Message",
    "MessagePattern",
    "Monitor",
    "MonitorClosed",
    "MonitorCore",
    "OrderPolicy",
    "PatternDetected",
    "PatternPolicy",
    "PhaseScores",
    "RejectReason",
    "Role",
    "SafetySignal",
    "ScorerUnavailable",
    "ScoringError",
    "ScoringMessage",
    "SessionPolicy",
    "SessionSummary",
    "Severity",
    "StoreError",
    "Trajectory",
    "TranscriptResult",
    "WindowPolicy",
    "WindowRequest",
    "WindowScore",
    "WindowScored",
    "WindowUnscored",
    "__version__",
    "analyze_transcript",
    "analyze_transcript_async",
    "detect_language",
    "event_adapter",
    "parse_message",
    "sanitize_text",
]
