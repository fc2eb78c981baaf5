"""The demo's report: what a clinical supervisor would want to read, grouped by pair.

`render(events)` turns the events of a replay into plain text: pairs that need a person now come
first, each pair's section says in words what happened (no window indices, no internal terms),
and the counselor suggestions come from the events' feedback. The order and the headline words
come from each pair's one verdict (`_decline.PairVerdict`), the state the supervisor board and
the study report put into words too. The same events are available as
JSON with `alliance-monitor demo --json`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ._decline import PairVerdict, pair_verdicts
from ._events import (
    AllianceDeclined,
    AllianceLow,
    Event,
    PatternDetected,
    SafetySignal,
    SessionSummary,
    Trajectory,
    WindowScored,
)

__all__ = ["level_change_words", "render", "stretches_words"]

_DIMENSION_WORDS = {
    "goal": "goal (agreeing what to work on)",
    "task": "task (agreeing how to work on it)",
    "bond": "bond (trust and respect)",
    "overall": "overall",
}
_WIDTH = 96
_ORDINAL = ("", "", "two", "three", "four", "five", "six")
_NUMBER = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass
class _Pair:
    conversation_id: str
    safety: list[SafetySignal] = field(default_factory=list)
    declines: list[AllianceDeclined] = field(default_factory=list)
    lows: list[AllianceLow] = field(default_factory=list)
    patterns: list[PatternDetected] = field(default_factory=list)
    windows: list[WindowScored] = field(default_factory=list)
    summary: SessionSummary | None = None

    verdict: PairVerdict = field(default_factory=PairVerdict)

    @property
    def rank(self) -> int:
        """Sort key: the pair's concern (`PairVerdict.concern`: safety, decline, low, patterns,
        repaired, ok), the same order the supervisor board uses."""
        return self.verdict.concern_rank


def level_change_words(levels: float) -> str:
    """A change on the 1-5 scale in words, rounded to half a level ("a full level")."""
    x = abs(levels)
    if x < 0.2:
        return "about the same"
    if x < 0.4:
        return "a little"
    halves = max(1, round(x * 2))
    whole, half = divmod(halves, 2)
    if whole == 0:
        return "about half a level"
    if whole == 1 and not half:
        return "a full level"
    count = _NUMBER[whole] if whole < len(_NUMBER) else str(whole)
    return f"{count} and a half levels" if half else f"{count} levels"


def stretches_words(windows: Sequence[int], total: int | None) -> str:
    """Window indices as a reader would say them: "the last two stretches", "stretches 2 and 3"."""
    ws = sorted(set(windows))
    if not ws:
        return "this conversation"
    if total is not None and ws == list(range(total)) and total > 1:
        count = _NUMBER[total] if total < len(_NUMBER) else str(total)
        return "both stretches" if total == 2 else f"all {count} stretches"
    if total is not None and ws == list(range(total - len(ws), total)):
        if len(ws) == 1:
            return "the last stretch"
        return f"the last {_ORDINAL[len(ws)] if len(ws) < len(_ORDINAL) else len(ws)} stretches"
    numbers = [str(w + 1) for w in ws]
    if len(numbers) == 1:
        return f"stretch {numbers[0]}"
    return f"stretches {', '.join(numbers[:-1])} and {numbers[-1]}"


def _group(events: Iterable[Event]) -> list[_Pair]:
    events = list(events)
    verdicts = pair_verdicts(events)
    pairs: dict[str, _Pair] = {}
    for ev in events:
        p = pairs.setdefault(ev.conversation_id, _Pair(ev.conversation_id))
        if isinstance(ev, SafetySignal):
            p.safety.append(ev)
        elif isinstance(ev, AllianceDeclined):
            p.declines.append(ev)
        elif isinstance(ev, AllianceLow):
            p.lows.append(ev)
        elif isinstance(ev, PatternDetected):
            p.patterns.append(ev)
        elif isinstance(ev, WindowScored):
            p.windows.append(ev)
        elif isinstance(ev, SessionSummary):
            p.summary = ev
    for p in pairs.values():
        p.verdict = verdicts[p.conversation_id]
    order = list(pairs)
    return sorted(pairs.values(), key=lambda p: (p.rank, order.index(p.conversation_id)))


def _safety_lines(p: _Pair, emphasis: bool) -> list[str]:
    out = []
    for s in p.safety:
        what = "harm to self" if s.category == "self_harm" else "harm to others"
        line = (
            f"!! SAFETY: a client message ({s.message_id}) reads as a risk of {what}. "
            "Route this conversation to a person now."
        )
        out.append(f"\033[1;31m{line}\033[0m" if emphasis else line)
    return out


def _decline_lines(p: _Pair, total: int | None) -> list[str]:
    if not p.declines:
        return []
    lead = next((d for d in p.declines if d.dimension == "overall"), p.declines[0])
    ref = "its start" if lead.reference == "baseline" else "its best stretch so far"
    when = stretches_words(lead.windows, total)
    amount = level_change_words(lead.change)
    detail = ", ".join(f"{d.dimension} {d.from_level:.1f} to {d.to_level:.1f}" for d in p.declines)
    lines = [
        f"Alliance fell: {when} of this conversation scored {amount} below {ref} ({detail}, "
        "out of 5)."
    ]
    suggestion = lead.feedback.suggestion if lead.feedback else None
    if suggestion:
        lines.append(f"  Try: {suggestion}")
    return lines


def _low_lines(p: _Pair) -> list[str]:
    if not p.lows:
        return []
    latest: dict[str, AllianceLow] = {}
    for low in p.lows:
        latest[low.dimension] = low
    parts = ", ".join(f"{d} {low.level:.1f}" for d, low in latest.items())
    return [f"Alliance low: {parts} out of 5 (2 or below is low)."]


def _pattern_lines(p: _Pair, total: int | None) -> list[str]:
    out = []
    for kind in ("passive", "directive"):
        found = [e for e in p.patterns if e.pattern == kind]
        if not found:
            continue
        when = stretches_words([e.window_index for e in found], total)
        top = max(e.rate for e in found)
        share = "all" if top >= 0.995 else f"up to {top:.0%}"
        what = (
            "acknowledged or repeated what the client said without exploring it"
            if kind == "passive"
            else "gave advice or instructions the client had not asked for"
        )
        out.append(
            f"{kind.capitalize()} counselor: in {when}, {share} of the counselor's replies {what}."
        )
        out.append(f"  Try: {found[-1].feedback.suggestion}")
    return out


def _summary_lines(p: _Pair) -> list[str]:
    s = p.summary
    if s is None:
        return []
    ph = s.phases
    path = f"{ph.early.overall:.1f}, then {ph.middle.overall:.1f}, then {ph.late.overall:.1f}"
    amount = level_change_words(s.change)
    if s.trajectory == Trajectory.DECLINED:
        verdict = (
            f"it ended {amount} below where it began, and the client's replies show it "
            f"(messages {_ids(s.evidence)})"
        )
    elif s.trajectory == Trajectory.IMPROVED:
        verdict = f"it ended {amount} above where it began"
    elif s.trajectory == Trajectory.UNCHANGED and s.decline_reason == "fell_without_evidence":
        verdict = (
            f"it ended {amount} lower, but nothing in it shows the relationship fell (fewer "
            "questions and more suggestions late in a session are its usual course)"
        )
    elif s.trajectory == Trajectory.UNCHANGED:
        verdict = "it ended about where it began"
    else:
        verdict = "there was too little to go on to say how it changed"
    if s.phase_convention != "windows":
        return [
            f"Whole conversation: {s.alliance.overall:.1f} out of 5 (too short to split "
            "into beginning, middle and end)."
        ]
    return [f"Beginning, middle, end: {path} out of 5 overall; {verdict}."]


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:4])
    return shown + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")


def _verdict_lines(p: _Pair) -> list[str]:
    """The pair's verdict when nothing needs acting on (held, improved, repaired, too little)."""
    v = p.verdict
    if v.concern not in ("repaired", "ok"):
        return []
    if v.concern == "repaired":
        pairs = p.summary.repaired if p.summary else ()
        where = f" (message {pairs[0][0]}, taken up after message {pairs[0][1]})" if pairs else ""
        return [
            "A rupture was repaired: the client pushed back or withdrew, the counselor "
            f"acknowledged it and changed course, and the client came back{where}. Nothing "
            "else to act on."
        ]
    if v.alliance == "insufficient evidence":
        return ["Too little to go on yet: no stretch had enough in it to score."]
    return [f"Nothing to act on: the alliance {v.alliance}."]


