"""The ratings endpoint of `alliance-monitor serve`: signed like the message webhooks, stored
durably (a restart keeps every rating), counted on /metrics, shown in the supervisor view, and
the comment never in a log line or an answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from test_serve import HTTP_SECRET, Proc, metrics, write

from alliance_monitor import ConfigError
from alliance_monitor._settings import load_settings
from alliance_monitor.alerts import sign_webhook

pytest.importorskip("uvicorn")

COMMENT = "private note about the client: owl-5521"


def _config(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        f"""
[supervisor]
enabled = true
port = 0  # its own listener (the board is never on the public one by default)

[ratings]
enabled = true
store = "sqlite:///{tmp_path / "ratings.db"}"
secrets_env = ["AM_HTTP_SECRET"]
""",
    )


def _post(
    base: str, body: dict[str, object], wid: str, secret: str = HTTP_SECRET
) -> httpx.Response:
    raw = json.dumps(body).encode()
    ts = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": wid,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_webhook([secret], wid, ts, raw),
    }
    return httpx.post(base + "/feedback/ratings", content=raw, headers=headers, timeout=10)


def _rating(fid: str, u: int = 4) -> dict[str, object]:
    return {
        "feedback_id": fid,
        "conversation_id": "pair-1",
        "ratings": {"understanding": u, "directions": 3, "willingness": 5},
        "comment": COMMENT,
        "counselor_id": "c-1",
    }


def test_ratings_endpoint_end_to_end(tmp_path: Path) -> None:
    config = _config(tmp_path)
    proc = Proc(config)
    try:
        base = proc.base
        r = _post(base, _rating("evt_a"), "w1")
        assert r.status_code == 201 and r.json() == {"recorded": True}
        assert _post(base, _rating("evt_a"), "w2").json() == {"recorded": False, "duplicate": True}
        assert _post(base, _rating("evt_b", u=2), "w3").status_code == 201
        d = _post(base, {"type": "delivery", "feedback_id": "evt_c", "conversation_id": "p"}, "w4")
        assert d.status_code == 201
        # refused: bad signature, invalid record (field named, value not echoed), wrong method
        wrong = "whsec_" + "d3JvbmctcmF0aW5ncy1zZWNyZXQtMTIzNDU2Nzg5MA=="
        assert _post(base, _rating("evt_x"), "w5", secret=wrong).status_code == 401
        bad = _post(base, {**_rating("evt_y"), "ratings": {"understanding": 7}}, "w6")
        assert bad.status_code == 400
        assert bad.json() == {"error": "missing_field", "field": "ratings.directions"}
        assert COMMENT not in bad.text
        assert httpx.get(base + "/feedback/ratings", timeout=5).status_code == 405
        m = metrics(base)
        assert m["alliance_monitor_feedback_ratings_total"] == 2
        assert m["alliance_monitor_feedback_deliveries_total"] == 1
        assert m["alliance_monitor_feedback_ratings_duplicate_total"] == 1
        assert (
            m['alliance_monitor_feedback_ratings_rejected_total{reason="no_matching_signature"}']
            == 1
        )
        assert m['alliance_monitor_feedback_ratings_rejected_total{reason="missing_field"}'] == 1
        assert (
            m['alliance_monitor_feedback_rating_scores_total{question="understanding",score="4"}']
            == 1
        )
        assert (
            m['alliance_monitor_feedback_rating_scores_total{question="understanding",score="2"}']
            == 1
        )
        loop = httpx.get(proc.board + "/api/feedback", timeout=5).json()
        assert loop["ratings"]["n"] == 2 and loop["delivered"] == 3
        assert loop["ratings"]["questions"]["understanding"]["mean"] == 3.0
        assert COMMENT not in json.dumps(loop)
    finally:
        assert proc.stop() == 0
    assert "owl-5521" not in "".join(proc.err_lines + proc.out_lines)

    # A restart keeps every rating: the store is durable and the board is told again.
    again = Proc(config)
    try:
        loop = httpx.get(again.board + "/api/feedback", timeout=5).json()
        assert loop["ratings"]["n"] == 2 and loop["delivered"] == 3
        m = metrics(again.base)
        assert m["alliance_monitor_feedback_ratings_total"] == 0  # counters of this process
    finally:
        assert again.stop() == 0


def test_ratings_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ratings: Value error, give secrets_env"):
        load_settings(write(tmp_path, "[ratings]\nenabled = true\n"), {})
    with pytest.raises(ConfigError, match=r"ratings\.secrets_env: .*AM_UNSET is not set"):
        load_settings(
            write(tmp_path, '[ratings]\nenabled = true\nsecrets_env = ["AM_UNSET"]\n'), {}
        )
    text = (
        '[supervisor]\nenabled = true\n[ratings]\nenabled = true\npath = "/supervisor/r"\n'
        'secrets_env = ["X"]\n'
    )
    with pytest.raises(ConfigError, match=r"ratings\.path overlaps"):
        load_settings(write(tmp_path, text), {"X": HTTP_SECRET})
    s = load_settings(write(tmp_path, "[ratings]\n"), {})
    assert s.ratings.enabled is False and s.ratings.path == "/feedback/ratings"


def test_refusals_are_logged_by_reason_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from alliance_monitor.adapters.testing import serve_in_thread
    from alliance_monitor.study import FeedbackRatings, RatingsEndpoint

    caplog.set_level("DEBUG")
    api = FeedbackRatings(str(tmp_path / "r.db"))
    endpoint = RatingsEndpoint(api, [HTTP_SECRET], max_body=2048)
    with serve_in_thread(endpoint) as base:
        url = base.rstrip("/")
        bad = {
            **_rating("evt_z"),
            "ratings": {"understanding": 3, "directions": 3, "willingness": 9},
        }
        raw = json.dumps(bad).encode()
        ts = int(time.time())
        headers = {
            "webhook-id": "w-log",
            "webhook-timestamp": str(ts),
            "webhook-signature": sign_webhook([HTTP_SECRET], "w-log", ts, raw),
        }
        r = httpx.post(url + "/feedback/ratings", content=raw, headers=headers, timeout=10)
        assert r.status_code == 400 and r.json() == {
            "error": "score_out_of_range",
            "field": "willingness",
        }
        big = httpx.post(
            url + "/feedback/ratings", content=b"x" * 4096, headers=headers, timeout=10
        )
        assert big.status_code == 413
        ok = _post(url, _rating("evt_ok"), "w-ok")
        assert ok.status_code == 201
    assert api.refused == {"score_out_of_range": 1, "too_large": 1}
    assert "owl-5521" not in caplog.text
    for rec in caplog.records:
        assert "owl-5521" not in json.dumps(rec.__dict__, default=str)
    [stored] = list(api.store.ratings())
    assert stored.comment == COMMENT  # stored: the only place it goes
    api.close()
