"""Metrics for what platforms already run: a prometheus_client collector in the embedder's own
registry and OpenTelemetry metrics (observable counters and gauges, latency histograms next to
the spans), read from a real monitor that replayed the bundled sample with alerts delivered to a
real loopback receiver. Every figure is checked against `Monitor.stats()` / the dispatcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import REPO
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from alliance_monitor import EventType, Monitor, RejectReason, ScoringPolicy
from alliance_monitor.alerts import AlertDispatcher, WebhookEndpoint, generate_webhook_secret
from alliance_monitor.alerts.testing import LoopbackReceiver
from alliance_monitor.metrics import OTelMetrics, PrometheusCollector, Telemetry, families
from alliance_monitor.scoring import EmbeddedScorer

SAMPLE = REPO / "alliance_monitor" / "demo_data" / "sample.jsonl"


def sample_messages() -> list[dict[str, Any]]:
    out = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        conv = json.loads(line)
        out += [{**m, "conversation_id": conv["conversation_id"]} for m in conv["messages"]]
    return out


class Run:
    """A monitor with alerts, run over the sample plus some bad input, then read while open."""

    def __init__(self, telemetry: Telemetry, read: Any) -> None:
        self.telemetry = telemetry
        self.read = read
        self.stats: dict[str, Any] = {}
        self.alerts: Any = None
        self.result: Any = None

    async def go(self) -> None:
        secret = generate_webhook_secret()
        async with LoopbackReceiver(secrets=[secret]) as rx:
            monitor = Monitor(
                scorer=self.telemetry.instrument(EmbeddedScorer()),
                idle_check_interval=None,
                scoring=ScoringPolicy(overload="wait"),
            )
            endpoint = WebhookEndpoint(rx.url, [secret])
            async with (
                AlertDispatcher([endpoint], allow_private=True, telemetry=self.telemetry) as alerts,
                monitor,
            ):
                monitor.on(alerts.submit)
                for m in sample_messages():
                    await monitor.ingest(m)
                for bad in ({"id": "x"}, {**sample_messages()[0], "ts": "soon"}):
                    await monitor.ingest(bad)
                await monitor.ingest(sample_messages()[0])  # a duplicate
                await monitor.end_all_sessions()
                await monitor.flush()
                assert await alerts.drain(20)
                self.stats = monitor.stats()
                self.alerts = alerts.stats()
                self.result = self.read(monitor, alerts)


def run(read: Any, telemetry: Telemetry | None = None) -> Run:
    r = Run(telemetry or Telemetry(tracing=False), read)
    anyio.run(r.go)
    return r


def test_families_are_the_monitors_own_figures() -> None:
    r = run(lambda m, a: families(m, dispatcher=a))
    by = {f.name: f for f in r.result}
    one = {n: f.samples[0].value for n, f in by.items() if len(f.samples) == 1}
    s = r.stats
    assert (
        one["messages_in_total"]
        == s["messages_in"]
        == s["accepted"] + s["duplicates"] + s["rejected"]
    )
    assert one["messages_accepted_total"] == s["accepted"] > 200
    assert one["messages_duplicate_total"] == s["duplicates"] == 1
    rejected = {x.labels["reason"]: x.value for x in by["messages_rejected_total"].samples}
    assert set(rejected) >= {r.value for r in RejectReason}  # every reason, zero or not
    assert rejected["missing_field"] == 1 and rejected["bad_timestamp"] == 1
    events = {x.labels["type"]: x.value for x in by["events_total"].samples}
    assert set(events) == {t.value for t in EventType}
    assert events["safety_signal"] == one["safety_signals_total"] == s["safety_signals"] >= 1
    assert events["session_summary"] == 12
    assert one["windows_scored_total"] == s["windows_scored"] == events["window_scored"]
    assert one["alerts_sent_total"] == r.alerts.delivered > 0


def test_prometheus_collector_in_an_embedders_registry() -> None:
    telemetry = Telemetry(tracing=False)

    def read(monitor: Monitor, alerts: AlertDispatcher) -> str:
        registry = CollectorRegistry()
        registry.register(PrometheusCollector(monitor, dispatcher=alerts, telemetry=telemetry))
        return generate_latest(registry).decode()

    r = run(read, telemetry)
    parsed = {f.name: f for f in text_string_to_metric_families(r.result)}
    value = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in parsed.values()
        for s in f.samples
    }
    assert value[("alliance_monitor_messages_in_total", ())] == r.stats["messages_in"]
    assert value[("alliance_monitor_messages_accepted_total", ())] == r.stats["accepted"]
    assert value[("alliance_monitor_messages_rejected_total", (("reason", "bad_timestamp"),))] == 1
    safety = value[("alliance_monitor_events_total", (("type", "safety_signal"),))]
    assert safety == r.stats["safety_signals"] >= 1
    assert value[("alliance_monitor_alerts_sent_total", ())] == r.alerts.delivered
    assert parsed["alliance_monitor_messages_in"].type == "counter"
    assert parsed["alliance_monitor_pairs"].type == "gauge"
    # latency histograms: every window scored was timed, every delivered alert too
    assert parsed["alliance_monitor_scoring_seconds"].type == "histogram"
    assert value[("alliance_monitor_scoring_seconds_count", ())] == r.stats["windows_scored"] + (
        r.stats.get("windows_unscored", 0)
    )
    assert value[("alliance_monitor_alert_delivery_seconds_count", ())] == r.alerts.delivered
    inf = value[("alliance_monitor_scoring_seconds_bucket", (("le", "+Inf"),))]
    assert inf == value[("alliance_monitor_scoring_seconds_count", ())]


def test_two_collectors_cannot_clash_silently() -> None:
    registry = CollectorRegistry()
    registry.register(PrometheusCollector(Monitor()))
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        registry.register(PrometheusCollector(Monitor()))
    CollectorRegistry().register(PrometheusCollector(Monitor(), prefix="second_"))


def _points(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    out: dict[str, Any] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            assert sm.scope.name == "alliance_monitor"
            for metric in sm.metrics:
                out[metric.name] = metric
    return out


def test_opentelemetry_metrics_next_to_the_traces() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    telemetry = Telemetry(tracing=False, metrics=True, meter_provider=provider)

    def read(monitor: Monitor, alerts: AlertDispatcher) -> dict[str, Any]:
        OTelMetrics(monitor, dispatcher=alerts, meter_provider=provider)
        return _points(reader)

    r = run(read, telemetry)
    got = r.result

    def value(name: str, **attrs: str) -> float:
        for p in got[name].data.data_points:
            if dict(p.attributes or {}) == attrs:
                return float(p.value)
        raise AssertionError((name, attrs))

    assert value("alliance_monitor.messages_in") == r.stats["messages_in"]
    assert value("alliance_monitor.messages_rejected", reason="missing_field") == 1
    assert value("alliance_monitor.events", type="session_summary") == 12
    assert value("alliance_monitor.pairs") == r.stats["pairs"]
    assert value("alliance_monitor.alerts_sent") == r.alerts.delivered
    assert got["alliance_monitor.messages_in"].unit == "{message}"
    (scoring,) = got["alliance_monitor.scoring.duration"].data.data_points
    assert scoring.count == r.stats["windows_scored"] + r.stats.get("windows_unscored", 0)
    assert got["alliance_monitor.scoring.duration"].unit == "s"
    (delivery,) = got["alliance_monitor.alert_delivery.duration"].data.data_points
    assert delivery.count == r.alerts.delivered
    assert list(scoring.explicit_bounds)[:3] == [0.001, 0.005, 0.01]  # the advised buckets
    provider.shutdown()


def test_metrics_off_by_default_and_the_extra_named_when_missing(tmp_path: Path) -> None:
    assert Telemetry().scoring.mirror is None
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['prometheus_client'] = None; sys.modules['prometheus_client.core'] = None\n"
        "from alliance_monitor.metrics import PrometheusCollector\n"
        "try:\n    PrometheusCollector()\nexcept ImportError as e:\n    print(type(e).__name__, e.name)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.split()
    assert out == ["ModuleNotFoundError", "prometheus_client.core"]
