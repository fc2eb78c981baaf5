"""examples/webhook_receiver.py: verifies signatures, de-duplicates on webhook-id."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from alliance_monitor._events import SafetySignal
from alliance_monitor.alerts import (
    AlertDispatcher,
    WebhookEndpoint,
    generate_webhook_secret,
    sign_webhook,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "webhook_receiver.py"
SECRET = generate_webhook_secret()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def call(app: Any, headers: dict[str, str], body: bytes, method: str = "POST") -> int:
    scope = {
        "type": "http",
        "method": method,
        "path": "/hooks",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


def signed(webhook_id: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_webhook([secret], webhook_id, ts, body),
        "content-type": "application/json",
    }


@pytest.mark.anyio
async def test_example_verifies_and_deduplicates() -> None:
    module = load_example()
    got: list[dict[str, Any]] = []
    app = module.WebhookReceiver([SECRET], got.append)
    body = b'{"type":"safety_signal","data":{"id":"evt_1"}}'
    assert await call(app, signed("evt_1", body), body) == 204
    assert await call(app, signed("evt_1", body), body) == 204  # retry of the same alert
    assert await call(app, signed("evt_2", body, generate_webhook_secret()), body) == 401
    tampered = signed("evt_3", body)
    assert await call(app, tampered, body.replace(b"evt_1", b"evt_9")) == 401
    assert await call(app, signed("evt_4", body), body, method="GET") == 405
    assert len(got) == 1
    assert app.counts == {"processed": 1, "duplicates": 1, "rejected": 2}


def test_example_needs_a_secret() -> None:
    module = load_example()
    with pytest.raises(ValueError):
        module.create_app({})
    assert module.create_app({"WEBHOOK_SECRETS": f"{SECRET} {generate_webhook_secret()}"})


@pytest.mark.anyio
async def test_example_under_uvicorn_receives_real_deliveries() -> None:
    uvicorn = pytest.importorskip("uvicorn")
    module = load_example()
    got: list[dict[str, Any]] = []
    app = module.WebhookReceiver([SECRET], got.append)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        ep = WebhookEndpoint(f"http://127.0.0.1:{port}/hooks", [SECRET])
        async with AlertDispatcher([ep], retry_schedule=(0, 0.05), allow_private=True) as d:
            for i in range(3):
                ev = SafetySignal(
                    id=f"evt_{i}", conversation_id="c1", message_id=f"m{i}", category="self_harm"
                )
                await d.submit(ev)
            assert await d.drain(10)
        server.should_exit = True
    assert sorted(a["data"]["id"] for a in got) == ["evt_0", "evt_1", "evt_2"]
