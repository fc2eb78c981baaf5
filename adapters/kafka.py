"""Kafka source, a pull adapter (optional extra ``alliance-monitor[kafka]``, aiokafka; import
``alliance_monitor.adapters.kafka``): the same guarantees as the Redis Streams workers, from a
topic whose records are keyed by conversation id.

- **One writer per pair.** The producer keys each record by its conversation id, so all of a
  pair's messages land in one partition, in order (Kafka's default murmur2 partitioner). The
  consumer group gives each partition to one consumer at a time; a consumer processes a
  partition's records in offset order (different pairs concurrently).
- **At-least-once, idempotent.** Offsets are committed only after `await monitor.ingest()`
  returned for every record up to them (their journal writes are committed); auto-commit is
  off. A crash re-delivers from the last committed offset; the monitor absorbs the duplicates.
- **Hand-over.** When partitions are assigned, the consumer drops in-memory state of their
  pairs (`Monitor.forget_pairs`) so it is reloaded from the shared store; before partitions are
  revoked, the batch in hand is finished and its offsets committed.
- **Limits.** Kafka fences a zombie consumer's *offset commits* (generation check), not its
  writes to our store: unlike the Redis workers' leases, a consumer that was paused past
  `session.timeout.ms` may still write a stale snapshot before it notices. Keep
  ``max.poll.interval.ms`` / session timeouts well above scoring latency, or use the Redis
  Streams workers where store writes are fenced.
- Event output is left to the embedding application (``monitor.on(handler)``): publish events
  keyed by event id, and de-duplicate on it at the receiver.

Not tested against a real broker here: none installs from the package registries this project
uses (Debian has no Kafka broker package); the processing logic is tested with a fake consumer.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from alliance_monitor import ConfigError, Monitor, RejectReason, StoreError

__all__ = ["KafkaSource", "kafka_partition_of", "publish_kafka", "run_kafka_worker"]

_log = logging.getLogger("alliance_monitor.kafka")
_INSTALL = "the Kafka source needs aiokafka: pip install 'alliance-monitor[kafka]'"


def _aiokafka() -> Any:
    try:
        return importlib.import_module("aiokafka")  # untyped: used as Any
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigError(_INSTALL) from exc


def _murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an unsigned int."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    n = len(data)
    h = (0x9747B28C ^ n) & mask
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[n - n % 4 :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    return h ^ (h >> 15)


def kafka_partition_of(conversation_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for this key (murmur2, as in Java)."""
    return (_murmur2(conversation_id.encode("utf-8", "surrogatepass")) & 0x7FFFFFFF) % partitions


async def publish_kafka(producer: Any, topic: str, message: Mapping[str, Any]) -> None:
    """Producer helper: send one message keyed by its conversation id (aiokafka producer)."""
    conv = message.get("conversation_id")
    key = conv.encode("utf-8", "surrogatepass") if isinstance(conv, str) else None
    await producer.send_and_wait(topic, json.dumps(message).encode(), key=key)


class KafkaSource:
    """Feeds a monitor from an aiokafka consumer (anything with `getmany`, `commit`, `seek`,
    `partitions_for_topic`). Use `run_kafka_worker` unless you build the consumer yourself."""

    def __init__(self, consumer: Any, topic: str, monitor: Monitor, *, batch: int = 500) -> None:
        self.consumer = consumer
        self.topic = topic
        self.monitor = monitor
        self.batch = batch
        self.stats = {"records_committed": 0, "records_retried": 0, "partitions_assigned": 0}
        self._lock = anyio.Lock()  # a batch in hand vs. a rebalance

    def _in_partitions(self, parts: set[int]) -> Callable[[str], bool]:
        n = len(self.consumer.partitions_for_topic(self.topic) or ()) or 1
        return lambda conv: kafka_partition_of(conv, n) in parts

    # ConsumerRebalanceListener protocol (aiokafka calls these).
    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self._lock:  # the batch in hand finishes and commits first
            pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        parts = {tp.partition for tp in assigned if tp.topic == self.topic}
        if parts:
            self.stats["partitions_assigned"] += len(parts)
            self.monitor.forget_pairs(self._in_partitions(parts))

    async def poll_once(self, timeout_ms: int = 500) -> int:
        """Fetch one batch, ingest it, commit what was ingested. Returns records committed."""
        batches = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=self.batch)
        committed = 0
        async with self._lock:
            for tp, records in batches.items():
                committed += await self._partition(tp, records)
        return committed

    async def _partition(self, tp: Any, records: list[Any]) -> int:
        by_pair: dict[Any, list[Any]] = {}
        for rec in records:
            by_pair.setdefault(rec.key, []).append(rec)
        failed: list[int] = []

        async def one_pair(recs: list[Any]) -> None:
            for rec in recs:
                try:
                    obj = json.loads(rec.value)
                except (TypeError, ValueError, UnicodeDecodeError):
                    self.monitor.reject(RejectReason.INVALID_JSON)
                    continue
                try:
                    await self.monitor.ingest(obj)
                except StoreError:
                    failed.append(rec.offset)
                    return

        async with anyio.create_task_group() as tg:
            for recs in by_pair.values():
                tg.start_soon(one_pair, recs)
        if failed:
            # Commit below the first failure; re-read from it (ingested ones are duplicates).
            first = min(failed)
            done = [r for r in records if r.offset < first]
            self.stats["records_retried"] += len(records) - len(done)
            self.monitor.forget_pairs(self._in_partitions({tp.partition}))
            self.consumer.seek(tp, first)
            if done:
                await self.consumer.commit({tp: done[-1].offset + 1})
            return len(done)
        if records:
            await self.consumer.commit({tp: records[-1].offset + 1})
        self.stats["records_committed"] += len(records)
        return len(records)


async def run_kafka_worker(
    bootstrap_servers: str,
    topic: str,
    *,
    group_id: str = "alliance-monitor",
    scorer: Any = None,
    store: Any = None,
    stop: anyio.Event | None = None,
    batch: int = 500,
    **monitor_options: Any,
) -> dict[str, int]:
    """Consume `topic` until `stop` is set. `store`: a shared `StateStore` or URL (Redis)."""
    aiokafka = _aiokafka()
    from alliance_monitor.store import open_store

    state = open_store(store) if isinstance(store, str) else store
    consumer = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    monitor = Monitor(scorer=scorer, store=state, **monitor_options)
    async with monitor:
        source = KafkaSource(consumer, topic, monitor, batch=batch)
        consumer.subscribe([topic], listener=_listener(source))
        await consumer.start()
        try:
            while stop is None or not stop.is_set():
                await source.poll_once()
            await monitor.flush()
        finally:
            await consumer.stop()
    return dict(source.stats)


def _listener(source: KafkaSource) -> Any:
    """An aiokafka ConsumerRebalanceListener (subscribe() checks the type) that forwards to
    the source."""

    async def revoked(self: Any, tps: Any) -> None:
        await source.on_partitions_revoked(tps)

    async def assigned(self: Any, tps: Any) -> None:
        await source.on_partitions_assigned(tps)

    base = _aiokafka().ConsumerRebalanceListener
    cls = type(
        "AllianceMonitorListener",
        (base,),
        {
            "on_partitions_revoked": revoked,
            "on_partitions_assigned": assigned,
        },
    )
    return cls()