def _window_lines(p: _Pair) -> list[str]:
    out = []
    for w in p.windows:
        sc = w.score.scores
        if sc is None:
            continue
        out.append(
            f"  stretch {w.window_index + 1}: goal {sc.goal:.1f}, task {sc.task:.1f}, "
            f"bond {sc.bond:.1f}, overall {sc.overall:.1f}"
        )
    return out


def render(events: Iterable[Event], *, emphasis: bool = False, show_windows: bool = False) -> str:
    """The events of a replay as a report grouped by pair, safety first.

    `emphasis` adds terminal colour to safety lines (only for a terminal); `show_windows` lists
    each stretch's scores too.
    """
    pairs = _group(events)
    lines: list[str] = []
    flagged = [p for p in pairs if p.safety]
    if flagged:
        banner = f"NEEDS A PERSON NOW: {', '.join(p.conversation_id for p in flagged)}"
        lines += [f"\033[1;31m{banner}\033[0m" if emphasis else banner, ""]
    for p in pairs:
        total = p.summary.n_windows if p.summary else None
        head = f"Pair {p.conversation_id}"
        if p.summary:
            head += (
                f" ({p.summary.n_messages} messages, {p.summary.n_windows} "
                f"stretch{'es' if p.summary.n_windows != 1 else ''})"
            )
        lines += [head, "-" * len(head)]
        body = (
            _verdict_lines(p)
            + _safety_lines(p, emphasis)
            + _decline_lines(p, total)
            + _low_lines(p)
            + _pattern_lines(p, total)
            + _summary_lines(p)
        )
        if show_windows:
            body += _window_lines(p)
        for line in body:
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            lines += textwrap.wrap(
                line, width=_WIDTH, subsequent_indent=indent, break_on_hyphens=False
            ) or [""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
