"""The state of one counselor-client pair, and its JSON codec: the one owner of both.

`PairState` is what the core keeps per pair: the open messages (not yet in a closed window), the
de-duplication memory, recent window scores, baseline and alarms, and the sessions still waiting
for scores. Only this module writes its fields: the core (`_core.py`) changes a pair through
`PairState`'s methods (placing a message, closing a window, ending a session, taking a score)
and only reads fields to build events; the async shell, the stores and the workers see a pair
only as an opaque snapshot (`PairSnapshot`) taken and restored through `MonitorCore.snapshot` /
`MonitorCore.restore`.

The codec is JSON, not pickle: a shared Redis or a copied database file must never be a way to
run code in the monitor's process. Every snapshot carries a format version.
"""

from __future__ import annotations

import base64
import hashlib
import json
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ._config import OrderPolicy, WindowPolicy
from ._events import EndReason
from ._models import (
    DimensionScores,
    Role,
    ScoringMessage,
    WindowRequest,
    WindowScore,
    WindowSignals,
)
from ._rules import AlarmState, compact_spans

__all__ = [
    "BLOOM_BYTES",
    "EXACT_IDS",
    "FORMAT",
    "HeldMessage",
    "OrderKey",
    "PairSnapshot",
    "PairState",
    "SessionState",
    "id_hash",
    "pair_from_state",
    "pair_to_json",
    "pair_to_state",
]

#: 2: open messages as [seq, arrival, id, role, text, ts, tokens, truncated]; 1 (read only):
#: [[order key], id, role, text, ts, tokens, truncated].
FORMAT = 2
MAX_SESSION_WINDOWS = 48  # compaction threshold for a session's phase list
EXACT_IDS = 4096  # recent message-id hashes kept exactly per pair
BLOOM_BYTES = 4096  # older ones go to a fixed Bloom filter (32768 bits, 4 hashes)

#: (seq or ts, ts or 0.0, arrival): platform sequence orders where present, else the timestamp.
OrderKey = tuple[float, float, int]


@dataclass(frozen=True, slots=True)
class PairSnapshot:
    """A pair's state as stored: opaque JSON plus what the shell needs to file it."""

    conversation_id: str
    #: Journal position the snapshot covers (messages accepted so far).
    position: int
    state_json: str
    #: A session is still open (an evicted pair's session must still end on time).
    session_open: bool
    #: Wall-clock time of the pair's last message.
    last_seen: float
    #: Indices of closed windows still waiting for a score.
    awaiting: frozenset[int]


def order_key(seq: float | None, ts: float, arrival: int) -> OrderKey:
    """Where a message goes: by platform `seq` where present (clock skew between platform and
    host cannot reorder it), otherwise by its timestamp; arrival order breaks ties."""
    return (seq, ts, arrival) if seq is not None else (ts, 0.0, arrival)


@dataclass(slots=True)
class HeldMessage:
    """A message waiting in an open window (slim: this is what per-pair memory holds; its
    order key is made when asked for rather than kept)."""

    id: str
    role: Role
    text: str
    ts: float
    tokens: int
    truncated: bool
    arrival: int
    #: The platform's sequence number, when the message had one.
    seq: float | None = None

    @property
    def key(self) -> OrderKey:
        return order_key(self.seq, self.ts, self.arrival)


#: The empty mapping every pair starts with (see `PairState`).
_EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(slots=True)
class SessionState:
    index: int
    session_id: str | None
    first_window: int
    n_messages: int = 0
    exchanges: float = 0.0  # position of the next window, in exchanges
    #: (start, width, scores) per scored window, compacted when long.
    spans: tuple[tuple[float, float, DimensionScores], ...] = ()
    #: Closed windows without a score yet (rarely more than two).
    awaiting: tuple[int, ...] = ()
    ending: EndReason | None = None
    n_windows: int = 0
    last_ts: float | None = None
    #: (centre in exchanges, signals) per scored window that has signals: the decline evidence
    #: of the session summary; the last `MAX_SESSION_WINDOWS`.
    signals: tuple[tuple[float, WindowSignals], ...] = ()


