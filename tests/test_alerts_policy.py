"""Alert policy, payloads and formatters, without a network (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from alliance_monitor import ConfigError
from alliance_monitor._events import (
    AllianceDeclined,
    AllianceLow,
    Event,
    EventType,
    Feedback,
    PatternDetected,
    SafetySignal,
    Severity,
    WindowScored,
)
from alliance_monitor._models import WindowScore
from alliance_monitor.alerts import (
    MAX_PAYLOAD_BYTES,
    AlertDispatcher,
    AlertPolicy,
    Format,
    WebhookEndpoint,
    alert_data,
    format_slack,
    format_teams,
    generate_webhook_secret,
)
from alliance_monitor.alerts._formatters import render
from alliance_monitor.alerts._payload import digest_data

SECRET = generate_webhook_secret()
PLANTED = ("Zorblax Quintavious", "555-0199", "MRN-88412", "17 Larkspur Lane")
FORMATS: tuple[Format, ...] = ("standard", "slack", "teams")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def feedback(**kw: Any) -> Feedback:
    base: dict[str, Any] = {
        "pattern": "passive",
        "message_ids": ("m3", "m5"),
        "dimension": "bond",
        "summary": 'You replied "ok, I see" right after the client said '
        f"“my name is {PLANTED[0]}, call me at {PLANTED[1]}”.",
        "suggestion": "Reflect the feeling first, e.g. 'It sounds like that hurt a lot.'",
        "quotes": (f"I live at {PLANTED[3]}", f"my record is {PLANTED[2]}"),
    }
    base.update(kw)
    return Feedback(**base)


def pattern_event(i: int = 0, conv: str = "c1", **kw: Any) -> PatternDetected:
    return PatternDetected(
        id=f"evt_pat{i}",
        conversation_id=conv,
        counselor_id="u7",
        type=EventType.PASSIVE_PATTERN,
        pattern="passive",
        window_index=i,
        rate=0.6,
        message_ids=("m3", "m5"),
        feedback=feedback(),
        **kw,
    )


def decline_event(i: int = 0, conv: str = "c1", **kw: Any) -> AllianceDeclined:
    return AllianceDeclined(
        id=f"evt_dec{i}",
        conversation_id=conv,
        counselor_id="u7",
        dimension="bond",
        from_level=3.9,
        to_level=2.7,
        change=-1.2,
        reference="baseline",
        windows=(2, 3),
        evidence=("m8", "m9"),
        feedback=feedback(pattern="directive"),
        **kw,
    )


def safety_event(i: int = 0, conv: str = "c1") -> SafetySignal:
    return SafetySignal(
        id=f"evt_saf{i}",
        conversation_id=conv,
        message_id=f"m{i}",
        category="self_harm",
        cues=("suicidal_ideation",),
    )


def window_event(i: int = 0) -> WindowScored:
    return WindowScored(
        id=f"evt_win{i}",
        conversation_id="c1",
        window_index=i,
        score=WindowScore(conversation_id="c1", window_index=i),
    )


class Sink:
    """A MockTransport that records bodies and answers 204."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        return httpx.Response(204)


def dispatcher(sink: Sink, **kw: Any) -> AlertDispatcher:
    endpoints = kw.pop("endpoints", None) or [WebhookEndpoint("https://example.org/h", [SECRET])]
    return AlertDispatcher(endpoints, transport=sink.transport, retry_schedule=(0, 0.01), **kw)


# --- policy ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_window_scored_does_not_alert_by_default_and_is_counted() -> None:
    sink = Sink()
    async with dispatcher(sink) as d:
        result = await d.submit(window_event())
        assert result.action == "suppressed" and result.reason == "not_alertable"
        assert d.stats().suppressed == {"not_alertable": 1}
        assert await d.drain(2)
    assert sink.bodies == []


@pytest.mark.anyio
async def test_cooldown_per_pair_and_type_with_escalation_and_safety_bypass() -> None:
    sink = Sink()
    async with dispatcher(sink, policy=AlertPolicy(cooldown=3600)) as d:
        assert (await d.submit(decline_event(0))).action == "queued"
        assert (await d.submit(decline_event(1))).reason == "cooldown"  # same pair, same type
        assert (await d.submit(decline_event(2, conv="c2"))).action == "queued"  # other pair
        assert (await d.submit(pattern_event(0))).action == "queued"  # other type
        escalated = decline_event(3, severity=Severity.HIGH)
        assert (await d.submit(escalated)).action == "queued"  # more severe: goes through
        for i in range(3):  # safety signals never wait for a cooldown
            assert (await d.submit(safety_event(i))).action == "queued"
        assert (await d.submit(decline_event(0))).reason == "duplicate"  # same event id
        assert (await d.submit(safety_event(0))).reason == "duplicate"
        stats = d.stats()
        assert stats.suppressed == {"cooldown": 1, "duplicate": 2}
        assert stats.suppressed_total == 3
        assert await d.drain(5)
        assert d.stats().delivered == 7
    assert len(sink.bodies) == 7


