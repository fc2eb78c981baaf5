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
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "BatchBuilder",
    "BoardRow",
    "JournalRow",
    "PairRecord",
    "PendingKey",
    "PendingRow",
    "SnapshotRow",
    "StateStore",
    "StoreBatch",
]


class JournalRow(NamedTuple):
    """An accepted message, at its position in its pair's journal."""

    conversation_id: str
    position: int
    message_json: str


class SnapshotRow(NamedTuple):
    """A pair's state; replaces its previous snapshot and drops journal rows up to `position`."""

    conversation_id: str
    position: int
    state_json: str
    #: False when the pair left memory (evicted): recovery does not load it eagerly.
    resident: bool


class PendingRow(NamedTuple):
    """A closed window awaiting a score (its request as JSON)."""

    conversation_id: str
    window_index: int
    request_json: str


class PendingKey(NamedTuple):
    conversation_id: str
    window_index: int


class BoardRow(NamedTuple):
    """A pair's supervisor-board record (`study.StoredBoard`: compressed JSON, no message
    text unless the deployment opted in), or None to delete it. Written in the same batch as
    the ids of the events it reflects, so a restart neither loses nor repeats one."""

    conversation_id: str
    record: bytes | None


@dataclass(frozen=True, slots=True)
class StoreBatch:
    """One atomic write. Rows are named tuples, so stores can hand them to drivers as they are."""

    journal: tuple[JournalRow, ...] = ()
    #: At most one per pair.
    snapshots: tuple[SnapshotRow, ...] = ()
    pending_put: tuple[PendingRow, ...] = ()
    pending_del: tuple[PendingKey, ...] = ()
    #: Ids of events already handed to subscribers.
    emitted: tuple[str, ...] = ()
    #: At most one per pair.
    board: tuple[BoardRow, ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.journal
            or self.snapshots
            or self.pending_put
            or self.pending_del
            or self.emitted
            or self.board
        )

    def conversations(self) -> set[str]:
        """Every pair the batch writes to (the emitted ids name none)."""
        convs = {r.conversation_id for r in self.journal}
        convs |= {r.conversation_id for r in self.snapshots}
        convs |= {r.conversation_id for r in self.pending_put}
        convs |= {r.conversation_id for r in self.pending_del}
        convs |= {r.conversation_id for r in self.board}
        return convs


class BatchBuilder:
    """Collects writes for the next group commit; `build()` freezes them into a `StoreBatch`.
    A later snapshot of the same pair replaces an earlier one."""

    __slots__ = ("board", "emitted", "journal", "pending_del", "pending_put", "snapshots")

    def __init__(self) -> None:
        self.journal: list[JournalRow] = []
        self.snapshots: dict[str, SnapshotRow] = {}
        self.pending_put: list[PendingRow] = []
        self.pending_del: list[PendingKey] = []
        self.emitted: list[str] = []
        self.board: dict[str, BoardRow] = {}

    def __bool__(self) -> bool:
        return bool(
            self.journal
            or self.snapshots
            or self.pending_put
            or self.pending_del
            or self.emitted
            or self.board
        )

    def add(self, batch: StoreBatch) -> None:
        self.journal.extend(batch.journal)
        self.snapshots.update((s.conversation_id, s) for s in batch.snapshots)
        self.pending_put.extend(batch.pending_put)
        self.pending_del.extend(batch.pending_del)
        self.emitted.extend(batch.emitted)
        self.board.update((r.conversation_id, r) for r in batch.board)

    def build(self) -> StoreBatch:
        return StoreBatch(
            tuple(self.journal),
            tuple(self.snapshots.values()),
            tuple(self.pending_put),
            tuple(self.pending_del),
            tuple(self.emitted),
            tuple(self.board.values()),
        )


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

    async def known_pairs(self) -> list[str] | None:
        """Every pair the store holds anything of, when this process is its only writer; None
        when other processes write to it too (Redis) or it cannot list them. With a list, the
        monitor skips the store for a conversation it has never seen (no load on the path of
        a new conversation's first message)."""
        return None

    async def evicted_open_sessions(self) -> list[tuple[str, float]]:
        """Pairs evicted with a session still open, and their last activity (wall-clock time),
        so a restarted monitor can still end those sessions. Stores that cannot list them
        cheaply return [] (the session then ends on the pair's next message)."""
        return []

    @abstractmethod
    async def emitted(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` were already emitted."""

    async def erase(self, conversation_id: str) -> dict[str, int]:
        """Delete everything stored of one pair, its messages' text included: the snapshot,
        the journal and the windows awaiting a score (`Monitor.erase` calls it once the pair
        is out of memory and no write of it is on the way). Returns how many of each were
        removed (``snapshots``, ``journal_messages``, ``pending_windows``, ``board_records``);
        zeros when the store never held the pair. Emitted event ids stay: they are hashes, no
        text and no id."""
        raise NotImplementedError(f"{type(self).__name__} cannot erase pairs")

    async def load_board(self, conversation_ids: Sequence[str] | None = None) -> dict[str, bytes]:
        """Supervisor-board records (`BoardRow`): every one (None), or those of these pairs."""
        return {}

    async def board_changes(self, since: int) -> tuple[int, dict[str, bytes]] | None:
        """Board records written after change number `since`, and the latest change number,
        for a board in another process to follow; None when the store keeps no change log
        (read them all again). Deleted records are not listed: compare `board_size`."""
        return None

    async def board_size(self) -> int:
        """How many board records the store holds."""
        return len(await self.load_board())

    async def stale_pairs(self, before: float) -> list[str]:
        """Pairs whose last message arrived before `before` (wall-clock seconds): what a
        retention sweep erases. Evicted and resident pairs alike; [] when the store cannot
        tell."""
        return []

    async def integrity_check(self) -> bool:
        """True when the store's own consistency check passes."""
        return True

    async def probe(self) -> None:  # noqa: B027 - optional hook
        """Raise if the store cannot take a write now; cheap. Called about once a second after a
        commit failed, while nothing else is written, to tell when the store is back (until
        then the monitor reports itself not ready). The default checks nothing."""

    async def __aenter__(self) -> StateStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