@dataclass(slots=True)
class PairState:
    conversation_id: str
    counselor_id: str | None = None
    client_id: str | None = None
    open: list[HeldMessage] = field(default_factory=list)
    open_tokens: int = 0
    open_turns: int = 0
    last_role: Role | None = None
    next_window: int = 0
    closed_key: OrderKey | None = None
    #: Where the open messages split into a complete window and the next one (None: no split
    #: yet), and whether the split came from a turn boundary or a token/message cap.
    cut: int | None = None
    cut_kind: Literal["turn", "cap"] = "turn"
    seen: array[int] = field(default_factory=lambda: array("q"))
    bloom: bytearray | None = None
    bloom_max_key: OrderKey | None = None
    arrivals: int = 0
    # What most pairs never hold is an immutable empty value shared by all until first set
    # (replaced, never changed in place): memory per pair is what it holds (issue 23 item 4).
    history: tuple[WindowScore, ...] = ()
    baseline: DimensionScores | None = None
    baseline_parts: tuple[DimensionScores, ...] = ()
    declined: Mapping[str, float] = field(default_factory=lambda: _EMPTY)  # dim -> reference
    low: frozenset[str] = frozenset()
    #: The last session (index) in which a decline of the pair was paged (-1: none): a
    #: session that ended declined is paged at its end only if none was (`_rules`).
    paged_session: int = -1
    session: SessionState | None = None
    sessions: Mapping[int, SessionState] = field(default_factory=lambda: _EMPTY)  # ended
    window_session: Mapping[int, SessionState] = field(default_factory=lambda: _EMPTY)
    session_count: int = 0
    last_ts: float | None = None
    #: The highest platform `seq` accepted (None until a message carries one).
    last_seq: int | None = None
    last_seen: float = 0.0

    # ---------------------------------------------------------------- de-duplication
    def is_duplicate(self, h: int, key: OrderKey) -> Literal["exact", "probable"] | None:
        """Whether a message id hash was seen: exactly (recent ids) or probably (Bloom filter).

        Only messages as old as those that left the exact list are checked against the Bloom
        filter, so in-order traffic never meets a false positive.
        """
        if h in self.seen:
            return "exact"
        bloom, top = self.bloom, self.bloom_max_key
        if (
            bloom is not None
            and top is not None
            and key[:2] <= top[:2]
            and all(bloom[p >> 3] & (1 << (p & 7)) for p in _bloom_positions(h))
        ):
            return "probable"
        return None

    def remember(self, h: int, key: OrderKey) -> None:
        """Record an accepted message id hash (older halves move to the Bloom filter)."""
        self.seen.append(h)
        if len(self.seen) >= EXACT_IDS:
            if self.bloom is None:
                self.bloom = bytearray(BLOOM_BYTES)
            half = EXACT_IDS // 2
            for old in self.seen[:half]:
                for p in _bloom_positions(old):
                    self.bloom[p >> 3] |= 1 << (p & 7)
            del self.seen[:half]
            # Everything moved was accepted at or before this point in message order.
            top = self.closed_key or key
            if self.bloom_max_key is None or top > self.bloom_max_key:
                self.bloom_max_key = max(top, key)

    # ---------------------------------------------------------------- arrivals and sessions
    def touch(self, now: float) -> None:
        """A message for this pair arrived at wall-clock `now` (duplicate or not)."""
        self.last_seen = now

    def admit(self, counselor_id: str | None, client_id: str | None) -> None:
        """Count an accepted message and take the participants it names."""
        self.arrivals += 1
        if counselor_id:
            self.counselor_id = counselor_id
        if client_id:
            self.client_id = client_id

    def session_break(
        self, session_id: str | None, ts: float, idle_timeout: float, seq: int | None = None
    ) -> EndReason | None:
        """Whether a message (platform `session_id`, `ts`, `seq`) ends the current session first.

        Where the message and the pair both carry a platform `seq`, the sequence says what is
        late and what follows what: a message whose `seq` directly follows the pair's latest is
        the conversation going on, whatever its timestamp says (a timezone or daylight-saving
        error of the platform must not split a session); only a gap in `seq` lets a gap in
        time end the session as idle."""
        cur = self.session
        if cur is None:
            return None
        last_seq = self.last_seq
        if seq is not None and last_seq is not None:
            late_msg = seq < last_seq
            follows = seq <= last_seq + 1  # next in the platform's sequence (or a repeat)
        else:
            late_msg = self.last_ts is not None and ts < self.last_ts
            follows = False
        if (
            session_id is not None
            and cur.session_id not in (None, session_id)
            and not late_msg  # a straggler from the previous session is late, not new
        ):
            return "new_session"
        if self.last_ts is not None and ts - self.last_ts > idle_timeout and not follows:
            return "idle"
        return None

    def join_session(self, session_id: str | None, ts: float, seq: int | None = None) -> None:
        """Count a message in the current session (opening one if none is open)."""
        if self.session is None:
            self.session = SessionState(self.session_count, session_id, self.next_window)
            self.session_count += 1
        self.session.n_messages += 1
        if self.session.session_id is None and session_id is not None:
            self.session.session_id = session_id
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        if seq is not None:
            self.last_seq = seq if self.last_seq is None else max(self.last_seq, seq)

    def end_session(self, reason: EndReason) -> SessionState:
        """Mark the current session ended (its windows must be closed first); it waits in
        `sessions` if some of its windows have no score yet."""
        sess = self.session
        assert sess is not None
        sess.ending = reason
        self.session = None
        if sess.awaiting:
            self.sessions = {**self.sessions, sess.index: sess}
        return sess

    # ---------------------------------------------------------------- windows
    def place(self, held: HeldMessage, pol: WindowPolicy) -> None:
        """Put a message in the open window by its order key, keeping the window boundary."""
        if not self.open or _in_order(self.open[-1], held):
            if self.cut is None:  # the common case: counters kept as messages come
                starts_turn = held.role is not Role.OTHER and held.role is not self.last_role
                if starts_turn and self.open_turns >= 2 * pol.max_exchanges:
                    self.cut, self.cut_kind = len(self.open), "turn"
                else:
                    if starts_turn:
                        self.open_turns += 1
                        self.last_role = held.role
                    self.open_tokens += held.tokens
                    if self.open_tokens >= pol.max_tokens or len(self.open) + 1 >= pol.max_messages:
                        self.cut, self.cut_kind = len(self.open) + 1, "cap"
            self.open.append(held)
        else:
            # Out of order within the open window (or late): place it by its key, then find
            # the window boundary again as if everything had come in order.
            i = len(self.open)
            while i > 0 and self.open[i - 1].key > held.key:
                i -= 1
            self.open.insert(i, held)
            self.rescan(pol)

    def rescan(self, pol: WindowPolicy) -> None:
        """Recompute the open messages' window boundary and counters from scratch."""
        turns, last, tokens = 0, None, 0
        self.cut = None
        for i, h in enumerate(self.open):
            starts_turn = h.role is not Role.OTHER and h.role is not last
            if starts_turn and turns >= 2 * pol.max_exchanges:
                self.cut, self.cut_kind = i, "turn"
                break
            if starts_turn:
                turns += 1
                last = h.role
            tokens += h.tokens
            if tokens >= pol.max_tokens or i + 1 >= pol.max_messages:
                self.cut, self.cut_kind = i + 1, "cap"
                break
        self.open_turns, self.last_role, self.open_tokens = turns, last, tokens

    def window_settled(self, order: OrderPolicy) -> bool:
        """The complete window can close: nothing within the reorder allowance can still land
        in it (a message at least the allowance past its boundary arrived, or `max_held`
        messages wait behind it)."""
        cut = self.cut
        if cut is None:
            return False
        ref = self.open[cut] if self.cut_kind == "turn" else self.open[cut - 1]
        top = self.open[-1]
        allowance = order.seq_allowance if ref.seq is not None else order.lateness
        beyond = top.key > ref.key and top.key[0] - ref.key[0] >= allowance
        return beyond or len(self.open) - cut >= order.max_held

    def close_window(
        self, kind: Literal["window", "final"], pol: WindowPolicy
    ) -> WindowRequest | None:
        """Close the open window (up to its boundary, or all of it): the request to score."""
        if not self.open:
            return None
        sess = self.session
        assert sess is not None
        cut = len(self.open) if self.cut is None else self.cut
        held, rest = self.open[:cut], self.open[cut:]
        n_ex = _turns(held) // 2
        width = float(n_ex) if n_ex > 0 else 0.5
        index = self.next_window
        self.next_window += 1
        sess.n_windows += 1
        sess.awaiting = (*sess.awaiting, index)
        self.window_session = {**self.window_session, index: sess}
        start = sess.exchanges
        sess.exchanges += width
        sess.last_ts = held[-1].ts
        self.closed_key = (
            held[-1].key if self.closed_key is None else max(self.closed_key, held[-1].key)
        )
        request = WindowRequest(
            conversation_id=self.conversation_id,
            window_index=index,
            messages=tuple(ScoringMessage(h.id, h.role, h.text, h.ts, h.truncated) for h in held),
            n_exchanges=n_ex,
            history=self.history,
            kind=kind,
            counselor_id=self.counselor_id,
            session_id=sess.session_id,
            session_index=sess.index,
            span_start=start,
            span_width=width,
        )
        self.open = rest
        self.rescan(pol)
        return request

    # ---------------------------------------------------------------- scores
    def settle_windows(self, indices: tuple[int, ...]) -> None:
        """The windows at `indices` have their score (or were merged into one that has)."""
        if not any(idx in self.window_session for idx in indices):
            return
        for idx in indices:
            s = self.window_session.get(idx)
            if s is not None:
                s.awaiting = tuple(i for i in s.awaiting if i != idx)
        rest = {i: s for i, s in self.window_session.items() if i not in indices}
        self.window_session = rest or _EMPTY

    def add_baseline(self, scores: DimensionScores, windows: int) -> None:
        """One more window toward the baseline (the mean of the first `windows` scored)."""
        self.baseline_parts = (*self.baseline_parts, scores)
        if len(self.baseline_parts) >= windows:
            self.baseline = DimensionScores.weighted_mean([(s, 1.0) for s in self.baseline_parts])
            self.baseline_parts = ()

    def add_score(
        self,
        score: WindowScore,
        history: int,
        sess: SessionState | None,
        span: tuple[float, float] | None,
    ) -> None:
        """Keep a scored window: in the recent history (slimmed: `_slim`) and in its session's
        phase list."""
        self.history = (*self.history, _slim(score))[-history:]
        if sess is not None and span is not None and score.scores is not None:
            sess.spans = (*sess.spans, (span[0], span[1], score.scores))
            if len(sess.spans) > MAX_SESSION_WINDOWS:
                sess.spans = tuple(compact_spans(sess.spans))
            if score.signals is not None:
                mark = (span[0] + span[1] / 2.0, score.signals)
                sess.signals = (*sess.signals, mark)[-MAX_SESSION_WINDOWS:]

    @property
    def alarms(self) -> AlarmState:
        return AlarmState(dict(self.declined), frozenset(self.low))

    def set_alarms(self, alarms: AlarmState) -> None:
        self.declined = dict(alarms.declined) if alarms.declined else _EMPTY
        self.low = frozenset(alarms.low)

    def finished_sessions(self) -> list[SessionState]:
        """Ended sessions whose last window just came in (removed: their summary is due)."""
        done = [s for s in self.sessions.values() if not s.awaiting]
        if done:
            rest = {i: s for i, s in self.sessions.items() if s.awaiting}
            self.sessions = rest or _EMPTY
        return done


