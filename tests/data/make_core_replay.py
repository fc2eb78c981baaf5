"""Regenerate `core_replay.json`: a small transcript fixture, the embedded scorer's window scores
for it, and the events (with ids) the monitor produced from those scores.

The recorded scores are replayed by `tests/test_core_replay.py` through a scripted scorer, so a
change to the embedded scorer elsewhere cannot move the comparison. Regenerate ONLY when a change
of behaviour is intended, and say so in the commit. After a change to the rules (not the
scorer), re-record the events from the recorded scores, keeping those:

    .venv/bin/python tests/data/make_core_replay.py --events-only
    .venv/bin/python tests/data/make_core_replay.py          # everything, scores included
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from alliance_monitor._config import SessionPolicy, WindowPolicy
from alliance_monitor._core import MonitorCore
from alliance_monitor._models import WindowScore
from alliance_monitor.scoring._embedded import EmbeddedScorer

HERE = Path(__file__).parent
DEMO = HERE.parent.parent / "alliance_monitor" / "demo_data" / "demo.jsonl"
WINDOW = {"max_exchanges": 3, "baseline_windows": 2}
SESSION = {"idle_timeout": 600.0}


def transcript() -> list[dict[str, Any]]:
    """The demo pairs (written by us), interleaved, with a duplicate, a message out of order
    inside an open window, a second platform session and an idle gap."""
    convs = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line]
    per = [[{"conversation_id": c["conversation_id"], **m} for m in c["messages"]] for c in convs]
    out: list[dict[str, Any]] = []
    for i in range(max(len(p) for p in per)):
        for p in per:
            if i < len(p):
                out.append(p[i])
    # A retry of an earlier message (duplicate), and two neighbours swapped inside a window.
    out.insert(30, dict(out[5]))
    out[40], out[41] = out[41], out[40]
    # More sessions on one pair: a platform session id, an idle gap, then a new session id.
    base = max(m["ts"] for m in out) + 10
    for k in range(14):
        out.append(
            {
                "conversation_id": "demo-holding",
                "id": f"demo-holding:s2:{k}",
                "role": "counselor" if k % 2 == 0 else "client",
                "text": (
                    "What feels most important to work on next?"
                    if k % 2 == 0
                    else "I want to keep sleeping better and stay calm before exams."
                ),
                "ts": base + 30 * k + (3600 if k >= 8 else 0),
                "session_id": "s2" if k < 11 else "s3",
            }
        )
    return out


def main() -> None:
    messages = transcript()
    core = MonitorCore(window=WindowPolicy(**WINDOW), session=SessionPolicy(**SESSION))
    scorer: Any = EmbeddedScorer()
    if "--events-only" in sys.argv:
        old = json.loads((HERE / "core_replay.json").read_text(encoding="utf-8"))
        messages = old["messages"]  # the recorded transcript, whatever the demo data became
        recorded = {(s["conversation_id"], s["window_index"]): s for s in old["scores"]}

        class Recorded:
            def score_sync(self, req: Any) -> WindowScore:
                key = (req.conversation_id, req.window_index)
                return WindowScore.model_validate(recorded[key])

        scorer = Recorded()
    scores: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def run(work: Any, evs: Any) -> None:
        events.extend(json.loads(e.model_dump_json()) for e in core.session_pages(list(evs)))
        for req in work:
            score = scorer.score_sync(req)
            scores.append(json.loads(score.model_dump_json()))
            events.extend(
                json.loads(e.model_dump_json()) for e in core.session_pages(core.apply(score, req))
            )

    for i, m in enumerate(messages):
        out = core.ingest(m, now=float(i))
        run(out.work, out.events)
    out = core.end_all("shutdown")
    run(out.work, out.events)
    doc = {
        "window_policy": WINDOW,
        "session_policy": SESSION,
        "messages": messages,
        "scores": scores,
        "events": events,
    }
    (HERE / "core_replay.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"{len(messages)} messages, {len(scores)} windows, {len(events)} events")


if __name__ == "__main__":
    main()
