"""`PairBoard`: a live, bounded, per-pair summary built from the monitor's events.

    board = PairBoard()
    monitor.on(board)                  # every event updates the board
    board.ranked()                     # pairs, most concerning first
    board.view("conv-1")               # the pair view (JSON-ready), as the report draws it

The board only sees events, never messages, so it holds no message text except the feedback
quotes a deployment opted in to (`Monitor(include_text=True)`), and even those are left out of
`view()` / `listing()` unless `include_text=True` is passed there.

Memory is bounded: at most `max_pairs` pairs (the least recently updated pair without a safety
signal is evicted first), `max_windows` window scores, `max_markers` markers and `max_sessions`
ended sessions per pair (the first session is kept: the pair's sessions in order are compared
with it, last against first, as `study` does across sessions).

Concern order (most concerning first): a safety signal, then an alliance decline (an
``alliance_declined`` event or a session whose trajectory declined: the library's one definition,
`alliance_monitor.DECLINE_DEFINITION`), then a low alliance (a low-alliance event), then passive
or directive patterns, then a repaired rupture (a good sign worth a look), then the rest. The
concern is the pair's `PairVerdict`, the same state the demo and the study report put into
words. Ties: the most recent safety signal first; otherwise the lower latest alliance, then the
most recently updated pair. The latest window against the start (`PairStatus.change` and
`vs_start`: "lower", "higher" or "same") is shown beside it, never a concern of its own and never
called a trajectory: `PairStatus.trajectory` is the last ended session's, the one definition.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._decline import CONCERNS as _CONCERNS
from .._decline import verdict_of
from .._events import (
    Event,
    Feedback,
    SessionSummary,
    WindowScored,
    trajectory_of,
)
from .._models import DIMENSIONS, DimensionScores, WindowSignals
from ._items import bounded
from ._ratings import QUESTIONS, FeedbackDelivery, FeedbackRating, RatingSummary
from ._recovery import FeedbackEvent, recovery
from ._sessions import across_verdicts
from ._stats import mean_ci

__all__ = ["CONCERNS", "PairBoard", "PairStatus"]

#: Concern labels, most concerning first (the index is the rank): `_decline.CONCERNS`.
CONCERNS: tuple[str, ...] = _CONCERNS

_MAX_FEEDBACK_IDS = 200_000
_MAX_LATER_SIGNALS = 500
_SAFETY_SCAN = 64  # how far from the LRU end eviction looks for a pair without a safety signal
#: Latest event ids remembered per pair: more than a crash can re-send (the events of a window
#: scored but not yet recorded as emitted, and of the messages taken meanwhile).
_SEEN = 32


def _event_key(event_id: str) -> int:
    """A stable 64-bit key of an event id (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


def _four(s: DimensionScores | None) -> dict[str, float] | None:
    return None if s is None else {d: round(s.get(d), 4) for d in DIMENSIONS}


def _feedback_json(fb: Feedback, include_text: bool) -> dict[str, Any]:
    return {
        "pattern": fb.pattern,
        "dimension": fb.dimension,
        "summary": fb.summary,
        "suggestion": fb.suggestion,
        "message_ids": list(fb.message_ids),
        "quotes": list(fb.quotes) if include_text else [],
        "source": fb.source,
    }


@dataclass(slots=True)
class _Marker:
    kind: str  # passive | directive | decline | low | safety | unscored
    window: int | None
    ts: float | None
    dimension: str | None = None
    detail: str = ""
    feedback: Feedback | None = None
    #: The id of the event that carried the feedback: what ratings and deliveries name.
    event_id: str | None = None

    def to_json(
        self,
        include_text: bool,
        delivered: Container[str] = (),
        rated: Mapping[str, dict[str, int]] | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "window": self.window,
            "ts": self.ts,
            "dimension": self.dimension,
            "detail": self.detail,
            "feedback": _feedback_json(self.feedback, include_text) if self.feedback else None,
        }
        if self.feedback is not None and self.event_id is not None:
            out["feedback_id"] = self.event_id
            out["delivered"] = self.event_id in delivered
            out["rating"] = (rated or {}).get(self.event_id)
        return out


@dataclass(slots=True)
class _Pair:
    conversation_id: str
    counselor_id: str | None = None
    client_id: str | None = None
    windows: deque[tuple[int, float | None, DimensionScores, bool]] = field(default_factory=deque)
    markers: deque[_Marker] = field(default_factory=deque)
    baseline_parts: list[DimensionScores] = field(default_factory=list)
    baseline: DimensionScores | None = None
    latest: DimensionScores | None = None
    latest_window: int | None = None
    phases: dict[str, dict[str, float] | None] | None = None
    session_trajectory: str | None = None
    #: The pair's ended sessions in order (the first one kept when the list is cut).
    sessions: list[dict[str, Any]] = field(default_factory=list)
    #: The first and the latest ended session's alliance (None: no window with enough evidence)
    #: and the signals with ruptures or overstepping seen since the first ended: what the
    #: across-session verdict (`_sessions.across_verdicts`) rests on.
    first_alliance: DimensionScores | None = None
    last_alliance: DimensionScores | None = None
    later_signals: list[WindowSignals] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "safety",
                "declines",
                "low",
                "passive",
                "directive",
                "windows",
                "unscored",
                "sessions",
            ),
            0,
        )
    )
    last_feedback: Feedback | None = None
    last_safety: int = -1
    updated: int = 0
    last_ts: float | None = None
    #: A rupture was repaired (a window's signals, a session summary): part of the verdict.
    repaired: bool = False
    #: Keys of the pair's latest events (`_event_key`): a re-sent event is applied once.
    seen: deque[int] = field(default_factory=lambda: deque(maxlen=_SEEN))