@pytest.mark.anyio
async def test_min_severity_and_endpoint_filters() -> None:
    sink = Sink()
    supervisors = WebhookEndpoint(
        "https://sup.example.org/h", [SECRET], event_types={"safety_signal", "alliance_declined"}
    )
    coaching = WebhookEndpoint(
        "https://coach.example.org/h", [SECRET], event_types={"passive_pattern"}
    )
    policy = AlertPolicy(min_severity=Severity.MEDIUM)
    async with dispatcher(sink, endpoints=[supervisors, coaching], policy=policy) as d:
        assert (await d.submit(pattern_event())).reason == "below_min_severity"
        r = await d.submit(decline_event())
        assert r.endpoints == (supervisors.name,)
        r = await d.submit(safety_event())
        assert r.endpoints == (supervisors.name,)
        assert await d.drain(5)
    policy = AlertPolicy(alert_types=frozenset({"alliance_low"}))
    async with dispatcher(sink, endpoints=[coaching], policy=policy) as d:
        low = AllianceLow(id="evt_low", conversation_id="c1", dimension="goal", level=1.8,
                          windows=(4,))  # fmt: skip
        assert (await d.submit(low)).reason == "no_endpoint"


@pytest.mark.anyio
async def test_digest_batches_low_severity_but_never_safety() -> None:
    sink = Sink()
    policy = AlertPolicy(digest_interval=3600, cooldown=0)
    async with dispatcher(sink, policy=policy) as d:
        for i in range(5):
            assert (await d.submit(pattern_event(i, conv=f"c{i}"))).action == "held"
        assert (await d.submit(decline_event())).action == "queued"  # medium: not digested
        assert (await d.submit(safety_event())).action == "queued"
        assert d.stats().held == 5
        assert await d.drain(5)  # drain flushes the digest
        stats = d.stats()
        assert stats.held == 0 and stats.digests == 1 and stats.delivered == 3
    kinds = sorted(json.loads(b)["type"] for b in sink.bodies)
    assert kinds == [
        "alliance_declined",
        "digest",
        "safety_signal",
    ]
    digest = next(json.loads(b) for b in sink.bodies if b"digest" in b)
    assert digest["data"]["count"] == 5
    assert sorted(i["id"] for i in digest["data"]["items"]) == [f"evt_pat{i}" for i in range(5)]


@pytest.mark.anyio
async def test_digest_is_flushed_after_its_interval() -> None:
    sink = Sink()
    async with dispatcher(sink, policy=AlertPolicy(digest_interval=0.2, cooldown=0)) as d:
        await d.submit(pattern_event(0))
        await d.submit(pattern_event(1, conv="c2"))
        import anyio

        with anyio.fail_after(3):
            while d.stats().delivered < 1:
                await anyio.sleep(0.05)
    assert len(sink.bodies) == 1 and json.loads(sink.bodies[0])["data"]["count"] == 2


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError):
        WebhookEndpoint("https://example.org/h")  # standard format needs a secret
    with pytest.raises(ConfigError):
        WebhookEndpoint("ftp://example.org/h", [SECRET])
    with pytest.raises(ConfigError):
        WebhookEndpoint("https://example.org/h", [SECRET], event_types={"alliance_declind"})
    WebhookEndpoint("https://hooks.slack.com/services/T/B/X", format="slack")  # no secret: fine
    ep = WebhookEndpoint("https://example.org/h", [SECRET])
    with pytest.raises(ConfigError):
        AlertDispatcher([ep, ep])
    with pytest.raises(ConfigError):
        AlertDispatcher([ep], retry_schedule=())


def test_allowed_hosts_guard_against_ssrf() -> None:
    internal = WebhookEndpoint("http://169.254.169.254/latest/meta-data", [SECRET])
    slack = WebhookEndpoint("https://hooks.slack.com/services/T/B/X", format="slack")
    own = WebhookEndpoint("https://alerts.platform.example.org/h", [SECRET])
    AlertDispatcher([slack, own], allowed_hosts=["hooks.slack.com", "*.example.org"])
    with pytest.raises(ConfigError) as info:
        AlertDispatcher(
            [slack, internal],
            allowed_hosts=["hooks.slack.com", "*.example.org"],
            allow_private=True,
        )
    assert "allowed_hosts" in str(info.value)
    with pytest.raises(ConfigError):
        AlertDispatcher([own], allowed_hosts=["example.org"])  # exact host only


def test_endpoint_repr_hides_secrets_and_url_tokens() -> None:
    ep = WebhookEndpoint(
        "https://hooks.slack.com/services/T0/B0/TOKEN123", [SECRET], format="slack"
    )
    assert "TOKEN123" not in repr(ep) and SECRET not in repr(ep)


# --- payloads and formatters -----------------------------------------------------------------


