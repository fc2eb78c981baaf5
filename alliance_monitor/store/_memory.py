"""In-memory store: the zero-setup default. Nothing survives the process, but evicted pairs are
kept as compressed JSON, far smaller than live objects, so a memory cap still works."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence

from ._base import PairRecord, StateStore, StoreBatch

__all__ = ["MemoryStore"]


class MemoryStore(StateStore):
    """State in this process only (the default): fast, and gone when the process ends. Useful
    for tests and for deployments that accept losing open windows on a restart."""

    durable = False
    url = "memory://"

    def __init__(self) -> None:
        self._snap: dict[str, tuple[int, bytes, bool]] = {}
        self._journal: dict[str, dict[int, str]] = {}
        self._pending: dict[str, dict[int, str]] = {}
        self._emitted: set[str] = set()
        self._board: dict[str, bytes] = {}
        self._board_changed: dict[str, int] = {}
        self._board_version = 0

    async def commit(self, batch: StoreBatch) -> None:
        for conv, pos, msg in batch.journal:
            self._journal.setdefault(conv, {})[pos] = msg
        for conv, idx, req in batch.pending_put:
            self._pending.setdefault(conv, {})[idx] = req
        for conv, idx in batch.pending_del:
            self._pending.get(conv, {}).pop(idx, None)
        for conv, pos, state, resident in batch.snapshots:
            self._snap[conv] = (pos, zlib.compress(state.encode(), 1), resident)
            j = self._journal.get(conv)
            if j:
                for p in [p for p in j if p <= pos]:
                    del j[p]
        self._emitted.update(batch.emitted)
        for conv, record in batch.board:
            self._board_version += 1
            if record is None:
                self._board.pop(conv, None)
                self._board_changed.pop(conv, None)
            else:
                self._board[conv] = record
                self._board_changed[conv] = self._board_version

    async def load_pair(self, conversation_id: str) -> PairRecord | None:
        snap = self._snap.get(conversation_id)
        journal = self._journal.get(conversation_id, {})
        pending = self._pending.get(conversation_id, {})
        if snap is None and not journal and not pending:
            return None
        return PairRecord(
            conversation_id,
            json.loads(zlib.decompress(snap[1])) if snap else None,
            sorted(journal.items()),
            [json.loads(pending[k]) for k in sorted(pending)],
        )

    async def resident_pairs(self) -> list[str]:
        convs = {c for c, (_, _, r) in self._snap.items() if r}
        convs |= {c for c, j in self._journal.items() if j}
        convs |= {c for c, p in self._pending.items() if p}
        return sorted(convs)

    async def known_pairs(self) -> list[str] | None:
        return sorted({*self._snap, *self._journal, *self._pending})

    async def emitted(self, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if i in self._emitted}

    async def erase(self, conversation_id: str) -> dict[str, int]:
        snap = self._snap.pop(conversation_id, None)
        journal = self._journal.pop(conversation_id, {})
        pending = self._pending.pop(conversation_id, {})
        board = self._board.pop(conversation_id, None)
        if board is not None:
            self._board_version += 1
            self._board_changed.pop(conversation_id, None)
        return {
            "snapshots": int(snap is not None),
            "journal_messages": len(journal),
            "pending_windows": len(pending),
            "board_records": int(board is not None),
        }

    async def load_board(self, conversation_ids: Sequence[str] | None = None) -> dict[str, bytes]:
        if conversation_ids is None:
            return dict(self._board)
        return {c: self._board[c] for c in conversation_ids if c in self._board}

    async def board_changes(self, since: int) -> tuple[int, dict[str, bytes]] | None:
        changed = {c: self._board[c] for c, v in self._board_changed.items() if v > since}
        return self._board_version, changed

    async def board_size(self) -> int:
        return len(self._board)

    async def stale_pairs(self, before: float) -> list[str]:
        out = set()
        for conv, (_, state, _) in self._snap.items():
            if float(json.loads(zlib.decompress(state)).get("last_seen") or 0.0) < before:
                out.add(conv)
        for conv, journal in self._journal.items():
            if conv not in self._snap and journal and _last_ts(journal.values()) < before:
                out.add(conv)
        return sorted(out)


def _last_ts(messages: Iterable[str]) -> float:
    """The latest platform timestamp of journaled messages (a pair never snapshotted)."""
    return max((float(json.loads(m).get("ts") or 0.0) for m in messages), default=0.0)
