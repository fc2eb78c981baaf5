"""The Kafka source's processing logic, with a fake consumer (no broker installs here: Debian
has no Kafka package and PyPI ships none that we trust; see adapters/kafka.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_store import level, traffic

from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor.adapters.kafka import KafkaSource, _murmur2, kafka_partition_of
from alliance_monitor.store import SQLiteStore
from alliance_monitor.testing import EventCollector, StaticScorer

pytestmark = pytest.mark.anyio
PARTS = 4


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class Record:
    key: bytes | None
    value: bytes
    offset: int


class FakeConsumer:
    """The part of aiokafka's AIOKafkaConsumer that KafkaSource uses."""

    def __init__(self, log: dict[int, list[Record]], batch: int = 7) -> None:
        self.log, self.batch = log, batch
        self.position = {p: 0 for p in log}
        self.committed: dict[int, int] = {}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(self.log)

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None) -> Any:
        out = {}
        for p, recs in self.log.items():
            got = recs[self.position[p] : self.position[p] + self.batch]
            if got:
                out[TP("t", p)] = got
                self.position[p] += len(got)
        return out

    def seek(self, tp: TP, offset: int) -> None:
        self.position[tp.partition] = offset

    async def commit(self, offsets: dict[TP, int]) -> None:
        for tp, off in offsets.items():
            assert off >= self.committed.get(tp.partition, 0)
            self.committed[tp.partition] = off


def keyed_log(msgs: list[dict[str, Any]]) -> dict[int, list[Record]]:
    log: dict[int, list[Record]] = {p: [] for p in range(PARTS)}
    for m in msgs:
        p = kafka_partition_of(m["conversation_id"], PARTS)
        log[p].append(Record(m["conversation_id"].encode(), json.dumps(m).encode(), len(log[p])))
    log[0].append(Record(None, b"{not json", len(log[0])))
    return log


def test_murmur2_matches_kafka_reference_vectors() -> None:
    # The cases of Kafka's UtilsTest.testMurmur2 (Java signed ints).
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, want in cases.items():
        assert (_murmur2(data) ^ 0x80000000) - 0x80000000 == want


async def test_every_record_ingested_in_order_and_committed(tmp_path: Path) -> None:
    msgs = traffic(n_pairs=6, n=40)
    log = keyed_log(msgs + msgs[:30])  # re-delivered records are duplicates
    consumer = FakeConsumer(log)
    col = EventCollector()
    m = Monitor(
        scorer=StaticScorer(level, passive=0.8),
        store=SQLiteStore(tmp_path / "s.db"),
        idle_check_interval=None,
        scoring=ScoringPolicy(overload="wait"),
    )
    async with m:
        m.on(col)
        src = KafkaSource(consumer, "t", m)
        await src.on_partitions_assigned([TP("t", p) for p in range(PARTS)])
        while await src.poll_once():
            pass
        stats = m.stats()
    assert consumer.committed == {p: len(recs) for p, recs in log.items() if recs}
    assert stats["accepted"] == len(msgs) and stats["duplicates"] == 30
    assert stats["rejected"] == 1
    whole = Monitor(
        scorer=StaticScorer(level, passive=0.8),
        idle_check_interval=None,
        scoring=ScoringPolicy(overload="wait"),
    )
    ref = EventCollector()
    async with whole:
        whole.on(ref)
        for x in msgs:
            await whole.ingest(x)
    assert sorted(col.ids) == sorted(ref.ids)
