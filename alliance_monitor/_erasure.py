"""What erasing a pair removed (`Monitor.erase`), and what else can be asked to erase one.

A client who withdraws consent, or a retention rule, needs every trace of a pair's messages
gone: from the monitor's memory, the state store, the alert outbox, the supervisor board. The
monitor erases what it holds and asks each `Erasable` it is given for the rest; the `Erasure`
it returns says, place by place, how much was removed (counts, never content).
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import anyio

if TYPE_CHECKING:
    from ._core import MonitorCore
    from ._fanout import FanOut
    from ._residency import Residency
    from ._scheduler import Scheduler
    from ._signal import Signal

__all__ = ["Erasable", "Erasure", "PairEraser"]

_log = logging.getLogger("alliance_monitor.monitor")


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


class PairEraser:
    """The monitor's erasure stage: gates a pair's incoming messages while it is erased, and
    removes the pair from every part that holds it (see `Monitor.erase`)."""

    def __init__(
        self,
        core: MonitorCore,
        scheduler: Scheduler,
        fanout: FanOut,
        pairs: Residency,
        activity: Signal,
    ) -> None:
        self._core, self._scheduler, self._fanout = core, scheduler, fanout
        self._pairs, self._activity = pairs, activity
        self._erasing: dict[str, anyio.Event] = {}  # pairs being erased: their messages wait
        self._ingesting: Counter[str] = Counter()  # messages of each pair being taken
        self.counts: Counter[str] = Counter()  # pairs_erased

    @asynccontextmanager
    async def taking(self, conv: str) -> AsyncIterator[None]:
        """Around the taking of one message of `conv`: waits while the pair is being erased
        (the message then starts it afresh), and an erasure waits for the message."""
        if self._erasing:
            gate = self._erasing.get(conv)
            if gate is not None:
                await gate.wait()
        self._ingesting[conv] += 1
        try:
            yield
        finally:
            self._ingesting[conv] -= 1
            if not self._ingesting[conv]:
                del self._ingesting[conv]

    async def erase(self, conv: str, also: Iterable[Erasable]) -> Erasure:
        while (earlier := self._erasing.get(conv)) is not None:
            await earlier.wait()  # one erasure of a pair at a time
        gate = self._erasing[conv] = anyio.Event()
        removed: Counter[str] = Counter()
        try:
            removed["memory.windows_queued"] = len(self._scheduler.waiting(conv))
            self._scheduler.forget(conv)
            # Messages past the gate and a window being scored finish first.
            while self._ingesting.get(conv) or self._scheduler.busy(conv):
                with anyio.move_on_after(0.05):
                    await self._activity.wait()
            removed["memory.events_queued"] = self._fanout.forget(conv)
            removed["memory.pair"] = int(self._core.has_pair(conv))
            # The other holders first (no event of the pair reaches them any more), so that
            # nothing of theirs is written back to the store after the store's erasure.
            for part in also:
                counts = part.erase(conv)
                if inspect.isawaitable(counts):
                    counts = await counts
                removed.update(counts)
            for name, n in (await self._pairs.erase(conv)).items():
                removed["store." + name] += n
        finally:
            del self._erasing[conv]
            gate.set()
        self.counts["pairs_erased"] += 1
        _log.info("alliance_monitor.pair_erased", extra={"removed": dict(removed)})
        return Erasure(conv, dict(removed))

    async def erase_stale(self, stale: Iterable[str], also: Iterable[Erasable]) -> list[Erasure]:
        parts = list(also)
        out = [await self.erase(conv, parts) for conv in sorted(set(stale))]
        if out:
            _log.info("alliance_monitor.retention_sweep", extra={"pairs_erased": len(out)})
        return out