def _in_order(last: HeldMessage, held: HeldMessage) -> bool:
    """`held.key >= last.key`, without building the keys for the common case (no `seq`)."""
    if last.seq is None and held.seq is None:
        return held.ts > last.ts or (held.ts == last.ts and held.arrival >= last.arrival)
    return held.key >= last.key


def _slim(score: WindowScore) -> WindowScore:
    """A score as the pair's history keeps it: without the per-message pattern scores and the
    window's evidence lists (they made every snapshot several times larger), keeping the
    message ids behind the constructs rated below 3, which a decline cites (`_rules`)."""
    low = {c for c, v in (score.constructs or {}).items() if v < 3.0}
    evidence = {c: ids for c, ids in score.construct_evidence.items() if c in low}
    if not (score.messages or score.evidence or len(evidence) < len(score.construct_evidence)):
        return score
    return score.model_copy(update={"messages": (), "evidence": (), "construct_evidence": evidence})


def _turns(held: list[HeldMessage]) -> int:
    turns, last = 0, None
    for h in held:
        if h.role is Role.OTHER:
            continue
        if h.role is not last:
            turns += 1
            last = h.role
    return turns


def id_hash(message_id: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(message_id.encode("utf-8", "replace"), digest_size=8).digest(),
        "little",
        signed=True,
    )


