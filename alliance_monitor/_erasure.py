"""What erasing a pair removed (`Monitor.erase`), and what else can be asked to erase one.

A client who withdraws consent, or a retention rule, needs every trace of a pair's messages
gone: from the monitor's memory, the state store, the alert outbox, the supervisor board. The
monitor erases what it holds and asks each `Erasable` it is given for the rest; the `Erasure`
it returns says, place by place, how much was removed (counts, never content).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Erasable", "Erasure"]


@runtime_checkable
class Erasable(Protocol):
    """Anything else holding a pair's data: `AlertDispatcher`, `PairBoard`, your own.
    `erase` returns counts by name (``"outbox.alerts": 2``), or an awaitable of them."""

    def erase(self, conversation_id: str) -> Mapping[str, int] | Awaitable[Mapping[str, int]]:
        """Remove everything held of the pair; how much of what was removed."""
        ...


@dataclass(frozen=True, slots=True)
class Erasure:
    """What `Monitor.erase` removed of one pair: counts by place and kind, e.g.
    ``memory.pair`` (1 when it was in memory), ``memory.windows_queued``,
    ``memory.events_queued``, ``store.snapshots``, ``store.journal_messages``,
    ``store.pending_windows``, and whatever the `Erasable` parts report (``outbox.alerts``,
    ``board.pairs``). A place holding nothing reports 0: the erasure still happened there."""

    conversation_id: str
    removed: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Everything removed, all places together."""
        return sum(self.removed.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "removed": dict(sorted(self.removed.items())),
            "total": self.total,
        }
