"""The monitor's counters, gauges and latency histograms, for the metrics a platform already runs.

Three ways to read the same figures (the names of `alliance-monitor serve`'s ``/metrics``):

- `families(monitor, dispatcher=..., telemetry=...)`: plain records (`Family`), read at the time
  of the call from `Monitor.stats()`, `AlertDispatcher.stats()` and a `Telemetry`'s histograms;
- `PrometheusCollector`: a `prometheus_client` collector to register in the embedder's own
  registry (``pip install "alliance-monitor[prometheus]"``)::

      from prometheus_client import REGISTRY
      REGISTRY.register(PrometheusCollector(monitor, dispatcher=alerts))

- `OTelMetrics`: observable OpenTelemetry instruments (counters, gauges) on the meter
  ``alliance_monitor``, read by whatever reader and exporter the host configured
  (``pip install "alliance-monitor[otel]"``); `Telemetry(metrics=True)` records its latency
  histograms as OpenTelemetry histograms too, next to its spans.

Nothing here holds state of its own or starts a thread: every figure is read when collected.
Labels are reasons, event types and outcomes, never ids or text.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ._errors import RejectReason
from ._events import EventType
from ._telemetry import Histogram, Telemetry

if TYPE_CHECKING:
    from ._monitor import Monitor
    from .alerts import AlertDispatcher

__all__ = ["Family", "OTelMetrics", "PrometheusCollector", "Sample", "Telemetry", "families"]

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Family:
    """One metric: `name` without the ``alliance_monitor_`` prefix (counters end in ``_total``
    as in the Prometheus text format), its `kind`, `help`, and samples; a histogram carries
    `buckets` (cumulative ``(le, count)`` pairs ending with ``+Inf``), `sum` and `count`."""

    name: str
    kind: Kind
    help: str
    samples: tuple[Sample, ...] = ()
    buckets: tuple[tuple[str, int], ...] = ()
    sum: float = 0.0
    count: int = 0
    unit: str = field(default="1", compare=False)


def _one(value: float) -> tuple[Sample, ...]:
    return (Sample({}, float(value)),)


#: Monitor counters: stats key -> (metric name, help, OpenTelemetry unit).
_COUNTERS = (
    ("messages_in", "messages_in_total", "Messages and other input submitted.", "{message}"),
    ("accepted", "messages_accepted_total", "Messages accepted.", "{message}"),
    ("duplicates", "messages_duplicate_total", "Messages dropped as duplicates.", "{message}"),
    ("windows_scored", "windows_scored_total", "Windows scored.", "{window}"),
    ("windows_unscored", "windows_unscored_total", "Windows left unscored.", "{window}"),
    ("windows_merged", "windows_merged_total", "Pending windows merged under load.", "{window}"),
    ("safety_signals", "safety_signals_total", "Safety signals raised.", "{event}"),
    ("sessions_ended", "sessions_ended_total", "Sessions ended.", "{session}"),
    ("handler_errors", "handler_errors_total", "Event handlers that raised.", "{error}"),
    ("events_dropped", "events_dropped_total", "Events dropped by a full queue.", "{event}"),
)
_GAUGES = (
    ("pairs", "pairs", "Pairs in memory.", "{pair}"),
    (
        "pending_pairs",
        "scoring_pending_pairs",
        "Pairs with windows waiting to be scored.",
        "{pair}",
    ),
    ("scoring_inflight", "scoring_inflight", "Windows being scored now.", "{window}"),
)


_REASONS = frozenset(r.value for r in RejectReason)


def monitor_families(stats: Mapping[str, Any]) -> list[Family]:
    """The monitor's families from a `Monitor.stats()` dict (every family present, zero or
    not, so rates work from the first scrape)."""
    out = [
        Family(name, "counter", text, _one(stats.get(key, 0)), unit=unit)
        for key, name, text, unit in _COUNTERS
    ]
    rejected = dict(stats.get("rejected_by_reason", {}))
    out.append(
        Family(
            "messages_rejected_total",
            "counter",
            "Input rejected, by reason.",
            tuple(
                Sample({"reason": r.value}, float(rejected.get(r.value, 0))) for r in RejectReason
            )
            + tuple(
                Sample({"reason": k}, float(v))
                for k, v in sorted(rejected.items())
                if k not in _REASONS
            ),
            unit="{message}",
        )
    )
    out.append(
        Family(
            "events_total",
            "counter",
            "Events emitted, by type.",
            tuple(
                Sample({"type": t.value}, float(stats.get(f"events_{t.value}", 0)))
                for t in EventType
            ),
            unit="{event}",
        )
    )
    out += [
        Family(name, "gauge", text, _one(stats.get(key, 0)), unit=unit)
        for key, name, text, unit in _GAUGES
    ]
    return out


def alert_families(dispatcher: AlertDispatcher) -> list[Family]:
    """The alert outbox's families (`AlertDispatcher.stats()`)."""
    st = dispatcher.stats()
    suppressed = tuple(Sample({"reason": k}, float(v)) for k, v in sorted(st.suppressed.items()))
    rows: list[tuple[str, Kind, str, tuple[Sample, ...], str]] = [
        ("alerts_sent_total", "counter", "Alerts delivered.", _one(st.delivered), "{alert}"),
        ("alerts_suppressed_total", "counter", "Alerts suppressed.", suppressed, "{alert}"),
        ("alerts_failed_total", "counter", "Alerts out of retries.", _one(st.failed), "{alert}"),
        ("alerts_attempts_total", "counter", "Delivery attempts.", _one(st.attempts), "{attempt}"),
        ("alerts_pending", "gauge", "Alerts waiting in the outbox.", _one(st.pending), "{alert}"),
        ("alerts_disabled", "gauge", "Alerts parked (410 Gone).", _one(st.disabled), "{alert}"),
    ]  # fmt: skip
    return [
        Family(name, kind, text, samples, unit=unit) for name, kind, text, samples, unit in rows
    ]