def _bloom_positions(h: int) -> tuple[int, int, int, int]:
    u = h & 0xFFFFFFFFFFFFFFFF
    bits = BLOOM_BYTES * 8
    a, b = u & 0xFFFFFFFF, u >> 32
    return (a % bits, (a + b) % bits, (a + 2 * b) % bits, (a + 3 * b) % bits)


def _dims(d: DimensionScores | None) -> list[float] | None:
    return None if d is None else [d.goal, d.task, d.bond, d.overall]


def _undims(v: list[float] | None) -> DimensionScores | None:
    if v is None:
        return None
    return DimensionScores.model_construct(goal=v[0], task=v[1], bond=v[2], overall=v[3])


def _key(k: OrderKey | None) -> list[float] | None:
    return None if k is None else [k[0], k[1], k[2]]


def _unkey(v: list[float] | None) -> OrderKey | None:
    return None if v is None else (float(v[0]), float(v[1]), int(v[2]))


def _session_to(s: SessionState) -> dict[str, Any]:
    return {
        "index": s.index,
        "session_id": s.session_id,
        "first_window": s.first_window,
        "n_messages": s.n_messages,
        "exchanges": s.exchanges,
        "spans": [[a, b, _dims(c)] for a, b, c in s.spans],
        "awaiting": sorted(s.awaiting),
        "ending": s.ending,
        "n_windows": s.n_windows,
        "last_ts": s.last_ts,
        "signals": [[at, sig.model_dump(mode="json")] for at, sig in s.signals],
    }


