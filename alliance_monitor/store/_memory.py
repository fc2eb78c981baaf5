"""In-memory store: the zero-setup default. Nothing survives the process, but evicted pairs are
kept as compressed JSON, far smaller than live objects, so a memory cap still works."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence

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
