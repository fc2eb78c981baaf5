"""`alliance-monitor replay --webhook URL --webhook-secret whsec_...` against a real receiver."""

from __future__ import annotations

import json
import sys
from importlib import resources

import anyio
import pytest

from alliance_monitor.alerts import generate_webhook_secret
from alliance_monitor.alerts.testing import LoopbackReceiver

pytestmark = pytest.mark.anyio


async def test_replay_delivers_signed_alerts_and_drains() -> None:
    secret = generate_webhook_secret()
    demo = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl")
    async with LoopbackReceiver([secret]) as rx:
        with resources.as_file(demo) as path:
            res = await anyio.run_process(
                [
                    sys.executable,
                    "-m",
                    "alliance_monitor.cli",
                    "replay",
                    str(path),
                    "--json",
                    "--webhook",
                    rx.url,
                    "--webhook-secret",
                    secret,
                    "--drain-timeout",
                    "20",
                    "--allow-private-webhooks",
                ],
                check=False,
            )
    assert res.returncode == 0, res.stderr.decode()
    events = [json.loads(line) for line in res.stdout.decode().splitlines()]
    alerting = {
        e["id"]
        for e in events
        if e["type"]
        in {
            "safety_signal",
            "alliance_declined",
            "passive_pattern",
            "directive_pattern",
            "alliance_low",
        }
    }
    assert not rx.invalid and rx.processed
    bodies = [json.loads(d.body) for d in rx.processed.values()]
    assert {b["data"]["type"] for b in bodies} >= {"safety_signal", "alliance_declined"}
    # Every delivered alert is an event of the replay (the policy's cooldown may hold back
    # repeats), and no payload carries message text.
    assert {b["data"]["id"] for b in bodies} <= alerting
    assert "everyone would be better off" not in json.dumps(bodies)
    assert "delivered" in res.stderr.decode()


async def test_replay_without_secret_is_refused() -> None:
    res = await anyio.run_process(
        [
            sys.executable,
            "-m",
            "alliance_monitor.cli",
            "replay",
            "-",
            "--webhook",
            "http://127.0.0.1:9/hooks",
        ],
        input=b"",
        check=False,
    )
    assert res.returncode != 0 and b"--webhook-secret" in res.stderr
