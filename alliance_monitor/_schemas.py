"""Versioned JSON Schemas of what crosses the library's boundary (docs/contracts.md).

- ``message``: one message in (`Monitor.ingest`, the HTTP receiver, `replay` lines).
- ``transcript``: one conversation a line (`analyze`, `study`, `evaluate`).
- ``event``: one event out (handlers, `replay --json`, `demo --json`), generated from the
  event models, so it cannot drift from what is emitted.
- ``alert``: the body of a Standard Webhooks alert (the ``standard`` format).

They ship in the package as ``alliance_monitor/schemas/<name>.v<N>.json`` (read them with
`load_schema`); `python scripts/build_schemas.py` writes them from here and a test checks the
shipped files are current. A change a consumer could trip over (a field removed, renamed or
retyped, a value no longer allowed) takes a new version; adding an optional field or an event
type does not (consumers ignore keys they do not know).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Literal

from ._errors import RejectReason
from ._events import EVENT_CLASSES, EventType, Severity, event_adapter
from ._models import MAX_ABS_SEQ, MAX_ABS_TS, MAX_ID_LENGTH, MAX_METADATA_CHARS, MAX_TEXT_CHARS

__all__ = ["SCHEMA_NAMES", "SCHEMA_VERSION", "build_schema", "load_schema", "schema_file"]

SchemaName = Literal["message", "transcript", "event", "alert"]
SCHEMA_NAMES: tuple[SchemaName, ...] = ("message", "transcript", "event", "alert")
SCHEMA_VERSION = 1
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_file(name: SchemaName) -> str:
    return f"{name}.v{SCHEMA_VERSION}.json"


def load_schema(name: SchemaName) -> dict[str, Any]:
    """The shipped schema `name` (one of `SCHEMA_NAMES`)."""
    if name not in SCHEMA_NAMES:
        raise ValueError(f"unknown schema {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    text = resources.files("alliance_monitor").joinpath("schemas", schema_file(name)).read_text()
    out: dict[str, Any] = json.loads(text)
    return out


def _head(name: str, title: str, description: str) -> dict[str, Any]:
    return {
        "$schema": _DRAFT,
        "$id": f"urn:alliance-monitor:schema:{name}:v{SCHEMA_VERSION}",
        "title": f"alliance-monitor {title}, version {SCHEMA_VERSION}",
        "description": description,
    }


_NUMBER_TEXT = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_ISO_8601 = (
    r"^\s*[0-9]{4}-?[0-9]{2}-?[0-9]{2}"
    r"([T ][0-9]{2}(:?[0-9]{2}(:?[0-9]{2}([.,][0-9]+)?)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?)?\s*$"
)
_NO_CONTROL = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"


def _input_defs() -> dict[str, Any]:
    return {
        "id": {
            "description": "A string, or an integer (kept as its decimal string: 42 is "
            '"42"). Never a float or a boolean. No control characters.',
            "anyOf": [
                {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_ID_LENGTH,
                    "pattern": _NO_CONTROL,
                },
                {"type": "integer"},
            ],
        },
        "optional_id": {"anyOf": [{"$ref": "#/$defs/id"}, {"type": "null"}]},
        "timestamp": {
            "description": "Seconds as a number (epoch or relative, consistent within a "
            "conversation), or text: a number, or an ISO 8601 date or date-time (read as "
            "epoch seconds; without an offset it is UTC).",
            "anyOf": [
                {"type": "number", "minimum": -MAX_ABS_TS, "maximum": MAX_ABS_TS},
                {"type": "string", "maxLength": 64, "pattern": _NUMBER_TEXT},
                {"type": "string", "maxLength": 64, "pattern": _ISO_8601},
            ],
        },
    }


def _message_properties() -> dict[str, Any]:
    return {
        "conversation_id": {"$ref": "#/$defs/id", "description": "The counselor-client pair."},
        "id": {
            "$ref": "#/$defs/id",
            "description": "The message; unique within its conversation (repeats are absorbed).",
        },
        "role": {"enum": ["counselor", "client", "other"]},
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS},
        "ts": {"$ref": "#/$defs/timestamp"},
        "seq": {
            "type": ["integer", "null"],
            "minimum": -MAX_ABS_SEQ,
            "maximum": MAX_ABS_SEQ,
            "description": "The platform's own order, when it has one: used instead of ts.",
        },
        "counselor_id": {"$ref": "#/$defs/optional_id"},
        "client_id": {"$ref": "#/$defs/optional_id"},
        "session_id": {
            "$ref": "#/$defs/optional_id",
            "description": "A new value starts a new session of the pair.",
        },
        "metadata": {
            "type": "object",
            "maxProperties": 64,
            "propertyNames": {"maxLength": MAX_ID_LENGTH},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "maxLength": MAX_METADATA_CHARS},
                    {"type": ["number", "boolean", "null"]},
                ]
            },
        },
    }


_REFUSALS = (
    "The monitor may still refuse a value this schema allows (an impossible date, text that is "
    "empty once control characters are removed); every refusal is counted with a reason ("
    + ", ".join(r.value for r in RejectReason)
    + ") and names the field (IngestResult.field, the --rejects file)."
)


def message_schema() -> dict[str, Any]:
    return {
        **_head(
            "message",
            "message (input)",
            "One chat message: the argument of Monitor.ingest, the body (or an item of "
            "`messages`) of the HTTP receiver, a line of `replay` input. Keys not listed are "
            "ignored. " + _REFUSALS,
        ),
        "type": "object",
        "required": ["conversation_id", "id", "role", "text", "ts"],
        "properties": _message_properties(),
        "$defs": _input_defs(),
    }


def transcript_schema() -> dict[str, Any]:
    item = {k: v for k, v in _message_properties().items() if k != "conversation_id"}
    item["labels"] = {"type": "object", "description": "Read by `evaluate` only."}
    return {
        **_head(
            "transcript",
            "transcript (input of analyze, study and evaluate)",
            "One conversation a line of JSONL; its messages have the fields of a message "
            "except conversation_id, taken from the transcript. A bad message is refused on "
            "its own and the rest of the conversation is kept. Keys not listed are ignored. "
            + _REFUSALS,
        ),
        "type": "object",
        "required": ["conversation_id", "messages"],
        "properties": {
            "conversation_id": {"$ref": "#/$defs/id"},
            "labels": {
                "type": "object",
                "description": "Conversation labels, read by `evaluate` only (docs/evaluate.md).",
            },
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "role", "text", "ts"],
                    "properties": item,
                },
            },
        },
        "$defs": _input_defs(),
    }


def _tidy(node: Any) -> Any:
    """Drop pydantic's titles and docstring descriptions (the docs describe the fields) and
    mark every property required: an event always carries all its fields (null when unset)."""
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _tidy(v) for k, v in node.items() if k not in ("title", "description")}
    if out.get("type") == "object" and isinstance(out.get("properties"), dict):
        out["properties"] = {k: _tidy(v) for k, v in node["properties"].items()}
        out["required"] = list(out["properties"])
    return out


def event_schema() -> dict[str, Any]:
    generated = _tidy(event_adapter.json_schema(mode="serialization"))
    return {
        **_head(
            "event",
            "event",
            "One event as emitted (a handler's event.model_dump(mode='json'), a line of "
            "`replay --json` or `demo --json`), discriminated by `type`: "
            + ", ".join(t.value for t in EventType)
            + ". Every listed field is present (null when unset); new optional fields may be "
            "added within a version, so ignore keys you do not know.",
        ),
        **generated,
    }


def _alert_data() -> dict[str, Any]:
    nullable_str = {"type": ["string", "null"]}
    # Each event type's class declares the type-specific fields of its alert data.
    by_type = {t: EVENT_CLASSES[t].alert_schema(EventType(t)) for t in sorted(EVENT_CLASSES)}
    common = {
        "id": {"type": "string", "description": "The event id (stable); digests: their own."},
        "type": {"enum": [*(t.value for t in EventType), "digest"]},
        "severity": {"enum": [s.value for s in Severity]},
        "conversation_id": {"type": "string"},
        "session_id": nullable_str,
        "counselor_id": nullable_str,
        "client_id": nullable_str,
        "ts": {"type": ["number", "null"]},
        "headline": {"type": "string", "description": "What happened, how bad, in one line."},
        "action": {"type": "string", "description": "What a supervisor should do."},
        "truncated": {
            "const": True,
            "description": "Present when lists or texts were cut to keep the body under 20 kB; "
            "then only the identifying fields are sure to be there.",
        },
    }
    digest = {
        "count": {"type": "integer", "minimum": 1},
        "created_at": {"type": "string"},
        "items": {"type": "array", "items": {"$ref": "#/$defs/data"}},
        "items_omitted": {"type": "integer", "minimum": 0},
    }
    rules: list[dict[str, Any]] = []
    for kind, (props, required) in by_type.items():
        rules.append(
            {
                "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                "then": {
                    "properties": props,
                    "if": {"not": {"required": ["truncated"]}},
                    "then": {"required": ["conversation_id", *required]},
                },
            }
        )
    rules.append(
        {
            "if": {"properties": {"type": {"const": "digest"}}, "required": ["type"]},
            "then": {"properties": digest, "required": ["count", "items"]},
        }
    )
    return {
        "type": "object",
        "required": ["id", "type", "severity", "headline", "action"],
        "properties": common,
        "allOf": rules,
    }


def alert_schema() -> dict[str, Any]:
    return {
        **_head(
            "alert",
            "alert (Standard Webhooks body)",
            "The JSON body of a signed alert (format 'standard'): the envelope type, "
            "timestamp and data of Standard Webhooks. `type` is the event type, the same "
            "string as data.type, event filters and `replay --events`; several low-severity "
            "alerts may come as one `digest`. Never message text unless the deployment opted "
            "in (feedback quotes). Ignore keys you do not know.",
        ),
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"enum": [*(t.value for t in EventType), "digest"]},
            "timestamp": {"type": "string", "description": "RFC 3339, UTC."},
            "data": {"$ref": "#/$defs/data"},
        },
        "$defs": {"data": _alert_data()},
    }


def build_schema(name: SchemaName) -> dict[str, Any]:
    """The schema `name` as this version of the code defines it (what the shipped file holds)."""
    builders = {
        "message": message_schema,
        "transcript": transcript_schema,
        "event": event_schema,
        "alert": alert_schema,
    }
    return builders[name]()


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
