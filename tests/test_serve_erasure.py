"""`serve`'s signed erasure endpoint and retention sweep, in a real process: the state file is
read afterwards to prove the erased pair's text is gone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from test_serve import HTTP_SECRET, Proc, metrics, signed, wait_for, write

from alliance_monitor import ConfigError
from alliance_monitor._settings import load_settings
from alliance_monitor.alerts import sign_webhook

ADMIN_SECRET = "whsec_" + "YWRtaW4tZXJhc3VyZS1zZWNyZXQtMTIzNDU2Nzg5MA=="


def _config(tmp_path: Path, extra: str = "") -> Path:
    return write(
        tmp_path,
        f"""
[monitor]
store = "sqlite:///{tmp_path / "state.db"}"
{extra}

[supervisor]
enabled = true
port = 0

[admin]
enabled = true
secrets_env = ["AM_ADMIN_SECRET"]

[[adapters]]
type = "http"
secrets_env = ["AM_HTTP_SECRET"]
""",
    )


def _messages(conv: str, n: int, t0: float = 1000.0) -> bytes:
    batch = [
        {
            "conversation_id": conv,
            "id": f"{conv}-{i}",
            "role": "counselor" if i % 2 == 0 else "client",
            "text": f"message {i} MARK-{conv}-TEXT about the week",
            "ts": t0 + i * 20,
        }
        for i in range(n)
    ]
    return json.dumps({"messages": batch}).encode()


def _erase(base: str, conv: str, wid: str, secret: str = ADMIN_SECRET) -> httpx.Response:
    raw = json.dumps({"conversation_id": conv}).encode()
    ts = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": wid,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_webhook([secret], wid, ts, raw),
    }
    return httpx.post(base + "/admin/erase", content=raw, headers=headers, timeout=30)


def _files(tmp_path: Path) -> bytes:
    db = tmp_path / "state.db"
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def test_signed_erasure_removes_the_pair_everywhere(tmp_path: Path) -> None:
    proc = Proc(_config(tmp_path), env={"AM_ADMIN_SECRET": ADMIN_SECRET})
    try:
        base = proc.base
        for i, conv in enumerate(("gone", "kept")):
            body = _messages(conv, 16)
            r = httpx.post(base + "/hooks/messages", content=body, headers=signed(body, f"d{i}"))
            assert r.status_code == 202
        wait_for(lambda: len(httpx.get(proc.board + "/api/pairs", timeout=5).json()["pairs"]) == 2)
        assert b"MARK-gone-TEXT" in _files(tmp_path)
        # Refused: no signature, another secret, a body that names no pair.
        assert (
            httpx.post(base + "/admin/erase", json={"conversation_id": "gone"}).status_code == 401
        )
        wrong = "whsec_" + "b3RoZXItYWRtaW4tc2VjcmV0LTEyMzQ1Njc4OTAxMg=="
        assert _erase(base, "gone", "e0", secret=wrong).status_code == 401
        assert httpx.get(base + "/admin/erase", timeout=5).status_code == 405
        r = _erase(base, "gone", "e1")
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["conversation_id"] == "gone"
        removed = report["removed"]
        assert removed["memory.pair"] == 1 and removed["board.pairs"] == 1
        assert removed["store.journal_messages"] + removed["store.snapshots"] >= 1
        assert report["total"] == sum(removed.values())
        assert b"MARK-gone-TEXT" not in _files(tmp_path)
        assert b"MARK-kept-TEXT" in _files(tmp_path)
        ids = [p["id"] for p in httpx.get(proc.board + "/api/pairs", timeout=5).json()["pairs"]]
        assert ids == ["kept"]
        # Idempotent: a second request reports zeros.
        again = _erase(base, "gone", "e2").json()
        assert again["total"] == 0
        m = metrics(base)
        assert m['alliance_monitor_pairs_erased_total{cause="requested"}'] == 2
    finally:
        assert proc.stop() == 0
    assert b"MARK-gone-TEXT" not in _files(tmp_path)
    logs = "".join(proc.err_lines + proc.out_lines)
    assert "MARK-gone" not in logs


def test_retention_sweep_erases_idle_pairs(tmp_path: Path) -> None:
    # Retention of 0.02 s, swept every 0.3 s: the pair is erased once idle.
    extra = "retention_days = 0.0000002\nretention_check_interval = 0.3"
    proc = Proc(_config(tmp_path, extra), env={"AM_ADMIN_SECRET": ADMIN_SECRET})
    try:
        body = _messages("old", 12)
        assert (
            httpx.post(
                proc.base + "/hooks/messages", content=body, headers=signed(body, "d1")
            ).status_code
            == 202
        )
        wait_for(
            lambda: (
                metrics(proc.base).get('alliance_monitor_pairs_erased_total{cause="retention"}')
                == 1
            ),
            timeout=20,
        )
        assert b"MARK-old-TEXT" not in _files(tmp_path)
    finally:
        assert proc.stop() == 0


def test_admin_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"admin: Value error, give secrets_env"):
        load_settings(write(tmp_path, "[admin]\nenabled = true\n"), {})
    with pytest.raises(ConfigError, match=r"admin\.secrets_env: environment variable AM_X"):
        load_settings(write(tmp_path, '[admin]\nenabled = true\nsecrets_env = ["AM_X"]\n'), {})
    clash = '[admin]\nenabled = true\npath = "/metrics"\nsecrets = ["' + HTTP_SECRET + '"]\n'
    with pytest.raises(ConfigError, match=r"admin\.path overlaps"):
        load_settings(write(tmp_path, clash), {})
