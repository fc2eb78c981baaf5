"""Group commit, pipelined: one batch commits while the next one gathers.

The monitor's durable part writes through one `Committer`: `ingest` appends a journal row and
waits for the round that commits it; snapshots, pending windows and emitted event ids join the
same rounds. The store does its blocking work off the event loop (`SQLiteStore` in a worker
thread, `RedisStore` over the network), so a round never holds the loop.

Two ways to form rounds, chosen from measurements as it runs:

- *gathered* (the start): when a commit returns, the committer lets every writer it released
  run once and join the next round. One fsync per cycle, but the loop idles during it and the
  disk idles while the writers work: a cycle costs CPU + fsync.
- *pipelined*: the committer takes the open round the moment the disk is free; writers that
  arrived during one commit (independent producers, e.g. webhook requests) go in the next
  without waiting for those the commit released. A round that holds no message (only
  snapshots and emitted ids, written after scored windows) is not taken at once: the writers
  of messages released by the last commit join it first. (An earlier rule, "the first writer
  after an idle disk closes its round at once", split 64 waiting producers into rounds of 1
  and 63, and scored windows' snapshots went in rounds of their own: about two commits where
  one did, 1,187 instead of 657 for 40,000 messages in `benchmarks/store.py`.)

Pipelining wins when the writers' CPU work between two commits takes longer than a commit
(fast disk, many producers); gathering wins when the fsync dominates (a slow or shared disk).
The committer switches to pipelined when the loop's CPU time for gathering (moving average)
exceeds the commit time by a quarter, and back when pipelined writers leave the loop waiting
for the disk for more than 0.6 of a commit. Either way a writer is
released only once *its* round is committed.
"""

from __future__ import annotations

import logging
import time
from collections import deque

import anyio
import anyio.lowlevel

from ._errors import StoreError, StoreFenced
from .store._base import BatchBuilder, JournalRow, StateStore, StoreBatch

__all__ = ["Committer"]

_log = logging.getLogger("alliance_monitor.store")