def _session_from(d: Mapping[str, Any]) -> SessionState:
    s = SessionState(int(d["index"]), d["session_id"], int(d["first_window"]))
    s.n_messages = int(d["n_messages"])
    s.exchanges = float(d["exchanges"])
    s.spans = tuple((float(a), float(b), _undims(c)) for a, b, c in d["spans"])  # type: ignore[misc]
    s.awaiting = tuple(int(i) for i in d["awaiting"])
    s.ending = d["ending"]
    s.n_windows = int(d["n_windows"])
    s.last_ts = d["last_ts"]
    s.signals = tuple(
        (float(at), WindowSignals.model_validate(sig)) for at, sig in d.get("signals", ())
    )
    return s


def pair_to_state(p: PairState, *, with_history: bool = True) -> dict[str, Any]:
    """Everything the core knows of a pair, as JSON-ready data."""
    sessions: dict[int, SessionState] = dict(p.sessions)
    if p.session is not None:
        sessions[p.session.index] = p.session
    for s in p.window_session.values():
        sessions.setdefault(s.index, s)
    out: dict[str, Any] = {
        "format": FORMAT,
        "conversation_id": p.conversation_id,
        "counselor_id": p.counselor_id,
        "client_id": p.client_id,
        "open": [
            [h.seq, h.arrival, h.id, h.role.value, h.text, h.ts, h.tokens, h.truncated]
            for h in p.open
        ],
        "open_tokens": p.open_tokens,
        "open_turns": p.open_turns,
        "last_role": p.last_role.value if p.last_role else None,
        "next_window": p.next_window,
        "closed_key": _key(p.closed_key),
        "seen": base64.b64encode(p.seen.tobytes()).decode(),
        "bloom": base64.b64encode(bytes(p.bloom)).decode() if p.bloom is not None else None,
        "bloom_max_key": _key(p.bloom_max_key),
        "arrivals": p.arrivals,
        "baseline": _dims(p.baseline),
        "baseline_parts": [_dims(b) for b in p.baseline_parts],
        "declined": dict(p.declined),
        "low": sorted(p.low),
        "paged_session": p.paged_session,
        "sessions": [_session_to(s) for s in sessions.values()],
        "current_session": p.session.index if p.session else None,
        "ending_sessions": sorted(p.sessions),
        "window_session": {str(k): s.index for k, s in p.window_session.items()},
        "session_count": p.session_count,
        "last_ts": p.last_ts,
        "last_seq": p.last_seq,
        "last_seen": p.last_seen,
    }
    if with_history:
        out["history"] = [json.loads(w.json_text()) for w in p.history]
    return out


