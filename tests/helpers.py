"""Helpers shared by the tests."""

from __future__ import annotations

from typing import Any


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
