"""Phase rating at session end: the study's unit, as an option of the live monitor.

With ``Monitor(scoring=ScoringPolicy(session_scoring="phases"))`` the monitor keeps the messages of
each open session as its windows are scored (rolling windows still drive every live alert). When
the session ends, its early, middle and late thirds of exchanges are rated as phases by the
monitor's scorer (``WindowRequest.kind == "phase"``), and the `SessionSummary` uses those ratings:
its `phases`,
`alliance`, `trajectory` and changes come from the phases and ``phase_convention`` is
``"rated_phases"``.

A phase longer than `max_phase_tokens` is summarised: its latest messages that fit are sent, and
what came before them reaches the scorer as the pair's running summary written when those windows
were scored (an LLM scorer's ``WindowScore.summary``, carried through the phase request's
history), so the cut part is represented, not lost (counted as ``phases_summarised``).

When the first or the last third is too thin to rate (a session of few, long turns), the phases
are cut on evidence as `analyze` cuts them (that end widened turn by turn until it carries
enough; counted as ``phases_split_on_evidence``); a middle too thin to rate stands as the mean
of the two ends, as in `analyze`; a session of two exchanges compares them when each carries
enough evidence on its own. When a phase cannot be rated (the scorer fails or abstains), when
the session is too short to split (fewer than two exchanges, or two too thin to rate apart), or
when the monitor did not see the whole session (it restarted or evicted the pair mid-session),
the window-based summary stands and the reason is counted in `PhaseRater.counts`
(``phases_rated``, ``phases_fallback_<reason>``).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ._batch import _halves_requests, _resplit_requests, split_thirds
from ._config import ScoringPolicy, SessionPolicy
from ._decline import assess, dimension_trajectory
from ._events import Event, PhaseScores, SessionSummary
from ._models import DIMENSIONS, DimensionScores, ScoringMessage, WindowRequest, WindowScore
from ._signal import Signal
from ._tokens import TokenCounter, default_counter
from .scoring._base import Scorer, score_or_unscored
from .scoring._embedded import window_signals

__all__ = ["PhaseRater", "PhaseStage"]

_log = logging.getLogger("alliance_monitor.phases")
PHASE_NAMES = ("early", "middle", "late")


@dataclass
class _Session:
    messages: dict[str, ScoringMessage] = field(default_factory=dict)
    windows: set[int] = field(default_factory=set)
    first_window: int | None = None
    #: (index of the window's last message in `messages`, its score) for summaries.
    scores: list[tuple[int, WindowScore]] = field(default_factory=list)
    history: tuple[WindowScore, ...] = ()


class PhaseRater:
    """Collects each open session's messages and rates its thirds when it ends."""

    def __init__(
        self,
        scorer: Scorer,
        *,
        tolerance: float,
        time_limit: float = 120.0,
        max_phase_tokens: int = 2000,
        counter: TokenCounter | None = None,
    ) -> None:
        self.scorer = scorer
        self.tolerance = tolerance
        self.time_limit = time_limit
        self.max_phase_tokens = max_phase_tokens
        self.counter = counter or default_counter()
        self.counts: Counter[str] = Counter()
        self._sessions: dict[tuple[str, int], _Session] = {}

    def observe(self, request: WindowRequest, score: WindowScore) -> None:
        """Remember a scored window's messages (called for every window the monitor applies)."""
        session = request.session_index
        if session is None:
            return
        s = self._sessions.setdefault((request.conversation_id, session), _Session())
        for m in request.messages:
            s.messages.setdefault(m.id, m)
        indices = {request.window_index, *request.merged_from}
        s.windows |= indices
        first = min(indices)
        s.first_window = first if s.first_window is None else min(s.first_window, first)
        s.scores.append((len(s.messages), score))
        s.history = (*request.history, score)

    def forget(self, conversation_id: str) -> None:
        """Drop what is held for a pair (evicted or forgotten by the monitor)."""
        for key in [k for k in self._sessions if k[0] == conversation_id]:
            del self._sessions[key]

    async def rewrite(self, events: list[Event]) -> list[Event]:
        """`events` with each `SessionSummary` re-based on rated phases where possible."""
        if not any(isinstance(e, SessionSummary) for e in events):
            return events
        out: list[Event] = []
        for ev in events:
            if isinstance(ev, SessionSummary):
                ev = await self._rate(ev)
            out.append(ev)
        return out

    def _fallback(self, reason: str, ev: SessionSummary) -> SessionSummary:
        self.counts[f"phases_fallback_{reason}"] += 1
        _log.info(
            "alliance_monitor.phase_rating_fallback",
            extra={
                "conversation_id": ev.conversation_id,
                "session_index": ev.session_index,
                "reason": reason,
            },
        )
        return ev

    async def _rate(self, ev: SessionSummary) -> SessionSummary:
        s = self._sessions.pop((ev.conversation_id, ev.session_index), None)
        if s is None or not s.messages:
            return self._fallback("no_messages", ev)
        if len(s.windows) < ev.n_windows or len(s.messages) < ev.n_messages:
            return self._fallback("incomplete", ev)
        msgs = sorted(s.messages.values(), key=lambda m: m.ts)
        thirds, counts, total = split_thirds(msgs)
        if total == 2:
            return await self._rate_halves(ev, s, msgs)
        if total < 3:
            return self._fallback("too_short", ev)
        scores: list[WindowScore] = []
        for k, part in enumerate(thirds):
            score = await self._rate_phase(ev, s, msgs, part, counts[k], k, scores)
            if score.status == "unscored":
                return self._fallback(f"{PHASE_NAMES[k]}_{score.status}", ev)
            scores.append(score)
        if not (scores[0].scored and scores[2].scored):
            # an end third too thin to rate (few, long turns): cut the phases on evidence, as
            # `analyze` does (`_batch._resplit_requests`), and rate the parts that moved
            plain = [
                WindowRequest(ev.conversation_id, k, part, counts[k], kind="phase")
                for k, part in enumerate(thirds)
            ]
            cuts = _resplit_requests(ev.conversation_id, msgs, plain, scores)
            if cuts is not None:
                parts: list[WindowScore] = []
                for k, req in enumerate(cuts):
                    moved = req is not plain[k]
                    parts.append(
                        await self._rate_phase(ev, s, msgs, req.messages, req.n_exchanges, k, parts)
                        if moved
                        else scores[k]
                    )
                    if moved:
                        counts[k] = req.n_exchanges
                scores = parts
                self.counts["phases_split_on_evidence"] += 1
        for k in (0, 2):
            if not scores[k].scored:
                return self._fallback(f"{PHASE_NAMES[k]}_{scores[k].status}", ev)
        self.counts["phases_rated"] += 1
        return self._summary(ev, scores, counts)

    async def _rate_halves(
        self, ev: SessionSummary, s: _Session, msgs: list[ScoringMessage]
    ) -> SessionSummary:
        """A session of two exchanges: rated as a whole, then, as `analyze` does
        (`_batch._halves_requests`), each exchange on its own when each carries enough evidence
        (few, long turns), the whole standing for the middle."""
        whole = WindowRequest(ev.conversation_id, 1, tuple(msgs), 2, kind="phase")
        middle = await self._rate_phase(ev, s, msgs, whole.messages, 2, 1, [])
        halves = _halves_requests(ev.conversation_id, msgs, [whole], [middle])
        if halves is None:
            return self._fallback("too_short", ev)
        early = await self._rate_phase(ev, s, msgs, halves[0].messages, 1, 0, [])
        late = await self._rate_phase(ev, s, msgs, halves[2].messages, 1, 2, [early, middle])
        if not (early.scored and late.scored):
            return self._fallback("too_short", ev)
        self.counts["phases_split_on_evidence"] += 1
        self.counts["phases_rated"] += 1
        return self._summary(ev, [early, middle, late], [1, 2, 1])

    async def _rate_phase(
        self,
        ev: SessionSummary,
        s: _Session,
        msgs: list[ScoringMessage],
        part: tuple[ScoringMessage, ...],
        exchanges: int,
        k: int,
        done: list[WindowScore],
    ) -> WindowScore:
        """One phase rated by the scorer, its signals read from its whole text (`_decline`)."""
        req = self._request(ev, s, msgs, part, exchanges, k, done)
        score = await score_or_unscored(self.scorer, req, time_limit=self.time_limit)
        if score.scored and score.scores is not None and score.signals is None:
            score = score.model_copy(update={"signals": window_signals(part, done)})
        return score

    def _request(
        self,
        ev: SessionSummary,
        s: _Session,
        msgs: list[ScoringMessage],
        part: tuple[ScoringMessage, ...],
        exchanges: int,
        k: int,
        done: list[WindowScore],
    ) -> WindowRequest:
        """The phase's request: as many of its latest messages as fit; the earlier ones are
        represented by the running summary of the window that covered them."""
        kept = list(part)
        budget = self.max_phase_tokens
        cost = 0
        start = len(kept)
        for i in range(len(kept) - 1, -1, -1):
            cost += self.counter.count(kept[i].text) + 6
            if cost > budget:
                break
            start = i
        dropped = kept[:start] if start > 0 else []
        kept = kept[start:] if start < len(kept) else kept[-1:]
        # History: the pair's windows before this phase, then the phases rated so far; when text
        # was dropped, the score of the last window that ended at or before the kept part (its
        # running summary covers the dropped messages).
        first_kept = msgs.index(kept[0])
        covering = [sc for end, sc in s.scores if end <= first_kept] if dropped else []
        base = [h for h in s.history if h.window_index < (s.first_window or 0)]
        history = (*base, *done, *covering[-1:])
        if dropped:
            self.counts["phases_summarised"] += 1
        return WindowRequest(
            conversation_id=ev.conversation_id,
            window_index=k,
            messages=tuple(kept),
            n_exchanges=exchanges,
            history=tuple(history),
            kind="phase",
            counselor_id=ev.counselor_id,
            session_id=ev.session_id,
            session_index=ev.session_index,
        )

    def _summary(
        self, ev: SessionSummary, scores: list[WindowScore], counts: list[int]
    ) -> SessionSummary:
        weights = [float(max(c, 1)) for c in counts]
        early, late = scores[0].scores, scores[2].scores
        assert early is not None and late is not None
        # a middle too thin to rate stands as the mean of the ends (as in `analyze`): the
        # trajectory compares the ends only
        middle = scores[1].scores or DimensionScores.weighted_mean(
            [(early, weights[0]), (late, weights[2])]
        )
        alliance = DimensionScores.weighted_mean(
            list(zip((early, middle, late), weights, strict=True))
        )
        changes = {d: round(late.get(d) - early.get(d), 4) for d in DIMENSIONS}
        # the one definition of a decline (`_decline`): the late phase fell AND the middle and
        # late phases show what fell
        verdict = assess(early, late, [sc.signals for sc in scores[1:]], tolerance=self.tolerance)
        return ev.model_copy(
            update={
                "phases": PhaseScores(early=early, middle=middle, late=late),
                "alliance": alliance,
                "trajectory": verdict.trajectory,
                "change": changes["overall"],
                "dimension_trajectories": {
                    d: dimension_trajectory(c, self.tolerance, verdict) for d, c in changes.items()
                },
                "dimension_changes": changes,
                "phase_convention": "rated_phases",
                "decline_reason": verdict.reason,
                "evidence": verdict.evidence,
                "repaired": verdict.repaired,
            }
        )


