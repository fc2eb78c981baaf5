"""The LLM scorer end to end against the real local server (llama.cpp through llama-cpp-python,
Gemma 3 270M; scripts/start-llm-server.sh), as a user with a local model runs it.

- `analyze --scorer llm` with default options on bundled conversations: at least 90% of the
  windows scored, the time per window reported; the cascade the same;
- `replay --scorer llm --json`: the events of scored windows emitted;
- a timed-out answer stops the server's generation within seconds (its CPU time, read from
  /proc, stops growing);
- an ``openai.AsyncOpenAI`` client as the wire (``llm_client=``).

The 270M model is no judge of the alliance: these tests check the path from a real server to a
scored window and an event, never the ratings. Few and bounded (two short conversations, answers
bounded by the schema's grammar), to keep the test command's time in check.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from llm_helpers import llm_server_from_env

from alliance_monitor import ScorerUnavailable
from alliance_monitor.scoring._openai import OpenAICompatibleClient, RetryPolicy

pytestmark = [pytest.mark.llm_server]

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "alliance_monitor" / "demo_data" / "demo.jsonl"
CONVERSATIONS = ("demo-passive", "demo-directive")
SCORED_LINE = re.compile(
    r"^(?P<name>\S+): (?P<scored>\d+) of (?P<windows>\d+) window\(s\) scored \(\d+%\), "
    r"(?P<seconds>[\d.]+) s per window(?:; (?P<asked>\d+) sent to the model, "
    r"(?P<prompt>[\d,]+) prompt \+ (?P<completion>[\d,]+) completion tokens each)?$",
    re.MULTILINE,
)


@pytest.fixture(scope="module")
def llm_server() -> tuple[str, str]:
    return llm_server_from_env(os.environ)


@pytest.fixture(scope="module")
def conversations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("llm") / "two.jsonl"
    rows = [json.loads(x) for x in DEMO.read_text(encoding="utf-8").splitlines() if x.strip()]
    keep = [r for r in rows if r.get("conversation_id") in CONVERSATIONS]
    assert len(keep) == len(CONVERSATIONS)
    path.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alliance_monitor.cli", *args],
        capture_output=True,
        text=True,
        timeout=3000,
        check=False,
    )


def analyze(scorer: str, data: Path, out: Path, server: tuple[str, str]) -> dict[str, Any]:
    url, model = server
    run = cli(
        *("analyze", str(data), "--output", str(out), "--scorer", scorer),
        *("--llm-base-url", url, "--llm-model", model),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    found = SCORED_LINE.search(run.stderr)
    assert found, run.stderr[-2000:]
    figures = found.groupdict()
    print(f"\n{scorer}: {found.group(0)}")  # the figures quoted in README (pytest -s)
    results = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["conversation_id"] for r in results] == list(CONVERSATIONS)
    return {"figures": figures, "results": results}


@pytest.mark.timeout(3000)
def test_analyze_with_default_options_scores_the_windows(
    llm_server: tuple[str, str], conversations: Path, tmp_path: Path
) -> None:
    got = analyze("llm", conversations, tmp_path / "out.jsonl", llm_server)
    f = got["figures"]
    scored, windows = int(f["scored"]), int(f["windows"])
    assert windows >= 4 and scored >= 0.9 * windows, f
    assert float(f["seconds"]) > 0 and f["asked"] and int(f["asked"]) >= scored
    assert int(f["prompt"].replace(",", "")) > 0 and int(f["completion"].replace(",", "")) > 0
    for r in got["results"]:
        assert r["alliance"]["overall"] is not None


@pytest.mark.timeout(3000)
def test_cascade_with_default_options_scores_the_windows(
    llm_server: tuple[str, str], conversations: Path, tmp_path: Path
) -> None:
    got = analyze("cascade", conversations, tmp_path / "out.jsonl", llm_server)
    f = got["figures"]
    scored, windows = int(f["scored"]), int(f["windows"])
    assert scored >= 0.9 * windows, f
    assert f["asked"] and int(f["asked"]) >= 1  # the cascade asked the model somewhere


@pytest.mark.timeout(3000)
def test_replay_emits_the_events_of_llm_scored_windows(
    llm_server: tuple[str, str], tmp_path: Path
) -> None:
    rows = [json.loads(x) for x in DEMO.read_text(encoding="utf-8").splitlines() if x.strip()]
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(next(r for r in rows if r["conversation_id"] == "demo-passive")))
    url, model = llm_server
    run = cli("replay", str(one), "--json", "--scorer", "llm", "--llm-base-url", url)
    assert run.returncode == 2 and "--llm-model" in run.stderr  # the model is required
    run = cli(
        "replay", str(one), "--json", "--scorer", "llm", "--llm-base-url", url, "--llm-model", model
    )
    assert run.returncode == 0, run.stderr[-2000:]
    events = [json.loads(x) for x in run.stdout.splitlines() if x.strip()]
    scored = [e for e in events if e["type"] == "window_scored"]
    unscored = [e for e in events if e["type"] == "window_unscored"]
    assert scored and len(scored) >= 0.9 * (len(scored) + len(unscored)), (scored, unscored)
    assert all(e["score"]["scorer"] == "llm" and e["score"]["model"] for e in scored)
    assert any(e["type"] == "session_summary" for e in events)


# --------------------------------------------------------------------------- cancellation
def _listening_pid(port: int) -> int | None:
    """The pid of the process listening on `port` (from /proc), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _quiet_after(pid: int, *, window: float = 1.0, limit: float = 60.0) -> float:
    """Seconds until the server spent less than 15% of one core over `window` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        before = _cpu_seconds(pid)
        await anyio.sleep(window)
        if _cpu_seconds(pid) - before < 0.15 * window:
            return time.monotonic() - start - window
    return limit


LONG_ANSWER = {
    "type": "object",
    "properties": {"story": {"type": "string", "minLength": 3000, "maxLength": 3200}},
    "required": ["story"],
    "additionalProperties": False,
}


@pytest.mark.anyio
@pytest.mark.timeout(600)
async def test_a_timed_out_answer_stops_the_server_within_seconds(
    llm_server: tuple[str, str],
) -> None:
    url, model = llm_server
    port = int(re.search(r":(\d+)", url.split("//", 1)[1]).group(1))  # type: ignore[union-attr]
    pid = _listening_pid(port)
    if pid is None:
        pytest.skip("the server's process is not visible from here (/proc)")
    if await _quiet_after(pid, limit=180) >= 180:  # start from a quiet server
        pytest.skip("the server stayed busy with other clients' requests: nothing to measure")
    client = OpenAICompatibleClient(
        base_url=url,
        model=model,
        api_key_env=None,
        call_timeout=6.0,
        retry=RetryPolicy(max_attempts=1),
    )
    msgs = [{"role": "user", "content": "Tell a very long story about a lighthouse."}]
    before = _cpu_seconds(pid)
    with pytest.raises(ScorerUnavailable, match="timeout"):
        await client.chat(msgs, max_tokens=1500, schema=LONG_ANSWER, schema_name="story")
    busy = _cpu_seconds(pid) - before
    quiet = await _quiet_after(pid)
    await client.aclose()
    print(f"\ncancellation: server CPU {busy:.1f} s during the 6 s call; quiet {quiet:.1f} s after")
    assert busy > 1.0  # it was generating (the measure can see a busy server)...
    assert quiet <= 5.0  # ...and stopped within seconds of the timeout


# --------------------------------------------------------------------------- openai SDK
@pytest.mark.anyio
@pytest.mark.timeout(600)
async def test_an_openai_sdk_client_as_the_wire(llm_server: tuple[str, str]) -> None:
    openai = pytest.importorskip("openai")
    from alliance_monitor.scoring import LLMScorer, make_scorer

    url, model = llm_server
    sdk = openai.AsyncOpenAI(base_url=url, api_key="unused-locally")
    scorer = make_scorer("llm", model=model, llm_client=sdk, call_timeout=400)
    assert isinstance(scorer, LLMScorer)
    client = scorer.client
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    msgs = [{"role": "user", "content": "Name a colour, in JSON."}]
    answer = await client.chat(msgs, max_tokens=24, schema=schema, schema_name="colour")
    assert json.loads(answer.content)["colour"] in ("red", "green", "blue")
    assert answer.finish_reason in ("stop", "length") and answer.chunks >= 1  # streamed
    assert client.constrains_decoding  # the schema reached the server (after any fallback)
    await scorer.aclose()
    models = await sdk.models.list()  # the caller's client is still open and usable
    assert any(m.id == model for m in models.data)
    await sdk.close()
