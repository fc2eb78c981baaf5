"""The input contract is as forgiving as the ecosystem's and says exactly what it refused.

Timestamps: epoch or relative seconds as numbers or numeric text, or ISO 8601 text (no offset:
UTC). Ids: strings or integers, integers kept as their decimal string. A rejected message's
`IngestResult` names the refused field and the ids when they were readable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import alternating

from alliance_monitor import Monitor, RejectReason, ScoringPolicy
from alliance_monitor._core import MonitorCore
from alliance_monitor._models import parse_message
from alliance_monitor.cli import main
from alliance_monitor.testing import EventCollector, StaticScorer

EPOCH = 1714645867.0  # 2024-05-02T10:31:07Z


def message(**change: Any) -> dict[str, Any]:
    return {"conversation_id": "c", "id": "m1", "role": "client", "text": "hi", "ts": 1.0, **change}


@pytest.mark.parametrize(
    "ts",
    [
        EPOCH,
        int(EPOCH),
        "1714645867",
        " 1714645867.0 ",
        "2024-05-02T10:31:07Z",
        "2024-05-02T10:31:07+00:00",
        "2024-05-02T12:31:07+02:00",
        "2024-05-02T05:31:07-05:00",
        "2024-05-02T10:31:07",  # no offset: UTC
        "2024-05-02 10:31:07Z",
        "20240502T103107Z",  # basic format
        "2024-05-02T10:31:07.000Z",
    ],
)
def test_timestamps_as_numbers_numeric_text_or_iso_8601(ts: Any) -> None:
    assert parse_message(message(ts=ts)).ts == EPOCH


def test_iso_fractions_are_kept() -> None:
    assert parse_message(message(ts="2024-05-02T10:31:07.250Z")).ts == EPOCH + 0.25


@pytest.mark.parametrize(
    "ts", ["yesterday", "", "nan", "inf", "-inf", "1e400", "2024-13-02T10:31:07Z", "9" * 80, True]
)
def test_unreadable_timestamps_are_refused_naming_the_field(ts: Any) -> None:
    core = MonitorCore(safety=False)
    res = core.ingest(message(ts=ts)).result
    assert res is not None and res.status == "rejected"
    assert res.reason is RejectReason.BAD_TIMESTAMP and res.field == "ts"
    assert (res.conversation_id, res.message_id) == ("c", "m1")


@pytest.mark.parametrize(
    "field", ["conversation_id", "id", "counselor_id", "client_id", "session_id"]
)
def test_integer_ids_are_their_decimal_string(field: str) -> None:
    m = parse_message(message(**{field: 1234567890123456789012}))
    assert getattr(m, field) == "1234567890123456789012"
    assert parse_message(message(**{field: 0})).model_dump()[field] == "0"


@pytest.mark.parametrize("bad", [1.0, True, False, [1], {"a": 1}, ""])
def test_other_id_types_are_refused_as_bad_id(bad: Any) -> None:
    core = MonitorCore(safety=False)
    res = core.ingest(message(id=bad)).result
    assert res is not None and res.reason is RejectReason.BAD_ID and res.field == "id"
    assert res.message_id is None and res.conversation_id == "c"


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"role": "boss"}, RejectReason.BAD_ROLE, "role"),
        ({"text": " \u200b"}, RejectReason.EMPTY_TEXT, "text"),
        ({"text": 7}, RejectReason.INVALID_SCHEMA, "text"),
        ({"seq": 1.5}, RejectReason.BAD_TIMESTAMP, "seq"),
        ({"metadata": {"k": [1]}}, RejectReason.BAD_METADATA, "metadata"),
        ({"conversation_id": "pair-\udc00"}, RejectReason.BAD_ID, "conversation_id"),
    ],
)
def test_the_rejected_field_is_named(
    change: dict[str, Any], reason: RejectReason, field: str
) -> None:
    res = MonitorCore(safety=False).ingest(message(**change)).result
    assert res is not None and res.reason is reason and res.field == field


def test_a_missing_field_is_named() -> None:
    data = message()
    del data["ts"]
    res = MonitorCore(safety=False).ingest(data).result
    assert res is not None and res.reason is RejectReason.MISSING_FIELD and res.field == "ts"


def test_a_rejected_message_never_carries_an_invalid_id() -> None:
    res = MonitorCore(safety=False).ingest(message(conversation_id="x" * 300, role="boss")).result
    assert res is not None and res.conversation_id is None and res.message_id == "m1"


@pytest.mark.anyio
async def test_monitor_takes_iso_timestamps_and_integer_ids_end_to_end() -> None:
    # The same conversation twice: numbers and string ids, then ISO text and integer ids.
    plain = [
        {**m, "conversation_id": "42", "id": str(i), "ts": EPOCH + 30 * i}
        for i, m in enumerate(alternating("x", 14))
    ]
    iso = [
        {
            **m,
            "conversation_id": 42,
            "id": int(m["id"]),
            "ts": datetime.fromtimestamp(m["ts"], UTC).isoformat().replace("+00:00", "Z"),
        }
        for m in plain
    ]
    results = []
    for batch in (plain, iso):
        collector = EventCollector()
        monitor = Monitor(
            scorer=StaticScorer(4.0),
            idle_check_interval=None,
            scoring=ScoringPolicy(overload="wait"),
        )
        monitor.on(collector)
        async with monitor:
            for m in batch:
                r = await monitor.ingest(m)
                assert r.accepted, (r.reason, r.field)
            await monitor.end_all_sessions()
            await monitor.flush()
        results.append([(e.type, e.conversation_id, e.ts) for e in collector.events])
    assert results[0] == results[1] and results[0]


def test_cli_takes_iso_timestamps_and_integer_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conv = {
        "conversation_id": 7,
        "messages": [
            {"id": i, "role": "counselor" if i % 2 else "client",
             "text": "I feel stuck at work." if i % 2 == 0 else "What feels most stuck?",
             "ts": f"2024-05-02T10:{i:02d}:00+02:00"}
            for i in range(12)
        ],
    }  # fmt: skip
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps(conv) + "\n")
    assert main(["analyze", str(p), "-o", str(tmp_path / "o.jsonl"), "--strict"]) == 0
    out = json.loads((tmp_path / "o.jsonl").read_text())
    assert out["conversation_id"] == "7" and out["messages"][0]["id"] == "1"
    # replay of single messages orders them by the ISO time, not by file order
    singles = [dict(m, conversation_id=7) for m in reversed(conv["messages"])]
    p.write_text("".join(json.dumps(m) + "\n" for m in singles))
    capsys.readouterr()
    assert main(["replay", str(p), "--json", "--strict"]) == 0
    res = capsys.readouterr()
    assert "12 accepted, 0 duplicate, 0 rejected" in res.err
    events = [json.loads(line) for line in res.out.splitlines()]
    windows = [e for e in events if e["type"] == "window_scored"]
    assert windows and {e["conversation_id"] for e in events} == {"7"}
    assert windows[0]["score"]["first_message_id"] == "0"  # sorted by time, not file order


def test_cli_rejects_file_names_the_field(tmp_path: Path) -> None:
    conv = {"conversation_id": "c", "messages": [message(id="a", ts="someday"), message(id="b")]}
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps(conv) + "\n")
    assert (
        main(
            [
                "analyze",
                str(p),
                "-o",
                str(tmp_path / "o.jsonl"),
                "--rejects",
                str(tmp_path / "r.jsonl"),
            ]
        )
        == 0
    )
    (rej,) = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert rej == {
        "line": 1,
        "reason": "bad_timestamp",
        "field": "ts",
        "conversation_id": "c",
        "message_id": "a",
    }
