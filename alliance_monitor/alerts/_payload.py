"""Thin, private alert payloads.

By default a payload carries ids, scores, levels, the pattern and the feedback summary and
suggestion with quoted passages removed; never message text. Quotes and evidence excerpts are
added only when the deployment opts in (`include_text=True`). Every rendered body is kept under
`MAX_PAYLOAD_BYTES` (the Standard Webhooks recommendation of 20 kB) by trimming lists and text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .._events import Event, Severity, event_class, short_text

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "alert_data",
    "describe",
    "digest_data",
    "dumps",
    "fit",
    "standard_body",
]

#: Hard ceiling for any body sent (bytes of UTF-8 JSON).
MAX_PAYLOAD_BYTES = 20_000
_MAX_IDS = 50
_short = short_text


def alert_data(event: Event, severity: Severity, *, include_text: bool = False) -> dict[str, Any]:
    """The ``data`` object of one alert: what happened, to which pair, how bad."""
    data: dict[str, Any] = {
        "id": event.id,
        "type": str(event.type),
        "severity": str(severity),
        "conversation_id": event.conversation_id,
        "session_id": event.session_id,
        "counselor_id": event.counselor_id,
        "client_id": event.client_id,
        "ts": event.ts,
    }
    data.update(event.alert_fields(include_text))
    headline, action = describe(data)
    data["headline"] = headline
    data["action"] = action
    return data


def describe(data: Mapping[str, Any]) -> tuple[str, str]:
    """A one-line headline (what happened, how bad) and what to do, from alert data alone
    (each event type's class renders its own: `headline`, `action`)."""
    cls = event_class(str(data.get("type", "")))
    if cls is None:
        return str(data.get("type", "")), ""
    return cls.headline(data), cls.action(data)


def digest_data(
    digest_id: str, items: Sequence[Mapping[str, Any]], created_at: float
) -> dict[str, Any]:
    """The ``data`` of a digest: several low-severity alerts sent as one."""
    return {
        "id": digest_id,
        "type": "digest",
        "severity": "low",
        "count": len(items),
        "created_at": _iso(created_at),
        "items": [dict(item) for item in items],
        "headline": f"{len(items)} low-severity alert(s)",
        "action": "Review when convenient.",
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def standard_body(data: Mapping[str, Any], created_at: float) -> dict[str, Any]:
    """The Standard Webhooks envelope: ``{"type", "timestamp", "data"}``.

    ``type`` is the event type exactly as in ``data.type``, in events and in alert filters
    (``safety_signal``, ``digest``...): one spelling everywhere.
    """
    return {
        "type": data.get("type", "alert"),
        "timestamp": _iso(created_at),
        "data": dict(data),
    }


def fit(data: dict[str, Any], render: Any, limit: int = MAX_PAYLOAD_BYTES) -> bytes:
    """Render `data` with `render(data) -> dict` and trim it until the body is under `limit`.

    Trimming order: quotes; long texts; long id lists; digest items (keeping a count); finally
    everything but the identifying fields. Trimmed bodies carry ``"truncated": true``.
    """
    body = dumps(render(data))
    if len(body) < limit:
        return body
    for step in (_drop_quotes, _shorten_texts, _shorten_lists, _shorten_items, _minimal):
        data = step(data)
        data["truncated"] = True
        body = dumps(render(data))
        if len(body) < limit:
            return body
    raise ValueError("alert payload cannot be made small enough")  # pragma: no cover


def _walk(obj: Any, fn: Any) -> Any:
    """Rebuild nested dicts and lists, passing every (key, value) of a dict through `fn`."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            new = fn(key, value)
            if new is not _DROP:
                out[key] = _walk(new, fn)
        return out
    if isinstance(obj, list):
        return [_walk(v, fn) for v in obj]
    return obj


_DROP = object()


def _drop_quotes(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _walk(data, lambda k, v: _DROP if k == "quotes" else v)
    return out


def _shorten_texts(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = _walk(data, lambda k, v: _short(v, 160) if isinstance(v, str) else v)
    return out


def _shorten_lists(data: dict[str, Any]) -> dict[str, Any]:
    def cut(k: str, v: Any) -> Any:
        if isinstance(v, list) and k != "items" and len(v) > 5:
            return v[:5]
        return v

    out: dict[str, Any] = _walk(data, cut)
    return out


def _shorten_items(data: dict[str, Any]) -> dict[str, Any]:
    items = data.get("items")
    if not isinstance(items, list):
        return data
    keep = ("id", "type", "severity", "conversation_id", "counselor_id", "headline")
    slim = [{k: item.get(k) for k in keep} for item in items[:40]]
    return {**data, "items": slim, "items_omitted": max(0, len(items) - len(slim))}


def _minimal(data: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "type", "severity", "conversation_id", "session_id", "counselor_id",
            "client_id", "message_id", "category", "cues", "count", "headline",
            "action")  # fmt: skip
    out = {k: (_short(v, 256) if isinstance(v, str) else v) for k, v in data.items() if k in keep}
    if isinstance(out.get("cues"), list):
        out["cues"] = out["cues"][:10]
    return out
