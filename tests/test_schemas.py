"""The shipped JSON Schemas (docs/contracts.md) are current, valid, and hold for real output.

Events come from the live monitor replaying the bundled demo and sample conversations (every
event type, an unscored window included); alert bodies are what a real `AlertDispatcher`
delivered to a loopback receiver (single alerts, a digest, a trimmed body); message and
transcript inputs are the bundled files and the test fixtures, and the message schema agrees
with the validator on what it accepts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import ANNOMI_SAMPLE, REPO
from jsonschema import Draft202012Validator

from alliance_monitor import EventType, Monitor, ScoringPolicy
from alliance_monitor._errors import InvalidMessage
from alliance_monitor._models import parse_message
from alliance_monitor._schemas import SCHEMA_NAMES, build_schema, load_schema, render, schema_file
from alliance_monitor.alerts import AlertDispatcher, AlertPolicy, WebhookEndpoint
from alliance_monitor.alerts import generate_webhook_secret as new_secret
from alliance_monitor.alerts.testing import LoopbackReceiver
from alliance_monitor.scoring import EmbeddedScorer, Scorer
from alliance_monitor.testing import EventCollector

FIXTURES = REPO / "tests" / "data"


def validator(name: Any) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name))


def errors(name: Any, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(instance)]


# ---------------------------------------------------------------------- the files


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_the_shipped_schema_is_current_and_valid(name: Any) -> None:
    shipped = resources.files("alliance_monitor").joinpath("schemas", schema_file(name))
    assert shipped.read_text(encoding="utf-8") == render(build_schema(name)), (
        f"{schema_file(name)} is stale: run `python scripts/build_schemas.py`, review the diff "
        "and, if it breaks consumers, raise SCHEMA_VERSION (alliance_monitor/_schemas.py)"
    )
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:alliance-monitor:schema:{name}:v1"


def test_the_check_script_agrees() -> None:
    res = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_schemas.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0 and res.stdout.strip() == "stale: none", res.stderr


def test_event_and_alert_schemas_name_every_event_type() -> None:
    types = {t.value for t in EventType}
    event = load_schema("event")
    assert set(event["discriminator"]["mapping"]) == types
    alert = load_schema("alert")
    assert set(alert["properties"]["type"]["enum"]) == types | {"digest"}


def test_unknown_schema_name() -> None:
    with pytest.raises(ValueError, match="known: message, transcript, event, alert"):
        load_schema("nope")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- real output


class _FailingEvery5th(Scorer):
    """The embedded scorer, except that every fifth window fails (an unscored window)."""

    name = "embedded"

    def __init__(self) -> None:
        self._inner = EmbeddedScorer()
        self._n = 0

    async def score(self, request: Any) -> Any:
        self._n += 1
        if self._n % 5 == 0:
            raise TimeoutError("scorer timed out")
        return await self._inner.score(request)


def _demo_messages() -> list[dict[str, Any]]:
    data = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl").read_text()
    out = []
    for line in data.splitlines():
        obj = json.loads(line)
        if "messages" in obj:
            out += [{**m, "conversation_id": obj["conversation_id"]} for m in obj["messages"]]
        else:
            out.append(obj)
    return out


def _sample_messages() -> list[dict[str, Any]]:
    out = []
    for line in ANNOMI_SAMPLE.read_text().splitlines():
        obj = json.loads(line)
        out += [{**m, "conversation_id": obj["conversation_id"]} for m in obj["messages"]]
    return out


async def _replay(messages: list[dict[str, Any]], scorer: Any, sink: Any = None) -> list[Any]:
    collector = EventCollector()
    monitor = Monitor(
        scorer=scorer, idle_check_interval=None, scoring=ScoringPolicy(overload="wait")
    )
    monitor.on(collector)
    if sink is not None:
        monitor.on(sink)
    async with monitor:
        for m in sorted(messages, key=lambda m: float(m["ts"])):
            await monitor.ingest(m)
        await monitor.end_all_sessions()
        await monitor.flush()
    return list(collector.events)


@pytest.fixture(scope="module")
def real_events() -> list[Any]:
    async def run() -> list[Any]:
        events = await _replay(_demo_messages(), EmbeddedScorer())
        events += await _replay(_sample_messages(), _FailingEvery5th())
        return events

    return anyio.run(run)


def test_every_event_validates(real_events: list[Any]) -> None:
    assert {e.type.value for e in real_events} == {t.value for t in EventType}
    for ev in real_events:
        dumped = json.loads(ev.model_dump_json())
        assert errors("event", dumped) == [], (ev.type, errors("event", dumped)[:5])
        # and the dumped event reads back as the same event
        assert type(ev).model_validate(dumped) == ev


def test_a_broken_event_is_caught() -> None:
    bad = {"id": "evt_x", "type": "safety_signal", "conversation_id": "c", "category": "other"}
    assert errors("event", bad)


def test_cli_replay_json_validates(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "alliance_monitor.cli", "replay", str(ANNOMI_SAMPLE), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines
    for obj in lines:
        assert errors("event", obj) == [], obj["type"]


def test_every_alert_body_validates(real_events: list[Any]) -> None:
    secret = new_secret()
    every = frozenset(t.value for t in EventType)

    async def run() -> list[bytes]:
        async with LoopbackReceiver(secrets=[secret]) as rx:
            endpoint = WebhookEndpoint(rx.url, [secret])
            policy = AlertPolicy(alert_types=every, cooldown=0.0, digest_interval=3600.0)
            async with AlertDispatcher(
                [endpoint], policy=policy, allow_private=True, retry_schedule=(0, 0.1)
            ) as d:
                for ev in real_events:
                    await d.submit(ev)
                assert await d.drain(30)
            assert all(r.valid for r in rx.requests)
            return [r.body for r in rx.requests]

    bodies = [json.loads(b) for b in anyio.run(run)]
    kinds = {b["type"] for b in bodies}
    kinds |= {i["type"] for b in bodies if b["type"] == "digest" for i in b["data"]["items"]}
    assert kinds == {t.value for t in EventType} | {"digest"}, kinds
    for body in bodies:
        assert body["type"] == body["data"]["type"]
        assert errors("alert", body) == [], (body["type"], errors("alert", body)[:5])


def test_a_trimmed_alert_body_validates() -> None:
    from alliance_monitor._events import SafetySignal, Severity
    from alliance_monitor.alerts._formatters import render as render_body
    from alliance_monitor.alerts._payload import alert_data, fit

    ev = SafetySignal(
        id="evt_s", conversation_id="c", message_id="m", category="self_harm",
        cues=tuple(f"cue_{i}_" + "x" * 200 for i in range(400)),
    )  # fmt: skip
    data = alert_data(ev, Severity.HIGH)
    body = json.loads(fit(data, lambda d: json.loads(render_body("standard", d, 0.0))))
    assert body["data"].get("truncated") is True
    assert errors("alert", body) == []


def test_a_broken_alert_is_caught() -> None:
    body = {"type": "safety_signal", "timestamp": "2024-01-01T00:00:00Z", "data": {"id": "x"}}
    assert errors("alert", body)
    body["data"] = {
        "id": "x", "type": "safety_signal", "severity": "high", "headline": "h", "action": "a",
        "conversation_id": "c", "message_id": "m", "category": "self_harm",
    }  # fmt: skip
    assert any("cues" in e for e in errors("alert", body))


# ---------------------------------------------------------------------- input


def _transcript_files() -> list[Path]:
    bundled = REPO / "alliance_monitor" / "demo_data"
    files = [*FIXTURES.glob("*.jsonl"), *bundled.glob("*.jsonl")]
    return sorted(p for p in files if "messages" in p.read_text()[:2000])


@pytest.mark.parametrize("path", _transcript_files(), ids=lambda p: p.name)
def test_bundled_transcripts_validate(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        if "messages" not in obj:
            continue
        assert errors("transcript", obj) == [], (path.name, errors("transcript", obj)[:3])
        for m in obj["messages"]:
            full = {**m, "conversation_id": obj["conversation_id"]}
            assert errors("message", full) == []


def test_demo_messages_validate() -> None:
    for m in _demo_messages():
        assert errors("message", m) == []


ACCEPTED: list[dict[str, Any]] = [
    {"ts": 1.5},
    {"ts": "1714645867"},
    {"ts": "2024-05-02T10:31:07Z"},
    {"ts": "2024-05-02T10:31:07.250+02:00"},
    {"ts": "20240502T103107Z"},
    {"ts": "2024-05-02"},
    {"id": 7, "conversation_id": 12345678901234567890},
    {"counselor_id": 3, "client_id": None, "session_id": "s-1"},
    {"seq": 4},
    {"metadata": {"channel": "web", "n": 3, "flag": True, "none": None}},
    {"extra_key": {"anything": [1, 2]}},
]
REFUSED: list[dict[str, Any]] = [
    {"ts": "yesterday"},
    {"ts": True},
    {"ts": None},
    {"ts": 1e300},
    {"id": 1.5},
    {"id": True},
    {"id": ""},
    {"conversation_id": "x" * 300},
    {"id": "m\x00"},
    {"role": "boss"},
    {"text": 7},
    {"seq": 1.5},
    {"metadata": {"k": [1]}},
    {"metadata": {str(i): i for i in range(65)}},
]


def _message(change: dict[str, Any]) -> dict[str, Any]:
    return {"conversation_id": "c", "id": "m", "role": "client", "text": "hi", "ts": 1.0, **change}


@pytest.mark.parametrize("change", ACCEPTED, ids=str)
def test_what_the_monitor_accepts_the_schema_allows(change: dict[str, Any]) -> None:
    m = _message(change)
    parse_message(m)
    assert errors("message", m) == []


@pytest.mark.parametrize("change", REFUSED, ids=lambda c: str(c)[:40])
def test_what_the_schema_refuses_the_monitor_refuses(change: dict[str, Any]) -> None:
    m = _message(change)
    assert errors("message", m)
    with pytest.raises(InvalidMessage):
        parse_message(m)


def test_an_integral_float_id_is_refused_though_json_schema_calls_it_an_integer() -> None:
    # JSON Schema cannot tell 1.0 from 1; the monitor refuses floats (ids beyond 2**53 would
    # collide), and the schema's description says so.
    m = _message({"id": 1.0})
    assert errors("message", m) == []
    with pytest.raises(InvalidMessage):
        parse_message(m)
    assert "Never a float" in load_schema("message")["$defs"]["id"]["description"]


@pytest.mark.parametrize("field", ["conversation_id", "id", "role", "text", "ts"])
def test_required_fields(field: str) -> None:
    m = _message({})
    del m[field]
    assert errors("message", m)
