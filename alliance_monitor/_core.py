"""The I/O-free core: messages in, scoring work and events out.

`MonitorCore` never awaits anything. `ingest()` validates, de-duplicates and places a message,
and returns the windows that closed (`WindowRequest`s to score) plus any immediate events (the
safety signal). `apply()` takes a `WindowScore` back and returns the events it causes (window
scored, declines, low alliance, patterns, and the session summary once a session's last window is
in). The async `Monitor` wraps this with queues, scorers and handlers; replay and tests drive it
directly. Time is always passed in (`now`), so the core is deterministic.

Memory per pair is bounded: the open window (capped by `WindowPolicy`), at most
`WindowPolicy.history` recent window scores, a compacted list of a session's window scores for
the phase split, and de-duplication state (an exact list of recent id hashes plus a fixed-size
Bloom filter for old ones).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from ._config import DeclinePolicy, OrderPolicy, PatternPolicy, SessionPolicy, WindowPolicy
from ._errors import InvalidMessage, RejectReason
from ._events import (
    AllianceDeclined,
    EndReason,
    Event,
    EventType,
    SafetySignal,
    SessionSummary,
    Trajectory,
    WindowScored,
    WindowUnscored,
    make_event_id,
)
from ._feedback import feedback_language
from ._models import (
    Message,
    Role,
    WindowRequest,
    WindowScore,
    parse_message,
    readable_id,
)
from ._pair import (
    HeldMessage,
    PairSnapshot,
    PairState,
    SessionState,
    id_hash,
    order_key,
    pair_from_state,
    pair_to_json,
)
from ._rules import (
    EventContext,
    alliance_rules,
    pattern_rules,
    session_decline,
    session_summary,
)
from ._text import normalise_id
from ._tokens import TokenCounter, default_counter

if TYPE_CHECKING:
    from ._safety import SafetyHit

__all__ = ["IngestResult", "MonitorCore", "Outcome", "SafetyScan"]


def _scan_risk(text: str) -> SafetyHit | None:
    from ._safety import scan_risk  # loaded once (see `load_safety`); then a dict lookup

    return scan_risk(text)


_CHARS_PER_TOKEN_CAP = 8
#: Unix time of 2000-01-01: below it a number is no wall-clock time (a test's, a counter).
EPOCH_2000 = 946_684_800.0  # pre-cut huge texts by characters before tokenising them


@dataclass(frozen=True, slots=True)
class SafetyScan:
    """The safety scan of a message's text, run before `ingest` (e.g. in a worker thread for a
    very long text): `hit` is what `scan_risk` found, or None."""

    hit: SafetyHit | None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What happened to one submitted message.

    `status`: "accepted", "duplicate" (already seen: absorbed) or "rejected" (then `reason`,
    a `RejectReason`, says why, and `field` names the field it refused, e.g. ``"ts"``, when one
    field was at fault; it was counted). `late`: accepted but older than the last closed
    window. `conversation_id` / `message_id`: the ids read from it, when readable (a rejected
    message's too, as text, if they were valid ids).
    """

    status: Literal["accepted", "duplicate", "rejected"]
    reason: RejectReason | None = None
    late: bool = False
    conversation_id: str | None = None
    message_id: str | None = None
    field: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


@dataclass(frozen=True, slots=True)
class Outcome:
    """Work and events produced by one call into the core."""

    result: IngestResult | None = None
    #: Closed windows to score, in order.
    work: tuple[WindowRequest, ...] = ()
    events: tuple[Event, ...] = ()
    #: The accepted message and its journal position in its pair (for durable stores).
    message: Message | None = None
    position: int = 0


@dataclass(slots=True)
class _Draft:
    """An `Outcome` being built inside one call into the core; its events are counted by type
    (``events_<type>``) when it is done, as `apply` counts its own."""

    counts: Counter[str]
    work: list[WindowRequest] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def done(
        self, result: IngestResult | None = None, message: Message | None = None, position: int = 0
    ) -> Outcome:
        for ev in self.events:
            self.counts["events_" + _etype(ev)] += 1
        return Outcome(result, tuple(self.work), tuple(self.events), message, position)


def rejected_result(
    reason: RejectReason, field: str | None = None, data: Any = None
) -> IngestResult:
    """The answer for refused input: the reason, the refused `field`, and the ids of `data`
    (the raw input) when they are valid ids, so the caller can tell which message it was."""
    conv = readable_id(data, "conversation_id")
    mid = readable_id(data, "id")
    return IngestResult("rejected", reason, False, conv, mid, field)


