"""The scoring workers' loop: one closed window from the scheduler to the store.

`WindowPipeline.run` takes a window from the scheduler and passes it through the stages in
order: the scorer (`ScoringStage`), the phase rater (`PhaseStage`, which watches scores and holds
session summaries), the core's rules, the feedback writer (`FeedbackStage`), the fan-out, and
last the durable part (the applied window and the events it raised, committed together). The
monitor runs `ScoringPolicy.workers` of these loops; a bug in one window is counted as
``internal_errors`` and logged without text, and the loop goes on.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._core import MonitorCore
    from ._durable import Durable
    from ._fanout import FanOut
    from ._models import WindowRequest
    from ._phases import PhaseStage
    from ._residency import Residency
    from ._scheduler import Scheduler
    from ._stages import FeedbackStage, ScoringStage

__all__ = ["WindowPipeline"]

_log = logging.getLogger("alliance_monitor.monitor")


class WindowPipeline:
    """Scores the windows the scheduler hands out and applies what they raise (see the module)."""

    def __init__(
        self,
        *,
        scheduler: Scheduler,
        scoring: ScoringStage,
        phases: PhaseStage | None,
        core: MonitorCore,
        feedback: FeedbackStage | None,
        fanout: FanOut,
        durable: Durable,
        pairs: Residency,
    ) -> None:
        self._scheduler, self.scoring, self._phases = scheduler, scoring, phases
        self._core, self._feedback, self._fanout = core, feedback, fanout
        self._durable, self._pairs = durable, pairs
        #: The scoring stage's counts (scoring_failures) and internal_errors.
        self.counts: Counter[str] = scoring.counts

    async def run(self) -> None:
        while True:
            req = await self._scheduler.take()
            try:
                await self.apply(req)
            except Exception as exc:  # a bug: count it, keep the worker alive
                self.counts["internal_errors"] += 1
                _log.error(
                    "alliance_monitor.scoring_internal_error",
                    extra={"error": exc.__class__.__name__},
                )
            finally:
                self._scheduler.done(req.conversation_id)

    async def apply(self, req: WindowRequest) -> None:
        score = await self.scoring.score(req)
        if self._phases is not None:
            self._phases.observe(req, score)
        events = self._core.apply(score, req)
        if self._phases is not None:
            events = self._phases.hold(events)
        if self._feedback is not None:
            events = await self._feedback.rewrite(events, req)
        events = self._core.session_pages(events)
        await self._fanout.deliver(events)
        waiting = self._scheduler.waiting(req.conversation_id)
        await self._durable.persist_applied(req, events, waiting)
        self._pairs.wake()
