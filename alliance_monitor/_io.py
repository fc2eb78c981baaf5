"""Reading transcript and message JSONL without losing anything: every line is either used or
reported with a reason (never with its text)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import _safejson
from ._errors import InvalidMessage, RejectReason
from ._models import Message, id_text, parse_message, readable_id

__all__ = [
    "Rejection",
    "Transcript",
    "iter_lines",
    "iter_raw_lines",
    "parse_line",
    "read_input",
]


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: RejectReason
    field: str | None = None
    conversation_id: str | None = None
    message_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "reason": self.reason.value,
            "field": self.field,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
        }


@dataclass(slots=True)
class Transcript:
    conversation_id: str
    line: int
    messages: list[Message] = field(default_factory=list)
    duplicates: int = 0


def _open(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    return Path(path).open(encoding="utf-8", errors="surrogateescape")


def iter_lines(path: str) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed JSON or an InvalidMessage) for every non-blank line.

    A line is refused on its own (the file goes on) when it is not JSON (``invalid_json``),
    nests too deep (``recursion_depth``) or holds a number that is not finite or beyond 64 bits
    (``number_range``)."""
    for n, raw in iter_raw_lines(path):
        yield n, parse_line(raw)


def iter_raw_lines(path: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) for every non-blank line, unparsed (`parse_line` reads one:
    batch commands hand lines to worker processes this way)."""
    f = _open(path)
    try:
        for n, raw in enumerate(f, 1):
            if raw.strip():
                yield n, raw
    finally:
        if f is not sys.stdin:
            f.close()


def parse_line(raw: str) -> Any:
    """One line's JSON, or an InvalidMessage saying why it was refused (`iter_lines`)."""
    try:
        return _safejson.loads(raw)
    except _safejson.JSONRejected as exc:  # never holds the line
        return InvalidMessage(exc.reason)


def _str_id(obj: dict[str, Any], key: str) -> str | None:
    return readable_id(obj, key)


def parse_transcript(n: int, obj: Any, rejects: list[Rejection]) -> Transcript | None:
    """One transcript line: `{"conversation_id", "messages": [...]}`. Bad messages are rejected
    one by one (the rest of the conversation is kept); duplicates by id are dropped."""
    if not isinstance(obj, dict):
        rejects.append(Rejection(n, RejectReason.INVALID_SCHEMA))
        return None
    conv = id_text(obj.get("conversation_id"))
    msgs = obj.get("messages")
    if not isinstance(conv, str) or not conv or not isinstance(msgs, list):
        field_name = "conversation_id" if not isinstance(conv, str) or not conv else "messages"
        rejects.append(
            Rejection(n, RejectReason.INVALID_SCHEMA, field_name, _str_id(obj, "conversation_id"))
        )
        return None
    tr = Transcript(conv, n)
    seen: set[str] = set()
    for raw in msgs:
        if isinstance(raw, dict):
            raw = {**raw, "conversation_id": conv}
        try:
            msg = parse_message(raw)
        except InvalidMessage as exc:
            mid = _str_id(raw, "id") if isinstance(raw, dict) else None
            rejects.append(Rejection(n, exc.reason, exc.field, conv, mid))
            continue
        if msg.id in seen:
            tr.duplicates += 1
            continue
        seen.add(msg.id)
        tr.messages.append(msg)
    return tr


def read_input(path: str) -> tuple[list[Transcript], list[Any], list[Rejection]]:
    """Read a file of transcripts and/or single messages (one JSON object a line).

    Returns (transcripts, single message dicts in file order, rejections).
    """
    transcripts: list[Transcript] = []
    singles: list[Any] = []
    rejects: list[Rejection] = []
    for n, obj in iter_lines(path):
        if isinstance(obj, InvalidMessage):
            rejects.append(Rejection(n, obj.reason))
        elif isinstance(obj, dict) and "messages" in obj:
            tr = guarded_transcript(n, obj, rejects)
            if tr is not None:
                transcripts.append(tr)
        else:
            singles.append((n, obj))
    return transcripts, singles, rejects


def guarded_transcript(n: int, obj: Any, rejects: list[Rejection]) -> Transcript | None:
    """`parse_transcript`, except that an unexpected error rejects this line only
    (``internal_error``) instead of ending the file."""
    mark = len(rejects)
    try:
        return parse_transcript(n, obj, rejects)
    except Exception:  # its message may hold the input: never kept
        del rejects[mark:]
        rejects.append(Rejection(n, RejectReason.INTERNAL_ERROR))
        return None
