"""Which pairs are in memory: loading them from the store, evicting them over `max_pairs`,
forgetting them, and ending the sessions of those that left.

The monitor hands over two of its own methods: `take` (what a load or an ended session returns
becomes scheduler work and fan-out posts) and `dropped` (every part lets go of pairs that left
memory), so both stay in one place. Eviction runs off the path of the message that went over
the cap: `wake` only sets a flag; `run` (a task of its own) moves least-recently-used idle pairs
to the store (`Durable.evict`, whose snapshots commit in a round of their own). A burst may go
over the cap while the snapshots are written; `idle` tells `flush` when a pass is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import anyio

from ._core import MonitorCore, Outcome
from ._durable import Durable, Loaded
from ._events import EndReason
from ._signal import Signal

__all__ = ["Residency"]


class Residency:
    """The monitor's pairs in memory and in the store."""

    def __init__(
        self,
        durable: Durable,
        core: MonitorCore,
        busy: Callable[[str], bool],
        take: Callable[[Outcome | Loaded], None],
        dropped: Callable[[Iterable[str]], None],
    ) -> None:
        """`busy`: a pair has a window waiting or being scored (never evicted nor forgotten);
        `take`, `dropped`: the monitor's (see the module docstring)."""
        self._durable, self._core = durable, core
        self._busy, self._take, self._dropped = busy, take, dropped
        #: Called when an eviction pass ends (the monitor's `flush` listens).
        self.on_done: Callable[[], None] = lambda: None
        self._wake = Signal()
        self._woken = False  # woken and its eviction pass not finished

    async def load(self, conv: str) -> None:
        """The pair is in memory when this returns (or the store never saw it)."""
        if not self._core.has_pair(conv):  # the common case costs one lookup, no await
            self._take(await self._durable.ensure_loaded(conv))

    def forget(self, predicate: Callable[[str], bool]) -> int:
        """Drop matching pairs not being scored (reloaded from the store on next use)."""
        dropped = self._durable.forget_pairs(predicate, self._busy)
        self._dropped(dropped)
        return len(dropped)

    async def erase(self, conv: str) -> dict[str, int]:
        """The pair out of memory and out of the store (its counts); every part lets go."""
        counts = await self._durable.erase(conv)
        self._dropped([conv])
        return counts

    def drop(self, conv: str) -> None:
        """Drop a pair whose state may be half-updated (a failed write, a bug) so that it is
        reloaded from the store; without a journal it is kept (nothing holds it but memory)."""
        if self._durable.journal:
            self._dropped(self._durable.forget([conv]))

    async def end_evicted(self, due: Callable[[float], bool], reason: EndReason) -> None:
        """End the sessions of evicted pairs whose last activity is `due` (loads each first)."""
        for conv in self._durable.due_evicted(due):
            await self.load(conv)
            self._take(self._core.end_session(conv, reason))

    async def sweep_idle(self, interval: float, clock: Callable[[], float]) -> None:
        """Every `interval` seconds, end the sessions idle past the session policy's timeout:
        evicted pairs' (last seen before the cutoff) and those in memory."""
        while True:
            await anyio.sleep(interval)
            cutoff = (now := clock()) - self._core.session.idle_timeout
            await self.end_evicted(cutoff.__gt__, "idle")
            self._take(self._core.expire_idle(now))

    async def end_all_evicted(self) -> None:
        # Loading evicted pairs can push resident ones with open sessions out, so repeat until
        # none is left behind.
        while self._durable.evicted_open:
            await self.end_evicted(lambda _seen: True, "shutdown")

    # ---------------------------------------------------------------- eviction
    @property
    def idle(self) -> bool:
        return not self._woken

    def wake(self) -> None:
        """Over the cap: evict soon (never waits; called after every message, so cheap)."""
        cap = self._durable.max_pairs
        if cap is not None and not self._woken and self._core.n_pairs > cap:
            self._woken = True
            self._wake.notify()

    async def run(self) -> None:
        """The evictor task."""
        while True:
            while not self._woken:
                await self._wake.wait()
            try:
                while self._durable.excess:
                    dropped = await self._durable.evict(self._busy)
                    if not dropped:
                        break  # every candidate is being scored, or the store refused: later
                    self._dropped(dropped)
            finally:
                self._woken = False
                self.on_done()