def pair_to_json(p: PairState) -> str:
    """`json.dumps(pair_to_state(p))`, fast: the recent window scores are spliced in from their
    cached JSON instead of being encoded again on every snapshot."""
    d = pair_to_state(p, with_history=False)
    head = json.dumps(d)
    assert head.endswith("}")
    history = ",".join(w.json_text() for w in p.history)
    sep = ", " if len(d) else ""
    return f'{head[:-1]}{sep}"history": [{history}]}}'


def _held(row: list[Any], fmt: int) -> HeldMessage:
    if fmt == 1:  # [[order key], id, role, text, ts, tokens, truncated]
        key, i, r, t, ts, n, tr = row
        # The key put (seq, ts) first for a sequenced message, (ts, 0.0) otherwise.
        seq = float(key[0]) if key[1] != 0.0 or key[0] != ts else None
        return HeldMessage(i, Role(r), t, float(ts), int(n), bool(tr), int(key[2]), seq)
    seq, arrival, i, r, t, ts, n, tr = row
    return HeldMessage(
        i,
        Role(r),
        t,
        float(ts),
        int(n),
        bool(tr),
        int(arrival),
        None if seq is None else float(seq),
    )


def pair_from_state(d: Mapping[str, Any]) -> PairState:
    if d.get("format") not in (1, FORMAT):
        raise ValueError(f"unsupported pair state format {d.get('format')!r}")
    p = PairState(d["conversation_id"])
    p.counselor_id = d["counselor_id"]
    p.client_id = d["client_id"]
    p.open = [_held(row, d["format"]) for row in d["open"]]
    p.open_tokens = int(d["open_tokens"])
    p.open_turns = int(d["open_turns"])
    p.last_role = Role(d["last_role"]) if d["last_role"] else None
    p.next_window = int(d["next_window"])
    p.closed_key = _unkey(d["closed_key"])
    seen = array("q")
    seen.frombytes(base64.b64decode(d["seen"]))
    p.seen = seen
    p.bloom = bytearray(base64.b64decode(d["bloom"])) if d["bloom"] is not None else None
    p.bloom_max_key = _unkey(d["bloom_max_key"])
    p.arrivals = int(d["arrivals"])
    p.history = tuple(WindowScore.model_validate(w) for w in d["history"])
    p.baseline = _undims(d["baseline"])
    p.baseline_parts = tuple(b for b in (_undims(x) for x in d["baseline_parts"]) if b is not None)
    p.declined = {k: float(v) for k, v in d["declined"].items()} or _EMPTY
    p.low = frozenset(d["low"])
    p.paged_session = int(d.get("paged_session", -1))
    sessions = {s.index: s for s in (_session_from(x) for x in d["sessions"])}
    cur = d["current_session"]
    p.session = sessions[cur] if cur is not None else None
    p.sessions = {i: sessions[i] for i in d["ending_sessions"]} or _EMPTY
    p.window_session = {int(k): sessions[v] for k, v in d["window_session"].items()} or _EMPTY
    p.session_count = int(d["session_count"])
    p.last_ts = d["last_ts"]
    seq = d.get("last_seq")  # absent from snapshots of earlier versions
    p.last_seq = int(seq) if seq is not None else None
    p.last_seen = float(d["last_seen"])
    return p