def all_bodies(include_text: bool) -> Iterator[bytes]:
    events: list[Event] = [pattern_event(), decline_event(), safety_event()]
    for ev in events:
        data = alert_data(ev, Severity.MEDIUM, include_text=include_text)
        for fmt in FORMATS:
            yield render(fmt, data, 1_700_000_000.0)
    items = [alert_data(ev, Severity.LOW, include_text=include_text) for ev in events]
    for fmt in FORMATS:
        yield render(fmt, digest_data("dig_1", items, 1_700_000_000.0), 1_700_000_000.0)


def test_payloads_are_private_by_default() -> None:
    for body in all_bodies(include_text=False):
        text = body.decode()
        for planted in PLANTED:
            assert planted not in text, (planted, text[:300])
        json.loads(body)


def test_quotes_only_when_opted_in() -> None:
    joined = "".join(b.decode() for b in all_bodies(include_text=True))
    assert PLANTED[3] in joined and PLANTED[2] in joined  # Feedback.quotes


def test_standard_payload_is_thin_and_useful() -> None:
    data = alert_data(decline_event(), Severity.MEDIUM)
    body = json.loads(render("standard", data, 1_700_000_000.0))
    assert body["type"] == "alliance_declined" == body["data"]["type"]
    assert body["timestamp"] == "2023-11-14T22:13:20Z"
    d = body["data"]
    assert d["id"] == "evt_dec0" and d["severity"] == "medium"
    assert d["conversation_id"] == "c1" and d["counselor_id"] == "u7"
    assert (d["from_level"], d["to_level"], d["change"]) == (3.9, 2.7, -1.2)
    assert d["evidence_message_ids"] == ["m8", "m9"]
    assert d["feedback"]["suggestion"].startswith("Reflect the feeling first")
    assert "quotes" not in d["feedback"]
    assert d["headline"] and d["action"]


def test_slack_and_teams_read_at_a_glance() -> None:
    data = alert_data(safety_event(), Severity.HIGH)
    slack = format_slack(data)
    assert slack["text"].startswith("🔴 HIGH")
    header = slack["blocks"][0]["text"]["text"]
    assert "self-harm" in header
    flat = json.dumps(slack)
    assert "conversation c1" in flat and "What to do" in flat and "crisis protocol" in flat
    teams = format_teams(data)
    card = teams["attachments"][0]["content"]
    assert teams["type"] == "message" and card["type"] == "AdaptiveCard"
    assert card["body"][0]["color"] == "Attention"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Severity"] == "HIGH" and "conversation c1" in facts["Pair"]
    assert facts["Cues"] == "suicidal_ideation"


def test_slack_escapes_control_characters_in_ids() -> None:
    ev = SafetySignal(id="evt_x", conversation_id="<!channel> & co", message_id="m",
                      category="self_harm")  # fmt: skip
    slack = json.dumps(format_slack(alert_data(ev, Severity.HIGH)))
    assert "<!channel>" not in slack and "&lt;!channel&gt; &amp; co" in slack


def test_every_body_stays_under_20_kb() -> None:
    huge_ids = tuple(f"m{i:06d}-" + "x" * 240 for i in range(5000))
    big = feedback(
        summary="s" * 200_000,
        suggestion="t" * 200_000,
        message_ids=huge_ids,
        quotes=tuple("q" * 5000 for _ in range(200)),
    )
    events: list[Event] = [
        pattern_event().model_copy(update={"message_ids": huge_ids, "feedback": big}),
        decline_event().model_copy(update={"evidence": huge_ids, "windows": tuple(range(9000))}),
        SafetySignal(id="evt_s", conversation_id="c" * 256, message_id="m" * 256,
                     category="self_harm", cues=tuple(f"cue{i}" for i in range(5000))),
    ]  # fmt: skip
    for include_text in (False, True):
        items = []
        for ev in events:
            data = alert_data(ev, Severity.HIGH, include_text=include_text)
            items.append(data)
            for fmt in FORMATS:
                body = render(fmt, data, 0.0)
                assert len(body) < MAX_PAYLOAD_BYTES, (fmt, len(body))
                json.loads(body)
        many = digest_data("dig_big", items * 200, 0.0)
        for fmt in FORMATS:
            body = render(fmt, many, 0.0)
            assert len(body) < MAX_PAYLOAD_BYTES, (fmt, len(body))
            assert json.loads(body)


def test_public_api_is_sorted_and_complete() -> None:
    import alliance_monitor.alerts as alerts

    assert alerts.__all__ == sorted(alerts.__all__, key=lambda n: (not n.isupper(), n))
    for name in alerts.__all__:
        assert getattr(alerts, name) is not None
    public = {n for n in dir(alerts) if not n.startswith("_") and n != "testing"}
    assert public == set(alerts.__all__)


@pytest.mark.anyio
async def test_submit_outside_the_context_is_an_error() -> None:
    from alliance_monitor import MonitorClosed

    d = dispatcher(Sink())
    with pytest.raises(MonitorClosed):
        await d.submit(safety_event())
    async with d:
        await d.submit(safety_event())
    with pytest.raises(MonitorClosed):
        d.submit_nowait(safety_event(1))
