"""Scale-out: several worker processes ingest from Redis Streams and share a `RedisStore`.

Design (docs/scale-out.md has the long version):

- **Shards.** A producer sends each message to stream ``NAME:{k}`` with
  ``k = crc32(conversation_id) % shards`` (`publish()` does it). A pair's messages are all in
  one shard, in the order they were published.
- **Leases.** A worker processes a shard only while it holds the shard's lease, a Redis key
  set with ``SET NX PX`` and renewed every third of its TTL. Workers register in a heartbeat
  set and each aims at ``ceil(shards / live workers)`` shards, releasing extras gracefully, so a
  joining worker gets its share and a dead worker's shards are taken once its leases expire.
- **One writer per pair.** Every store write of a worker is *fenced*: the Lua script that
  applies the batch first checks that the worker still holds the lease of each shard the batch
  touches, and refuses the whole batch otherwise. A paused worker that lost its lease can
  therefore never overwrite the new holder's state; it notices and stops consuming the shard.
- **Taking over.** On acquiring shard k, the worker drops any in-memory state of k's pairs
  (`Monitor.forget_pairs`), restores k's resident pairs from the store (re-scoring their
  pending windows), claims every pending entry of the shard's consumer group with
  ``XAUTOCLAIM`` (entries a dead holder read but never acknowledged) and processes them before
  reading new ones with ``XREADGROUP``.
- **At-least-once, idempotent.** An entry is acknowledged (``XACK``) only after
  ``await monitor.ingest()`` returned, i.e. after its journal write committed. A crash before
  the ack re-delivers it; the monitor recognises it as a duplicate.
- **Events** go to the stream ``NAME:events``. Each is added by a Lua script that first sets
  ``NAME:events:seen:{event id}`` with ``NX`` and a TTL (7 days by default), so a receiver sees
  every event once even when a crash made two workers emit it.
- **Graceful shutdown** (SIGTERM / SIGINT): stop reading, finish and acknowledge the entries
  in hand, score pending windows and publish their events, then release the leases.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import signal
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from alliance_monitor import (
    ConfigError,
    Erasable,
    Event,
    IngestResult,
    InvalidMessage,
    Message,
    Monitor,
    RejectReason,
    StoreError,
    StoreFenced,
    parse_message,
)
from alliance_monitor.store import PairRecord, RedisStore, StateStore, StoreBatch, import_redis

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from alliance_monitor.alerts import AlertDispatcher
    from alliance_monitor.scoring import Scorer
    from alliance_monitor.study import StoredBoard

__all__ = [
    "DEFAULT_SHARDS",
    "StreamPublisher",
    "Worker",
    "erasure_key",
    "events_key",
    "publish",
    "run_worker",
    "shard_key",
    "shard_of",
    "state_prefix",
]

_log = logging.getLogger("alliance_monitor.worker")

DEFAULT_SHARDS = 16
DEFAULT_GROUP = "alliance-monitor"
_EVENT_TTL_MS = 7 * 24 * 3600 * 1000

# KEYS: seen-marker, events stream. ARGV: ttl ms, event id, type, event JSON, maxlen (0 = none),
# conversation id.
_PUBLISH_EVENT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  if tonumber(ARGV[5]) > 0 then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
               'id', ARGV[2], 'type', ARGV[3], 'event', ARGV[4], 'c', ARGV[6])
  else
    redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'type', ARGV[3], 'event', ARGV[4],
               'c', ARGV[6])
  end
  return 1
end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def shard_of(conversation_id: str, shards: int) -> int:
    """The shard of a pair: ``crc32(utf-8 conversation id) % shards`` (easy in any language)."""
    return zlib.crc32(conversation_id.encode("utf-8", "surrogatepass")) % shards


def state_prefix(stream: str) -> str:
    """The key prefix of a stream's state in the store when none is given: the stream's name is
    part of the state's key space, so the same conversation ids on two streams are two pairs.
    Give two streams one `RedisStore(prefix=...)` only to share their pairs on purpose."""
    return f"alliance-monitor:{stream}:"


def shard_key(stream: str, shard: int) -> str:
    return f"{stream}:{{{shard}}}"


def events_key(stream: str) -> str:
    return f"{stream}:events"


def erasure_key(stream: str, request_id: str) -> str:
    """Where the worker that erased a pair leaves its report for the ingest process."""
    return f"{stream}:erasure:{request_id}"


async def publish(
    redis: Redis,
    stream: str,
    message: Mapping[str, Any],
    *,
    shards: int = DEFAULT_SHARDS,
    maxlen: int | None = None,
) -> str:
    """Producer helper: add one message (a dict as for `Monitor.ingest`) to its pair's shard.

    `shards` must match the workers'. `maxlen` trims the shard stream approximately; set it far
    above any backlog, since entries trimmed before a worker read them are lost.
    """
    conv = message.get("conversation_id")
    k = shard_of(conv if isinstance(conv, str) else "", shards)
    entry_id = await redis.xadd(
        shard_key(stream, k),
        {"m": json.dumps(message)},
        maxlen=maxlen,
        approximate=True,
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


class StreamPublisher:
    """The message sink of a scale-out ingest process (``serve --mode ingest``): adapters hand it
    messages as they would to a `Monitor`; each is validated as the monitor validates it and
    added to its pair's shard (`publish`), and only then answered "accepted", so a platform's
    delivery is acknowledged once the stream has every message of it. Nothing is scored here.

    Refused input is rejected with the monitor's reasons and counted; a message the stream could
    not take raises `StoreError` (the receiver answers 503 and the platform sends it again).
    Duplicates are not looked for here: the worker holding the pair absorbs them. `stats()`
    has the monitor's counter names (``messages_in``, ``accepted``, ``rejected_by_reason``),
    so `/metrics` reads the same. `erase` asks the worker holding a pair to erase it, in order
    with the pair's messages, and waits for its report.
    """

    def __init__(
        self,
        redis: Redis,
        stream: str,
        *,
        shards: int = DEFAULT_SHARDS,
        maxlen: int | None = None,
    ) -> None:
        if shards < 1:
            raise ConfigError("stream shards must be >= 1")
        self.redis = redis
        self.stream = stream
        self.shards = shards
        self.maxlen = maxlen or None
        self.counts: dict[str, int] = {"messages_in": 0, "accepted": 0, "published": 0}
        self.rejected: dict[str, int] = {}
        #: The error type of the latest failed publish, None once one succeeds.
        self.failing: str | None = None

    async def ingest(self, message: Message | Mapping[str, Any]) -> IngestResult:
        self.counts["messages_in"] += 1
        try:
            msg = message if isinstance(message, Message) else parse_message(message)
        except InvalidMessage as exc:
            self.reject(exc.reason, counted=True)
            return IngestResult("rejected", exc.reason, field=exc.field)
        k = shard_of(msg.conversation_id, self.shards)
        try:
            await self.redis.xadd(
                shard_key(self.stream, k),
                {"m": msg.model_dump_json(exclude_defaults=True)},
                maxlen=self.maxlen,
                approximate=True,
            )
        except Exception as exc:  # redis down or refusing writes: not accepted
            self.failing = type(exc).__name__
            self.reject(RejectReason.STORE_ERROR, counted=True)
            _log.warning("alliance_monitor.ingest_publish_failed", extra={"error": self.failing})
            raise StoreError(f"the stream did not take the message: {self.failing}") from None
        self.failing = None
        self.counts["accepted"] += 1
        self.counts["published"] += 1
        return IngestResult("accepted", conversation_id=msg.conversation_id, message_id=msg.id)

    def reject(self, reason: RejectReason, *, counted: bool = False) -> None:
        if not counted:
            self.counts["messages_in"] += 1
        self.rejected[reason.value] = self.rejected.get(reason.value, 0) + 1

    def stats(self) -> dict[str, Any]:
        return {**self.counts, "rejected_by_reason": dict(self.rejected)}

    async def erase(self, conversation_id: str) -> dict[str, Any]:
        """Put an erasure request in the pair's shard, after its messages, and wait for the
        report of the worker that holds the pair. Bound the wait with `anyio.fail_after`: a
        request not answered in time stays queued and is carried out when a worker takes the
        shard."""
        rid = uuid.uuid4().hex
        k = shard_of(conversation_id, self.shards)
        await self.redis.xadd(shard_key(self.stream, k), {"e": conversation_id, "r": rid})
        key = erasure_key(self.stream, rid)
        while True:
            raw = await self.redis.get(key)
            if raw is not None:
                await self.redis.delete(key)
                report: dict[str, Any] = json.loads(raw)
                return report
            await anyio.sleep(0.05)


class _FencedStore(StateStore):
    """The worker's view of the shared store: every write is fenced by the leases of the shards
    it touches, and start-up recovery is left to the worker (shard by shard, on acquisition)."""

    durable = True

    def __init__(
        self,
        inner: RedisStore,
        fence: Callable[[Iterable[str]], dict[str, str]],
        owns: Callable[[str], bool] | None = None,
    ):
        self.inner = inner
        self.url = inner.url
        self._fence = fence
        self._owns = owns

    async def commit(self, batch: StoreBatch) -> None:
        if batch.board and self._owns is not None:
            # A board record marked before its shard went to another worker is that worker's
            # to write now: carried along, it would get the whole batch refused (fenced).
            keep = tuple(r for r in batch.board if self._owns(r.conversation_id))
            if len(keep) < len(batch.board):
                batch = dataclasses.replace(batch, board=keep)
        await self.inner.commit(batch, fence=self._fence(batch.conversations()))

    async def load_board(self, conversation_ids: Sequence[str] | None = None) -> dict[str, bytes]:
        return await self.inner.load_board(conversation_ids)

    async def load_pair(self, conversation_id: str) -> PairRecord | None:
        return await self.inner.load_pair(conversation_id)

    async def resident_pairs(self) -> list[str]:
        return []  # the worker restores each shard's pairs when it acquires the shard

    async def emitted(self, ids: Sequence[str]) -> set[str]:
        return await self.inner.emitted(ids)

    async def erase(self, conversation_id: str) -> dict[str, int]:
        return await self.inner.erase(conversation_id, fence=self._fence([conversation_id]))

    async def stale_pairs(self, before: float) -> list[str]:
        return await self.inner.stale_pairs(before)

    async def integrity_check(self) -> bool:
        return await self.inner.integrity_check()

    async def probe(self) -> None:
        await self.inner.probe()


@dataclass(frozen=True, slots=True)
class _Erase:
    """An erasure request read from a shard: erase `conversation_id`, report under the id."""

    conversation_id: str
    request_id: str


def _event_conv(fields: Mapping[bytes, bytes]) -> str | None:
    """The pair of an events-stream entry written before entries carried it (field ``c``)."""
    if b"c" in fields:
        return None
    try:
        conv = json.loads(fields.get(b"event", b"{}")).get("conversation_id")
    except (ValueError, AttributeError):
        return None
    return conv if isinstance(conv, str) else None


@dataclass(slots=True)
class _Shard:
    index: int
    stopping: bool = False
    lost: bool = False
    done: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class Worker:
    """One scale-out worker: leases shards, consumes them, publishes events. Usually started
    by `run_worker`; embed it directly to supply your own `Monitor` settings.

    `stream_redis` holds the shard streams and the events stream; the leases live in the
    store's Redis (so that store writes can be fenced by them), which may be the same server.
    """

    def __init__(
        self,
        stream_redis: Redis,
        stream: str,
        store: RedisStore,
        *,
        shards: int = DEFAULT_SHARDS,
        consumer: str | None = None,
        group: str = DEFAULT_GROUP,
        lease_ms: int = 10_000,
        batch: int = 100,
        block_ms: int = 500,
        event_ttl_ms: int = _EVENT_TTL_MS,
        events_maxlen: int | None = None,
        events: bool = True,
        delete_acked: bool = True,
    ) -> None:
        if shards < 1:
            raise ConfigError("worker shards must be >= 1")
        if lease_ms < 300:
            raise ConfigError("worker lease_ms must be >= 300")
        self.redis = stream_redis
        self.stream = stream
        self.store = store
        self.shards = shards
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.token = f"{self.consumer}:{uuid.uuid4().hex[:12]}"
        self.group = group
        self.lease_ms = lease_ms
        self.batch = batch
        self.block_ms = min(block_ms, lease_ms // 3)
        self.event_ttl_ms = event_ttl_ms
        self.events_maxlen = events_maxlen or 0
        #: Publish events to ``NAME:events`` (off: the worker's handlers are its only output).
        self.events = events
        #: Delete entries once acknowledged: the shard streams hold a message's text only until
        #: a worker has committed it (keep them only for another consumer of your own).
        self.delete_acked = delete_acked
        #: What else holds a pair's data in this process (the alert dispatcher, the board):
        #: erased with the pair (`Monitor.erase(also=...)`).
        self.erasable: list[Erasable] = []
        #: Called with a shard's predicate when the worker lets its pairs go (`StoredBoard.forget`).
        self.forgetters: list[Callable[[Callable[[str], bool]], object]] = []
        self.stats: dict[str, int] = {
            "entries_acked": 0,
            "entries_claimed": 0,
            "shards_acquired": 0,
            "shards_released": 0,
            "shards_lost": 0,
            "events_published": 0,
            "events_deduplicated": 0,
            "batches_retried": 0,
            "pairs_erased": 0,
        }
        self.monitor: Monitor | None = None
        self._held: dict[int, _Shard] = {}
        self._stop = anyio.Event()
        self._tg: TaskGroup | None = None
        self._lease_prefix = f"{store.prefix}lease:{stream}:"
        self._workers_key = f"{store.prefix}workers:{stream}"
        self._publish = stream_redis.register_script(_PUBLISH_EVENT)
        self._renew = store.redis.register_script(_RENEW)
        self._release = store.redis.register_script(_RELEASE)

    # ------------------------------------------------------------------ wiring
    def fenced_store(self) -> StateStore:
        """The store to give the worker's `Monitor`."""
        return _FencedStore(self.store, self._fence, self._owns)

    def _fence(self, convs: Iterable[str]) -> dict[str, str]:
        return {self._lease_key(shard_of(c, self.shards)): self.token for c in convs}

    def _lease_key(self, k: int) -> str:
        return f"{self._lease_prefix}{k}"

    def _in_shard(self, k: int) -> Callable[[str], bool]:
        return lambda conv: shard_of(conv, self.shards) == k

    @property
    def held_shards(self) -> list[int]:
        return sorted(self._held)

    def _owns(self, conversation_id: str) -> bool:
        """The pair's shard is held (settling before a release included)."""
        sh = self._held.get(shard_of(conversation_id, self.shards))
        return sh is not None and not sh.lost

    def holds(self, conversation_id: str) -> bool:
        """The pair's shard is this worker's now."""
        sh = self._held.get(shard_of(conversation_id, self.shards))
        return sh is not None and not sh.lost and not sh.stopping

    def _forget(self, k: int) -> None:
        """Let shard k's pairs go from memory (reloaded from the store by their next holder)."""
        self.monitor_.forget_pairs(self._in_shard(k))
        for forget in self.forgetters:
            forget(self._in_shard(k))

    async def erase_stale(self, max_age: float) -> int:
        """Erase the pairs of this worker's shards whose last message is older than `max_age`
        seconds (a retention sweep; each worker sweeps what it holds)."""
        erased = await self.monitor_.erase_stale(max_age, also=self.erasable, only=self.holds)
        self.stats["pairs_erased"] += len(erased)
        return len(erased)

    def stop(self) -> None:
        """Ask the worker to shut down gracefully (`run` then returns)."""
        self._stop.set()

    # ------------------------------------------------------------------ main loop
    async def run(self, monitor: Monitor) -> None:
        """Run until `stop()`. `monitor` must be open and use `fenced_store()`."""
        self.monitor = monitor
        monitor.on(self._publish_event)
        await self._check_shard_count()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._lease_loop)
                await self._stop.wait()
                for sh in self._held.values():
                    sh.stopping = True
                for sh in list(self._held.values()):
                    await sh.done.wait()
                await monitor.flush()  # pending windows scored while the leases are still ours
                for k in list(self._held):
                    await self._release_lease(k)
                tg.cancel_scope.cancel()
        finally:
            self._tg = None
            with anyio.CancelScope(shield=True):
                await self.store.redis.zrem(self._workers_key, self.consumer)

    async def _check_shard_count(self) -> None:
        key = f"{self.store.prefix}shards:{self.stream}"
        await self.store.redis.set(key, self.shards, nx=True)
        raw = await self.store.redis.get(key)
        if raw is not None and int(raw) != self.shards:
            raise ConfigError(
                f"stream {self.stream!r} is sharded {int(raw)} ways, this worker says {self.shards}"
            )

    async def _lease_loop(self) -> None:
        """Renew, rebalance, acquire; runs until `run()` cancels it after releasing the leases
        (so renewals go on while a shutdown scores the pending windows)."""
        last_ok = time.monotonic()
        while True:
            try:
                await self._lease_tick()
                last_ok = time.monotonic()
            except Exception as exc:  # redis errors, timeouts: retried at the next tick
                _log.warning(
                    "alliance_monitor.worker_lease_error",
                    extra={"error": type(exc).__name__},
                )
                if time.monotonic() - last_ok > self.lease_ms / 1000:
                    for k in list(self._held):  # our leases have expired by now
                        self._drop_shard(k)
            await anyio.sleep(self.lease_ms / 3000)

    async def _lease_tick(self) -> None:
        r = self.store.redis
        now_s, now_us = await r.time()
        now = now_s * 1000 + now_us // 1000
        await r.zadd(self._workers_key, {self.consumer: now + self.lease_ms})
        await r.zremrangebyscore(self._workers_key, "-inf", now)
        live = max(1, await r.zcard(self._workers_key))
        for k, sh in list(self._held.items()):
            if not sh.lost and not await self._renew(
                keys=[self._lease_key(k)], args=[self.token, self.lease_ms]
            ):
                _log.warning("alliance_monitor.worker_shard_lost", extra={"shard": k})
                self._drop_shard(k)
        if self._stop.is_set():
            return  # shutting down: keep what we hold until it is released, take nothing
        target = math.ceil(self.shards / live)
        active = [k for k, sh in self._held.items() if not sh.stopping]
        for k in sorted(active, reverse=True)[: max(0, len(active) - target)]:
            self._held[k].stopping = True  # released once its batch in hand is acknowledged
        if len(active) < target:
            start = shard_of(self.consumer, self.shards)  # spread first picks across workers
            order = [(start + i) % self.shards for i in range(self.shards)]
            for k in order:
                if len(self._held) >= target:
                    break
                if k in self._held:
                    continue
                if await r.set(self._lease_key(k), self.token, nx=True, px=self.lease_ms):
                    self._start_shard(k)

    def _start_shard(self, k: int) -> None:
        assert self._tg is not None
        sh = self._held[k] = _Shard(k)
        self.stats["shards_acquired"] += 1
        _log.info(
            "alliance_monitor.worker_shard_acquired",
            extra={"shard": k, "consumer": self.consumer},
        )
        self._tg.start_soon(self._shard_task, sh)

    def _drop_shard(self, k: int) -> None:
        """The lease is gone: stop consuming now (the shard task cleans up and leaves `_held`)."""
        sh = self._held.get(k)
        if sh is None or sh.lost:
            return
        sh.lost = True
        sh.scope.cancel()
        self.stats["shards_lost"] += 1

    async def _release_lease(self, k: int) -> None:
        self._held.pop(k, None)
        with anyio.CancelScope(shield=True):
            await self._release(keys=[self._lease_key(k)], args=[self.token])

    # ------------------------------------------------------------------ one shard
    async def _shard_task(self, sh: _Shard) -> None:
        k = sh.index
        try:
            with sh.scope:
                await self._consume(sh)
            if sh.stopping and not sh.scope.cancel_called:
                # Graceful: let this shard's pairs finish scoring under our lease, then hand over.
                await self._settle(k)
                self._forget(k)
                if not self._stop.is_set():
                    await self._release_lease(k)
                    self.stats["shards_released"] += 1
            else:
                self._held.pop(k, None)
                await self._settle(k)
                self._forget(k)
        finally:
            sh.done.set()

    @property
    def monitor_(self) -> Monitor:
        assert self.monitor is not None, "Worker.run() was not called"
        return self.monitor

    async def _settle(self, k: int) -> None:
        """Wait until none of shard k's pairs has a window being scored."""
        await self.monitor_.settle(self._in_shard(k))

    async def _consume(self, sh: _Shard) -> None:
        key = shard_key(self.stream, sh.index)
        recover = True
        while not sh.stopping:
            try:
                if recover:
                    recover = not await self._take_over(sh.index, key)
                else:
                    reply: Any = await self.redis.xreadgroup(
                        self.group,
                        self.consumer,
                        {key: ">"},
                        count=self.batch,
                        block=self.block_ms,
                    )
                    entries = reply[0][1] if reply else []
                    recover = bool(entries) and not await self._process(key, entries)
            except Exception as exc:  # store, redis, network: re-read and retry
                _log.warning(
                    "alliance_monitor.worker_shard_error",
                    extra={"shard": sh.index, "error": type(exc).__name__},
                )
                recover = True
            if recover:  # re-read from the store and the pending list, after a pause
                self.stats["batches_retried"] += 1
                await anyio.sleep(0.2)

    async def _ensure_group(self, key: str) -> None:
        try:
            await self.redis.xgroup_create(key, self.group, id="0", mkstream=True)
        except Exception as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _take_over(self, k: int, key: str) -> bool:
        """Reload shard k's pairs from the store and process every pending entry first.
        False when an entry could not be committed (the caller retries)."""
        await self._ensure_group(key)
        await self._settle(k)
        m = self.monitor_
        self._forget(k)
        for conv in await self.store.resident_pairs():
            if shard_of(conv, self.shards) == k:
                await m.load_pair(conv)  # re-queues its pending windows
        cursor = "0-0"
        while True:
            cursor_raw, entries, deleted = await self.redis.xautoclaim(
                key, self.group, self.consumer, min_idle_time=0, start_id=cursor, count=self.batch
            )
            if deleted:  # trimmed from the stream before anyone processed them
                await self.redis.xack(key, self.group, *deleted)
            live = [(i, f) for i, f in entries if f is not None]
            self.stats["entries_claimed"] += len(live)
            if live and not await self._process(key, live):
                return False
            cursor = cursor_raw.decode() if isinstance(cursor_raw, bytes) else str(cursor_raw)
            if cursor == "0-0":
                return True

    async def _process(self, key: str, entries: list[tuple[Any, Any]]) -> bool:
        """Ingest entries (pairs concurrently, each pair in order); ack what was committed.
        An erasure request (fields ``e``, ``r``) is carried out in its place among the pair's
        messages."""
        by_pair: dict[str | None, list[tuple[Any, Any]]] = {}
        done: list[Any] = []
        m = self.monitor_
        for entry_id, fields in entries:
            if b"e" in fields:
                conv = fields[b"e"].decode("utf-8", "replace")
                rid = fields.get(b"r", b"").decode("ascii", "replace")
                by_pair.setdefault(conv, []).append((entry_id, _Erase(conv, rid)))
                continue
            try:
                obj = json.loads(fields[b"m"])
            except (KeyError, ValueError, UnicodeDecodeError):
                m.reject(RejectReason.INVALID_JSON)
                done.append(entry_id)
                continue
            conv = obj.get("conversation_id") if isinstance(obj, dict) else None
            by_pair.setdefault(conv if isinstance(conv, str) else None, []).append((entry_id, obj))
        failed = False

        async def one_pair(items: list[tuple[Any, Any]]) -> None:
            nonlocal failed
            for entry_id, obj in items:
                try:
                    if isinstance(obj, _Erase):
                        await self._erase(obj)
                    else:
                        await m.ingest(obj)
                except Exception as exc:  # not committed: not acknowledged, re-read later
                    failed = True
                    fenced = isinstance(exc, StoreFenced)
                    event = "worker_fenced" if fenced else "worker_ingest_failed"
                    _log.warning(
                        f"alliance_monitor.{event}",
                        extra={"stream": key, "error": type(exc).__name__},
                    )
                    return
                done.append(entry_id)

        async with anyio.create_task_group() as tg:
            for items in by_pair.values():
                tg.start_soon(one_pair, items)
        if done:
            with anyio.CancelScope(shield=True):  # committed: never leave it un-acked
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.xack(key, self.group, *done)
                    if self.delete_acked:  # the text leaves the stream once it is committed
                        pipe.xdel(key, *done)
                    await pipe.execute()
            self.stats["entries_acked"] += len(done)
        return not failed

    async def _erase(self, req: _Erase) -> None:
        """Erase a pair (memory, store, this worker's erasable parts, its events on the events
        stream) and leave the report where the ingest process that asked waits for it."""
        erasure = await self.monitor_.erase(req.conversation_id, also=self.erasable)
        report = erasure.to_json()
        if self.events:
            report["removed"]["stream.events"] = await self._erase_events(req.conversation_id)
            report["total"] = sum(report["removed"].values())
        if req.request_id:
            await self.redis.set(
                erasure_key(self.stream, req.request_id), json.dumps(report), px=600_000
            )
        self.stats["pairs_erased"] += 1

    async def _erase_events(self, conv: str) -> int:
        """Delete the pair's entries from the events stream (read in chunks: a rare request)."""
        key, cursor, n = events_key(self.stream), "-", 0
        wanted = conv.encode()
        while True:
            chunk: list[Any] = list(
                await self.redis.xrange(key, min=cursor, max="+", count=1000) or []
            )
            if not chunk:
                return n
            mine = [i for i, f in chunk if f.get(b"c") == wanted or _event_conv(f) == conv]
            if mine:
                n += int(await self.redis.xdel(key, *mine))
            last = chunk[-1][0]
            last = last.decode() if isinstance(last, bytes) else str(last)
            cursor = "(" + last
            if len(chunk) < 1000:
                return n

    # ------------------------------------------------------------------ events
    async def _publish_event(self, ev: Event) -> None:
        if not self.events:
            return
        etype = str(ev.type.value)
        delay = 0.1
        for attempt in range(8):
            try:
                added = await self._publish(
                    keys=[f"{events_key(self.stream)}:seen:{ev.id}", events_key(self.stream)],
                    args=[
                        self.event_ttl_ms,
                        ev.id,
                        etype,
                        ev.model_dump_json(),
                        self.events_maxlen,
                        ev.conversation_id,
                    ],
                )
            except Exception:  # redis down or slow: back off and retry, then give up (counted)
                if attempt == 7:
                    raise
                await anyio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.stats["events_published" if added else "events_deduplicated"] += 1
            return


