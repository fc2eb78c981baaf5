"""Issue 11, finding 2: `Monitor.ingest` never raises on bad input, whatever the store.

Validation (ids, text, metadata, numbers, Unicode) happens before anything else touches the
input, the store included; an unexpected error while taking one message rejects that message
with `internal_error` and the monitor goes on. Each case is followed by a normal message that
must still be accepted and scored.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import anyio
import hypothesis.strategies as st
import pytest
from helpers import alternating, msg
from hypothesis import HealthCheck, given, settings

from alliance_monitor import Monitor, RejectReason, ScoringPolicy
from alliance_monitor.cli import main
from alliance_monitor.store import MemoryStore, SQLiteStore
from alliance_monitor.testing import EventCollector, StaticScorer

pytestmark = pytest.mark.anyio

BAD: list[tuple[str, dict[str, Any], RejectReason]] = [
    ("seq with 400 digits", {"seq": int("1" + "0" * 400)}, RejectReason.BAD_TIMESTAMP),
    ("ts with 400 digits", {"ts": int("1" + "0" * 400)}, RejectReason.BAD_TIMESTAMP),
    ("huge float ts", {"ts": 1e300}, RejectReason.BAD_TIMESTAMP),
    ("lone surrogate in conversation id", {"conversation_id": "pair-\udc00"}, RejectReason.BAD_ID),
    ("raw 0xFF read with surrogateescape", {"conversation_id": "pair-\udcff"}, RejectReason.BAD_ID),
    ("lone surrogate in message id", {"id": "m-\ud800"}, RejectReason.BAD_ID),
    ("control character in id", {"id": "m-\x00"}, RejectReason.BAD_ID),
    ("lone surrogate in metadata value", {"metadata": {"k": "\udc00"}}, RejectReason.BAD_METADATA),
    ("lone surrogate in metadata key", {"metadata": {"\udc00": 1}}, RejectReason.BAD_METADATA),
    ("NaN in metadata", {"metadata": {"k": float("nan")}}, RejectReason.BAD_METADATA),
    ("too much metadata", {"metadata": {str(i): i for i in range(65)}}, RejectReason.BAD_METADATA),
]


def _stores(tmp_path: Path) -> dict[str, Any]:
    return {"none": None, "memory": MemoryStore(), "sqlite": SQLiteStore(tmp_path / "s.db")}


@pytest.mark.parametrize("store", ["none", "memory", "sqlite"])
async def test_bad_input_is_rejected_with_a_reason_and_nothing_stops(
    store: str, tmp_path: Path
) -> None:
    monitor = Monitor(
        scorer=StaticScorer(4.0),
        store=_stores(tmp_path)[store],
        idle_check_interval=None,
        scoring=ScoringPolicy(overload="wait"),
    )
    collector = EventCollector()
    monitor.on(collector)
    async with monitor:
        for i, (_name, change, reason) in enumerate(BAD):
            m = {**msg("ok", i, "client"), "id": f"bad-{i}", **change}
            res = await monitor.ingest(m)
            assert res.status == "rejected" and res.reason is reason, _name
        for m in alternating("ok", 14):
            assert (await monitor.ingest(m)).accepted
        await monitor.end_all_sessions()
        await monitor.flush()
        stats = monitor.stats()
    assert stats["rejected"] == len(BAD)
    assert sum(stats["rejected_by_reason"].values()) == len(BAD)
    assert stats["accepted"] == 14
    assert len(collector.of("window_scored")) >= 2 and collector.of("session_summary")
    if store == "sqlite":
        async with SQLiteStore(tmp_path / "s.db") as st:
            assert await st.integrity_check()
            assert await st.resident_pairs() == ["ok"]


async def test_an_unexpected_error_rejects_one_message_as_internal_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monitor = Monitor(
        scorer=StaticScorer(4.0), store=SQLiteStore(tmp_path / "s.db"), idle_check_interval=None
    )
    real = monitor.core.ingest

    def flaky(data: Any, now: float = 0.0, **kw: Any) -> Any:
        if getattr(data, "id", None) == "boom":
            raise OverflowError("a bug somewhere in the core")
        return real(data, now, **kw)

    monkeypatch.setattr(monitor.core, "ingest", flaky)
    collector = EventCollector()
    monitor.on(collector)
    async with monitor:
        first = alternating("p", 3)
        for m in first:
            assert (await monitor.ingest(m)).accepted
        res = await monitor.ingest({**msg("p", 3, "counselor"), "id": "boom"})
        assert res.status == "rejected" and res.reason is RejectReason.INTERNAL_ERROR
        for m in alternating("p", 14, start=3):
            assert (await monitor.ingest(m)).accepted
        # The pair was reloaded from the store: nothing accepted before the error was lost.
        await monitor.end_all_sessions()
        await monitor.flush()
        stats = monitor.stats()
    assert stats["rejected_by_reason"] == {"internal_error": 1}
    scored_ids = {
        mid
        for e in collector.of("window_scored")
        for mid in e.score.evidence  # type: ignore[attr-defined]
    }
    assert {m["id"] for m in first} <= scored_ids


async def test_a_failing_apply_does_not_kill_the_scoring_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monitor = Monitor(
        scorer=StaticScorer(4.0),
        idle_check_interval=None,
        scoring=ScoringPolicy(workers=1, overload="wait"),
    )
    real = monitor.core.apply
    calls = {"n": 0}

    def flaky(score: Any, request: Any = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ZeroDivisionError("a bug in a rule")
        return real(score, request)

    monkeypatch.setattr(monitor.core, "apply", flaky)
    collector = EventCollector()
    monitor.on(collector)
    async with monitor:
        for m in alternating("q", 40):
            assert (await monitor.ingest(m)).accepted
        await monitor.flush()
        stats = monitor.stats()
    assert stats["internal_errors"] == 1
    assert len(collector.of("window_scored")) >= 2


def test_replay_with_sqlite_store_survives_a_raw_0xff_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = "".join(json.dumps(m) + "\n" for m in alternating("c", 20)).encode()
    bad = b'{"conversation_id": "c\xff", "id": "x", "role": "client", "text": "hi", "ts": 1}\n'
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(bad + good)
    code = main(["replay", str(inp), "--json", "--store", f"sqlite:///{tmp_path / 's.db'}"])
    out = capsys.readouterr().out
    assert code == 0
    types = [json.loads(line)["type"] for line in out.splitlines() if line.startswith("{")]
    # Scored or not is the embedded scorer's business; the windows and the session went through.
    assert sum(t.startswith("window_") for t in types) == 2 and "session_summary" in types


# A fuzzed stream: any JSON-ish value in any field, through a monitor with the SQLite store.
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda v: st.lists(v, max_size=3) | st.dictionaries(st.text(max_size=4), v, max_size=3),
    max_leaves=6,
)
_fields = st.sampled_from(
    ["conversation_id", "id", "role", "text", "ts", "seq", "counselor_id", "session_id", "metadata"]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads=st.lists(st.dictionaries(_fields, _values, max_size=9), min_size=1, max_size=25))
def test_fuzzed_messages_never_raise_and_a_normal_message_still_goes_through(
    payloads: list[dict[str, Any]],
) -> None:
    async def run(path: Path) -> None:
        monitor = Monitor(
            scorer=StaticScorer(4.0), store=SQLiteStore(path), idle_check_interval=None
        )
        async with monitor:
            for i, p in enumerate(payloads):
                base = {**msg("fz", i, "client"), "id": f"fz-{i}"}
                res = await monitor.ingest({**base, **p})
                assert res.status in ("accepted", "duplicate", "rejected")
                if res.status == "rejected":
                    assert res.reason is not None
            ok = await monitor.ingest({**msg("fz", 999, "counselor"), "id": "fz-normal"})
            assert ok.accepted
            stats = monitor.stats()
            assert stats["messages_in"] == len(payloads) + 1
            assert stats["accepted"] + stats.get("duplicates", 0) + stats.get("rejected", 0) == (
                len(payloads) + 1
            )
        async with SQLiteStore(path) as st_:
            assert await st_.integrity_check()

    with tempfile.TemporaryDirectory() as d:
        anyio.run(run, Path(d) / "s.db")