_HISTOGRAMS = (
    ("ingest", "ingest_seconds", "Time of one Monitor.ingest call (validation, state, commit)."),
    ("scoring", "scoring_seconds", "Time to score one window (the scorer's call)."),
    ("delivery", "alert_delivery_seconds", "Time from an alert's submit to its delivery."),
)


def _histogram(name: str, text: str, h: Histogram) -> Family:
    cumulative, total, n = h.snapshot()
    return Family(name, "histogram", text, (), tuple(cumulative), total, n, unit="s")


def telemetry_families(telemetry: Telemetry) -> list[Family]:
    return [_histogram(name, text, getattr(telemetry, attr)) for attr, name, text in _HISTOGRAMS]


def families(
    monitor: Monitor | None = None,
    *,
    dispatcher: AlertDispatcher | None = None,
    telemetry: Telemetry | None = None,
) -> list[Family]:
    """Every family of what is given, read now."""
    out: list[Family] = []
    if monitor is not None:
        out += monitor_families(monitor.stats())
    if dispatcher is not None:
        out += alert_families(dispatcher)
    if telemetry is not None:
        out += telemetry_families(telemetry)
    return out


# ---------------------------------------------------------------------- prometheus_client
class PrometheusCollector:
    """A `prometheus_client` custom collector over a monitor, an alert dispatcher and a
    `Telemetry` (each optional). Register it in any registry; every scrape reads the figures
    then. Metric names are prefixed with `prefix` (default ``alliance_monitor_``)."""

    def __init__(
        self,
        monitor: Monitor | None = None,
        *,
        dispatcher: AlertDispatcher | None = None,
        telemetry: Telemetry | None = None,
        prefix: str = "alliance_monitor_",
    ) -> None:
        self._core = importlib.import_module("prometheus_client.core")  # the optional extra
        self._sources = (monitor, dispatcher, telemetry)
        self.prefix = prefix

    def collect(self) -> Iterator[Any]:
        monitor, dispatcher, telemetry = self._sources
        for fam in families(monitor, dispatcher=dispatcher, telemetry=telemetry):
            yield self._metric(fam)

    def describe(self) -> Iterator[Any]:
        """The families without reading them (prometheus_client checks names at register)."""
        return self.collect()

    def _metric(self, fam: Family) -> Any:
        core = self._core
        name = self.prefix + fam.name
        if fam.kind == "histogram":
            buckets = [(le, float(c)) for le, c in fam.buckets]
            return core.HistogramMetricFamily(name, fam.help, buckets=buckets, sum_value=fam.sum)
        keys = sorted({k for s in fam.samples for k in s.labels})
        cls = core.CounterMetricFamily if fam.kind == "counter" else core.GaugeMetricFamily
        metric = cls(name.removesuffix("_total"), fam.help, labels=keys)
        for s in fam.samples:
            metric.add_metric([s.labels.get(k, "") for k in keys], s.value)
        return metric


# ---------------------------------------------------------------------- OpenTelemetry
class OTelMetrics:
    """Observable OpenTelemetry instruments for a monitor and an alert dispatcher (each
    optional), on the meter ``alliance_monitor`` of `meter_provider` (default: the global one
    the host configured). Counters become observable counters, gauges observable up-down
    counters... read at each collection of the host's metric reader. Names follow the
    OpenTelemetry convention: ``alliance_monitor.messages_in`` (no ``_total``, the unit apart).
    Histograms are recorded by `Telemetry(metrics=True)` as they happen."""

    def __init__(
        self,
        monitor: Monitor | None = None,
        *,
        dispatcher: AlertDispatcher | None = None,
        meter_provider: Any = None,
    ) -> None:
        metrics_api = importlib.import_module("opentelemetry.metrics")  # the optional extra
        from . import __version__

        provider = meter_provider or metrics_api.get_meter_provider()
        self._meter = provider.get_meter("alliance_monitor", __version__)
        self._observation = metrics_api.Observation
        self._monitor = monitor
        self._dispatcher = dispatcher
        self.instruments: list[Any] = []
        for fam in self._read():
            if fam.kind == "histogram":
                continue
            create = (
                self._meter.create_observable_counter
                if fam.kind == "counter"
                else self._meter.create_observable_gauge
            )
            self.instruments.append(
                create(
                    "alliance_monitor." + fam.name.removesuffix("_total"),
                    callbacks=[self._callback(fam.name)],
                    unit=fam.unit,
                    description=fam.help,
                )
            )

    def _read(self) -> list[Family]:
        return families(self._monitor, dispatcher=self._dispatcher)

    def _callback(self, name: str) -> Callable[[Any], Iterable[Any]]:
        def observe(_options: Any) -> Iterable[Any]:
            for fam in self._read():
                if fam.name == name:
                    return [self._observation(s.value, dict(s.labels)) for s in fam.samples]
            return []

        return observe
