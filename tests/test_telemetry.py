"""Latency histograms in /metrics and optional OpenTelemetry spans (alliance_monitor/_telemetry.py).

- the service's /metrics carries ingest, scoring and alert-delivery histograms whose counts match
  what the service did (a real service process, a real webhook receiver for alerts);
- with `opentelemetry-sdk`'s in-memory exporter, scoring, ingest-free library use and alert
  attempts produce spans with ids and outcomes, never message text;
- without `opentelemetry` installed nothing breaks, nothing is imported, spans are no-ops.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from test_serve import Proc, metrics, signed, sink, wait_for, write  # noqa: F401 - fixture

from alliance_monitor._telemetry import Histogram, Telemetry


def test_histogram_is_cumulative_with_inf_sum_and_count() -> None:
    h = Histogram((0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 2.0, 3.0):
        h.observe(v)
    cumulative, total, n = h.snapshot()
    assert cumulative == [("0.1", 2), ("1", 3), ("+Inf", 5)]
    assert n == 5 and total == pytest.approx(5.65)
    lines = h.render("x_seconds", "Help.")
    assert lines[:2] == ["# HELP x_seconds Help.", "# TYPE x_seconds histogram"]
    assert 'x_seconds_bucket{le="+Inf"} 5' in lines and "x_seconds_count 5" in lines
    with pytest.raises(ValueError):
        Histogram((1.0, 0.5))


def test_spans_are_noops_without_an_sdk() -> None:
    t = Telemetry()
    with t.timed(t.ingest, "alliance_monitor.ingest"):
        pass
    assert t.ingest.count == 1


def histogram(m: dict[str, float], name: str) -> tuple[list[float], float, float]:
    full = f"alliance_monitor_{name}_seconds"
    buckets = [v for k, v in m.items() if k.startswith(full + "_bucket{")]
    return buckets, m[full + "_sum"], m[full + "_count"]


def test_metrics_histograms_count_what_the_service_did(tmp_path: Path, sink: tuple) -> None:  # noqa: F811
    alerts, alert_base = sink
    config = write(
        tmp_path,
        f'''
[server]
shutdown_timeout = 10

[[adapters]]
type = "http"
path = "/hooks/messages"
secrets_env = ["AM_HTTP_SECRET"]

[alerts]
outbox_path = "{tmp_path / "outbox.db"}"
allow_private = true

[[alerts.endpoints]]
url = "{alert_base}/alerts"
secrets_env = ["AM_ALERT_SECRET"]
event_types = ["safety_signal"]
''',
    )
    proc = Proc(config)
    try:
        msgs = [
            {
                "conversation_id": "p1",
                "id": f"m{i}",
                "role": "client" if i % 2 else "counselor",
                "text": "and how did that feel for you?",
                "ts": 10.0 + i,
            }
            for i in range(30)
        ]
        msgs[11]["text"] = "I want to kill myself"  # a client message: a safety alert
        body = json.dumps({"messages": msgs}).encode()
        r = httpx.post(
            proc.base + "/hooks/messages", content=body, headers=signed(body, "msg_1"), timeout=5
        )
        assert r.status_code == 202
        wait_for(lambda: metrics(proc.base).get("alliance_monitor_messages_accepted_total") == 30)
        wait_for(lambda: len(alerts.received) >= 1)
        wait_for(lambda: metrics(proc.base).get("alliance_monitor_alerts_sent_total", 0) >= 1)
        m = metrics(proc.base)
        for name in ("ingest", "scoring", "alert_delivery"):
            buckets, total, count = histogram(m, name)
            assert buckets == sorted(buckets) and buckets[-1] == count, name  # cumulative
            assert total >= 0 and count >= 1, name
        assert histogram(m, "ingest")[2] == 30
        assert histogram(m, "scoring")[2] >= 1  # windows closed while scoring may merge
        assert histogram(m, "alert_delivery")[2] == m["alliance_monitor_alerts_sent_total"]
    finally:
        assert proc.stop() == 0


SPANS = textwrap.dedent(
    """
    import json, sys
    import anyio
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    from alliance_monitor import Monitor
    from alliance_monitor._telemetry import Telemetry
    from alliance_monitor.alerts import AlertDispatcher, WebhookEndpoint, generate_webhook_secret
    from alliance_monitor.alerts.testing import LoopbackReceiver, Reply
    from alliance_monitor.testing import StaticScorer

    async def main():
        t = Telemetry()
        secret = generate_webhook_secret()
        answers = iter([Reply(503)])
        async with LoopbackReceiver([secret], behaviour=lambda d: next(answers, Reply(204))) as rx:
            ep = WebhookEndpoint(rx.url, [secret], name="rx")
            async with AlertDispatcher([ep], retry_schedule=(0, 0.05), telemetry=t,
                                       allow_private=True) as alerts:
                async with Monitor(scorer=t.instrument(StaticScorer(3.0))) as m:
                    m.on(alerts.submit, types=["safety_signal"])
                    for i in range(40):
                        role = "client" if i % 2 else "counselor"
                        text = "SECRET-TEXT-77 I want to kill myself" if i == 5 else "hello there"
                        await m.ingest({"conversation_id": "c1", "id": f"m{i}", "role": role,
                                        "text": text, "ts": float(i)})
                    await m.end_session("c1")
                assert await alerts.drain(10)
        print(json.dumps({"scoring": t.scoring.count, "delivery": t.delivery.count, "spans": [
            {"name": s.name, "attributes": dict(s.attributes)}
            for s in exporter.get_finished_spans()]}))

    anyio.run(main)
    """
)


def test_spans_with_an_in_memory_exporter(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.sdk")
    script = tmp_path / "spans.py"
    script.write_text(SPANS)
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    spans = out["spans"]
    scores = [s for s in spans if s["name"] == "alliance_monitor.score"]
    attempts = [s for s in spans if s["name"] == "alliance_monitor.alert_attempt"]
    assert len(scores) == out["scoring"] >= 1  # closed windows may merge while scoring is busy
    assert {s["attributes"]["alliance_monitor.conversation_id"] for s in scores} == {"c1"}
    assert all(s["attributes"]["alliance_monitor.status"] == "scored" for s in scores)
    assert [a["attributes"]["alliance_monitor.outcome"] for a in attempts] == ["retry", "delivered"]
    assert [a["attributes"]["alliance_monitor.attempt"] for a in attempts] == [1, 2]
    assert out["delivery"] == 1
    assert "SECRET-TEXT-77" not in res.stdout and "kill myself" not in res.stdout


def test_without_opentelemetry_nothing_is_imported_and_spans_cost_nothing() -> None:
    code = textwrap.dedent(
        """
        import sys
        import alliance_monitor, alliance_monitor.alerts
        assert not any(m.startswith("opentelemetry") for m in sys.modules), "imported eagerly"
        sys.modules["opentelemetry"] = None  # as if not installed
        from alliance_monitor._telemetry import Telemetry, otel_available
        import alliance_monitor._serve
        assert not otel_available()
        t = Telemetry()
        assert not t.tracing
        with t.span("x", {"a": 1}) as span:
            assert span is None
        print("ok")
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