class MonitorCore:
    """The monitor's state machine. Not thread-safe; one owner drives it."""

    def __init__(
        self,
        *,
        window: WindowPolicy | None = None,
        session: SessionPolicy | None = None,
        decline: DeclinePolicy | None = None,
        patterns: PatternPolicy | None = None,
        order: OrderPolicy | None = None,
        include_text: bool = False,
        safety: bool = True,
        tokens: TokenCounter | None = None,
    ) -> None:
        self.window = window or WindowPolicy()
        self.order = order or OrderPolicy()
        self.session = session or SessionPolicy()
        self.decline = decline or DeclinePolicy()
        self.patterns = patterns or PatternPolicy()
        self.include_text = include_text
        self._tokens = tokens or default_counter()
        self._pairs: dict[str, PairState] = {}
        self.counts: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self._scan: Callable[[str], SafetyHit | None] | None = _scan_risk if safety else None

    # ------------------------------------------------------------------ ingest
    def ingest(
        self,
        data: Message | Mapping[str, Any],
        now: float = 0.0,
        *,
        replay: bool = False,
        safety: SafetyScan | None = None,
        record: bool = True,
    ) -> Outcome:
        """Take one message. Never raises for bad input: the result says why it was rejected.

        `safety` may carry the scan of the text done elsewhere (`scan_safety`: the async shell
        scans very long texts in a worker thread so the event loop is not held up).

        `replay=True` re-applies a journaled message during recovery (counted as `replayed`).
        `record=False` leaves the result out of the ledger (`record`): a shell whose answer
        depends on more than the core (a durable write) records its own answer instead.
        """
        out = self._ingest(data, now, replay, safety)
        if record and not replay:
            assert out.result is not None
            self.record(out.result)
        return out

    def record(self, result: IngestResult) -> None:
        """Count one answered submission in the ledger: ``messages_in`` and one of
        ``accepted``, ``duplicates``, ``rejected`` (with its reason), so that in = accepted +
        duplicates + rejected always holds."""
        counts = self.counts
        counts["messages_in"] += 1
        if result.status == "accepted":
            counts["accepted"] += 1
        elif result.status == "duplicate":
            counts["duplicates"] += 1
        else:
            counts["rejected"] += 1
            reason = result.reason or RejectReason.INTERNAL_ERROR
            self.rejected[reason.value] += 1

    def _ingest(
        self,
        data: Message | Mapping[str, Any],
        now: float,
        replay: bool,
        safety: SafetyScan | None,
    ) -> Outcome:
        try:
            msg = parse_message(data)
        except InvalidMessage as exc:
            return Outcome(result=rejected_result(exc.reason, exc.field, data))
        out = _Draft(self.counts)
        conv = msg.conversation_id
        pair = self._pairs.pop(conv, None)
        if pair is None:
            pair = PairState(conv)
            self.counts["pairs_created"] += 1
        self._pairs[conv] = pair  # re-inserted: the dict's order is least-recently-used first
        msg = self._plausible(msg, pair, now)
        pair.touch(now)
        h = id_hash(normalise_id(msg.id))  # ids as the platform means them; the raw id is kept
        seq = None if msg.seq is None else float(msg.seq)
        arrival = pair.arrivals
        key = order_key(seq, msg.ts, arrival)
        dup = pair.is_duplicate(h, key)
        if dup is not None:
            if dup == "probable":
                self.counts["duplicates_probable"] += 1
            return out.done(IngestResult("duplicate", None, False, msg.conversation_id, msg.id))
        pair.admit(msg.counselor_id, msg.client_id)
        if replay:
            self.counts["replayed"] += 1

        # Safety first: the whole text, before any truncation, never held for a window.
        if self._scan is not None and msg.role is Role.CLIENT:
            hit = self._scan(msg.text) if safety is None else safety.hit
            if hit is not None:
                self.counts["safety_signals"] += 1
                signal = SafetySignal(
                    id=make_event_id(EventType.SAFETY_SIGNAL, msg.conversation_id, msg.id),
                    conversation_id=msg.conversation_id,
                    session_id=msg.session_id,
                    counselor_id=pair.counselor_id,
                    client_id=pair.client_id,
                    ts=msg.ts,
                    message_id=msg.id,
                    category=hit.category,
                    cues=hit.cues,
                )
                out.events.append(signal)

        # Session boundaries: a new platform session id, or an idle gap in platform time.
        reason = pair.session_break(msg.session_id, msg.ts, self.session.idle_timeout, msg.seq)
        if reason is not None:
            self._end_session(pair, reason, out)
        pair.join_session(msg.session_id, msg.ts, msg.seq)

        held = self._hold(msg, seq, arrival)
        late = pair.closed_key is not None and key < pair.closed_key
        if late:
            self.counts["late"] += 1
        self._place(pair, held, out)
        pair.remember(h, key)
        result = IngestResult("accepted", None, late, msg.conversation_id, msg.id)
        return out.done(result, msg, pair.arrivals)

    def _plausible(self, msg: Message, pair: PairState, now: float) -> Message:
        """The message, or a copy with its timestamp clamped when it is implausibly far ahead.

        Timestamps are the platform's evidence of time, not the truth. A message stamped more
        than `OrderPolicy.max_ahead` seconds ahead of where the pair's clock can be (its latest
        timestamp advanced by the host time elapsed since its last message, or the host's own
        time, whichever is later) is taken as stamped at that point instead, and counted
        (``timestamps_clamped``): it never moves the pair's clock, ends its session or makes its
        later messages late. Judged only when the host time and the timestamp are both Unix
        times (after 2000); the clamped copy is what is journaled, so a replay is identical."""
        if now < EPOCH_2000 or msg.ts < EPOCH_2000:
            return msg
        expected = now
        if pair.last_ts is not None and pair.last_ts >= EPOCH_2000 and pair.last_seen >= EPOCH_2000:
            expected = pair.last_ts + max(0.0, now - pair.last_seen)
        if msg.ts <= max(now, expected) + self.order.max_ahead:
            return msg
        self.counts["timestamps_clamped"] += 1
        return msg.model_copy(update={"ts": expected})

    def reject(self, reason: RejectReason, field: str | None = None, data: Any = None) -> Outcome:
        """Count input rejected outside `ingest` (e.g. a line that is not JSON at all, which
        never became a message): in the ledger as in and rejected. `field` names the refused
        field; the ids of `data` (the raw input), when they are valid ids, go into the result."""
        result = rejected_result(reason, field, data)
        self.record(result)
        return Outcome(result=result)

    def _hold(self, msg: Message, seq: float | None, arrival: int) -> HeldMessage:
        text = msg.text
        limit = self.window.max_message_tokens
        truncated = False
        if len(text) > limit * _CHARS_PER_TOKEN_CAP:
            text = text[: limit * _CHARS_PER_TOKEN_CAP]
            truncated = True
        n = self._tokens.count(text)
        if n > limit:
            text = self._tokens.truncate(text, limit)
            n = limit
            truncated = True
        if truncated:
            self.counts["truncated"] += 1
        return HeldMessage(msg.id, msg.role, text, msg.ts, n, truncated, arrival, seq)

    def _place(self, pair: PairState, held: HeldMessage, out: _Draft) -> None:
        pair.place(held, self.window)
        while pair.window_settled(self.order):
            self._close(pair, "window", out)

    def _close(self, pair: PairState, kind: Literal["window", "final"], out: _Draft) -> None:
        request = pair.close_window(kind, self.window)
        if request is not None:
            out.work.append(request)
            self.counts["windows_closed"] += 1

    # ------------------------------------------------------------------ sessions
    def end_session(self, conversation_id: str, reason: EndReason = "explicit") -> Outcome:
        """End the pair's current session: its open window is closed and scored, and the session
        summary follows once every window of the session is in."""
        out = _Draft(self.counts)
        pair = self._pairs.get(conversation_id)
        if pair is not None and pair.session is not None:
            self._end_session(pair, reason, out)
        return out.done()

    def expire_idle(self, now: float) -> Outcome:
        """End sessions with no message for `idle_timeout` seconds of wall time."""
        out = _Draft(self.counts)
        limit = self.session.idle_timeout
        for pair in list(self._pairs.values()):
            if pair.session is not None and now - pair.last_seen > limit:
                self._end_session(pair, "idle", out)
        return out.done()

    def end_all(self, reason: EndReason = "shutdown") -> Outcome:
        out = _Draft(self.counts)
        for pair in list(self._pairs.values()):
            if pair.session is not None:
                self._end_session(pair, reason, out)
        return out.done()

    def _end_session(self, pair: PairState, reason: EndReason, out: _Draft) -> None:
        while pair.cut is not None:
            self._close(pair, "window", out)
        self._close(pair, "final", out)
        sess = pair.end_session(reason)
        self.counts["sessions_ended"] += 1
        if not sess.awaiting:
            out.events.append(self._summary(pair, sess))

    # ------------------------------------------------------------------ scores
    def apply(self, score: WindowScore, request: WindowRequest | None = None) -> list[Event]:
        """Take a window's score (scored or unscored) and return the events it causes."""
        pair = self._pairs.get(score.conversation_id)
        if pair is None:
            return []
        events: list[Event] = []
        indices = (*score.merged_from, score.window_index)
        sess = pair.window_session.get(score.window_index)
        pair.settle_windows(indices)
        ctx = self._context(pair, sess)
        base = ctx.fields()
        texts = self._texts(request)
        if score.language in ("zh", "mixed"):  # feedback in the session's language and script
            said = (m.text for m in request.messages) if request is not None else ()
            ctx = replace(ctx, language=feedback_language(score.language, said))
        if not score.scored:
            self.counts["windows_unscored"] += 1
            events.append(
                WindowUnscored(
                    id=make_event_id(
                        EventType.WINDOW_UNSCORED, pair.conversation_id, score.window_index
                    ),
                    window_index=score.window_index,
                    reason=score.reason or "unknown",
                    message_ids=tuple(m.id for m in request.messages) if request else (),
                    ts=score.end_ts,
                    **base,
                )
            )
        else:
            self.counts["windows_scored"] += 1
            if score.signals is None and request is not None:
                score = _with_signals(score, request, pair)
            assert score.scores is not None
            is_baseline = pair.baseline is None
            if is_baseline:
                pair.add_baseline(score.scores, self.window.baseline_windows)
            events.append(
                WindowScored(
                    id=make_event_id(
                        EventType.WINDOW_SCORED, pair.conversation_id, score.window_index
                    ),
                    window_index=score.window_index,
                    score=score if self.include_text else score.without_text(),
                    baseline=is_baseline,
                    ts=score.end_ts,
                    **base,
                )
            )
            span = None
            if request is not None and request.span_start is not None:
                span = (request.span_start, request.span_width)
            pair.add_score(score, self.window.history, sess, span)
            if not is_baseline and pair.baseline is not None:
                found, alarms = alliance_rules(
                    pair.history, score, pair.baseline, pair.alarms, self.decline, ctx, texts
                )
                pair.set_alarms(alarms)
                if sess is not None and any(isinstance(e, AllianceDeclined) for e in found):
                    pair.paged_session = sess.index
                events.extend(found)
            events.extend(pattern_rules(score, self.patterns, ctx, texts))
        # Sessions whose last window just came in get their summary.
        for s in pair.finished_sessions():
            events.append(self._summary(pair, s))
        for ev in events:
            self.counts["events_" + _etype(ev)] += 1
        return events

    @staticmethod
    def _context(pair: PairState, sess: SessionState | None) -> EventContext:
        return EventContext(
            pair.conversation_id,
            pair.counselor_id,
            pair.client_id,
            sess.session_id if sess else None,
        )

    def _summary(self, pair: PairState, sess: SessionState) -> SessionSummary:
        return session_summary(
            sess.spans,
            self._context(pair, sess),
            session_index=sess.index,
            ts=sess.last_ts,
            n_messages=sess.n_messages,
            n_windows=sess.n_windows,
            end_reason=sess.ending or "explicit",
            tolerance=self.session.trajectory_tolerance,
            exchanges=sess.exchanges,
            signals=sess.signals,
        )

    def session_pages(self, events: list[Event]) -> list[Event]:
        """`events` with the page for each session summary whose trajectory declined while no
        decline of the pair was paged during that session (`_rules.session_decline`): the
        live `alliance_declined` event and the session's trajectory say the same thing. The
        monitor calls this on the summaries as they go out (window-based, or rated at session
        end with ``session_scoring="phases"``), so the page follows the summary it matches."""
        if not any(isinstance(e, SessionSummary) for e in events):
            return events
        out: list[Event] = []
        for ev in events:
            out.append(ev)
            if isinstance(ev, SessionSummary):
                out.extend(self._session_page(ev))
        return out

    def _session_page(self, summary: SessionSummary) -> list[Event]:
        pair = self._pairs.get(summary.conversation_id)
        if pair is None or pair.paged_session >= summary.session_index:
            if pair is None and summary.trajectory is Trajectory.DECLINED:
                self.counts["session_pages_pair_absent"] += 1
            return []
        last = pair.history[-1] if pair.history else None
        ctx = EventContext(
            pair.conversation_id,
            summary.counselor_id,
            summary.client_id,
            summary.session_id,
            language=feedback_language(last.language if last is not None else None),
        )
        found, alarms = session_decline(summary, pair.alarms, ctx)
        if found:
            pair.set_alarms(alarms)
            pair.paged_session = summary.session_index
            self.counts["session_pages"] += 1
            for ev in found:
                self.counts["events_" + _etype(ev)] += 1
        return found

    def _texts(self, request: WindowRequest | None) -> dict[str, str] | None:
        if not self.include_text or request is None:
            return None
        return {m.id: m.text for m in request.messages}

    @property
    def scans_safety(self) -> bool:
        return self._scan is not None

    def load_safety(self) -> None:
        """Load the safety scan's patterns now, if it scans (about a second: they are many and
        large). Otherwise its first scan loads them; `Monitor` calls this on entry, in a worker
        thread, so neither importing the package nor the first message waits for them."""
        if self._scan is not None:
            from . import _safety  # noqa: F401

    def scan_safety(self, text: str) -> SafetyScan:
        """Run the safety scan on a text (thread-safe: pure function)."""
        from ._models import sanitize_text

        return SafetyScan(self._scan(sanitize_text(text)) if self._scan is not None else None)

    # ------------------------------------------------------------------ persistence
    def has_pair(self, conversation_id: str) -> bool:
        return conversation_id in self._pairs

    def conversations(self) -> list[str]:
        """Pairs in memory, least recently used first."""
        return list(self._pairs)

    def snapshot(self, conversation_id: str) -> PairSnapshot | None:
        """The pair's state as stored (None if it is not in memory)."""
        pair = self._pairs.get(conversation_id)
        if pair is None:
            return None
        return PairSnapshot(
            conversation_id,
            pair.arrivals,
            pair_to_json(pair),
            pair.session is not None,
            pair.last_seen,
            frozenset(pair.window_session),
        )

    def restore(self, state: Mapping[str, Any]) -> None:
        """Put a pair back in memory from a stored snapshot (`PairSnapshot.state_json`)."""
        pair = pair_from_state(state)
        pair.rescan(self.window)
        self._pairs[pair.conversation_id] = pair

    def awaiting(self, conversation_id: str) -> frozenset[int]:
        """Indices of the pair's closed windows still waiting for a score."""
        pair = self._pairs.get(conversation_id)
        return frozenset(pair.window_session) if pair is not None else frozenset()

    def history(self, conversation_id: str) -> tuple[WindowScore, ...]:
        """The pair's recent window scores (what a re-scored window carries over)."""
        pair = self._pairs.get(conversation_id)
        return tuple(pair.history) if pair is not None else ()

    def get_pair(self, conversation_id: str) -> PairState | None:
        """Read-only view of a pair's state, for tests and debugging; never write to it."""
        return self._pairs.get(conversation_id)

    def drop(self, conversation_id: str) -> None:
        """Forget a pair (it was evicted to a store)."""
        self._pairs.pop(conversation_id, None)

    def idle_pairs(self, before: float) -> list[str]:
        """Pairs in memory whose last message arrived before `before` (the monitor's clock)."""
        return [conv for conv, pair in self._pairs.items() if pair.last_seen < before]

    def eviction_candidates(self, n: int) -> list[str]:
        """Up to `n` least-recently-used pairs with no window awaiting a score."""
        out: list[str] = []
        for conv, pair in self._pairs.items():
            if not pair.window_session:
                out.append(conv)
                if len(out) >= n:
                    break
        return out

    # ------------------------------------------------------------------ introspection
    @property
    def n_pairs(self) -> int:
        return len(self._pairs)

    def open_sessions(self) -> list[str]:
        return [c for c, p in self._pairs.items() if p.session is not None]

    def pending_windows(self) -> int:
        return sum(len(p.window_session) for p in self._pairs.values())

    def stats(self) -> dict[str, Any]:
        return {
            **dict(self.counts),
            "rejected_by_reason": dict(self.rejected),
            "pairs": len(self._pairs),
        }


def _with_signals(score: WindowScore, request: WindowRequest, pair: PairState) -> WindowScore:
    """A scored window from a scorer that does not read ruptures (an LLM, a test double) gets
    the signals the embedded lexicons read from its text, so "declined" means the same
    whatever scorer rated the window (`_decline`)."""
    from .scoring._embedded import window_signals

    signals = window_signals(request.messages, tuple(pair.history), first=request.span_start == 0)
    return score.model_copy(update={"signals": signals})


def _etype(ev: Event) -> str:
    return str(ev.type.value)
