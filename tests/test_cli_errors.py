"""Errors a user can cause end with one clear line on stderr and a documented exit code, never a
traceback (README, "Exit codes"): 2 for bad arguments, configuration or input, 4 for a server
that cannot be reached or a port that cannot be bound."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

from alliance_monitor.cli import EXIT_UNAVAILABLE, EXIT_USAGE, main

TRANSCRIPT = {"conversation_id": "c", "messages": [
    {"id": "1", "role": "counselor", "text": "What brings you here today?", "ts": 1},
    {"id": "2", "role": "client", "text": "My sleep has been bad for weeks.", "ts": 2},
]}  # fmt: skip


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps(TRANSCRIPT) + "\n")
    return p


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("alliance-monitor "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_llm_scorer_without_a_server(
    transcript: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for kind in ("llm", "cascade"):
        rc = main(
            [
                "analyze",
                str(transcript),
                "-o",
                str(transcript.with_suffix(".out")),
                "--scorer",
                kind,
            ]
        )
        assert rc == EXIT_USAGE
        one_line_error(capsys, f"--scorer {kind}", "--llm-base-url", "OPENAI_BASE_URL")


@pytest.mark.parametrize("cmd", ["analyze", "replay", "study"])
def test_missing_or_unreadable_input(
    cmd: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = {
        "analyze": ["-o", str(tmp_path / "o.jsonl")],
        "study": ["--out", str(tmp_path / "o")],
        "replay": [],
    }[cmd]
    assert main([cmd, str(tmp_path / "nope.jsonl"), *extra]) == EXIT_USAGE
    one_line_error(capsys, "no such file", "nope.jsonl")
    assert main([cmd, str(tmp_path), *extra]) == EXIT_USAGE  # a folder
    one_line_error(capsys, "a folder, not a file")


def test_input_that_is_not_text_is_counted_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bin.jsonl"
    bad.write_bytes(b"\xff\xfe\x00{broken\n")
    assert main(["analyze", str(bad), "-o", str(tmp_path / "o.jsonl")]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "invalid_json=1" in err


def test_relative_sqlite_url_never_creates_folders_silently(
    transcript: Path, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(transcript), "--store", "sqlite:///sub/dir/x.db"]) == EXIT_USAGE
    line = one_line_error(capsys, "folder does not exist", str(in_tmp / "sub" / "dir"))
    assert "create_dirs=1" in line and not (in_tmp / "sub").exists()
    assert main(["replay", str(transcript), "--store", "sqlite:///sub/dir/x.db?create_dirs=1"]) == 0
    assert (in_tmp / "sub" / "dir" / "x.db").is_file()
    capsys.readouterr()
    assert main(["replay", str(transcript), "--store", "sqlite:///x.db?mkdir=1"]) == EXIT_USAGE
    one_line_error(capsys, "unknown sqlite store URL option", "mkdir")


def test_unknown_store_scheme(transcript: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(transcript), "--store", "postgres://db/x"]) == EXIT_USAGE
    one_line_error(capsys, "configuration error", "unknown store URL scheme")


def test_unreachable_redis_store(transcript: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("redis")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = main(["replay", str(transcript), "--store", f"redis://127.0.0.1:{port}/0"])
    assert rc == EXIT_UNAVAILABLE
    one_line_error(capsys, "cannot reach a server", str(port))


def test_bad_serve_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "serve.toml"
    cfg.write_text("[server\nport = 1\n")
    assert main(["serve", "--config", str(cfg)]) == EXIT_USAGE
    one_line_error(capsys, "not valid TOML")


def run_cli(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_redis_store_without_the_redis_extra(transcript: Path, tmp_path: Path) -> None:
    # The child cannot import redis, as on an install without alliance-monitor[redis].
    res = run_cli(
        "import sys; sys.modules['redis'] = None\n"
        "from alliance_monitor.cli import main\n"
        f"sys.exit(main(['replay', {str(transcript)!r}, '--store', 'redis://127.0.0.1:6379/0']))",
        tmp_path,
    )
    assert res.returncode == EXIT_USAGE, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "pip install 'alliance-monitor[redis]'" in res.stderr


def test_serve_on_a_busy_port(tmp_path: Path) -> None:
    cfg = tmp_path / "serve.toml"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg.write_text(f'[server]\nhost = "127.0.0.1"\nport = {port}\n')
        res = run_cli(
            "import sys\nfrom alliance_monitor.cli import main\n"
            f"sys.exit(main(['serve', '--config', {str(cfg)!r}]))",
            tmp_path,
        )
    assert res.returncode == EXIT_UNAVAILABLE, res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == (
        "alliance-monitor serve: the address is already in use: another process listens on that "
        "port (choose another with --port)"
    )


def test_exit_codes_are_documented() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ("0", "1", "2", "3", "4", "130"):
        assert f"| {code} |" in section, code


def test_a_bug_still_shows_its_traceback() -> None:
    # Only errors a user can cause are turned into one line; anything else is a bug to report.
    from alliance_monitor.cli import explain_error

    assert explain_error(ValueError("boom")) is None
    assert explain_error(ExceptionGroup("g", [FileNotFoundError(2, "x", "f.jsonl")])) == (
        "no such file or folder: f.jsonl",
        EXIT_USAGE,
    )


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--webhook", "https://alerts.example.org/x"], "--webhook needs --webhook-secret-env"),
        (
            ["--webhook", "https://alerts.example.org/x", "--webhook-secret-env", "AM_NO_SUCH"],
            "environment variable AM_NO_SUCH is not set",
        ),
        (
            ["--webhook", "https://a.example.org/x", "--webhook", "https://b.example.org/x"]
            + ["--webhook-secret", "whsec_" + "A" * 32] * 3,
            "one --webhook-secret for all --webhook URLs, or one each",
        ),
        (
            ["--webhook", "http://127.0.0.1:9/x", "--webhook-secret", "whsec_" + "A" * 32],
            "--allow-private-webhooks",
        ),
    ],
)
def test_bad_webhook_options_exit_2_naming_the_command(
    argv: list[str],
    needle: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # These used to raise SystemExit("..."), which exits 1: the code README reserves for bugs.
    monkeypatch.delenv("AM_NO_SUCH", raising=False)
    assert main(["replay", str(transcript), *argv]) == EXIT_USAGE
    line = one_line_error(capsys, needle)
    assert line.startswith("alliance-monitor replay: ")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["analyze", "t.jsonl", "-o", "-", "--score-timeout", "-1"],
            "--score-timeout: must be a number > 0, got -1",
        ),
        (["analyze", "t.jsonl", "-o", "-", "--score-timeout", "nan"], "must be a finite number"),
        (
            ["analyze", "t.jsonl", "-o", "-", "--concurrency", "0"],
            "--concurrency: must be an integer >= 1, got 0",
        ),
        (
            ["analyze", "t.jsonl", "-o", "-", "--trajectory-tolerance", "-0.5"],
            "must be a number >= 0",
        ),
        (
            ["replay", "t.jsonl", "--events", "foo_bar"],
            "--events: unknown event type(s): foo_bar; known: window_scored",
        ),
        (["replay", "t.jsonl", "--events", ","], "needs at least one event type"),
        (["replay", "t.jsonl", "--max-pairs", "0"], "--max-pairs: must be an integer >= 1"),
        (["replay", "t.jsonl", "--score-timeout", "0"], "--score-timeout: must be a number > 0"),
        (["replay", "t.jsonl", "--drain-timeout", "-3"], "--drain-timeout: must be a number >= 0"),
        (
            ["study", "t.jsonl", "--out", "o", "--confidence", "95"],
            "--confidence: must be between 0 and 1",
        ),
        (
            ["study", "t.jsonl", "--out", "o", "--concurrency", "-2"],
            "--concurrency: must be an integer >= 1",
        ),
        (["evaluate", "t.jsonl", "--bootstrap", "-1"], "--bootstrap: must be an integer >= 0"),
        (["evaluate", "t.jsonl", "--confidence", "1"], "--confidence: must be between 0 and 1"),
        (
            ["serve", "--config", "x.toml", "--port", "70000"],
            "--port: must be a port number 0-65535",
        ),
        (
            ["worker", "--redis", "redis://x", "--stream", "s", "--shards", "0"],
            "--shards: must be an integer >= 1",
        ),
        (
            ["worker", "--redis", "redis://x", "--stream", "s", "--max-pairs", "two"],
            "--max-pairs: must be an integer, got 'two'",
        ),
    ],
)
def test_bad_option_values_are_refused_before_anything_runs(
    argv: list[str], needle: str, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"alliance-monitor {argv[0]}: error: argument " in err and needle in err, err
    assert not (in_tmp / "o").exists()


def test_replay_events_filter_accepts_every_event_type(
    transcript: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["replay", str(transcript), "--json", "--events", "session_summary, window_unscored"])
        == 0
    )
    types = {json.loads(line)["type"] for line in capsys.readouterr().out.splitlines()}
    assert types == {"session_summary", "window_unscored"}
