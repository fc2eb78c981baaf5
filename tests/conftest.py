from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

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