@dataclass(frozen=True, slots=True)
class PairStatus:
    """One row of `PairBoard.ranked()`: a pair's concern and its headline numbers."""

    conversation_id: str
    counselor_id: str | None
    concern: str
    concern_rank: int
    latest: DimensionScores | None
    baseline: DimensionScores | None
    #: The last ended session's trajectory (late against early third), the library's one
    #: definition of a decline; None until a session of the pair has ended.
    trajectory: str | None
    #: The latest window against the pair's first windows, in levels, and in a word: "lower",
    #: "higher" or "same" (within the board's tolerance). A plain comparison, never a decline.
    change: float | None
    counts: dict[str, int]
    last_feedback: Feedback | None
    updated: int
    vs_start: str | None = None


#: `trajectory_of`'s words for the latest window against the start: a plain comparison, which
#: the board never calls a decline.
_VS_START = {"declined": "lower", "unchanged": "same", "improved": "higher"}


class PairBoard:
    """An event handler (`monitor.on(board)`) keeping a bounded summary of every pair.

    Thread-safe: the monitor may update it from one thread while a web server reads it from
    another. `version` increases with every event, so readers can poll cheaply for changes.
    """

    def __init__(
        self,
        *,
        max_pairs: int = 10_000,
        max_windows: int = 120,
        max_markers: int = 40,
        trajectory_tolerance: float = 0.25,
        max_sessions: int = 50,
    ) -> None:
        if max_pairs < 1 or max_windows < 2 or max_markers < 1:
            raise ValueError("PairBoard needs max_pairs >= 1, max_windows >= 2, max_markers >= 1")
        self.max_pairs = max_pairs
        self.max_windows = max_windows
        self.max_markers = max_markers
        self.max_sessions = max(2, max_sessions)
        self.tolerance = trajectory_tolerance
        self._pairs: OrderedDict[str, _Pair] = OrderedDict()
        self._lock = threading.Lock()
        #: Feedback ids delivered to counselors, and the latest rating of each (bounded).
        self._delivered: OrderedDict[str, None] = OrderedDict()
        self._rated: OrderedDict[str, dict[str, int]] = OrderedDict()
        #: Every rating's scores since start (question -> score -> count), for the means.
        self._rating_counts: dict[str, Counter[int]] = {q: Counter() for q in QUESTIONS}
        self._loop_cache: tuple[tuple[int, float, int], dict[str, Any]] | None = None
        self.version = 0
        self.evicted = 0
        #: Events not applied because the pair had them already (an event re-sent after a
        #: crash carries the same id; the last `_SEEN` ids of each pair are remembered).
        self.duplicates = 0
        #: Called with a pair's `pair_record` data just before the bound evicts it (a board
        #: kept in a store writes it first; `StoredBoard`); `record_text`: as `include_text`.
        self.on_evict: Callable[[str, dict[str, Any]], None] | None = None
        self.record_text = False

    def __len__(self) -> int:
        return len(self._pairs)

    # ------------------------------------------------------------------ the handler
    def __call__(self, event: Event) -> None:
        key = _event_key(event.id)
        with self._lock:
            known = self._pairs.get(event.conversation_id)
            if known is not None and key in known.seen:
                self.duplicates += 1  # re-sent after a crash: already on the board
                return
            self.version += 1
            pair = self._pair(event)
            pair.seen.append(key)
            pair.updated = self.version
            if event.ts is not None:
                pair.last_ts = event.ts
            self._apply(pair, event)

    def _pair(self, event: Event) -> _Pair:
        pair = self._pairs.get(event.conversation_id)
        if pair is None:
            if len(self._pairs) >= self.max_pairs:
                self._evict()
            pair = self._pairs[event.conversation_id] = _Pair(event.conversation_id)
        else:
            self._pairs.move_to_end(event.conversation_id)
        pair.counselor_id = event.counselor_id or pair.counselor_id
        pair.client_id = event.client_id or pair.client_id
        return pair

    def _evict(self) -> None:
        victim = next(iter(self._pairs))
        for i, (cid, p) in enumerate(self._pairs.items()):
            if i >= _SAFETY_SCAN:
                break
            if p.counts["safety"] == 0:
                victim = cid
                break
        if self.on_evict is not None:
            self.on_evict(victim, _record(self._pairs[victim], self.record_text))
        del self._pairs[victim]
        self.evicted += 1

    def _mark(self, pair: _Pair, marker: _Marker) -> None:
        pair.markers.append(marker)
        while len(pair.markers) > self.max_markers:
            pair.markers.popleft()
        if marker.feedback is not None:
            pair.last_feedback = marker.feedback

    def _apply(self, pair: _Pair, ev: Event) -> None:
        c = pair.counts
        if isinstance(ev, WindowScored):
            sc = ev.score.scores
            if sc is None:
                return
            c["windows"] += 1
            if ev.baseline:
                pair.baseline_parts.append(sc)
                pair.baseline = DimensionScores.weighted_mean(
                    [(s, 1.0) for s in pair.baseline_parts]
                )
            pair.latest, pair.latest_window = sc, ev.window_index
            pair.windows.append((ev.window_index, ev.ts, sc, ev.baseline))
            sig = ev.score.signals
            if sig is not None and any(r.repaired_by for r in sig.ruptures):
                pair.repaired = True
            if pair.sessions and sig is not None and (sig.ruptures or sig.overstepping):
                pair.later_signals.append(sig)
                if len(pair.later_signals) > _MAX_LATER_SIGNALS:
                    del pair.later_signals[0]
            while len(pair.windows) > self.max_windows:
                pair.windows.popleft()
        elif isinstance(ev, SessionSummary):
            c["sessions"] += 1
            pair.phases = {p: _four(getattr(ev.phases, p)) for p in ("early", "middle", "late")}
            pair.session_trajectory = ev.trajectory.value
            pair.repaired |= bool(ev.repaired)
            self._session(pair, ev)
        else:
            self._note(pair, ev)

    def _note(self, pair: _Pair, ev: Event) -> None:
        """Count the event under its type's board counter and keep its marker (both declared
        with the type: `EventKind.board_count`, `Event.marker`)."""
        kind = ev.kind
        if kind.board_count is not None:
            pair.counts[kind.board_count] += 1
        marker = ev.marker()
        if marker is None:
            return
        name, window, dimension, detail, feedback = marker
        if name == "safety":
            pair.last_safety = self.version
        window = pair.latest_window if window is None else window
        event_id = ev.id if feedback is not None else None
        self._mark(pair, _Marker(name, window, ev.ts, dimension, detail, feedback, event_id))

    def _session(self, pair: _Pair, ev: SessionSummary) -> None:
        row = {
            "index": ev.session_index,
            "session_id": ev.session_id,
            "ts": ev.ts,
            "overall": None
            if ev.phase_convention == "no_scores"
            else round(ev.alliance.overall, 4),
            "trajectory": ev.trajectory.value,
            "change": round(ev.change, 4),
        }
        alliance = None if ev.phase_convention == "no_scores" else ev.alliance
        if not pair.sessions:
            pair.first_alliance = alliance
        pair.last_alliance = alliance
        sessions = pair.sessions
        sessions.append(row)
        if len(sessions) > self.max_sessions:
            del sessions[1]  # keep the first: the across-session view compares with it

    def erase(self, conversation_id: str) -> dict[str, int]:
        """Forget the pair (`Monitor.erase(..., also=[board])`): its row, windows, markers and
        feedback. Counts: ``board.pairs`` (1 when the board held it)."""
        with self._lock:
            gone = self._pairs.pop(conversation_id, None)
            if gone is not None:
                self.version += 1
                self._loop_cache = None
        return {"board.pairs": int(gone is not None)}

    # ------------------------------------------------------------------ records
    def pair_record(self, conversation_id: str, *, include_text: bool = False) -> dict[str, Any]:
        """The pair's summary as JSON-ready data, for a store (`restore_pair` reads it back):
        what `view()` shows and what the ranking needs. Feedback quotes only with
        `include_text`. KeyError if the board lacks the pair."""
        with self._lock:
            return _record(self._pairs[conversation_id], include_text)

    def restore_pair(self, record: Mapping[str, Any]) -> None:
        """Put a pair back from `pair_record` data (replacing what the board held of it); it
        ranks as updated now. Bad data raises ValueError / KeyError / TypeError."""
        pair = _from_record(record)
        with self._lock:
            self.version += 1
            pair.updated = self.version
            pair.last_safety = self.version if pair.counts.get("safety") else -1
            self._pairs.pop(pair.conversation_id, None)
            if len(self._pairs) >= self.max_pairs:
                self._evict()
            self._pairs[pair.conversation_id] = pair
            self._loop_cache = None

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._pairs

    def conversations(self) -> list[str]:
        """The pairs on the board, least recently updated first."""
        with self._lock:
            return list(self._pairs)

    # ------------------------------------------------------------------ feedback loop
    def feedback_delivered(self, delivery: FeedbackDelivery) -> None:
        """A feedback item reached its counselor (`FeedbackRatings` calls this)."""
        with self._lock:
            self.version += 1
            self._remember(self._delivered, delivery.feedback_id, None)

    def feedback_rated(self, rating: FeedbackRating) -> None:
        """A counselor rated a feedback item (scores only: the comment never reaches here)."""
        with self._lock:
            self.version += 1
            self._remember(self._delivered, rating.feedback_id, None)
            self._remember(self._rated, rating.feedback_id, rating.scores())
            for q, v in rating.scores().items():
                self._rating_counts[q][v] += 1

    @staticmethod
    def _remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > _MAX_FEEDBACK_IDS:
            store.popitem(last=False)

    def feedback_loop(
        self, *, level: float = 0.95, n_boot: int = 200, seed: int = 0
    ) -> dict[str, Any]:
        """The ratings so far (means beside the paper's) and the recovery figure over the pairs
        on the board: their next two windows after delivered feedback, against pairs with the
        same pattern and no feedback delivered yet (`_recovery`). Cached per board version."""
        with self._lock:
            key = (self.version, level, n_boot)
            if self._loop_cache is not None and self._loop_cache[0] == key:
                return self._loop_cache[1]
            windows = {
                cid: [(i, sc.overall) for i, _ts, sc, _b in p.windows]
                for cid, p in self._pairs.items()
            }
            events = {
                cid: [
                    FeedbackEvent(m.event_id, m.kind, m.window)
                    for m in p.markers
                    if m.event_id is not None and m.window is not None
                ]
                for cid, p in self._pairs.items()
            }
            delivered = set(self._delivered)
            counts = {q: dict(c) for q, c in self._rating_counts.items()}
        values = {q: [float(v) for v, n in counts[q].items() for _ in range(n)] for q in QUESTIONS}
        n = len(values[QUESTIONS[0]])
        summary = RatingSummary(
            n,
            {q: bounded(mean_ci(values[q], level)) for q in QUESTIONS},
            counts,
        )
        out = {
            "ratings": summary.to_json(),
            "delivered": len(delivered),
            "recovery": [
                r.to_json()
                for r in recovery(windows, events, delivered, level=level, n_boot=n_boot, seed=seed)
            ],
        }
        with self._lock:
            self._loop_cache = (key, out)
        return out

    # ------------------------------------------------------------------ reading
    def _status(self, pair: _Pair) -> PairStatus:
        change: float | None = None
        vs_start: str | None = None
        if pair.latest is not None and pair.baseline is not None:
            change = round(pair.latest.overall - pair.baseline.overall, 4)
            vs_start = _VS_START[trajectory_of(change, self.tolerance).value]
        c = pair.counts
        # The concern is the pair's one verdict (`_decline.PairVerdict`), the state the demo and
        # the report put into words too: a decline only as the library defines it, low only on
        # a low-alliance event (not a latest window near 2 alone).
        verdict = verdict_of(c, trajectory=pair.session_trajectory, repaired=pair.repaired)
        return PairStatus(
            conversation_id=pair.conversation_id,
            counselor_id=pair.counselor_id,
            concern=verdict.concern,
            concern_rank=verdict.concern_rank,
            latest=pair.latest,
            baseline=pair.baseline,
            trajectory=pair.session_trajectory,
            change=change,
            counts=dict(c),
            last_feedback=pair.last_feedback,
            updated=pair.updated,
            vs_start=vs_start,
        )

    def ranked(self, limit: int | None = None) -> list[PairStatus]:
        """Pairs ordered by concern: safety > decline > low > patterns > trajectory > ok."""
        with self._lock:
            return self._ranked(limit)

    def _ranked(self, limit: int | None) -> list[PairStatus]:
        rows = [(self._status(p), p.last_safety) for p in self._pairs.values()]

        def key(item: tuple[PairStatus, int]) -> tuple[int, float, float, str]:
            s, last_safety = item
            if s.concern_rank == 0:
                return (0, -last_safety, 0.0, s.conversation_id)
            level = s.latest.overall if s.latest is not None else 3.0
            return (s.concern_rank, level, -s.updated, s.conversation_id)

        rows.sort(key=key)
        out = [s for s, _ in rows]
        return out if limit is None else out[:limit]

    def get(self, conversation_id: str) -> PairStatus | None:
        with self._lock:
            pair = self._pairs.get(conversation_id)
            return None if pair is None else self._status(pair)

    def listing(self, *, limit: int = 200, include_text: bool = False) -> dict[str, Any]:
        """The ranked list as JSON: headline numbers and a sparkline of overall scores."""
        with self._lock:
            version, total = self.version, len(self._pairs)
            ranked = self._ranked(limit)
            sparks = {
                s.conversation_id: [
                    round(w[2].overall, 3)
                    for w in list(self._pairs[s.conversation_id].windows)[-40:]
                ]
                for s in ranked
            }
        pairs = []
        for s in ranked:
            row = _status_json(s, include_text)
            row["spark"] = sparks[s.conversation_id]
            pairs.append(row)
        return {"version": version, "total": total, "pairs": pairs}

    def view(self, conversation_id: str, *, include_text: bool = False) -> dict[str, Any] | None:
        """The pair view: window scores over time per dimension, markers where patterns,
        declines, low alliance and safety signals fired, the feedback given, and phases."""
        with self._lock:
            pair = self._pairs.get(conversation_id)
            if pair is None:
                return None
            status = self._status(pair)
            windows = [
                {"window": i, "ts": ts, "baseline": base, **(_four(sc) or {})}
                for i, ts, sc, base in pair.windows
            ]
            markers = [m.to_json(include_text, self._delivered, self._rated) for m in pair.markers]
            phases = pair.phases
            session_trajectory = pair.session_trajectory
            sessions = [dict(r) for r in pair.sessions]
            across = (
                across_verdicts(
                    pair.first_alliance, pair.last_alliance, pair.later_signals, self.tolerance
                )["overall"]
                if len(sessions) > 1
                else None
            )
        out = _status_json(status, include_text)
        out.update(
            windows=windows,
            markers=markers,
            phases=phases,
            session_trajectory=session_trajectory,
            version=status.updated,
            sessions=sessions,
        )
        if len(sessions) > 1:
            first, last = sessions[0]["overall"], sessions[-1]["overall"]
            out["across"] = {
                "category": across,
                "change": None if first is None or last is None else round(last - first, 4),
            }
        return out


