"""Event fan-out: plain-callable handlers and async iterators, fed in order, bounded.

`deliver(events)` hands events to every matching subscriber in the caller's task (the scoring
worker that produced them). Events produced where nobody may wait for handlers (the safety
signal at ingest, events re-emitted during recovery) are `post`ed instead: they go to a bounded
queue that one task drains in order. A full queue drops the batch, counted as `events_dropped`
and logged, rather than growing without bound or starting a task per batch. A failing handler
is counted (`handler_errors`), never fatal; a closed iterator is unsubscribed.

An iterator (`EventStream`) subscribes when it is created, not when it is first iterated, so
no event fired in between is missed. Until its first iteration it buffers up to its buffer
size and drops beyond that (counted as `events_dropped_iterator`: a stream nobody reads never
stalls scoring); once iterated, a full buffer makes delivery wait (a slow consumer slows
scoring, whose pending work then merges, never ingestion).
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._config import EventPolicy
from ._events import Event, EventType
from ._signal import Signal

__all__ = ["POSTED_PER_BUFFER", "EventHandler", "EventStream", "FanOut"]

#: A plain callable that receives every event (sync or async; a return value is ignored).
EventHandler = Callable[[Event], Awaitable[object] | object]
#: Called with each posted batch once it has been delivered (e.g. to record emitted ids).
Delivered = Callable[[Sequence[Event]], Awaitable[None]]

_log = logging.getLogger("alliance_monitor.monitor")


@dataclass(slots=True)
class _Subscription:
    handler: EventHandler | None
    types: frozenset[str] | None
    stream: MemoryObjectSendStream[Event] | None = None
    started: bool = False  # an iterator's first `__anext__` came


class EventStream:
    """An async iterator over a monitor's events, subscribed from the moment it is created
    (`Monitor.events()`); it ends when the monitor closes or on `aclose()`. Also an async
    context manager that closes it."""

    def __init__(self, fanout: FanOut, types: frozenset[str] | None, buffer: int) -> None:
        send, recv = anyio.create_memory_object_stream[Event](max(1, buffer))
        self._fanout = fanout
        self._sub = _Subscription(None, types, send)
        self._recv: MemoryObjectReceiveStream[Event] = recv
        fanout._subs.append(self._sub)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        self._sub.started = True
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self.close()
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Unsubscribe; events already buffered are discarded."""
        if self._sub in self._fanout._subs:
            self._fanout._subs.remove(self._sub)
        assert self._sub.stream is not None
        self._sub.stream.close()
        self._recv.close()

    async def aclose(self) -> None:
        self.close()

    def __del__(self) -> None:
        # A loop left with `break` and never closed: unsubscribe once nobody holds it.
        if hasattr(self, "_recv"):  # not if __init__ failed half-way
            self.close()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


#: Posted event batches (safety signals, recovery) that may wait for the fan-out task, per
#: `EventPolicy.buffer`; beyond, a batch is dropped (counted as ``events_dropped``).
POSTED_PER_BUFFER = 4


class FanOut:
    """Subscribers and the bounded queue of posted event batches.

    Counts (`counts`): ``events_dropped``, ``events_dropped_iterator``, ``handler_errors``,
    ``internal_errors``. `on_progress` is called after each posted batch is done."""

    def __init__(
        self,
        *,
        max_posted: int,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._subs: list[_Subscription] = []
        self._posted: deque[Sequence[Event]] = deque()
        self._max_posted = max(1, max_posted)
        self.counts: Counter[str] = Counter()
        self._wake = Signal()
        self._progress = Signal()
        self._delivering = 0

    @classmethod
    def for_policy(cls, policy: EventPolicy, *, on_progress: Callable[[], None]) -> FanOut:
        """The fan-out of a monitor with this policy."""
        return cls(max_posted=policy.buffer * POSTED_PER_BUFFER, on_progress=on_progress)

    # ---------------------------------------------------------------- subscribing
    def on(
        self, handler: EventHandler, types: Iterable[EventType | str] | None = None
    ) -> Callable[[], None]:
        sub = _Subscription(handler, frozenset(str(t) for t in types) if types else None)
        self._subs.append(sub)
        return lambda: self._subs.remove(sub) if sub in self._subs else None

    def subscribe(self, types: frozenset[str] | None, buffer: int) -> EventStream:
        """A new iterator, subscribed now."""
        return EventStream(self, types, buffer)

    def close(self) -> None:
        """End every iterator (the monitor is closing)."""
        for sub in self._subs:
            if sub.stream is not None:
                sub.stream.close()

    # ---------------------------------------------------------------- delivering
    def post(self, events: Sequence[Event], *, bounded: bool = True) -> bool:
        """Queue events for the fan-out task. False (counted, logged) when the queue is full.
        `bounded=False` is for recovery, whose events are bounded by what the store held."""
        if not events:
            return True
        if bounded and len(self._posted) >= self._max_posted:
            self.counts["events_dropped"] += len(events)
            _log.error(
                "alliance_monitor.events_dropped",
                extra={"count": len(events), "types": sorted({str(e.type) for e in events})},
            )
            return False
        self._posted.append(events)
        self._wake.notify()
        return True

    async def run(self, delivered: Delivered | None = None) -> None:
        """Drain posted batches in order, forever (run it in the monitor's task group)."""
        while True:
            while not self._posted:
                await self._wake.wait()
            events = self._posted.popleft()
            self._delivering += 1
            try:
                await self.deliver(events)
                if delivered is not None:
                    await delivered(events)
            except Exception as exc:  # a bug: count it, keep the fan-out alive
                self.counts["internal_errors"] += 1
                _log.error("alliance_monitor.fanout_error", extra={"error": type(exc).__name__})
            finally:
                self._delivering -= 1
                self._progress.notify()
                if self._on_progress is not None:
                    self._on_progress()

    def forget(self, conversation_id: str) -> int:
        """Drop the pair's events still waiting in the queue (the pair is being erased); returns
        how many were dropped."""
        dropped = 0
        kept: deque[Sequence[Event]] = deque()
        for batch in self._posted:
            rest = [e for e in batch if e.conversation_id != conversation_id]
            dropped += len(batch) - len(rest)
            if rest:
                kept.append(rest)
        self._posted = kept
        return dropped

    @property
    def idle(self) -> bool:
        return not self._posted and not self._delivering

    async def progress(self) -> None:
        await self._progress.wait()

    async def deliver(self, events: Sequence[Event]) -> None:
        """Hand events to every matching subscriber now, in order."""
        for ev in events:
            etype = str(ev.type.value)
            for sub in list(self._subs):
                if sub.types is not None and etype not in sub.types:
                    continue
                if sub.stream is not None:
                    try:
                        if sub.started:
                            await sub.stream.send(ev)
                        else:
                            try:
                                sub.stream.send_nowait(ev)
                            except anyio.WouldBlock:
                                self.counts["events_dropped_iterator"] += 1
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        if sub in self._subs:
                            self._subs.remove(sub)
                    continue
                assert sub.handler is not None
                try:
                    res = sub.handler(ev)
                    if inspect.isawaitable(res):
                        await res
                except Exception as exc:
                    self.counts["handler_errors"] += 1
                    _log.error(
                        "alliance_monitor.handler_failed",
                        extra={"event_type": etype, "error": type(exc).__name__},
                    )
