"""Latency histograms and optional OpenTelemetry spans.

`Telemetry` holds three Prometheus-style histograms, in seconds:

- `ingest`: one `Monitor.ingest` call (validation, state, durable commit),
- `scoring`: one window through the scorer (`Telemetry.instrument(scorer)`),
- `delivery`: an alert from its `submit` to the receiver's 2xx (retries included),

and, when `opentelemetry-api` is installed (`pip install "alliance-monitor[otel]"`), opens a span
around each of them on the tracer `alliance_monitor` (the host configures the SDK and exporter;
without an SDK the API's spans are no-ops). Without the package nothing is imported and a span
costs one `None` check. Span attributes are ids, counts and outcomes, never message text. With
`metrics=True` each observation is also recorded in an OpenTelemetry histogram on the meter
`alliance_monitor` (``alliance_monitor.ingest.duration``, ``.scoring.duration``,
``.alert_delivery.duration``, in seconds), next to the spans; `alliance_monitor.metrics` has the
counters and gauges.

`alliance-monitor serve` records all three and exposes them on `/metrics`.
"""

from __future__ import annotations

import importlib
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ._models import WindowRequest, WindowScore
from .scoring._base import Scorer

_otel_trace: Any
_otel_metrics: Any
_PROXY: Any = ()
try:  # optional: spans only when the OpenTelemetry API is installed
    _otel_trace = importlib.import_module("opentelemetry.trace")
    _otel_metrics = importlib.import_module("opentelemetry.metrics")
    _PROXY = _otel_trace.ProxyTracerProvider
except ImportError:  # exercised in a child process by the tests
    _otel_trace = _otel_metrics = None

__all__ = ["ClockSkew", "Histogram", "InstrumentedScorer", "Telemetry", "otel_available"]

AttributeValue = str | int | float | bool

INGEST_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
SCORING_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DELIVERY_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    3600.0,
)


def otel_available() -> bool:
    """True when `opentelemetry-api` could be imported."""
    return _otel_trace is not None


class Histogram:
    """A cumulative histogram with fixed upper bounds, as Prometheus exposes one."""

    def __init__(self, buckets: Sequence[float], *, mirror: Any = None) -> None:
        """`mirror`: an OpenTelemetry histogram that records every observation too."""
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError("histogram buckets must be increasing and unique")
        self.buckets = tuple(float(b) for b in buckets)
        self._counts = [0] * (len(self.buckets) + 1)  # the last one is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()
        self.mirror = mirror

    def observe(self, seconds: float) -> None:
        i = bisect_left(self.buckets, seconds)
        with self._lock:
            self._counts[i] += 1
            self._sum += seconds
        if self.mirror is not None:
            self.mirror.record(seconds)

    @property
    def count(self) -> int:
        return sum(self._counts)

    def snapshot(self) -> tuple[list[tuple[str, int]], float, int]:
        """(cumulative (le, count) pairs ending with "+Inf", sum, count)."""
        with self._lock:
            counts, total = list(self._counts), self._sum
        out, running = [], 0
        for bound, n in zip([*map(_le, self.buckets), "+Inf"], counts, strict=True):
            running += n
            out.append((bound, running))
        return out, total, running

    def render(self, name: str, text: str) -> list[str]:
        """Prometheus text-format lines for this histogram."""
        cumulative, total, n = self.snapshot()
        lines = [f"# HELP {name} {text}", f"# TYPE {name} histogram"]
        lines += [f'{name}_bucket{{le="{le}"}} {c}' for le, c in cumulative]
        return [*lines, f"{name}_sum {total:.9g}", f"{name}_count {n}"]


def _le(bound: float) -> str:
    return f"{bound:g}"