def _scores(s: DimensionScores | None) -> list[float] | None:
    return None if s is None else [s.goal, s.task, s.bond, s.overall]


def _unscores(v: Sequence[float] | None) -> DimensionScores | None:
    if v is None:
        return None
    goal, task, bond, overall = (float(x) for x in v)
    return DimensionScores(goal=goal, task=task, bond=bond, overall=overall)


def _stored_feedback(fb: Feedback | None, include_text: bool) -> dict[str, Any] | None:
    if fb is None:
        return None
    data = fb.model_dump(mode="json")
    if not include_text:
        data["quotes"] = []  # what `view()` leaves out too
    return data


def _record(p: _Pair, include_text: bool) -> dict[str, Any]:
    """`PairBoard.pair_record`: a pair as JSON-ready data (format 1)."""
    return {
        "format": 1,
        "id": p.conversation_id,
        "counselor_id": p.counselor_id,
        "client_id": p.client_id,
        "windows": [[i, ts, _scores(sc), base] for i, ts, sc, base in p.windows],
        "markers": [
            [
                m.kind,
                m.window,
                m.ts,
                m.dimension,
                m.detail,
                _stored_feedback(m.feedback, include_text),
                m.event_id,
            ]
            for m in p.markers
        ],
        "baseline_parts": [_scores(s) for s in p.baseline_parts],
        "baseline": _scores(p.baseline),
        "latest": _scores(p.latest),
        "latest_window": p.latest_window,
        "phases": p.phases,
        "session_trajectory": p.session_trajectory,
        "sessions": p.sessions,
        "first_alliance": _scores(p.first_alliance),
        "last_alliance": _scores(p.last_alliance),
        "later_signals": [s.model_dump(mode="json") for s in p.later_signals],
        "counts": p.counts,
        "last_feedback": _stored_feedback(p.last_feedback, include_text),
        "last_ts": p.last_ts,
        "repaired": p.repaired,
        "seen": list(p.seen),
    }


