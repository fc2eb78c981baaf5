"""Helpers shared by the tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def msg(
    conv: str, i: int, role: str, text: str = "hello there", ts: float | None = None, **kw: Any
) -> dict[str, Any]:
    return {
        "conversation_id": conv,
        "id": f"{conv}:{i}",
        "role": role,
        "text": text,
        "ts": float(i) if ts is None else ts,
        **kw,
    }


def alternating(conv: str, n: int, start: int = 0, **kw: Any) -> list[dict[str, Any]]:
    return [
        msg(conv, i, "counselor" if i % 2 == 0 else "client", **kw) for i in range(start, start + n)
    ]


def log_entries(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Every captured `alliance_monitor` record as a dict: `event` (the message), `level`, the
    `extra` fields and any formatted exception, so tests can search all of it for text."""
    skip = set(vars(logging.makeLogRecord({})))
    out = []
    for r in caplog.records:
        if not r.name.startswith("alliance_monitor"):
            continue
        entry = {k: v for k, v in vars(r).items() if k not in skip}
        entry.update(event=r.getMessage(), log_level=r.levelname.lower(), logger=r.name)
        if r.exc_info:
            entry["exception"] = logging.Formatter().formatException(r.exc_info)
        out.append(entry)
    return out


@contextmanager
def capture_logs(caplog: pytest.LogCaptureFixture) -> Iterator[list[dict[str, Any]]]:
    """Capture the library's records at every level; the list is filled when the block ends."""
    caplog.set_level(logging.DEBUG, logger="alliance_monitor")
    caplog.clear()
    entries: list[dict[str, Any]] = []
    try:
        yield entries
    finally:
        entries.extend(log_entries(caplog))