class _Round:
    """One group commit: its waiters and its outcome."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.error: BaseException | None = None


class Committer:
    """Pipelined group commit: every write waiting at the same moment shares one transaction,
    and the next transaction gathers while the current one is on the disk.

    Rounds are committed one at a time, in order. Pipelined, the committer task takes the open
    round as soon as the previous commit returns when a message waits in it (not waiting for
    the writers that commit released, who form the round after). When the committer is parked
    (nothing was left to write), the first writer wakes it, and the round takes every writer
    of that pass of the event loop.
    """

    def __init__(self, store: StateStore) -> None:
        self.store = store
        #: Rounds are pipelined (see the module docstring) rather than gathered.
        self.pipelined = False
        # Moving averages (seconds): one commit; the loop's CPU work between a commit's return
        # and the next round (gathered); the loop's wait for the disk (pipelined).
        self._commit_s = self._gather_s = self._idle_s = 0.0
        self._last_join = 0.0  # when the latest writer joined the open round
        self._batch = BatchBuilder()
        self._round = _Round()
        self._closed: deque[tuple[StoreBatch, _Round]] = deque()
        self._parked: anyio.Event | None = None
        self.commits = 0
        self.busy = False
        self._dead: BaseException | None = None
        self._running: _Round = _Round()
        self._running.done.set()
        #: The error type of the latest commit while it failed (None once one succeeds, or a
        #: `StateStore.probe` does): the store cannot take writes now (see `Monitor.readiness`).
        self.failing: str | None = None
        #: Seconds between probes of a failing store while nothing else is written.
        self.probe_interval = 1.0

    async def commit(self, batch: StoreBatch) -> None:
        if not batch:
            return
        self._batch.add(batch)
        await self._wait_round()

    async def commit_message(self, conv: str, position: int, message_json: str) -> None:
        """`commit()` of one journal row, without a batch object."""
        self._batch.journal.append(JournalRow(conv, position, message_json))
        await self._wait_round()

    async def commit_apart(self, batch: StoreBatch) -> None:
        """`commit()` in a round of its own, so that its failure fails no other writer (the
        snapshots of evicted pairs: a refused eviction keeps the pairs in memory, while the
        messages committed beside it must not be refused for it)."""
        if not batch:
            return
        if self._batch:
            self._close()  # the open round goes as it is, before this one
        self._batch.add(batch)
        rnd = self._round
        self._close()
        await self._wait_round(rnd)

    def fail(self, exc: BaseException) -> None:
        """The committer task died: every waiting and later write fails with `StoreError`."""
        self._dead = exc
        rounds = [self._round, self._running, *(r for _, r in self._closed)]
        self._closed.clear()
        self._batch = BatchBuilder()
        for rnd in rounds:
            if not rnd.done.is_set():
                rnd.error = exc
                rnd.done.set()
        self.busy = False

    def _close(self) -> None:
        self._closed.append((self._batch.build(), self._round))
        self._batch, self._round = BatchBuilder(), _Round()

    async def _wait_round(self, closed: _Round | None = None) -> None:
        if self._dead is not None:
            self._batch = BatchBuilder()
            raise StoreError(f"state store committer died: {type(self._dead).__name__}")
        rnd = self._round if closed is None else closed
        self._last_join = time.perf_counter()
        parked = self._parked
        if parked is not None:
            self._parked = None
            parked.set()
        await rnd.done.wait()
        if rnd.error is not None:
            # A refused lease stays recognisable (a scale-out worker logs it as fenced).
            kind = StoreFenced if isinstance(rnd.error, StoreFenced) else StoreError
            raise kind(f"state store write failed: {type(rnd.error).__name__}")

    async def run(self) -> None:
        released, released_cpu = time.perf_counter(), time.thread_time()
        while True:
            if not self._closed:
                if not self._batch:
                    parked = self._parked = anyio.Event()
                    if self.failing is None:
                        await parked.wait()
                    else:  # nothing to write, but the store failed: find out when it is back
                        with anyio.move_on_after(self.probe_interval):
                            await parked.wait()
                        if not parked.is_set():
                            await self._probe()
                    continue
                if self.pipelined:
                    if not self._batch.journal:
                        # Only background writes wait (snapshots, emitted ids): let the
                        # writers of messages the last commit released join them first (one
                        # pass), or their round would queue behind one that holds up nobody
                        # (a commit per scored window, half the disk's rounds).
                        await anyio.lowlevel.checkpoint()
                    # Since the last writer joined, the loop had nothing to do but wait.
                    idle = max(0.0, released - self._last_join)
                    self._idle_s += (idle - self._idle_s) / 4
                    if self._idle_s > 0.6 * self._commit_s:
                        self.pipelined = False
                        self._gather_s = 0.0
                else:
                    # Let the writers released by the last commit join this round (one pass
                    # of the loop); if their work took longer than a commit, pipelining
                    # would have hidden it behind the disk.
                    await anyio.lowlevel.checkpoint()
                    work = time.thread_time() - released_cpu  # the loop's CPU, not preemption
                    self._gather_s += (work - self._gather_s) / 4
                    if self.commits and self._gather_s > 1.25 * self._commit_s:
                        self.pipelined = True
                        self._idle_s = 0.0
                self._close()
            batch, rnd = self._closed.popleft()
            self.busy = True
            self._running = rnd
            started = time.perf_counter()
            try:
                await self.store.commit(batch)
            except Exception as exc:  # reported to every waiter of this batch
                rnd.error = exc
                if not isinstance(exc, StoreFenced):  # a lost lease is no store fault
                    self.failing = type(exc).__name__
                _log.error(
                    "alliance_monitor.store_commit_failed",
                    extra={"error": type(exc).__name__},
                )
            else:
                self._recovered()
            released, released_cpu = time.perf_counter(), time.thread_time()
            self._commit_s += (released - started - self._commit_s) / 4
            self.commits += 1
            self.busy = False
            rnd.done.set()

    async def _probe(self) -> None:
        try:
            await self.store.probe()
        except Exception as exc:
            self.failing = type(exc).__name__
        else:
            self._recovered()

    def _recovered(self) -> None:
        if self.failing is not None:
            self.failing = None
            _log.warning("alliance_monitor.store_recovered")

    @property
    def idle(self) -> bool:
        return not self.busy and not self._batch and not self._closed

    async def settled(self) -> None:
        """Wait until every write submitted before this call is committed (or failed); writes
        submitted later are not waited for (so a steady stream of them cannot hold it up)."""
        if self._batch:
            rnd = self._round
        elif self._closed:
            rnd = self._closed[-1][1]
        else:
            rnd = self._running
        await rnd.done.wait()

    async def barrier(self) -> None:
        """Wait until everything submitted so far is committed."""
        while not self.idle:
            if self._batch:
                await self._round.done.wait()
            elif self._closed:
                await self._closed[-1][1].done.wait()
            else:
                await self._running.done.wait()