class Telemetry:
    """The three latency histograms plus spans; one per service (no global state)."""

    def __init__(
        self,
        *,
        tracing: bool = True,
        trace_ingest: bool = False,
        metrics: bool = False,
        meter_provider: Any = None,
    ) -> None:
        """`tracing`: open spans (if `opentelemetry-api` is installed). `trace_ingest`: also one
        span per ingested message; off by default, as a span costs more than the ingest itself
        (benchmarks/telemetry.py). `metrics`: record the three histograms as OpenTelemetry
        histograms too, on `meter_provider` (default: the global one the host configured)."""
        self.trace_ingest = trace_ingest and tracing
        meter = _meter(meter_provider) if metrics else None
        self.ingest = Histogram(
            INGEST_BUCKETS, mirror=_otel_histogram(meter, "ingest", INGEST_BUCKETS)
        )
        self.scoring = Histogram(
            SCORING_BUCKETS, mirror=_otel_histogram(meter, "scoring", SCORING_BUCKETS)
        )
        self.delivery = Histogram(
            DELIVERY_BUCKETS, mirror=_otel_histogram(meter, "alert_delivery", DELIVERY_BUCKETS)
        )
        self._tracer: Any = (
            _otel_trace.get_tracer("alliance_monitor") if tracing and _otel_trace else None
        )

    @property
    def tracing(self) -> bool:
        return self._tracer is not None

    @contextmanager
    def span(
        self, name: str, attributes: Mapping[str, AttributeValue] | None = None
    ) -> Iterator[Any]:
        """An OpenTelemetry span (current span's child), or nothing: without the API, and while no
        SDK is configured (the API's default provider would only hand out no-op spans)."""
        if self._tracer is None or isinstance(_otel_trace.get_tracer_provider(), _PROXY):
            yield None
            return
        with self._tracer.start_as_current_span(name, attributes=dict(attributes or {})) as span:
            yield span

    @contextmanager
    def timed(
        self,
        histogram: Histogram,
        name: str,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Iterator[Any]:
        """Observe the block's duration in `histogram`, inside a span called `name`."""
        started = time.perf_counter()
        try:
            with self.span(name, attributes) as span:
                yield span
        finally:
            histogram.observe(time.perf_counter() - started)

    def instrument(self, scorer: Scorer) -> InstrumentedScorer:
        """`scorer`, with each window's scoring time observed and traced."""
        return InstrumentedScorer(scorer, self)

    def render(self, prefix: str = "alliance_monitor_") -> list[str]:
        return [
            *self.ingest.render(
                prefix + "ingest_seconds",
                "Time of one Monitor.ingest call (validation, state, commit).",
            ),
            *self.scoring.render(
                prefix + "scoring_seconds", "Time to score one window (the scorer's call)."
            ),
            *self.delivery.render(
                prefix + "alert_delivery_seconds",
                "Time from an alert's submit to its delivery (with retries).",
            ),
        ]


_OTEL_HELP = {
    "ingest": "Time of one Monitor.ingest call (validation, state, commit).",
    "scoring": "Time to score one window (the scorer's call).",
    "alert_delivery": "Time from an alert's submit to its delivery (with retries).",
}


def _meter(provider: Any) -> Any:
    if _otel_metrics is None:
        raise ImportError(
            "Telemetry(metrics=True) needs opentelemetry-api: pip install 'alliance-monitor[otel]'"
        )
    from . import __version__

    return (provider or _otel_metrics.get_meter_provider()).get_meter(
        "alliance_monitor", __version__
    )


def _otel_histogram(meter: Any, what: str, buckets: Sequence[float]) -> Any:
    if meter is None:
        return None
    name, unit, text = f"alliance_monitor.{what}.duration", "s", _OTEL_HELP[what]
    try:  # the bucket advice exists from opentelemetry-api 1.23
        return meter.create_histogram(
            name, unit=unit, description=text, explicit_bucket_boundaries_advisory=list(buckets)
        )
    except TypeError:
        return meter.create_histogram(name, unit=unit, description=text)


class InstrumentedScorer(Scorer):
    """Wraps a scorer: the same scores, with timing and a span per window."""

    def __init__(self, inner: Scorer, telemetry: Telemetry) -> None:
        self.inner = inner
        self.telemetry = telemetry
        self.name = inner.name

    def __getattr__(self, attr: str) -> Any:  # version, stats, ... of the wrapped scorer
        return getattr(self.inner, attr)

    async def score(self, request: WindowRequest) -> WindowScore:
        attrs: dict[str, AttributeValue] = {
            "alliance_monitor.conversation_id": request.conversation_id,
            "alliance_monitor.window_index": request.window_index,
            "alliance_monitor.scorer": self.name,
        }
        with self.telemetry.timed(self.telemetry.scoring, "alliance_monitor.score", attrs) as span:
            score = await self.inner.score(request)
            if span is not None:
                span.set_attribute("alliance_monitor.status", score.status)
            return score

    async def aclose(self) -> None:
        await self.inner.aclose()


class ClockSkew:
    """Host clock minus platform timestamp, for timestamps that look like Unix epochs: a moving
    average and the largest seen. Large or negative values point at clock skew (ordering then
    relies on `seq` where present). `Monitor.stats()` reports them."""

    def __init__(self) -> None:
        self.n, self.ewma, self.max_abs = 0, 0.0, 0.0

    def note(self, skew: float) -> None:
        self.n += 1
        self.max_abs = max(self.max_abs, abs(skew))
        self.ewma = skew if self.n == 1 else 0.99 * self.ewma + 0.01 * skew

    def stats(self) -> dict[str, float]:
        if not self.n:
            return {}
        return {
            "clock_skew_seconds_ewma": round(self.ewma, 3),
            "clock_skew_seconds_max_abs": round(self.max_abs, 3),
        }
