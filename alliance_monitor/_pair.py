"""The state of one counselor-client pair, and its JSON codec: the one owner of both.

`PairState` is what the core keeps per pair: the open messages (not yet in a closed window), the
de-duplication memory, recent window scores, baseline and alarms, and the sessions still waiting
for scores. Only this module and the core's engine (`_core.py`) read or write its fields; the
async shell, the stores and the workers see a pair only as an opaque snapshot (`PairSnapshot`)
taken and restored through `MonitorCore.snapshot` / `MonitorCore.restore`.

The codec is JSON, not pickle: a shared Redis or a copied database file must never be a way to
run code in the monitor's process. Every snapshot carries a format version.
"""

from __future__ import annotations

import base64
import hashlib
import json
from array import array
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._models import DimensionScores, Role, WindowScore

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

FORMAT = 1
EXACT_IDS = 4096  # recent message-id hashes kept exactly per pair
BLOOM_BYTES = 4096  # older ones go to a fixed Bloom filter (32768 bits, 4 hashes)

#: (seq or ts, ts or 0.0, arrival): platform sequence orders where present, else the timestamp.
OrderKey = tuple[float, float, int]
EndReason = Literal["explicit", "idle", "new_session", "shutdown"]


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


@dataclass(slots=True)
class HeldMessage:
    """A message waiting in an open window (slim: this is what per-pair memory holds)."""

    key: OrderKey
    id: str
    role: Role
    text: str
    ts: float
    tokens: int
    truncated: bool


@dataclass(slots=True)
class SessionState:
    index: int
    session_id: str | None
    first_window: int
    n_messages: int = 0
    exchanges: float = 0.0  # position of the next window, in exchanges
    #: (start, width, scores) per scored window, compacted when long.
    spans: list[tuple[float, float, DimensionScores]] = field(default_factory=list)
    awaiting: set[int] = field(default_factory=set)
    ending: EndReason | None = None
    n_windows: int = 0
    last_ts: float | None = None


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
    history: deque[WindowScore] = field(default_factory=deque)
    baseline: DimensionScores | None = None
    baseline_parts: list[DimensionScores] = field(default_factory=list)
    declined: dict[str, float] = field(default_factory=dict)  # dim -> reference it fell from
    low: set[str] = field(default_factory=set)
    session: SessionState | None = None
    sessions: dict[int, SessionState] = field(default_factory=dict)  # ended, awaiting scores
    window_session: dict[int, SessionState] = field(default_factory=dict)
    session_count: int = 0
    last_ts: float | None = None
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
    }


def _session_from(d: Mapping[str, Any]) -> SessionState:
    s = SessionState(int(d["index"]), d["session_id"], int(d["first_window"]))
    s.n_messages = int(d["n_messages"])
    s.exchanges = float(d["exchanges"])
    s.spans = [(float(a), float(b), _undims(c)) for a, b, c in d["spans"]]  # type: ignore[misc]
    s.awaiting = set(d["awaiting"])
    s.ending = d["ending"]
    s.n_windows = int(d["n_windows"])
    s.last_ts = d["last_ts"]
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
            [_key(h.key), h.id, h.role.value, h.text, h.ts, h.tokens, h.truncated] for h in p.open
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
        "declined": p.declined,
        "low": sorted(p.low),
        "sessions": [_session_to(s) for s in sessions.values()],
        "current_session": p.session.index if p.session else None,
        "ending_sessions": sorted(p.sessions),
        "window_session": {str(k): s.index for k, s in p.window_session.items()},
        "session_count": p.session_count,
        "last_ts": p.last_ts,
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


def pair_from_state(d: Mapping[str, Any]) -> PairState:
    if d.get("format") != FORMAT:
        raise ValueError(f"unsupported pair state format {d.get('format')!r}")
    p = PairState(d["conversation_id"])
    p.counselor_id = d["counselor_id"]
    p.client_id = d["client_id"]
    p.open = [
        HeldMessage(_unkey(k), i, Role(r), t, float(ts), int(n), bool(tr))  # type: ignore[arg-type]
        for k, i, r, t, ts, n, tr in d["open"]
    ]
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
    p.history = deque(WindowScore.model_validate(w) for w in d["history"])
    p.baseline = _undims(d["baseline"])
    p.baseline_parts = [b for b in (_undims(x) for x in d["baseline_parts"]) if b is not None]
    p.declined = {k: float(v) for k, v in d["declined"].items()}
    p.low = set(d["low"])
    sessions = {s.index: s for s in (_session_from(x) for x in d["sessions"])}
    cur = d["current_session"]
    p.session = sessions[cur] if cur is not None else None
    p.sessions = {i: sessions[i] for i in d["ending_sessions"]}
    p.window_session = {int(k): sessions[v] for k, v in d["window_session"].items()}
    p.session_count = int(d["session_count"])
    p.last_ts = d["last_ts"]
    p.last_seen = float(d["last_seen"])
    return p


