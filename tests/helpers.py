"""Helpers shared by the tests."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from alliance_monitor.adapters.http import sign_webhook


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


def signed_headers(secret: str, body: bytes, webhook_id: str | None = None) -> dict[str, str]:
    """Headers of a JSON delivery signed the Standard Webhooks way with `secret` (``whsec_``),
    stamped now; a fresh webhook id unless one is given."""
    wid = webhook_id or "d-" + uuid.uuid4().hex
    stamp = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": wid,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_webhook([secret], wid, stamp, body),
    }
