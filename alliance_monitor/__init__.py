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
    from ._decline import PairVerdict, pair_verdicts, verdict_word
    from ._decline import Verdict as DeclineVerdict
    from ._decline import assess as assess_decline
    from ._erasure import Erasable, Erasure
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
        StoreLocked,
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


#: Public names: the imports of the TYPE_CHECKING block above (the one list of them),
#: imported on first use (PEP 562), and the names imported above it; `__all__` lists them.
__getattr__, __dir__ = _lazy_exports(
    __name__,
    globals(),
    also=("__version__",),
)


__version__ = "0.1.0"

# A library never decides where its logs go. Records from `alliance_monitor.*` loggers reach
# whatever the host configured; with nothing configured they go nowhere (not even the
# standard library's last-resort stderr printer).
_logging.getLogger("alliance_monitor").addHandler(_logging.NullHandler())
