from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
#: The project's measurement data lives beside the repository (../shared/data), never in it; a
#: fresh clone has none. ALLIANCE_MONITOR_SHARED_DATA points elsewhere (e.g. from a worktree).
SHARED_DATA = Path(
    os.environ.get("ALLIANCE_MONITOR_SHARED_DATA") or REPO.parent / "shared" / "data"
)
ANNOMI = SHARED_DATA / "annomi.jsonl"
NO_ANNOMI = (
    f"needs the full AnnoMI corpus at {ANNOMI} (not part of the repository; set "
    "ALLIANCE_MONITOR_SHARED_DATA to its folder to run this)"
)
#: Six AnnoMI conversations (public domain: 4 rated high-quality MI, 2 low), annomi-0 first.
ANNOMI_SAMPLE = REPO / "tests" / "data" / "annomi_sample.jsonl"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _library_logging_reset() -> Iterator[None]:
    # Tests that want log lines use caplog (helpers.log_entries); whatever a test (or the CLI run
    # in-process) attached to the library's logger is taken off again afterwards.
    log = logging.getLogger("alliance_monitor")
    handlers, level = list(log.handlers), log.level
    yield
    log.handlers[:] = handlers
    log.setLevel(level)


@pytest.fixture(autouse=True)
def _counters_add_up(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """At the end of every test (every fault test included: store failures, poison input,
    internal errors, kill and restart), every monitor core and webhook receiver the test made
    has a ledger that adds up: in = accepted + duplicates + rejected, and the rejections by
    reason sum to the rejections (issue 20 item 8)."""
    from alliance_monitor._core import MonitorCore
    from alliance_monitor.adapters._receiver import WebhookReceiver

    made: list[Any] = []

    def tracked(cls: type) -> None:
        init = cls.__init__

        def __init__(self: Any, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            made.append(self)

        monkeypatch.setattr(cls, "__init__", __init__)

    tracked(MonitorCore)
    tracked(WebhookReceiver)
    yield
    for part in made:
        if isinstance(part, MonitorCore):
            c = part.counts
            assert c["messages_in"] == c["accepted"] + c["duplicates"] + c["rejected"], dict(c)
            assert sum(part.rejected.values()) == c["rejected"], dict(part.rejected)
        else:
            led = part.ledger
            assert led["in"] == led["accepted"] + led["duplicate"] + led["rejected"], dict(led)
            assert sum(part.rejected.values()) == led["rejected"], dict(part.rejected)
