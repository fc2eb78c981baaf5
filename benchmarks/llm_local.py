"""The LLM scorer on a local server: answers valid by construction against prompt-and-check.

    .venv/bin/python benchmarks/llm_local.py --server http://127.0.0.1:18080/v1 \
        --model gemma3-270m [--conversations demo-passive,demo-directive] [--modes on,off]

Scores the windows `analyze` scores (each bundled conversation's early, middle and late thirds)
once per mode, one window at a time, with the scorer's default options except
``constrain_evidence``: ``on`` sends each window's own schema (quotes an enum of its sentences,
strings bounded to the answer budget), ``off`` the fixed schema, with the quotes checked after the
answer and one repair call for a bad one (today's fallback where a server does not decode under
a schema). Prints, per mode: windows scored, calls, why windows went unscored, the faults found
in answers, seconds per window, and prompt / completion tokens per window (the server's usage,
or tiktoken counts where it reports none).

Absolute times depend on the machine and on what else runs on it (print the load beside them);
the modes run in turns, window by window, so they see the same conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio

from alliance_monitor import Message, WindowRequest
from alliance_monitor._batch import analyze_transcript_async
from alliance_monitor.scoring import LLMScorer, Scorer, make_scorer

DEMO = Path(__file__).resolve().parents[1] / "alliance_monitor" / "demo_data" / "demo.jsonl"


class Recorder(Scorer):
    """Collects the window requests `analyze` makes, answering nothing."""

    name = "recorder"

    def __init__(self) -> None:
        self.requests: list[WindowRequest] = []

    async def score(self, request: WindowRequest) -> Any:
        from alliance_monitor.scoring import EmbeddedScorer

        self.requests.append(request)
        return EmbeddedScorer().score_sync(request)


async def windows(conversations: list[str]) -> list[WindowRequest]:
    rows = [json.loads(x) for x in DEMO.read_text(encoding="utf-8").splitlines() if x.strip()]
    rec = Recorder()
    for row in rows:
        if row["conversation_id"] in conversations:
            msgs = [Message(conversation_id=row["conversation_id"], **m) for m in row["messages"]]
            await analyze_transcript_async(row["conversation_id"], msgs, rec)
    return rec.requests


async def run(
    server: str, model: str, conversations: list[str], modes: list[str]
) -> dict[str, Any]:
    reqs = await windows(conversations)
    scorers: dict[str, LLMScorer] = {}
    for mode in modes:
        s = make_scorer(
            "llm", base_url=server, model=model, api_key_env=None, constrain_evidence=mode == "on"
        )
        assert isinstance(s, LLMScorer)
        scorers[mode] = s
    seconds: dict[str, list[float]] = {m: [] for m in modes}
    reasons: dict[str, Counter[str]] = {m: Counter() for m in modes}
    tokens: dict[str, list[tuple[int, int]]] = {m: [] for m in modes}
    for n, req in enumerate(reqs):
        for mode in modes:
            started = time.perf_counter()
            score = await scorers[mode].score(req)
            seconds[mode].append(time.perf_counter() - started)
            tokens[mode].append((score.prompt_tokens, score.completion_tokens))
            if not score.scored:
                reasons[mode][score.reason or "?"] += 1
            sys.stderr.write(
                f"window {n + 1}/{len(reqs)} {mode}: {score.status} "
                f"{seconds[mode][-1]:.0f} s {score.reason or ''}\n"
            )
    out = {}
    for mode, s in scorers.items():
        st = s.stats
        out[mode] = {
            "windows": len(reqs),
            "scored": st.scored,
            "calls": st.calls,
            "repairs": st.repairs,
            "unscored": dict(reasons[mode]),
            "faults": {
                k: getattr(st, k)
                for k in (
                    "invalid_json",
                    "schema_errors",
                    "out_of_range",
                    "fabricated_evidence",
                    "unsupported_rating",
                    "unknown_label",
                    "unavailable",
                )
                if getattr(st, k)
            },
            "seconds_per_window": round(statistics.fmean(seconds[mode]), 1),
            "prompt_tokens_per_window": round(statistics.fmean(t[0] for t in tokens[mode])),
            "completion_tokens_per_window": round(statistics.fmean(t[1] for t in tokens[mode])),
            "client": s.client.stats.as_dict(),
        }
        await s.aclose()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--conversations", default="demo-passive,demo-directive")
    ap.add_argument("--modes", default="on,off")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    res = anyio.run(
        run, args.server, args.model, args.conversations.split(","), args.modes.split(",")
    )
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"load average at start {load:.1f} on {os.cpu_count()} cores; model {args.model}")
    for mode, r in res.items():
        print(
            f"constrain_evidence={mode}: {r['scored']} of {r['windows']} windows scored, "
            f"{r['calls']} calls ({r['repairs']} repairs), {r['seconds_per_window']} s per "
            f"window, {r['prompt_tokens_per_window']} prompt + "
            f"{r['completion_tokens_per_window']} completion tokens per window; unscored "
            f"{r['unscored'] or 'none'}; faults {r['faults'] or 'none'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
