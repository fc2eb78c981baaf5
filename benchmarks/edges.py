"""The service edges under hostile input: figures for docs/reliability.md.

    .venv/bin/python benchmarks/edges.py                      # all three, defaults below
    .venv/bin/python benchmarks/edges.py --slow 300 --poison 5000

1. Slow clients: `--slow` connections to a real `Service.run()` (its own listener, default
   settings: header_timeout 10 s, max_connections 256, per client address 64 connections and
   8 slow ones; everything here comes from one address) each send half a request
   line and stop. Reports how many were refused at once, how long until every one was closed,
   the answer to an ordinary signed message sent while they were open, and after how long a
   platform retrying every 0.5 s got it accepted (202).
2. Poison stream: `--poison` messages drawn from the issue-11 payloads and random field values
   through `Monitor.ingest` with the SQLite store. Reports accepted / duplicate / rejected by
   reason, exceptions raised (must be 0) and messages unaccounted for (must be 0), and whether
   an ordinary exchange afterwards was scored.
3. Echoing model: the test double's scripted model repeats identifiers it was shown into its
   feedback; counts planted identifiers found in the events after the guard (must be 0). Run
   twice: the original planted lines, and lowercase names, e-mails, phones and ids in other
   spellings (issue 20 item 9), with the default redaction and with none (the guard alone).
4. Model reply stall: a reply whose running summary is 1 MB of "a.a." (the old redactor was
   quadratic on it), and a 2 MB reply of opening braces; seconds to handle each.
5. Evasion corpora: redaction evasions caught and ordinary messages left unchanged, on the
   corpus tuned against and on one written afterwards and never tuned on (tests/data); the
   safety net's recall and false alarms on the written sets per language, on the half tuned on
   and the half kept untouched, and on the spelling evasions among them (split words, chat
   shorthand, letter-like symbols, leet, pinyin, homophones, separators).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

SECRET = "whsec_" + "cG9pc29uLXRlc3Qtc2VjcmV0LWZvci1lZGdlcy0xMjM0"


def slow_clients(n: int) -> dict[str, Any]:
    from alliance_monitor._serve import Service
    from alliance_monitor._settings import Settings
    from alliance_monitor.adapters.http import sign_webhook

    service = Service(
        Settings.model_validate(
            {"server": {"port": 0}, "adapters": [{"type": "http", "secrets": [SECRET]}]}
        )
    )
    ready = threading.Event()
    service.on_ready = lambda _a: ready.set()
    thread = threading.Thread(target=anyio.run, args=(service.run,), daemon=True)
    thread.start()
    assert ready.wait(30)
    host, port = service.address.removeprefix("http://").split(":")
    t0 = time.monotonic()
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=60)
        s.sendall(b"POST /hooks/messages HTTP/1.1\r\nHost: x\r\nContent-Ty")
        socks.append(s)
    body = json.dumps(
        {"conversation_id": "p", "id": "m1", "role": "client", "text": "hi", "ts": 1.0}
    ).encode()
    ts = int(time.time())
    hdrs = {
        "content-type": "application/json",
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_webhook([SECRET], "msg_1", ts, body),
    }
    try:
        during: Any = httpx.post(
            service.address + "/hooks/messages", content=body, headers=hdrs, timeout=30
        ).status_code
    except httpx.HTTPError as exc:
        during = type(exc).__name__
    # A platform retrying (as it does on 503) gets through once the slow clients are cut off.
    accepted_after = None
    while time.monotonic() - t0 < 60:
        try:
            if (
                httpx.post(
                    service.address + "/hooks/messages", content=body, headers=hdrs, timeout=30
                ).status_code
                == 202
            ):
                accepted_after = round(time.monotonic() - t0, 1)
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    last_close = 0.0
    for s in socks:
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        last_close = time.monotonic() - t0
        s.close()
    service.shutdown()
    thread.join(30)
    return {
        "connections": n,
        "refused_at_once": sum(
            v for k, v in service.conn_counts.items() if k.startswith("refused_")
        ),
        "closed_for_slow_headers": service.conn_counts["header_timeout"],
        "all_closed_after_s": round(last_close, 1),
        "ordinary_post_during": during,
        "ordinary_post_accepted_after_s": accepted_after,
    }


async def _poison(n: int, folder: Path) -> dict[str, Any]:
    from test_poison_corpus import FIELDS, ISSUE_PAYLOADS, POISON_VALUES, valid

    from alliance_monitor import Monitor, WindowPolicy
    from alliance_monitor._events import WindowScored
    from alliance_monitor.store import SQLiteStore
    from alliance_monitor.testing import EventCollector, StaticScorer

    rng = random.Random(11)
    outcomes: Counter[str] = Counter()
    raised = 0
    events = EventCollector()
    async with Monitor(
        scorer=StaticScorer(),
        idle_check_interval=None,
        window=WindowPolicy(max_exchanges=2),
        store=SQLiteStore(folder / "state.db"),
    ) as monitor:
        monitor.on(events)
        for i in range(n):
            r = rng.random()
            if r < 0.3:
                m: Any = rng.choice(ISSUE_PAYLOADS)
            elif r < 0.8:
                m = {**valid(i, f"pair-{i % 50}"), rng.choice(FIELDS): rng.choice(POISON_VALUES)}
            else:
                m = valid(i, f"pair-{i % 50}")
            try:
                res = await monitor.ingest(m)
                outcomes[res.status if res.status != "rejected" else f"rejected:{res.reason}"] += 1
            except Exception:
                raised += 1
        for i in range(4):
            await monitor.ingest(valid(i, "after-pair"))
        await monitor.end_all_sessions()
        await monitor.flush()
        st = monitor.stats()
    total = sum(outcomes.values())
    return {
        "messages": n,
        "raised": raised,
        "outcomes": dict(sorted(outcomes.items())),
        "unaccounted": n
        + 4
        - st["accepted"]
        - st.get("duplicates", 0)
        - sum(st["rejected_by_reason"].values()),
        "counted_by_caller": total,
        "after_pair_scored": any(
            isinstance(e, WindowScored) and e.conversation_id == "after-pair" for e in events.events
        ),
    }


async def _echo() -> dict[str, Any]:
    from llm_helpers import FakeLLM, make_client
    from test_phi_feedback import CLIENT_LINES, leaks, scripted

    from alliance_monitor import Monitor, WindowPolicy
    from alliance_monitor.scoring._feedback_llm import LLMFeedbackWriter
    from alliance_monitor.testing import EventCollector, StaticScorer

    calls, shown = [0], []
    writer = LLMFeedbackWriter(make_client(FakeLLM([scripted(calls, shown)])))
    events = EventCollector()
    async with Monitor(
        scorer=StaticScorer(3.0, passive=0.9),
        feedback_writer=writer,
        idle_check_interval=None,
        window=WindowPolicy(max_exchanges=3),
    ) as mon:
        mon.on(events)
        for p in range(20):
            for i in range(40):
                role = "counselor" if i % 2 == 0 else "client"
                text = CLIENT_LINES[(i // 2) % len(CLIENT_LINES)] if role == "client" else "Ok."
                await mon.ingest(
                    {
                        "conversation_id": f"pair-{p}",
                        "id": f"{p}:{i}",
                        "role": role,
                        "text": text,
                        "ts": float(i),
                    }
                )
        await mon.end_all_sessions()
        await mon.flush()
    dumped = "\n".join(e.model_dump_json() for e in events.events)
    return {
        "feedback_requests": calls[0],
        "refused_by_guard": writer.stats.reasons,
        "llm_feedback_used": writer.stats.written,
        "identifiers_leaked": len([1 for e in events.events if leaks(e.model_dump_json())]),
        "planted_patterns_found": leaks(dumped),
    }


async def _echo_lowercase(redaction: str) -> dict[str, Any]:
    from llm_helpers import FakeLLM, make_client
    from test_phi_feedback import LOWERCASE_LINES, PLANTED_LOWERCASE, echoing

    from alliance_monitor import Monitor, WindowPolicy
    from alliance_monitor.scoring._feedback_llm import LLMFeedbackWriter
    from alliance_monitor.scoring._redact import basic_redactor, no_redaction
    from alliance_monitor.testing import EventCollector, StaticScorer

    shown: list[str] = []
    writer = LLMFeedbackWriter(
        make_client(FakeLLM([echoing(shown)])),
        redactor=basic_redactor if redaction == "basic" else no_redaction,
    )
    events = EventCollector()
    async with Monitor(
        scorer=StaticScorer(3.0, passive=0.9),
        feedback_writer=writer,
        idle_check_interval=None,
        window=WindowPolicy(max_exchanges=4),
    ) as mon:
        mon.on(events)
        for p in range(20):
            for i in range(32):
                role = "counselor" if i % 2 == 0 else "client"
                line = LOWERCASE_LINES[(i // 2 + p) % len(LOWERCASE_LINES)]
                await mon.ingest(
                    {
                        "conversation_id": f"pair-{p}",
                        "id": f"{p}:{i}",
                        "role": role,
                        "text": line if role == "client" else "Ok.",
                        "ts": float(i),
                    }
                )
        await mon.end_all_sessions()
        await mon.flush()
    dumped = "\n".join(e.model_dump_json() for e in events.events)
    return {
        "redaction": redaction,
        "feedback_requests": len(shown),
        "refused_by_guard": writer.stats.reasons,
        "llm_feedback_used": writer.stats.written,
        "planted_patterns_found": [p.pattern for p in PLANTED_LOWERCASE if p.search(dumped)],
    }


async def _reply_stall() -> dict[str, Any]:
    from llm_helpers import FakeLLM, completion, make_scorer, valid_answer, window

    from alliance_monitor.scoring._llm import extract_json_object

    huge = "a.a." * 250_000

    def reply(body: dict[str, Any]) -> Any:
        return completion(json.dumps(json.loads(valid_answer(body)) | {"summary": huge}))

    scorer = make_scorer(FakeLLM([reply]), summary_tokens=160)
    t0 = time.perf_counter()
    scored = await scorer.score(window())
    summary_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    extract_json_object("{" * 2_000_000)
    braces_s = time.perf_counter() - t0
    return {
        "summary_1mb_seconds": round(summary_s, 3),
        "scored": scored.scored,
        "summary_chars_kept": len(scored.summary or ""),
        "reply_2mb_of_braces_seconds": round(braces_s, 3),
    }


_SPELLING_KINDS = {
    "spelling", "shorthand", "letter-like", "leet", "obfuscated", "homophone", "typo", "pinyin",
    "pinyin mixed", "pinyin initials", "spaces", "symbol", "emoji", "traditional", "punctuation",
    "mixed", "traditional characters", "full-width punctuation",
}  # fmt: skip


def evasions() -> dict[str, Any]:
    from evasion_corpora import leaked, redaction_figures, rows

    from alliance_monitor.scoring._redact import basic_redactor

    tuned = redaction_figures(basic_redactor)
    unseen = rows("redaction_evasions_unseen.jsonl")
    unseen_missed = [
        r["text"] for r in unseen if any(leaked(s, basic_redactor(r["text"])) for s in r["secrets"])
    ]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from safety_sets import DATA, SETS, load

    from alliance_monitor._safety import scan_risk

    safety: dict[str, Any] = {}
    for lang, name in SETS.items():
        rows = load(DATA / name)
        for half in ("even", "odd"):
            part = [r for r in rows if r["half"] == half]
            risk = [r for r in part if r["risk"]]
            ok = [r for r in part if not r["risk"]]
            caught = sum(scan_risk(r["text"]) is not None for r in risk)
            alarms = sum(scan_risk(r["text"]) is not None for r in ok)
            safety[f"{lang}/{half}"] = {
                "risk": len(risk),
                "recall": round(caught / len(risk), 3),
                "ordinary": len(ok),
                "false_alarms": round(alarms / len(ok), 3),
            }
        spelled = [r for r in rows if r["risk"] and r["kind"].split(":")[0] in _SPELLING_KINDS]
        caught = sum(scan_risk(r["text"]) is not None for r in spelled)
        safety[f"{lang}/spellings"] = f"{caught}/{len(spelled)}"
    return {
        "safety": safety,
        "redaction_tuned": {
            "caught": f"{tuned['caught']}/{tuned['evasions']}",
            "by_language": tuned["by_language"],
            "ordinary_unchanged": f"{tuned['ordinary'] - len(tuned['ordinary_changed'])}"
            f"/{tuned['ordinary']}",
        },
        "redaction_unseen": {
            "caught": f"{len(unseen) - len(unseen_missed)}/{len(unseen)}",
            "missed": unseen_missed,
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--slow", type=int, default=300)
    p.add_argument("--poison", type=int, default=5000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        print("poison stream:", json.dumps(anyio.run(_poison, args.poison, Path(d))))
    print("echoing model:", json.dumps(anyio.run(_echo)))
    for redaction in ("basic", "none"):
        print("echoing model, lowercase:", json.dumps(anyio.run(_echo_lowercase, redaction)))
    print("model reply stall:", json.dumps(anyio.run(_reply_stall)))
    print("evasion corpora:", json.dumps(evasions(), ensure_ascii=False))
    print("slow clients:", json.dumps(slow_clients(args.slow)))


if __name__ == "__main__":
    main()
