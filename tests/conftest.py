from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ANNOMI = REPO.parent / "shared" / "data" / "annomi.jsonl"


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
