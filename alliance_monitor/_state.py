"""JSON codecs for what the journal and the pending-window rows hold: accepted messages and
closed windows awaiting a score. A pair's own state has its codec beside it, in `_pair.py`.
"""

from __future__ import annotations

from typing import Any

from ._models import Message, Role, ScoringMessage, WindowRequest, WindowScore

__all__ = ["message_to_json", "request_from_state", "request_to_state"]


def message_to_json(m: Message) -> str:
    """A journal row: the message as JSON that `Message.model_validate_json` reads back to an
    equal message. Fields at their defaults (None, empty metadata) are left out, so rows are
    about a third smaller than `model_dump_json()` (the store writes every accepted message).
    The serializer is called directly: `model_dump_json` would pass sixteen keywords on every
    message to give the same bytes."""
    return _MESSAGE_JSON(m, exclude_defaults=True).decode()


_MESSAGE_JSON = Message.__pydantic_serializer__.to_json


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
        "session_index": r.session_index,
        "span": None if r.span_start is None else [r.span_start, r.span_width],
    }


def request_from_state(d: dict[str, Any], history: tuple[WindowScore, ...] = ()) -> WindowRequest:
    if "extras" in d:  # rows written before the typed fields: {"span": [s, w], "session": i}
        span, session_index = d["extras"].get("span"), d["extras"].get("session")
    else:
        span, session_index = d.get("span"), d.get("session_index")
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
        session_index=None if session_index is None else int(session_index),
        span_start=None if span is None else float(span[0]),
        span_width=0.0 if span is None else float(span[1]),
    )
