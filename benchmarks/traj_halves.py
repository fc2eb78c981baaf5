"""Trajectory and live-decline figures on spliced sessions, even and odd halves apart.

No corpus marks where inside a session the alliance falls, so ``../shared/eval/dev_eval.py``
splices one (its ``trajectory_set``): the opening 16 messages of a well-rated session continued
by 16 messages of a poorly rated one is a *decline*; the same opening continued by another
well-rated session is its paired *control*. Sets: ESConv train (seeker empathy 5 against 3 or
lower) and AnnoMI (high against low MI quality); plus the well-rated ESConv sessions whole.

This benchmark imports that function at run time (it is not in the repository, and neither is
the data: measurement only, see ``../shared/data/README.md``), and reports on the even and the
odd splice indices apart (rules are read and tuned on the even half only):

* T1: well-rated ESConv sessions whose `analyze` trajectory is "declined" (lower is better);
* T2 / T3: AUC of the early-to-late drop of `analyze`'s overall phase scores, declines against
  controls (ESConv / AnnoMI);
* T4: splices whose `analyze` trajectory is "declined": share of declines (recall) and of
  controls (false alarms);
* live: the same sessions replayed message by message through the live `Monitor` (embedded
  scorer, default policies): share with at least one ``alliance_declined`` event, and share whose
  windows reported a repaired rupture (`WindowScore.signals`); also on the whole well-rated
  ESConv sessions (a page on one of them is a false alarm).

Targets (issue 18) are printed beside each figure.

Run from the project root (``ALLIANCE_MONITOR_SHARED_DATA`` or ``--data`` points at the data;
the evaluation script is looked for in ``<data>/../eval``)::

    .venv/bin/python benchmarks/traj_halves.py [--data ../shared/data] [--no-live]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alliance_monitor import Monitor
from alliance_monitor._batch import TranscriptResult, analyze_transcript
from alliance_monitor._config import DeclinePolicy, ScoringPolicy
from alliance_monitor._io import parse_transcript
from alliance_monitor.evaluate._agreement import auc as _auc
from alliance_monitor.scoring import EmbeddedScorer

#: figure -> (comparison, target)
TARGETS: dict[str, tuple[str, float]] = {
    "T1 es well-rated declined": ("<=", 0.10),
    "T2 es splice AUC": (">=", 0.70),
    "T3 an splice AUC": (">=", 0.90),
    "T4 es declines declined": ("", 0.0),
    "T4 es controls declined": ("<=", 0.10),
    "T4 an declines declined": (">=", 0.70),
    "T4 an controls declined": ("<=", 0.10),
    "live es declines paged": (">=", 0.50),
    "live es controls paged": ("<=", 0.10),
    "live an declines paged": (">=", 0.50),
    "live an controls paged": ("<=", 0.10),
    "live es well-rated paged": ("<=", 0.10),
}


def load_trajectory_set(data: Path) -> list[dict[str, Any]] | None:
    """`trajectory_set()` of the shared evaluation script, or None when it is not there."""
    script = data.parent / "eval" / "dev_eval.py"
    if not script.exists():
        return None
    spec = importlib.util.spec_from_file_location("dev_eval", script)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sets: list[dict[str, Any]] = module.trajectory_set()
    return sets


def _bare(conv: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversation_id": conv["conversation_id"],
        "messages": [{k: m[k] for k in ("id", "role", "text", "ts")} for m in conv["messages"]],
    }


def analyze(convs: Sequence[dict[str, Any]]) -> dict[str, TranscriptResult]:
    scorer = EmbeddedScorer()
    out: dict[str, TranscriptResult] = {}
    for n, conv in enumerate(convs):
        tr = parse_transcript(n, _bare(conv), [])
        if tr is not None:
            out[tr.conversation_id] = analyze_transcript(tr.conversation_id, tr.messages, scorer)
    return out


async def live(
    convs: Sequence[dict[str, Any]], decline: DeclinePolicy | None = None
) -> dict[str, dict[str, int]]:
    """Conversation id -> event counts ("declined", "repaired") from a replay through the
    live monitor, one session per conversation."""
    counts: dict[str, dict[str, int]] = {c["conversation_id"]: {} for c in convs}

    def on_event(ev: Any) -> None:
        seen = counts.setdefault(ev.conversation_id, {})
        key = str(ev.type.value)
        seen[key] = seen.get(key, 0) + 1
        score = getattr(ev, "score", None)
        signals = getattr(score, "signals", None)
        if signals is not None and any(r.repaired_by for r in signals.ruptures):
            seen["repaired"] = seen.get("repaired", 0) + 1

    monitor = Monitor(
        scorer=EmbeddedScorer(),
        decline=decline,
        scoring=ScoringPolicy(overload="wait"),
        idle_check_interval=None,
    )
    async with monitor:
        monitor.on(on_event)
        for conv in convs:
            for m in _bare(conv)["messages"]:
                await monitor.ingest({**m, "conversation_id": conv["conversation_id"]})
            await monitor.end_session(conv["conversation_id"])
        await monitor.flush()
    return counts


def _index(conv: dict[str, Any], position: int) -> int:
    """The splice index (the number after the last "-"), or the position for whole sessions."""
    tail = str(conv["conversation_id"]).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else position


def figures(
    convs: Sequence[dict[str, Any]],
    results: dict[str, TranscriptResult],
    events: dict[str, dict[str, int]] | None,
    keep: Callable[[int], bool],
) -> dict[str, float | None]:
    by_label: dict[str, list[dict[str, Any]]] = {}
    for pos, c in enumerate(convs):
        if keep(_index(c, pos)):
            by_label.setdefault(c["labels"]["traj"], []).append(c)

    def share(label: str, test: Callable[[str], bool]) -> float | None:
        group = by_label.get(label, [])
        return sum(test(c["conversation_id"]) for c in group) / len(group) if group else None

    def declined(cid: str) -> bool:
        return results[cid].trajectory.value == "declined"

    def paged(cid: str) -> bool:
        return events is not None and events.get(cid, {}).get("alliance_declined", 0) > 0

    out: dict[str, float | None] = {"T1 es well-rated declined": share("es-good", declined)}
    for tag, name in (("es", "T2 es splice AUC"), ("an", "T3 an splice AUC")):
        xs, ys = [], []
        for label in (f"{tag}-decline", f"{tag}-control"):
            for c in by_label.get(label, []):
                ph = results[c["conversation_id"]].phases
                xs.append(-(ph.late.overall - ph.early.overall))
                ys.append(label.endswith("decline"))
        out[name] = _auc(xs, ys)
    for tag in ("es", "an"):
        out[f"T4 {tag} declines declined"] = share(f"{tag}-decline", declined)
        out[f"T4 {tag} controls declined"] = share(f"{tag}-control", declined)
    if events is not None:
        for tag in ("es", "an"):
            out[f"live {tag} declines paged"] = share(f"{tag}-decline", paged)
            out[f"live {tag} controls paged"] = share(f"{tag}-control", paged)
        out["live es well-rated paged"] = share("es-good", paged)
        for tag in ("es", "an"):
            for kind in ("decline", "control"):
                out[f"live {tag} {kind}s with a repaired rupture"] = share(
                    f"{tag}-{kind}",
                    lambda cid: events.get(cid, {}).get("repaired", 0) > 0,  # type: ignore[union-attr]
                )
    return out


def _cell(v: float | None) -> str:
    return "    -" if v is None else f"{v:5.3f}"


def _met(name: str, values: list[float | None]) -> str:
    op, target = TARGETS.get(name, ("", 0.0))
    if not op:
        return ""
    ok = all(v is not None and (v <= target if op == "<=" else v >= target) for v in values)
    return f"target {op} {target:.2f}  {'met' if ok else 'MISSED'}"


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = os.environ.get("ALLIANCE_MONITOR_SHARED_DATA") or root.parent / "shared" / "data"
    ap.add_argument("--data", type=Path, default=Path(default))
    ap.add_argument("--no-live", action="store_true", help="skip the replay through Monitor")
    ap.add_argument("--levels", type=float, help="DeclinePolicy.levels (default: the library's)")
    ap.add_argument("--confirm-windows", type=int, help="DeclinePolicy.confirm_windows")
    ap.add_argument("--min-evidence", type=float, help="DeclinePolicy.min_evidence")
    args = ap.parse_args()
    overrides = {
        k: v
        for k, v in (
            ("levels", args.levels),
            ("confirm_windows", args.confirm_windows),
            ("min_evidence", args.min_evidence),
        )
        if v is not None
    }
    policy = DeclinePolicy(**overrides) if overrides else None
    convs = load_trajectory_set(args.data)
    if convs is None:
        print(
            f"skipped: no evaluation script at {args.data.parent / 'eval' / 'dev_eval.py'} "
            "(pass --data or set ALLIANCE_MONITOR_SHARED_DATA)",
            file=sys.stderr,
        )
        return 0
    results = analyze(convs)
    events = None if args.no_live else asyncio.run(live(convs, policy))
    halves = {
        "even": figures(convs, results, events, lambda i: i % 2 == 0),
        "odd": figures(convs, results, events, lambda i: i % 2 == 1),
        "all": figures(convs, results, events, lambda i: True),
    }
    n = {
        lab: sum(c["labels"]["traj"] == lab for c in convs)
        for lab in ("es-decline", "an-decline", "es-good")
    }
    print(
        f"== trajectory splices: {n['es-decline']} ESConv and {n['an-decline']} AnnoMI pairs "
        f"(decline + control), {n['es-good']} well-rated ESConv sessions; even = tuned on"
    )
    print(f"  {'figure':44s} {'even':>6s} {'odd':>6s} {'all':>6s}")
    for name in halves["all"]:
        vals = [halves[h][name] for h in ("even", "odd", "all")]
        print(
            f"  {name:44s} " + " ".join(f"{_cell(v):>6s}" for v in vals) + "   " + _met(name, vals)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
