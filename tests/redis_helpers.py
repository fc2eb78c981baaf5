"""Shared setup of the tests that need a real redis-server (scripts/start-redis.sh starts one).

Without ALLIANCE_MONITOR_TEST_REDIS_URL the Redis tests are skipped, except under CI (env CI
set), where a missing server is a failure: CI must never pass by skipping them.
"""

from __future__ import annotations

import os
import uuid

import pytest

ENV = "ALLIANCE_MONITOR_TEST_REDIS_URL"


def redis_url() -> str:
    url = os.environ.get(ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{ENV} is not set under CI: scripts/start-redis.sh must run first")
    pytest.skip(f'{ENV} not set (run: eval "$(bash scripts/start-redis.sh)")')


def unique_prefix(label: str = "t") -> str:
    return f"amtest:{label}:{uuid.uuid4().hex[:10]}:"


async def clear_prefix(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
        for i in range(0, len(keys), 500):
            await client.delete(*keys[i : i + 500])
    finally:
        await client.aclose()
