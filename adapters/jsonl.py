"""JSONL files and stdin: one message a line, or one transcript a line (what ``replay`` reads).

    async with monitor:
        await pump(JsonlAdapter("messages.jsonl"), monitor)          # a file, to its end
        await pump(JsonlAdapter("-"), monitor)                       # stdin, until it closes
        await pump(JsonlAdapter("live.jsonl", follow=True), monitor) # tail -f

A line is either a message object (the fields of `alliance_monitor.Message`) or a transcript
``{"conversation_id": ..., "messages": [...]}`` whose messages take its conversation id. A line
that is not JSON is counted as ``invalid_json``, one that is not an object as ``invalid_schema``;
the text of a bad line is never kept. Files are read in blocks on a worker thread, so the event
loop never blocks on disk.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import IO

import anyio
import anyio.to_thread

from alliance_monitor import JSONRejected, RejectReason, safe_json_loads

from ._base import PullAdapter, PullItem

__all__ = ["JsonlAdapter", "parse_line"]

_BLOCK = 1 << 16


def parse_line(line: str) -> Iterator[PullItem]:
    """The messages (or reject reasons) of one JSONL line."""
    if not line.strip():
        return
    try:
        obj = safe_json_loads(line)
    except JSONRejected as exc:  # never holds the line
        yield exc.reason
        return
    if isinstance(obj, dict) and isinstance(obj.get("messages"), list):
        conv = obj.get("conversation_id")
        for raw in obj["messages"]:
            if isinstance(raw, dict):
                yield {**raw, "conversation_id": conv} if conv is not None else raw
            else:
                yield RejectReason.INVALID_SCHEMA
    elif isinstance(obj, dict):
        yield obj
    else:
        yield RejectReason.INVALID_SCHEMA


class JsonlAdapter(PullAdapter):
    """Reads a JSONL file (``"-"``: standard input) to its end, or follows it as it grows."""

    name = "jsonl"

    def __init__(
        self,
        path: str | os.PathLike[str] = "-",
        *,
        follow: bool = False,
        poll_interval: float = 0.5,
        stream: IO[str] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.follow = follow
        self.poll_interval = poll_interval
        self._stream = stream
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[PullItem]:
        f, owned = self._open()
        partial = ""
        try:
            while not self._closed:
                lines: list[str] = await anyio.to_thread.run_sync(f.readlines, _BLOCK)
                if not lines:
                    if not self.follow:
                        break
                    await anyio.sleep(self.poll_interval)
                    continue
                if partial:
                    lines[0] = partial + lines[0]
                    partial = ""
                if self.follow and not lines[-1].endswith("\n"):
                    partial = lines.pop()  # a writer is mid-line: finish it next round
                for line in lines:
                    for item in parse_line(line):
                        yield item
            for item in parse_line(partial):
                yield item
        finally:
            if owned:
                f.close()

    def _open(self) -> tuple[IO[str], bool]:
        if self._stream is not None:
            return self._stream, False
        if self.path == "-":
            return sys.stdin, False
        return open(self.path, encoding="utf-8", errors="surrogateescape"), True

    async def aclose(self) -> None:
        self._closed = True
