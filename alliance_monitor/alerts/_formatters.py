"""Render alert data for where supervisors live: Standard Webhooks JSON, Slack, Microsoft Teams.

Slack and Teams take plain JSON posts to an incoming-webhook URL (no SDK): Slack a message with
Block Kit blocks, Teams a message with an Adaptive Card. Both are readable at a glance: the pair,
what happened, how bad, what to do. All three renderers work from the thin alert data of
`_payload.alert_data` (or a digest of several), never from message text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from .._events import event_class
from ._payload import fit, standard_body

__all__ = ["Format", "format_slack", "format_teams", "render"]

Format = Literal["standard", "slack", "teams"]

_ICON = {"high": "🔴", "medium": "🟠", "low": "🟡", "info": "⚪"}
_TEAMS_COLOR = {"high": "Attention", "medium": "Warning", "low": "Accent", "info": "Default"}
_DIGEST_ITEMS = 20


def _pair(data: Mapping[str, Any]) -> str:
    parts = [f"conversation {data.get('conversation_id')}"]
    if data.get("counselor_id"):
        parts.append(f"counselor {data['counselor_id']}")
    if data.get("client_id"):
        parts.append(f"client {data['client_id']}")
    if data.get("session_id"):
        parts.append(f"session {data['session_id']}")
    return " · ".join(parts)


def _details(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Type-specific facts (each event type's class declares its own), then the feedback."""
    cls = event_class(str(data.get("type", "")))
    facts = cls.facts(data) if cls is not None else []
    feedback = data.get("feedback")
    if isinstance(feedback, Mapping) and feedback.get("summary"):
        facts.append(("Feedback", str(feedback["summary"])))
    return facts


def _escape_slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_slack(data: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (``text`` fallback + Block Kit ``blocks``)."""
    if data.get("type") == "digest":
        return _slack_digest(data)
    severity = str(data.get("severity", "info"))
    icon = _ICON.get(severity, "")
    headline = str(data.get("headline", ""))
    esc = _escape_slack
    fields = [{"type": "mrkdwn", "text": f"*Severity*\n{icon} {severity.upper()}"}]
    fields.append({"type": "mrkdwn", "text": f"*Pair*\n{esc(_pair(data))}"})
    for title, value in _details(data)[:8]:
        fields.append({"type": "mrkdwn", "text": _clip(f"*{title}*\n{esc(value)}", 1900)})
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(f"{icon} {headline}", 150)},
        },
        {"type": "section", "fields": fields},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip(f"*What to do*\n{esc(str(data.get('action', '')))}", 2900),
            },
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"alert `{esc(str(data.get('id')))}` · alliance-monitor"}
            ],
        },
    ]
    fallback = f"{icon} {severity.upper()}: {headline} ({_pair(data)})"
    return {"text": _clip(esc(fallback), 3000), "blocks": blocks}


def _slack_digest(data: Mapping[str, Any]) -> dict[str, Any]:
    items = list(data.get("items") or ())
    count = int(data.get("count", len(items)))
    lines = [
        f"{_ICON.get(str(i.get('severity')), '')} {_escape_slack(str(i.get('headline', '')))} "
        f"— {_escape_slack(_pair(i))}"
        for i in items[:_DIGEST_ITEMS]
    ]
    if count > len(lines):
        lines.append(f"…and {count - len(lines)} more")
    title = f"🟡 {count} low-severity alert(s)"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), 2900)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"digest `{_escape_slack(str(data.get('id')))}` · alliance-monitor",
                }
            ],
        },
    ]
    return {"text": title, "blocks": blocks}


def format_teams(data: Mapping[str, Any]) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook message carrying one Adaptive Card (schema 1.4)."""
    severity = str(data.get("severity", "info"))
    if data.get("type") == "digest":
        items = list(data.get("items") or ())
        count = int(data.get("count", len(items)))
        body: list[dict[str, Any]] = [_text(f"{count} low-severity alert(s)", bold=True)]
        body += [_text(f"• {i.get('headline', '')} — {_pair(i)}") for i in items[:_DIGEST_ITEMS]]
        if count > min(len(items), _DIGEST_ITEMS):
            body.append(_text(f"…and {count - min(len(items), _DIGEST_ITEMS)} more"))
    else:
        facts = [("Severity", severity.upper()), ("Pair", _pair(data)), *_details(data)]
        body = [
            _text(str(data.get("headline", "")), bold=True, color=_TEAMS_COLOR.get(severity)),
            {
                "type": "FactSet",
                "facts": [{"title": t, "value": _clip(v, 1000)} for t, v in facts],
            },
            _text(f"**What to do:** {data.get('action', '')}"),
        ]
    body.append(_text(f"alert {data.get('id')} · alliance-monitor", subtle=True))
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _text(
    text: str, *, bold: bool = False, color: str | None = None, subtle: bool = False
) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "TextBlock", "text": _clip(text, 2000), "wrap": True}
    if bold:
        block.update(weight="Bolder", size="Medium")
    if color:
        block["color"] = color
    if subtle:
        block.update(isSubtle=True, size="Small")
    return block


def render(fmt: Format, data: dict[str, Any], created_at: float) -> bytes:
    """The exact body bytes for an endpoint of format `fmt` (always under 20 kB)."""
    renderer: Callable[[dict[str, Any]], dict[str, Any]]
    if fmt == "slack":
        renderer = format_slack
    elif fmt == "teams":
        renderer = format_teams
    else:

        def renderer(d: dict[str, Any]) -> dict[str, Any]:
            return standard_body(d, created_at)

    return fit(data, renderer)
