"""The state-store interface: what the monitor must not lose.

A store keeps, per pair: a *snapshot* of the core's state (JSON, see `_state.py`) taken at some
journal position, the *journal* of messages accepted after that position, and the *pending*
windows (closed, not yet scored, and no longer in the journal: the monitor writes them with the
snapshot that drops their messages). Plus the ids of events already emitted. Recovery is: load the
snapshot, re-ingest the journal after it (the core is deterministic, so the state comes back
exactly), and re-score the pending windows; events whose ids were already emitted are dropped.

Writes arrive as `StoreBatch`es and a store applies each batch atomically, in order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PairRecord", "StateStore", "StoreBatch"]


@dataclass(slots=True)
class StoreBatch:
    #: (conversation_id, position, message JSON) of accepted messages.
    journal: list[tuple[str, int, str]] = field(default_factory=list)
    #: conversation_id -> (position, state JSON, resident). Replaces the previous snapshot and
    #: drops journal entries at or before `position`.
    snapshots: dict[str, tuple[int, str, bool]] = field(default_factory=dict)
    #: (conversation_id, window_index, request JSON) of closed windows awaiting a score.
    pending_put: list[tuple[str, int, str]] = field(default_factory=list)
    pending_del: list[tuple[str, int]] = field(default_factory=list)
    emitted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.journal or self.snapshots or self.pending_put or self.pending_del or self.emitted
        )

    def extend(self, other: StoreBatch) -> None:
        self.journal.extend(other.journal)
        self.snapshots.update(other.snapshots)
        self.pending_put.extend(other.pending_put)
        self.pending_del.extend(other.pending_del)
        self.emitted.extend(other.emitted)


@dataclass(slots=True)
class PairRecord:
    conversation_id: str
    snapshot: dict[str, Any] | None
    #: (position, message JSON) after the snapshot's position, in order.
    journal: list[tuple[int, str]]
    #: request states of windows awaiting a score, by window index.
    pending: list[dict[str, Any]]


class StateStore(ABC):
    """Base class of state stores. Implementations: memory, SQLite, Redis."""

    #: True when committed batches survive a process crash.
    durable: bool = False
    url: str = ""

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Connect / create the schema."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    @abstractmethod
    async def commit(self, batch: StoreBatch) -> None:
        """Apply a batch atomically; when this returns, the batch is as durable as the store."""

    @abstractmethod
    async def load_pair(self, conversation_id: str) -> PairRecord | None:
        """Everything stored for one pair, or None if the store never saw it."""

    @abstractmethod
    async def resident_pairs(self) -> list[str]:
        """Pairs that were in memory (not evicted) when the last process stopped."""

    async def evicted_open_sessions(self) -> list[tuple[str, float]]:
        """Pairs evicted with a session still open, and their last activity (wall-clock time),
        so a restarted monitor can still end those sessions. Stores that cannot list them
        cheaply return [] (the session then ends on the pair's next message)."""
        return []

    @abstractmethod
    async def emitted(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` were already emitted."""

    async def integrity_check(self) -> bool:
        """True when the store's own consistency check passes."""
        return True

    async def __aenter__(self) -> StateStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