class PhaseStage:
    """The monitor's stage for rated phases: session summaries are held back from the events
    they came with (`hold`), rated by `PhaseRater` in tasks of their own (`run`, one per
    scoring worker, in the order sessions ended), then handed to `post`. Neither a scoring
    worker nor the fan-out waits for a rating.

    Counts (`counts`): the rater's ``phases_*`` plus ``internal_errors``. `on_progress` is
    called after each session is done (the monitor's `flush` listens to it)."""

    def __init__(
        self,
        rater: PhaseRater,
        *,
        post: Callable[[Sequence[Event]], object],
        on_progress: Callable[[], None],
    ) -> None:
        self.rater = rater
        self.counts = rater.counts
        self._post = post
        self._on_progress = on_progress
        self._queue: deque[list[Event]] = deque()
        self._wake = Signal()
        self._busy = 0  # sessions queued or being rated
        #: Summaries are held only while the rating tasks run (not during recovery, nor
        #: once the monitor is closing: then the window-based summary goes out as it is).
        self.accepting = False

    @classmethod
    def for_policy(
        cls,
        policy: ScoringPolicy,
        scorer: Scorer,
        session: SessionPolicy,
        *,
        post: Callable[[Sequence[Event]], object],
        on_progress: Callable[[], None],
    ) -> PhaseStage | None:
        """The stage a monitor with `policy` needs: None unless ``session_scoring="phases"``."""
        if policy.session_scoring != "phases":
            return None
        rater = PhaseRater(
            scorer, tolerance=session.trajectory_tolerance, time_limit=policy.timeout
        )
        return cls(rater, post=post, on_progress=on_progress)

    @property
    def idle(self) -> bool:
        return self._busy == 0

    def observe(self, request: WindowRequest, score: WindowScore) -> None:
        self.rater.observe(request, score)

    def forget(self, conversation_id: str) -> None:
        self.rater.forget(conversation_id)

    def hold(self, events: Sequence[Event]) -> list[Event]:
        """`events` without their session summaries, which are queued for rating."""
        if not self.accepting:
            return list(events)
        held: list[Event] = [e for e in events if isinstance(e, SessionSummary)]
        if not held:
            return list(events)
        self._busy += 1
        self._queue.append(held)
        self._wake.notify()
        return [e for e in events if not isinstance(e, SessionSummary)]

    async def run(self) -> None:
        """Rate queued sessions forever (run one per scoring worker)."""
        while True:
            while not self._queue:
                await self._wake.wait()
            await self._rate(self._queue.popleft())

    async def _rate(self, summaries: list[Event]) -> None:
        try:
            try:
                rated = await self.rater.rewrite(summaries)
            except Exception as exc:  # a bug: the window-based summaries still go out
                self.counts["internal_errors"] += 1
                _log.error(
                    "alliance_monitor.phase_rating_error", extra={"error": type(exc).__name__}
                )
                rated = summaries
            self._post(rated)
        finally:
            self._busy -= 1
            self._on_progress()
