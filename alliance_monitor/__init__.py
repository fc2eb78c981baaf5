"""alliance-monitor: watch the therapeutic alliance of counselor-client pairs as they talk."""

from ._errors import (
    AllianceMonitorError,
    ConfigError,
    InvalidMessage,
    MonitorClosed,
    RejectReason,
    ScorerUnavailable,
    ScoringError,
)
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

__version__ = "0.1.0"

__all__ = [
    "CONSTRUCTS",
    "DIMENSIONS",
    "AllianceMonitorError",
    "ConfigError",
    "DimensionScores",
    "InvalidMessage",
    "Message",
    "MessagePattern",
    "MonitorClosed",
    "RejectReason",
    "Role",
    "ScorerUnavailable",
    "ScoringError",
    "ScoringMessage",
    "WindowRequest",
    "WindowScore",
    "__version__",
    "parse_message",
    "sanitize_text",
]