def _from_record(r: Mapping[str, Any]) -> _Pair:
    if r.get("format") != 1:
        raise ValueError("unknown board record format")

    def feedback(d: Any) -> Feedback | None:
        return None if d is None else Feedback.model_validate(d)

    p = _Pair(str(r["id"]), r.get("counselor_id"), r.get("client_id"))
    for i, ts, sc, base in r["windows"]:
        scores = _unscores(sc)
        assert scores is not None
        p.windows.append((int(i), ts, scores, bool(base)))
    for kind, window, ts, dimension, detail, fb, event_id in r["markers"]:
        p.markers.append(_Marker(kind, window, ts, dimension, detail, feedback(fb), event_id))
    p.baseline_parts = [s for s in map(_unscores, r["baseline_parts"]) if s is not None]
    p.baseline, p.latest = _unscores(r["baseline"]), _unscores(r["latest"])
    p.latest_window = r["latest_window"]
    p.phases = r["phases"]
    p.session_trajectory = r["session_trajectory"]
    p.sessions = list(r["sessions"])
    p.first_alliance = _unscores(r["first_alliance"])
    p.last_alliance = _unscores(r["last_alliance"])
    p.later_signals = [WindowSignals.model_validate(s) for s in r["later_signals"]]
    p.counts.update({str(k): int(v) for k, v in r["counts"].items()})
    p.last_feedback = feedback(r["last_feedback"])
    p.last_ts = r["last_ts"]
    p.repaired = bool(r["repaired"])
    p.seen.extend(int(k) for k in r.get("seen", ()))
    return p


def _status_json(s: PairStatus, include_text: bool) -> dict[str, Any]:
    return {
        "id": s.conversation_id,
        "counselor_id": s.counselor_id,
        "concern": s.concern,
        "concern_rank": s.concern_rank,
        "latest": _four(s.latest),
        "baseline": _four(s.baseline),
        "trajectory": s.trajectory,
        "change": s.change,
        "vs_start": s.vs_start,
        "counts": s.counts,
        "last_feedback": _feedback_json(s.last_feedback, include_text) if s.last_feedback else None,
    }
