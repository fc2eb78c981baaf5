"""The library logs through the standard `logging` module and never prints: the host decides.

Each scenario runs in a fresh interpreter so nothing configured by pytest or other tests helps:
a host that set `logging.basicConfig(level=WARNING)` (or configured nothing at all) sees nothing
on stdout or stderr from normal operation (ingest, rejections, scoring with the embedded scorer and a static one, alerts
delivered); a host
at INFO sees the library's records with their event names and context, and no message text.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HOST = textwrap.dedent(
    """
    import json, logging, sys
    import anyio
    SETUP
    from alliance_monitor import Monitor
    from alliance_monitor.alerts import AlertDispatcher, WebhookEndpoint, generate_webhook_secret
    from alliance_monitor.alerts.testing import LoopbackReceiver
    from alliance_monitor.testing import StaticScorer

    TEXT = "PLANTED-7731 I want to kill myself"

    def level(r):
        return 4.5 if r.window_index < 2 else 1.5

    async def main():
        secret = generate_webhook_secret()
        async with LoopbackReceiver([secret]) as rx:
            ep = WebhookEndpoint(rx.url, [secret], name="rx")
            async with AlertDispatcher([ep], retry_schedule=(0, 0.05), allow_private=True) as alerts:
                async with Monitor(scorer=StaticScorer(level, passive=0.9)) as m:
                    m.on(alerts.submit)
                    for i in range(60):
                        role = "counselor" if i % 2 == 0 else "client"
                        text = TEXT if i == 7 else "how are things going this week"
                        await m.ingest({"conversation_id": "c1", "id": f"m{i}", "role": role,
                                        "text": text, "ts": float(i)})
                    await m.ingest({"conversation_id": "c1", "id": "x1", "role": "boss",
                                    "text": TEXT, "ts": 99.0})  # rejected: bad role
                    await m.ingest({"conversation_id": "c1", "id": "x2", "role": "client",
                                    "text": "", "ts": 99.0})  # rejected: empty text
                    await m.end_session("c1")
                assert await alerts.drain(20)
                delivered = alerts.stats().delivered
        assert delivered > 0 and rx.processed, "no alert was delivered"
        # The bundled demo conversations through the default (embedded) scorer: patterns,
        # declines, a safety signal, windows with too little evidence.
        from importlib import resources
        demo = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl")
        async with Monitor() as m:
            for line in demo.read_text(encoding="utf-8").splitlines():
                conv = json.loads(line)
                for msg in conv["messages"]:
                    await m.ingest({**msg, "conversation_id": conv["conversation_id"]})
            await m.end_all_sessions()

    anyio.run(main)
    """
)


def run_host(tmp_path: Path, setup: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "host.py"
    script.write_text(HOST.replace("SETUP", setup))
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "setup",
    ["logging.basicConfig(level=logging.WARNING)", "pass  # the host configured nothing"],
    ids=["basicConfig-warning", "unconfigured"],
)
def test_normal_operation_prints_nothing(tmp_path: Path, setup: str) -> None:
    res = run_host(tmp_path, setup)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout == "" and res.stderr == ""


def test_records_reach_a_host_at_info_with_event_names_and_extra(tmp_path: Path) -> None:
    setup = textwrap.dedent(
        """
        class Json(logging.Formatter):
            def format(self, r):
                skip = set(vars(logging.makeLogRecord({})))
                extra = {k: v for k, v in vars(r).items() if k not in skip}
                return json.dumps({"logger": r.name, "event": r.getMessage(), **extra})
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(Json())
        logging.basicConfig(level=logging.INFO, handlers=[h])
        """
    )
    res = run_host(tmp_path, setup)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout == ""
    records = [json.loads(line) for line in res.stderr.splitlines()]
    rejected = [r for r in records if r["event"] == "alliance_monitor.message_rejected"]
    assert sorted(r["reason"] for r in rejected) == ["bad_role", "empty_text"]
    assert {r["logger"] for r in rejected} == {"alliance_monitor.monitor"}
    delivered = [r for r in records if r["event"] == "alliance_monitor.alert_delivered"]
    assert delivered and all(r["logger"] == "alliance_monitor.alerts" for r in delivered)
    ours = [r for r in records if r["logger"].startswith("alliance_monitor")]
    assert all(r["logger"].startswith("alliance_monitor.") for r in ours)  # always an area
    assert "PLANTED-7731" not in res.stderr


def test_library_modules_do_not_use_structlog() -> None:
    # structlog stays for the CLI's own output (cli.py configures it); unconfigured structlog
    # prints to stdout, so library code must not log through it.
    root = Path(__file__).resolve().parent.parent
    offenders = [
        str(p.relative_to(root))
        for folder in ("alliance_monitor", "adapters")
        for p in (root / folder).rglob("*.py")
        if "structlog" in p.read_text(encoding="utf-8") and p.name != "cli.py"
    ]
    assert offenders == []
