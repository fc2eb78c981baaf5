"""JSON codec for a pair's state, so it can live in a store (SQLite, Redis) and come back.

JSON, not pickle: a shared Redis or a copied database file must never be a way to run code in
the monitor's process. Every snapshot carries a format version.
"""

from __future__ import annotations

import base64
import json
from array import array
from collections import deque
from typing import Any

from ._core import _Held, _Pair, _Session
from ._models import (
    DimensionScores,
    Message,
    Role,
    ScoringMessage,
    WindowRequest,
    WindowScore,
)

__all__ = [
    "FORMAT",
    "message_to_json",
    "pair_from_state",
    "pair_to_json",
    "pair_to_state",
    "request_from_state",
    "request_to_state",
]

FORMAT = 1


def message_to_json(m: Message) -> str:
    """A journal row: the message as JSON that `Message.model_validate_json` reads back to an
    equal message. Fields at their defaults (None, empty metadata) are left out, so rows are
    about a third smaller than `model_dump_json()` (the store writes every accepted message)."""
    return m.model_dump_json(exclude_defaults=True)


def _dims(d: DimensionScores | None) -> list[float] | None:
    return None if d is None else [d.goal, d.task, d.bond, d.overall]


def _undims(v: list[float] | None) -> DimensionScores | None:
    if v is None:
        return None
    return DimensionScores.model_construct(goal=v[0], task=v[1], bond=v[2], overall=v[3])


def _key(k: tuple[float, float, int] | None) -> list[float] | None:
    return None if k is None else [k[0], k[1], k[2]]


def _unkey(v: list[float] | None) -> tuple[float, float, int] | None:
    return None if v is None else (float(v[0]), float(v[1]), int(v[2]))


def _session_to(s: _Session) -> dict[str, Any]:
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


def _session_from(d: dict[str, Any]) -> _Session:
    s = _Session(int(d["index"]), d["session_id"], int(d["first_window"]))
    s.n_messages = int(d["n_messages"])
    s.exchanges = float(d["exchanges"])
    s.spans = [(float(a), float(b), _undims(c)) for a, b, c in d["spans"]]  # type: ignore[misc]
    s.awaiting = set(d["awaiting"])
    s.ending = d["ending"]
    s.n_windows = int(d["n_windows"])
    s.last_ts = d["last_ts"]
    return s


def pair_to_state(p: _Pair, *, with_history: bool = True) -> dict[str, Any]:
    """Everything the core knows of a pair, as JSON-ready data."""
    sessions: dict[int, _Session] = dict(p.sessions)
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


def pair_to_json(p: _Pair) -> str:
    """`json.dumps(pair_to_state(p))`, fast: the recent window scores are spliced in from their
    cached JSON instead of being encoded again on every snapshot."""
    d = pair_to_state(p, with_history=False)
    head = json.dumps(d)
    assert head.endswith("}")
    history = ",".join(w.json_text() for w in p.history)
    sep = ", " if len(d) else ""
    return f'{head[:-1]}{sep}"history": [{history}]}}'


def pair_from_state(d: dict[str, Any]) -> _Pair:
    if d.get("format") != FORMAT:
        raise ValueError(f"unsupported pair state format {d.get('format')!r}")
    p = _Pair(d["conversation_id"])
    p.counselor_id = d["counselor_id"]
    p.client_id = d["client_id"]
    p.open = [
        _Held(_unkey(k), i, Role(r), t, float(ts), int(n), bool(tr))  # type: ignore[arg-type]
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


def request_to_state(r: WindowRequest) -> dict[str, Any]:
    """A closed window waiting for its score (re-scored after a crash)."""
    return {
        "conversation_id": r.conversation_id,
        "window_index": r.window_index,
        "messages": [[m.id, m.role.value, m.text, m.ts, m.truncated] for m in r.messages],
        "n_exchanges": r.n_exchanges,
        "kind": r.kind,
        "merged_from": list(r.merged_from),
        "counselor_id": r.counselor_id,
        "session_id": r.session_id,
        "extras": {k: list(v) if isinstance(v, tuple) else v for k, v in r.extras.items()},
    }


def request_from_state(d: dict[str, Any], history: tuple[WindowScore, ...] = ()) -> WindowRequest:
    extras = dict(d["extras"])
    if "span" in extras:
        extras["span"] = tuple(extras["span"])
    return WindowRequest(
        conversation_id=d["conversation_id"],
        window_index=int(d["window_index"]),
        messages=tuple(
            ScoringMessage(i, Role(r), t, float(ts), bool(tr)) for i, r, t, ts, tr in d["messages"]
        ),
        n_exchanges=int(d["n_exchanges"]),
        history=history,
        kind=d["kind"],
        merged_from=tuple(d["merged_from"]),
        counselor_id=d["counselor_id"],
        session_id=d["session_id"],
        extras=extras,
    )
