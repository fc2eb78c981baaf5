"""Thin, private alert payloads.

By default a payload carries ids, scores, levels, the pattern and the feedback summary and
suggestion with quoted passages removed; never message text. Quotes and evidence excerpts are
added only when the deployment opts in (`include_text=True`). Every rendered body is kept under
`MAX_PAYLOAD_BYTES` (the Standard Webhooks recommendation of 20 kB) by trimming lists and text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .._events import (
    AllianceDeclined,
    AllianceLow,
    Event,
    Feedback,
    PatternDetected,
    SafetySignal,
    SessionSummary,
    Severity,
    WindowScored,
    WindowUnscored,
)

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
_MAX_TEXT = 600
_MAX_IDS = 50
SAFETY_NOTE = (
    "Automated safety net, not a clinical assessment: a person must check on the client now "
    "and follow the platform's crisis protocol."
)

# Quoted passages: "...", “...”, „...“, «...», ‘...’ and '...' (not apostrophes inside words).
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|„[^“”]*[“”]|«[^»]*»|‘[^’]*’|(?<![\w'])'[^'\n]+'(?![\w'])")


def strip_quotes(text: str) -> str:
    """Replace quoted passages (likely excerpts of the conversation) with ``[…]``."""
    return _QUOTED.sub("[…]", text)


def _short(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ids(ids: Sequence[Any], limit: int = _MAX_IDS) -> list[Any]:
    return list(ids[:limit])


def _feedback(fb: Feedback, include_text: bool) -> dict[str, Any]:
    summary, suggestion = fb.summary, fb.suggestion
    if not include_text:
        summary, suggestion = strip_quotes(summary), strip_quotes(suggestion)
    out: dict[str, Any] = {
        "pattern": fb.pattern,
        "dimension": fb.dimension,
        "summary": _short(summary),
        "suggestion": _short(suggestion),
        "message_ids": _ids(fb.message_ids),
        "source": fb.source,
    }
    if include_text and fb.quotes:
        out["quotes"] = [_short(q, 300) for q in fb.quotes[:5]]
    return out


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
    if isinstance(event, AllianceDeclined):
        data.update(
            dimension=event.dimension,
            from_level=round(event.from_level, 2),
            to_level=round(event.to_level, 2),
            change=round(event.change, 2),
            reference=event.reference,
            windows=_ids(event.windows),
            evidence_message_ids=_ids(event.evidence),
        )
        if event.feedback is not None:
            data["feedback"] = _feedback(event.feedback, include_text)
    elif isinstance(event, AllianceLow):
        data.update(
            dimension=event.dimension,
            level=round(event.level, 2),
            windows=_ids(event.windows),
            evidence_message_ids=_ids(event.evidence),
        )
    elif isinstance(event, PatternDetected):
        data.update(
            pattern=event.pattern,
            window_index=event.window_index,
            rate=round(event.rate, 3),
            message_ids=_ids(event.message_ids),
            feedback=_feedback(event.feedback, include_text),
        )
    elif isinstance(event, SafetySignal):
        data.update(
            message_id=event.message_id,
            category=event.category,
            cues=list(event.cues),
            note=SAFETY_NOTE,
        )
    elif isinstance(event, SessionSummary):
        data.update(
            session_index=event.session_index,
            trajectory=str(event.trajectory),
            change=round(event.change, 2),
            alliance=event.alliance.model_dump(),
            n_messages=event.n_messages,
            n_windows=event.n_windows,
            end_reason=event.end_reason,
        )
    elif isinstance(event, WindowScored):
        data.update(
            window_index=event.window_index,
            scores=event.score.scores.model_dump() if event.score.scores else None,
            confidence=event.score.confidence,
            baseline=event.baseline,
        )
    elif isinstance(event, WindowUnscored):
        data.update(window_index=event.window_index, reason=_short(event.reason, 200))
    headline, action = describe(data)
    data["headline"] = headline
    data["action"] = action
    return data


_PATTERN_NAMES = {"passive": "Passive responding", "directive": "Directive / overstepping"}
_DEFAULT_ACTIONS = {
    "alliance_declined": "Review the recent exchanges with the counselor; check the client's "
    "goals are still shared and explored.",
    "alliance_low": "Review soon and consider a supervision check-in with the counselor.",
    "passive": "Explore rather than acknowledge: an open question or a reflection of feeling.",
    "directive": "Ask permission before advice and offer choices; follow the client's lead.",
    "session_summary": "No action needed unless the trajectory is declining.",
    "window_unscored": "Check the scorer's health; the window was not scored.",
    "window_scored": "No action needed.",
}


def _level(value: Any) -> str:
    return f"{float(value):.1f}/5" if isinstance(value, int | float) else "?"


def describe(data: Mapping[str, Any]) -> tuple[str, str]:
    """A one-line headline (what happened, how bad) and what to do, from alert data alone."""
    kind = data.get("type", "")
    feedback = data.get("feedback") or {}
    suggestion = feedback.get("suggestion") if isinstance(feedback, Mapping) else None
    if kind == "safety_signal":
        who = "harm to others" if data.get("category") == "harm_to_others" else "self-harm"
        return f"Possible risk of {who} in a client message", SAFETY_NOTE
    if kind == "alliance_declined":
        head = (
            f"Alliance declining ({data.get('dimension')}): {_level(data.get('from_level'))} → "
            f"{_level(data.get('to_level'))} vs {data.get('reference')}"
        )
        return head, suggestion or _DEFAULT_ACTIONS[kind]
    if kind == "alliance_low":
        return (
            f"Low alliance ({data.get('dimension')}): {_level(data.get('level'))}",
            _DEFAULT_ACTIONS[kind],
        )
    if kind in ("passive_pattern", "directive_pattern"):
        pattern = str(data.get("pattern", ""))
        rate = data.get("rate")
        share = f" in {float(rate):.0%} of counselor turns" if isinstance(rate, float) else ""
        return (
            f"{_PATTERN_NAMES.get(pattern, pattern)}{share}",
            suggestion or _DEFAULT_ACTIONS.get(pattern, ""),
        )
    if kind == "session_summary":
        return f"Session ended: alliance {data.get('trajectory')}", _DEFAULT_ACTIONS[kind]
    if kind == "window_unscored":
        return f"Window {data.get('window_index')} not scored", _DEFAULT_ACTIONS[kind]
    if kind == "window_scored":
        return f"Window {data.get('window_index')} scored", _DEFAULT_ACTIONS[kind]
    return str(kind), ""


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
