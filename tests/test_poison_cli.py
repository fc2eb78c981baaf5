"""The command line tells the truth about bad input and failures (issue 11, findings 5 and 6),
refuses internal webhook targets, and the LLM client caps what it reads (finding 7)."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from alliance_monitor import ConfigError
from alliance_monitor.alerts import AlertDispatcher, WebhookEndpoint, generate_webhook_secret
from alliance_monitor.alerts.testing import LoopbackReceiver, Reply
from alliance_monitor.cli import main

SECRET = "whsec_" + "cG9pc29uLXRlc3Qtc2VjcmV0LWZvci1lZGdlcy0xMjM0"


def conv(cid: str, n: int = 8) -> dict[str, Any]:
    return {
        "conversation_id": cid,
        "messages": [
            {
                "id": f"{cid}-{i}",
                "role": "counselor" if i % 2 == 0 else "client",
                "text": "How have things been this week?"
                if i % 2 == 0
                else "A bit better, thanks.",
                "ts": 1000.0 + i,
            }
            for i in range(n)
        ],
    }


def poison_file(tmp_path: Path) -> Path:
    lines = [
        json.dumps(conv("good-1")),
        "[" * 100_000 + "]" * 100_000,  # RecursionError
        '{"conversation_id": "deep", "messages": ' + "[" * 900 + "]" * 900 + "}",
        json.dumps(conv("bad-ts")).replace('"ts": 1007.0', '"ts": 1' + "0" * 400),
        '{"conversation_id": "c", "id": "s1", "role": "client", "text": "x", "ts": 1'
        + "0" * 400
        + "}",
        '{"conversation_id": "c", "id": "s2", "role": "client", "text": "x", "ts": 1,'
        ' "seq": 1' + "0" * 400 + "}",
        '{"conversation_id": "c", "id": "s3", "role": "client", "text": "x", "ts": NaN}',
        "not json at all",
        json.dumps(conv("good-2")),
    ]
    p = tmp_path / "poison.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_analyze_rejects_bad_lines_one_by_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = poison_file(tmp_path)
    out, rj = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    rc = main(["analyze", str(src), "-o", str(out), "--rejects", str(rj)])
    assert rc == 0
    done = [json.loads(x)["conversation_id"] for x in out.read_text().splitlines()]
    assert done == ["good-1", "good-2"]  # the file went on past every bad line
    by_line = {r["line"]: r["reason"] for r in rejects(rj)}
    assert by_line[2] == "recursion_depth" and by_line[3] == "recursion_depth"
    assert by_line[4] == by_line[5] == by_line[6] == by_line[7] == "number_range"
    assert by_line[8] == "invalid_json"
    err = capsys.readouterr().err
    assert "Traceback" not in err and "rejected 7 record(s)" in err
    assert main(["analyze", str(src), "-o", str(out), "--strict"]) == 2


def test_replay_rejects_bad_lines_and_scores_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = poison_file(tmp_path)
    rc = main(["replay", str(src), "--json", "--events", "window_scored"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    scored = {json.loads(x)["conversation_id"] for x in captured.out.splitlines()}
    assert scored == {"good-1", "good-2"}
    assert "number_range=4" in captured.err and "recursion_depth=2" in captured.err
    assert "Traceback" not in captured.err
    assert main(["replay", str(src), "--strict"]) == 2


# ---------------------------------------------------------------------- exit codes
def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def hanging_llm() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/v1"
    stop.set()
    t.join(2)
    for c in held:
        c.close()
    srv.close()


def test_analyze_with_an_unreachable_llm_is_not_a_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps(conv("pair", 4)) + "\n")
    args = [
        "analyze",
        str(src),
        "-o",
        str(tmp_path / "o.jsonl"),
        "--scorer",
        "llm",
        "--llm-base-url",
        f"http://127.0.0.1:{_dead_port()}/v1",
        "--llm-model",
        "m",
    ]
    assert main([*args, "--strict"]) == 2
    assert "window(s) unscored" in capsys.readouterr().err
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "1 of 1 window(s) unscored" in err or "unscored (" in err


def test_analyze_score_timeout_bounds_a_hanging_llm(
    tmp_path: Path, hanging_llm: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps(conv("pair", 4)) + "\n")
    t0 = time.monotonic()
    rc = main(
        [
            "analyze",
            str(src),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--scorer",
            "llm",
            "--llm-base-url",
            hanging_llm,
            "--llm-model",
            "m",
            "--score-timeout",
            "1",
            "--strict",
        ]
    )
    assert time.monotonic() - t0 < 10
    assert rc == 2
    assert "1x scorer_timeout" in capsys.readouterr().err


async def _replay(*args: str, env: dict[str, str] | None = None) -> Any:
    demo = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl")
    with resources.as_file(demo) as path:
        return await anyio.run_process(
            [sys.executable, "-m", "alliance_monitor.cli", "replay", str(path), *args],
            check=False,
            env={**os.environ, **(env or {})},
        )


@pytest.mark.anyio
async def test_replay_against_a_410_endpoint_exits_3_and_says_why() -> None:
    secret = generate_webhook_secret()
    async with LoopbackReceiver([secret], behaviour=lambda d: Reply(status=410)) as rx:
        res = await _replay(
            "--webhook",
            rx.url,
            "--webhook-secret-env",
            "AM_TEST_WH",
            "--allow-private-webhooks",
            "--drain-timeout",
            "10",
            env={"AM_TEST_WH": secret},
        )
    err = res.stderr.decode()
    assert res.returncode == 3, err
    assert "parked" in err and "410" in err
    assert rx.requests  # it was tried


@pytest.mark.anyio
async def test_webhook_secret_from_the_environment_and_private_targets_refused() -> None:
    secret = generate_webhook_secret()
    async with LoopbackReceiver([secret]) as rx:
        ok = await _replay(
            "--webhook",
            rx.url,
            "--webhook-secret-env",
            "AM_TEST_WH",
            "--allow-private-webhooks",
            env={"AM_TEST_WH": secret},
        )
        assert ok.returncode == 0, ok.stderr.decode()
        assert rx.processed and not rx.invalid
        assert secret not in ok.stderr.decode() + ok.stdout.decode()
        unset = await _replay(
            "--webhook", rx.url, "--webhook-secret-env", "AM_NOT_SET_X", "--allow-private-webhooks"
        )
        assert unset.returncode != 0 and "AM_NOT_SET_X is not set" in unset.stderr.decode()
        before = len(rx.requests)
        refused = await _replay(
            "--webhook", rx.url, "--webhook-secret-env", "AM_TEST_WH", env={"AM_TEST_WH": secret}
        )
        assert refused.returncode != 0
        assert "--allow-private-webhooks" in refused.stderr.decode()
        assert len(rx.requests) == before


# ---------------------------------------------------------------------- SSRF guard
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/h",
        "http://0x7f000001/h",
        "http://2130706433/h",
        "http://127.1/h",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/h",
        "http://192.168.1.1/h",
        "http://172.16.0.1/h",
        "http://localhost/h",
        "http://0.0.0.0/h",
        "http://[fd00::1]/h",
        "http://[fe80::1]/h",
        "http://metadata.internal/",
    ],
)
def test_internal_webhook_targets_are_refused_unless_allowed(url: str, tmp_path: Path) -> None:
    ep = WebhookEndpoint(url, [SECRET])
    with pytest.raises(ConfigError, match="allow_private"):
        AlertDispatcher([ep])
    AlertDispatcher([ep], allow_private=True)
    # The same through the serve configuration.
    from alliance_monitor._serve import _dispatcher
    from alliance_monitor._settings import Settings

    cfg: dict[str, Any] = {"alerts": {"endpoints": [{"url": url, "secrets": [SECRET]}]}}
    with pytest.raises(ConfigError, match="allow_private"):
        _dispatcher(Settings.model_validate(cfg), {})
    cfg["alerts"]["allow_private"] = True
    assert _dispatcher(Settings.model_validate(cfg), {}) is not None


def test_public_webhook_targets_pass_the_guard() -> None:
    for url in (
        "https://hooks.slack.com/services/T/B/X",
        "https://alerts.example.org/h",
        "https://8.8.8.8/h",
    ):
        AlertDispatcher([WebhookEndpoint(url, [SECRET])])


# ---------------------------------------------------------------------- LLM response cap
@pytest.mark.anyio
async def test_a_huge_llm_reply_is_refused_without_reading_it_all() -> None:
    from alliance_monitor._errors import ScoringError
    from alliance_monitor.scoring._openai import OpenAICompatibleClient, RetryPolicy

    sent = 0

    async def body() -> Any:
        nonlocal sent
        chunk = b"x" * 65536
        for _ in range(480):  # 30 MB if read to the end
            sent += len(chunk)
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-type": "application/json"})

    client = OpenAICompatibleClient(
        base_url="http://llm.test/v1",
        model="m",
        transport=httpx.MockTransport(handler),
        environ={},
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(ScoringError) as info:
        await client.chat([{"role": "user", "content": "hi"}], max_tokens=10)
    await client.aclose()
    assert info.value.reason == "response_too_large"
    assert sent <= 2 * 1024 * 1024 + 65536
    # A declared length over the cap is refused before any body is read.
    declared = httpx.MockTransport(
        lambda r: httpx.Response(
            200, content=b"{}", headers={"content-length": str(30 * 1024 * 1024)}
        )
    )
    client = OpenAICompatibleClient(
        base_url="http://llm.test/v1",
        model="m",
        transport=declared,
        environ={},
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(ScoringError):
        await client.chat([{"role": "user", "content": "hi"}], max_tokens=10)
    await client.aclose()


def test_analyze_goes_on_when_one_transcript_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unexpected error while analysing one transcript (async scorer path) rejects its line
    as internal_error; the others are written; the error's text never shows."""
    from alliance_monitor import cli
    from alliance_monitor.scoring._base import Scorer
    from alliance_monitor.testing import StaticScorer

    class AsyncStatic(Scorer):
        name = "async-static"

        async def score(self, request: Any) -> Any:
            return StaticScorer().score_sync(request)

    real = cli.analyze_transcript_async

    async def flaky(conversation_id: str, *a: Any, **kw: Any) -> Any:
        if conversation_id == "boom":
            raise RuntimeError("Jane Q. Doe (PATIENT-ZX81)")
        return await real(conversation_id, *a, **kw)

    monkeypatch.setattr(cli, "_make_scorer", lambda args: AsyncStatic())
    monkeypatch.setattr(cli, "analyze_transcript_async", flaky)
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(conv(c)) for c in ("a", "boom", "b")) + "\n")
    out, rj = tmp_path / "out.jsonl", tmp_path / "rj.jsonl"
    assert main(["analyze", str(src), "-o", str(out), "--rejects", str(rj)]) == 0
    assert [json.loads(x)["conversation_id"] for x in out.read_text().splitlines()] == ["a", "b"]
    assert rejects(rj) == [
        {
            "line": 2,
            "reason": "internal_error",
            "field": None,
            "conversation_id": "boom",
            "message_id": None,
        }
    ]
    err = capsys.readouterr().err
    assert "PATIENT-ZX81" not in err and "internal_error=1" in err
    assert main(["analyze", str(src), "-o", str(out), "--strict"]) == 2
