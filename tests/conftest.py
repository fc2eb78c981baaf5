from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

REPO = Path(__file__).resolve().parent.parent
ANNOMI = REPO.parent / "shared" / "data" / "annomi.jsonl"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _quiet_structlog() -> Iterator[None]:
    # Tests that want log lines use structlog.testing.capture_logs; everything else stays quiet.
    with structlog.testing.capture_logs():
        yield
