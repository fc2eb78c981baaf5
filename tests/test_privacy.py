"""Scenario 18: synthetic identifiers planted in message text never reach logs, exceptions,
events, the CLI's output or rejection reports unless the user opted in to text."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from helpers import alternating, log_entries, msg

from alliance_monitor import InvalidMessage, Monitor, WindowRequest, WindowScore, parse_message
from alliance_monitor.cli import main
from alliance_monitor.scoring import Scorer
from alliance_monitor.testing import EventCollector

pytestmark = pytest.mark.anyio

PLANTED = ["ZQX-PATIENT-93817", "MRN-55519-ALPHA", "jane.planted@example.org"]
TEXT = f"My name is {PLANTED[0]}, record {PLANTED[1]}, mail {PLANTED[2]}. I want to kill myself."


class Exploding(Scorer):
    async def score(self, request: WindowRequest) -> WindowScore:
        raise ValueError(request.messages[0].text)  # a buggy scorer leaking text in its error


def assert_clean(blob: str) -> None:
    for p in PLANTED:
        assert p not in blob, p


async def test_monitor_logs_events_and_errors_carry_no_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    col = EventCollector()
    caplog.set_level(logging.DEBUG, logger="alliance_monitor")
    async with Monitor(scorer=Exploding()) as m:
        m.on(col)
        m.on(lambda e: (_ for _ in ()).throw(RuntimeError(TEXT)))  # a failing handler
        for x in alternating("c", 14, text=TEXT):
            await m.ingest(x)
        await m.ingest({**msg("c", 99, "boss", TEXT)})  # rejected: bad role
        await m.ingest(
            {"conversation_id": "c", "id": "x", "role": "client", "text": TEXT, "ts": TEXT}
        )  # rejected: bad timestamp
        await m.end_session("c")
    assert col.events  # safety signals, unscored windows, summary
    assert_clean(json.dumps([e.model_dump(mode="json") for e in col.events]))
    logs = log_entries(caplog)
    assert_clean(repr(logs))
    assert any(e["event"] == "alliance_monitor.window_unscored" for e in logs)


def test_validation_errors_carry_no_text() -> None:
    for bad in (
        {"conversation_id": TEXT * 30, "id": "1", "role": "client", "text": TEXT, "ts": 1},
        {"conversation_id": "c", "id": "1", "role": TEXT, "text": TEXT, "ts": 1},
        {"conversation_id": "c", "id": "1", "role": "client", "text": TEXT, "ts": [TEXT]},
    ):
        with pytest.raises(InvalidMessage) as info:
            parse_message(bad)
        assert_clean(str(info.value) + repr(info.value) + repr(info.value.__cause__))


def test_cli_output_and_rejects_carry_no_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows: list[Any] = [
        {
            "conversation_id": "p",
            "messages": [
                {
                    "id": f"m{i}",
                    "role": "counselor" if i % 2 == 0 else "client",
                    "text": TEXT,
                    "ts": i,
                }
                for i in range(30)
            ]
            + [{"id": "bad", "role": TEXT, "text": TEXT, "ts": 1}],
        }
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps(rows[0]) + "\n" + TEXT + "\n")
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    assert main(["analyze", str(inp), "-o", str(out), "--rejects", str(rej)]) == 0
    assert main(["replay", str(inp), "--json"]) == 0
    assert main(["replay", str(inp)]) == 0
    captured = capsys.readouterr()
    assert_clean(out.read_text() + rej.read_text() + captured.out + captured.err)