async def run_worker(
    redis_url: str,
    stream: str,
    *,
    shards: int = DEFAULT_SHARDS,
    consumer: str | None = None,
    scorer: Scorer | None = None,
    store: str | RedisStore | None = None,
    group: str = DEFAULT_GROUP,
    lease_ms: int = 10_000,
    batch: int = 100,
    stop: anyio.Event | None = None,
    handle_signals: bool = True,
    on_ready: Callable[[Worker], None] | None = None,
    dispatcher: AlertDispatcher | None = None,
    board: StoredBoard | None = None,
    retention_days: float | None = None,
    retention_check_interval: float = 3600.0,
    **monitor_options: Any,
) -> dict[str, int]:
    """Run one scale-out worker until SIGTERM/SIGINT (or `stop` is set). Returns its stats.

    `store` is the shared state (a `redis://` URL or a `RedisStore`; default: `redis_url`). A URL
    gets the key prefix `state_prefix(stream)` (``alliance-monitor:NAME:``): each stream's pairs
    apart. A `RedisStore` keeps its own prefix, so two streams given one share their pairs.
    `monitor_options` go to `Monitor` (window policies, `max_pairs`, `overload`, ...).

    `dispatcher` (not entered yet) gets the monitor's events: give every worker one on the same
    `RedisOutbox`, so an alert is delivered once whichever worker emits it, and a dead worker's
    alerts are sent by another. `board` (a `StoredBoard`) writes the pairs' board records with
    the worker's commits, for ``serve --mode board``/``ingest`` to show. Both are erased with a
    pair. `retention_days`: each worker erases its own shards' pairs idle that long.
    """
    aioredis = import_redis()
    client: Redis = aioredis.Redis.from_url(redis_url, decode_responses=False)
    rstore = (
        store
        if isinstance(store, RedisStore)
        else RedisStore(store or redis_url, prefix=state_prefix(stream))
    )
    try:
        await rstore.open()
        worker = Worker(
            client,
            stream,
            rstore,
            shards=shards,
            consumer=consumer,
            group=group,
            lease_ms=lease_ms,
            batch=batch,
        )
        monitor_options.setdefault("clock", time.time)  # pairs move between hosts: wall time
        mstore = worker.fenced_store()
        if board is not None:  # board records ride the worker's fenced commits
            mstore = board.wrap(mstore)
            worker.forgetters.append(board.forget)
        worker.erasable = [p for p in (dispatcher, board) if p is not None]
        monitor = Monitor(scorer=scorer, store=mstore, **monitor_options)
        async with AsyncExitStack() as stack:
            if dispatcher is not None:  # entered first: it takes the monitor's last events
                await stack.enter_async_context(dispatcher)
                stack.push_async_callback(dispatcher.drain, 5.0)
            await stack.enter_async_context(monitor)
            if board is not None:
                monitor.on(board)
            if dispatcher is not None:
                monitor.on(dispatcher.submit)
            tg = await stack.enter_async_context(anyio.create_task_group())
            if handle_signals:
                tg.start_soon(_stop_on_signal, worker)
            if stop is not None:
                tg.start_soon(_stop_on_event, worker, stop)
            if retention_days:
                tg.start_soon(_sweep, worker, retention_days * 86400, retention_check_interval)
            if on_ready is not None:
                on_ready(worker)
            await worker.run(monitor)
            tg.cancel_scope.cancel()
        _log.info(
            "alliance_monitor.worker_stopped",
            extra={"consumer": worker.consumer, **worker.stats},
        )
        return dict(worker.stats)
    finally:
        await rstore.aclose()
        await client.aclose()


async def _sweep(worker: Worker, max_age: float, interval: float) -> None:
    """Retention: erase this worker's idle pairs every `interval` seconds."""
    while True:
        await anyio.sleep(interval)
        try:
            await worker.erase_stale(max_age)
        except Exception as exc:  # the store is away: the next sweep tries again
            _log.error(
                "alliance_monitor.retention_sweep_failed", extra={"error": type(exc).__name__}
            )


async def _stop_on_signal(worker: Worker) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            worker.stop()
            return


async def _stop_on_event(worker: Worker, stop: anyio.Event) -> None:
    await stop.wait()
    worker.stop()
