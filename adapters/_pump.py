"""`pump()`: feed a pull adapter into a monitor, counting what became of every item."""

from __future__ import annotations

import itertools
import logging
from collections import Counter

import anyio

from alliance_monitor import MonitorClosed, RejectReason, StoreError

from ._base import MessageSink, PullAdapter

__all__ = ["pump"]

_log = logging.getLogger("alliance_monitor.adapters")


async def pump(
    adapter: PullAdapter,
    monitor: MessageSink,
    *,
    counts: Counter[str] | None = None,
    ingest_retries: int | None = None,
) -> Counter[str]:
    """Ingest everything `adapter` yields until it ends; return counts by outcome
    (``accepted``, ``duplicate``, ``rejected``; ``rejected_before_ingest`` counts the rejections
    of input that never became a message, which `Monitor.reject` also puts in the monitor's
    ledger, so ``Monitor.stats()["messages_in"]`` is the total).

    Input the adapter could not read (a line that is not JSON...) is counted with
    `Monitor.reject`. A message the state store failed to record is retried with backoff (up
    to 5 s apart) until it is stored, and nothing further is read meanwhile: a pull source is
    never read past a message that was not stored (`ingest_retries` bounds the attempts, after
    which the message is counted ``ingest_failed`` and left behind). A repeat is absorbed as a
    duplicate. Pass `counts` to watch progress while it runs.
    """
    counts = Counter() if counts is None else counts
    async for item in adapter:
        if isinstance(item, RejectReason):
            monitor.reject(item)
            counts["rejected"] += 1
            counts["rejected_before_ingest"] += 1
            continue
        attempts = itertools.count() if ingest_retries is None else range(ingest_retries + 1)
        for attempt in attempts:
            try:
                result = await monitor.ingest(item)
            except StoreError:
                counts["store_retries"] += 1
                await anyio.sleep(min(0.1 * 2 ** min(attempt, 6), 5.0))
                continue
            except MonitorClosed:
                counts["monitor_closed"] += 1
                return counts
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:  # this item only: counted, never its text, and go on
                counts["rejected"] += 1
                counts["rejected_before_ingest"] += 1
                counts["internal_error"] += 1
                monitor.reject(RejectReason.INTERNAL_ERROR)
                _log.error(
                    "alliance_monitor.pump_ingest_error",
                    extra={"adapter": adapter.name, "error": type(exc).__name__},
                )
                break
            counts[result.status] += 1
            break
        else:
            counts["ingest_failed"] += 1
            _log.error("alliance_monitor.pump_ingest_failed", extra={"adapter": adapter.name})
    return counts
