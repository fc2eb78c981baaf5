"""Batch scoring of whole transcripts: the paper's unit of analysis.

A finished transcript is split into thirds of its counselor-client exchanges (early, middle,
late); each third is scored as one window. The session's alliance is the exchange-weighted mean of
the three, and its trajectory compares late with early.

Convention for short transcripts: with fewer than three exchanges there are no thirds; the whole
transcript is scored once and that score is every phase (`phase_convention = "too_short"`,
change 0). An empty transcript gets the neutral 3 everywhere (`"no_scores"`).

Abstention: a trajectory compares late with early, so it is `"insufficient_evidence"` unless
both the early and the late phase were scored with enough evidence (a window the scorer
returned as ``insufficient_evidence`` or unscored does not count), and always for too-short and
empty transcripts. The numeric phase scores are still reported (a near-3 reading of a bland
phase) with their `phase_confidence` and `phase_status`, so consumers see what they rest on.

"Declined" has one meaning across the library (`_decline.assess`): the late phase scores at
least the tolerance below the early one *and* the middle and late phases show what fell (an
unrepaired rupture or overstepping, cited by message). A lower score without that evidence is
"unchanged"; a repaired rupture is reported under `repaired`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._decline import Verdict, assess
from ._events import PhaseScores, Trajectory
from ._lang import detect_language
from ._models import (
    DIMENSIONS,
    DimensionScores,
    Message,
    MessagePattern,
    Role,
    ScoringMessage,
    WindowRequest,
    WindowScore,
)
from .scoring._base import Scorer, SyncScorer, score_or_unscored

__all__ = ["TranscriptResult", "analyze_transcript", "analyze_transcript_async", "split_thirds"]

PHASES = ("early", "middle", "late")


@dataclass(frozen=True, slots=True)
class TranscriptResult:
    """The analysis of one finished transcript (`analyze_transcript`, `alliance-monitor
    analyze`).

    - `alliance`: whole-transcript scores; `phases`: the early, middle and late thirds of its
      exchanges; `trajectory` and `change`: late against early, overall (and
      `dimension_changes` per dimension).
    - `messages`: passive and directive scores of every counselor message.
    - `windows`: the three phase windows as scored (one for a short transcript);
      `phase_convention`: "windows", "too_short" or "no_scores" (see `SessionSummary`).
    - `skipped`: (message id, reason) of messages left out; `language`: by script.
    """

    conversation_id: str
    alliance: DimensionScores
    phases: PhaseScores
    trajectory: Trajectory
    change: float
    dimension_changes: dict[str, float]
    messages: tuple[MessagePattern, ...]
    windows: tuple[WindowScore, ...]
    phase_convention: Literal["windows", "too_short", "no_scores"]
    skipped: tuple[tuple[str, str], ...] = ()  # (message id, reason)
    #: The transcript's language by script (`alliance_monitor.detect_language`): "en", "zh",
    #: "mixed" (Chinese and English), "other" or "und".
    language: str | None = None
    #: The decline verdict behind `trajectory` (`_decline.assess`): reason, cited evidence,
    #: dimension, repaired ruptures.
    verdict: Verdict | None = None
    #: How the phases were cut: "exchanges" (thirds of the exchanges, the paper's unit) or
    #: "evidence" (an end third was too thin to score, so the early and late parts were
    #: extended inward until each carries enough evidence; few, long turns).
    split: Literal["exchanges", "evidence"] = "exchanges"

    def stages(self) -> dict[str, str | None]:
        """The stage each phase is in ("opening", "working", "action", "closing"; None where
        the phase window was unscored)."""
        return {
            p: (w.signals.stage if w is not None and w.signals is not None else None)
            for p, w in zip(PHASES, self._phase_windows(), strict=True)
        }

    def _phase_windows(self) -> list[WindowScore | None]:
        """The window behind each phase (the one window of a short transcript is all three)."""
        if not self.windows:
            return [None, None, None]
        if len(self.windows) == 1:
            return [self.windows[0]] * 3
        return list(self.windows[:3])

    def confidence(self) -> dict[str, float]:
        """Confidence per dimension and overall: the windows' confidences, weighted by their
        share of the messages (0 where nothing was scored)."""
        return self._confidence([_confidence_of(w) for w in self.windows])

    def _confidence(self, each: list[dict[str, float]]) -> dict[str, float]:
        """`confidence` from `_confidence_of` of each window (in `windows` order)."""
        parts = [(c, max(w.n_messages, 1)) for c, w in zip(each, self.windows, strict=True)]
        total = sum(n for _, n in parts)
        out: dict[str, float] = {}
        for d in DIMENSIONS:
            s = sum(c[d] * n for c, n in parts)
            out[d] = round(s / total, 4) if total else 0.0
        return out

    def evidence_count(self) -> dict[str, int]:
        """Pieces of evidence behind each dimension, over all windows."""
        out = dict.fromkeys(DIMENSIONS, 0)
        for w in self.windows:
            for d, n in w.evidence_count.items():
                if d in out:
                    out[d] += n
        return out

    def to_json(self) -> dict[str, Any]:
        """The `analyze` output record (key names are a contract with evaluation tooling)."""

        def four(s: DimensionScores) -> dict[str, float]:
            return {d: round(s.get(d), 4) for d in DIMENSIONS}

        phase_windows = list(zip(PHASES, self._phase_windows(), strict=True))
        # each window's confidences once (rounding is the costly part); a phase gets a copy
        each = [_confidence_of(w) for w in self.windows]
        of_window = {id(w): c for w, c in zip(self.windows, each, strict=True)}

        def phase_confidence(w: WindowScore | None) -> dict[str, float]:
            found = of_window.get(id(w)) if w is not None else None
            return dict(found) if found is not None else _confidence_of(w)

        return {
            "conversation_id": self.conversation_id,
            "alliance": four(self.alliance),
            "phases": {p: four(getattr(self.phases, p)) for p in PHASES},
            "trajectory": self.trajectory.value,
            "change": round(self.change, 4),
            "dimension_changes": self.dimension_changes,
            "phase_convention": self.phase_convention,
            "phase_split": self.split,
            "confidence": self._confidence(each),
            "phase_confidence": {p: phase_confidence(w) for p, w in phase_windows},
            "phase_status": {
                p: (w.status if w is not None else "unscored") for p, w in phase_windows
            },
            "evidence_count": self.evidence_count(),
            "stages": self.stages(),
            "decline": _verdict_json(self.verdict),
            "messages": [
                {"id": m.id, "passive": round(m.passive, 4), "directive": round(m.directive, 4)}
                for m in self.messages
            ],
            "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
            "language": self.language,
            "unscored": [
                {"window": w.window_index, "reason": w.reason}
                for w in self.windows
                if w.status == "unscored"
            ],
        }


def _verdict_json(v: Verdict | None) -> dict[str, Any]:
    """The decline verdict as `analyze` writes it."""
    if v is None:
        return {
            "reason": "insufficient_evidence",
            "dimension": None,
            "evidence": [],
            "repaired": [],
        }
    return {
        "reason": v.reason,
        "dimension": v.dimension,
        "evidence": list(v.evidence),
        "repaired": [{"rupture": r, "repair": by} for r, by in v.repaired],
    }


def _confidence_of(w: WindowScore | None) -> dict[str, float]:
    """A window's confidence per dimension and overall (0 for an unscored window)."""
    if w is None or w.scores is None:
        return dict.fromkeys(DIMENSIONS, 0.0)
    dc = w.dimension_confidence
    return {d: round(dc.get(d, w.confidence), 4) for d in DIMENSIONS}


def _exchange_index(messages: Sequence[ScoringMessage]) -> tuple[list[int], int]:
    """Exchange number of each message (a counselor turn plus a client turn is one exchange)."""
    out: list[int] = []
    turns, last = 0, None
    for m in messages:
        if m.role is not Role.OTHER and m.role is not last:
            turns += 1
            last = m.role
        out.append(max(turns - 1, 0) // 2)
    return out, (turns + 1) // 2


def split_thirds(
    messages: Sequence[ScoringMessage],
) -> tuple[list[tuple[ScoringMessage, ...]], list[int], int]:
    """Split into early / middle / late thirds of exchanges. Returns (thirds, exchanges, total)."""
    idx, total = _exchange_index(messages)
    thirds: list[list[ScoringMessage]] = [[], [], []]
    for m, e in zip(messages, idx, strict=True):
        thirds[min(2, (3 * e) // total) if total else 0].append(m)
    counts = []
    for part in thirds:
        pidx, _ = _exchange_index(part)
        counts.append((max(pidx) + 1) if pidx else 0)
    return [tuple(p) for p in thirds], counts, total


def _to_scoring(messages: Sequence[Message]) -> list[ScoringMessage]:
    ordered = sorted(
        enumerate(messages),
        key=lambda t: (
            (float(t[1].seq), t[1].ts, t[0]) if t[1].seq is not None else (t[1].ts, 0, t[0])
        ),
    )
    return [ScoringMessage(m.id, m.role, m.text, m.ts) for _, m in ordered]


def _requests(
    conversation_id: str, msgs: list[ScoringMessage]
) -> tuple[list[WindowRequest], list[float], bool]:
    thirds, counts, total = split_thirds(msgs)
    if total < 3:
        req = WindowRequest(conversation_id, 0, tuple(msgs), total, kind="session")
        return [req], [1.0], True
    reqs = [
        WindowRequest(conversation_id, i, part, counts[i], kind="phase")
        for i, part in enumerate(thirds)
    ]
    return reqs, [float(max(c, 1)) for c in counts], False


#: Evidence a part must carry, as a multiple of the scorer's own floor (`MIN_PIECES`,
#: `MIN_POINTS`), when the cuts are placed. The cuts are read in one pass over the whole
#: transcript and the parts then scored on their own; a part that still falls short keeps the
#: thirds' answer (insufficient evidence).
_SPLIT_MARGIN = 1.0
#: Only an end third of this many exchanges or fewer is widened: few, long turns. A longer end
#: third that holds too little is thin on evidence itself (greetings, thanks and goodbyes).
_SPLIT_EXCHANGES = 6


def _turn_starts(msgs: Sequence[ScoringMessage]) -> list[int]:
    """Indices of the messages that start a counselor or client turn."""
    out, last = [], None
    for i, m in enumerate(msgs):
        if m.role is not Role.OTHER and m.role is not last:
            out.append(i)
            last = m.role
    return out


def _profile(
    msgs: Sequence[ScoringMessage], scores: Sequence[WindowScore]
) -> list[tuple[int, float]]:
    """Per message, the pieces of evidence and the evidence points the scorer found in it: as
    the embedded scorer counted them while it scored the thirds, or, for another scorer's
    windows, as the embedded lexicons read the text again."""
    from .scoring._embedded import evidence_profile

    per: dict[str, tuple[int, float]] = {}
    for s in scores:
        found = s._evidence_by_message
        if found is None:
            return evidence_profile(msgs)
        per.update(found)
    return [per.get(m.id, (0, 0.0)) for m in msgs]


def _enough(
    msgs: Sequence[ScoringMessage], profile: Sequence[tuple[int, float]], lo: int, hi: int
) -> bool:
    """`msgs[lo:hi]` holds both sides and, by `profile`, enough evidence to be scored: the
    scorer's floors on pieces, points and words said (`says_enough`)."""
    from .scoring._embedded import MIN_PIECES, MIN_POINTS, says_enough

    part = profile[lo:hi]
    return (
        sum(p for p, _ in part) >= MIN_PIECES * _SPLIT_MARGIN
        and sum(a for _, a in part) >= MIN_POINTS * _SPLIT_MARGIN
        and {Role.COUNSELOR, Role.CLIENT} <= {m.role for m in msgs[lo:hi]}
        and says_enough(msgs[lo:hi])
    )


def _evidence_cuts(
    msgs: Sequence[ScoringMessage],
    profile: Sequence[tuple[int, float]],
    early_end: int,
    late_start: int,
    extend: tuple[bool, bool],
) -> tuple[int, int] | None:
    """Where to cut so that the early part (``msgs[:a]``) and the late part (``msgs[b:]``)
    each carry enough evidence to be scored: the thirds' cuts moved inward only as far as the
    evidence requires (`extend` says which end lacked it), at turn starts; the two may meet
    (no middle left: the middle third stands for the middle phase). None if the transcript's
    evidence cannot give two such parts without overlap."""
    starts = _turn_starts(msgs)

    def enough(lo: int, hi: int) -> bool:
        return _enough(msgs, profile, lo, hi)

    a: int | None = early_end
    b: int | None = late_start
    if extend[0]:
        a = next((t for t in starts if t >= early_end and enough(0, t)), None)
    if extend[1]:
        b = next((t for t in reversed(starts) if t <= late_start and enough(t, len(msgs))), None)
    if a is None or b is None or a > b:
        return None
    return a, b


def _resplit_requests(
    conversation_id: str,
    msgs: Sequence[ScoringMessage],
    reqs: Sequence[WindowRequest],
    scores: Sequence[WindowScore],
) -> list[WindowRequest] | None:
    """New phase requests cut on evidence (`_evidence_cuts`), when the early or the late third
    was read but found too thin to score; None when there is nothing to gain."""
    if len(scores) != 3:
        return None
    thin = tuple(
        s.status == "insufficient_evidence" and s.n_exchanges <= _SPLIT_EXCHANGES
        for s in (scores[0], scores[2])
    )
    if not any(thin) or any(s.status == "unscored" for s in scores):
        return None
    n0, n1 = len(reqs[0].messages), len(reqs[1].messages)
    cuts = _evidence_cuts(msgs, _profile(msgs, scores), n0, n0 + n1, (thin[0], thin[1]))
    if cuts is None:
        return None
    a, b = cuts
    parts = (tuple(msgs[:a]), tuple(msgs[a:b]), tuple(msgs[b:]))
    return [
        # an end that did not move keeps its window and its score; with no middle left, the
        # middle third stands for the middle phase
        reqs[i]
        if (i != 1 and len(part) == len(reqs[i].messages)) or (i == 1 and not part)
        else WindowRequest(conversation_id, i, part, _exchanges(part), kind="phase")
        for i, part in enumerate(parts)
    ]


def _halves_requests(
    conversation_id: str,
    msgs: Sequence[ScoringMessage],
    reqs: Sequence[WindowRequest],
    scores: Sequence[WindowScore],
) -> list[WindowRequest] | None:
    """A transcript of two exchanges (too short for thirds: scored once as a whole) still has an
    early and a late part when each exchange carries enough evidence to be scored on its own
    (few, long turns): requests for the two exchanges, the whole standing for the middle."""
    if len(reqs) != 1 or reqs[0].n_exchanges != 2 or scores[0].status == "unscored":
        return None
    idx, _ = _exchange_index(msgs)
    cut = idx.index(1) if 1 in idx else len(msgs)
    profile = _profile(msgs, scores)
    if not (_enough(msgs, profile, 0, cut) and _enough(msgs, profile, cut, len(msgs))):
        return None
    early, late = tuple(msgs[:cut]), tuple(msgs[cut:])
    return [
        WindowRequest(conversation_id, 0, early, 1, kind="phase"),
        reqs[0],
        WindowRequest(conversation_id, 2, late, 1, kind="phase"),
    ]


def _resplit(
    conversation_id: str,
    msgs: Sequence[ScoringMessage],
    reqs: Sequence[WindowRequest],
    scores: Sequence[WindowScore],
    short: bool,
) -> list[WindowRequest] | None:
    """Phase requests cut on evidence instead of exchange counts, where that gives an early
    and a late part the thirds did not (`_resplit_requests`, `_halves_requests`)."""
    if short:
        return _halves_requests(conversation_id, msgs, reqs, scores)
    return _resplit_requests(conversation_id, msgs, reqs, scores)


def _exchanges(part: Sequence[ScoringMessage]) -> int:
    idx, _ = _exchange_index(part)
    return (max(idx) + 1) if idx else 0


def _combine(
    conversation_id: str,
    scores: list[WindowScore],
    weights: list[float],
    short: bool,
    tolerance: float,
    skipped: tuple[tuple[str, str], ...],
) -> TranscriptResult:
    scored = [(s.scores, w) for s, w in zip(scores, weights, strict=True) if s.scores is not None]
    if not scored:
        n = DimensionScores.neutral()
        phases = PhaseScores(early=n, middle=n, late=n)
        convention: Literal["windows", "too_short", "no_scores"] = "no_scores"
    elif short:
        s = scored[0][0]
        phases = PhaseScores(early=s, middle=s, late=s)
        convention = "too_short"
    else:
        fallback = DimensionScores.weighted_mean(scored)
        ps = [s.scores if s.scores is not None else fallback for s in scores]
        phases = PhaseScores(early=ps[0], middle=ps[1], late=ps[2])
        convention = "windows"
    if short or not scored:
        alliance = phases.early
    else:
        alliance = DimensionScores.weighted_mean(
            [(getattr(phases, p), w) for p, w in zip(PHASES, weights, strict=True)]
        )
    changes = {d: round(phases.late.get(d) - phases.early.get(d), 4) for d in DIMENSIONS}
    patterns = tuple(m for s in scores for m in s.messages)
    # A trajectory compares late with early: both must rest on a window with enough evidence.
    lacking = short or len(scores) < 3 or not (scores[0].scored and scores[-1].scored)
    verdict = assess(
        None if lacking else phases.early,
        None if lacking else phases.late,
        [s.signals for s in scores[1:]],
        tolerance=tolerance,
    )
    return TranscriptResult(
        conversation_id=conversation_id,
        alliance=alliance,
        phases=phases,
        trajectory=verdict.trajectory,
        change=changes["overall"],
        dimension_changes=changes,
        verdict=verdict,
        messages=patterns,
        windows=tuple(scores),
        phase_convention=convention,
        skipped=skipped,
    )


def _skipped(msgs: list[ScoringMessage], scores: list[WindowScore]) -> tuple[tuple[str, str], ...]:
    covered = {m.id for s in scores if s.status != "unscored" for m in s.messages}
    out = []
    for m in msgs:
        if m.role is Role.COUNSELOR and m.id not in covered:
            out.append((m.id, "window_unscored"))
    return tuple(out)


def analyze_transcript(
    conversation_id: str,
    messages: Sequence[Message],
    scorer: SyncScorer,
    *,
    trajectory_tolerance: float = 0.25,
) -> TranscriptResult:
    """Score a finished transcript with a synchronous scorer (the embedded one)."""
    msgs = _to_scoring(messages)
    if not msgs:
        return _combine(conversation_id, [], [], True, trajectory_tolerance, ())
    reqs, weights, short = _requests(conversation_id, msgs)
    scores = _score_sync(scorer, reqs)
    resplit = _resplit(conversation_id, msgs, reqs, scores, short)
    if resplit is not None:
        done = {id(r): s for r, s in zip(reqs, scores, strict=True)}
        parts = _score_sync(scorer, resplit, done)
        return _finish(conversation_id, msgs, scores, parts, resplit, trajectory_tolerance)
    return _with_language(
        _combine(
            conversation_id, scores, weights, short, trajectory_tolerance, _skipped(msgs, scores)
        ),
        msgs,
    )


def _score_sync(
    scorer: SyncScorer,
    reqs: Sequence[WindowRequest],
    done: Mapping[int, WindowScore] | None = None,
) -> list[WindowScore]:
    """Score phase requests in order, each seeing the earlier ones as its history. `done`
    holds scores already made for some of these requests (by `id` of the request)."""
    scores: list[WindowScore] = []
    history: tuple[WindowScore, ...] = ()
    for r in reqs:
        known = done.get(id(r)) if done else None
        if known is not None:
            scores.append(known)
            if known.signals is not None:
                history = (*history, known)
            continue
        r = dataclasses.replace(r, history=history) if history else r
        s = _with_signals(scorer.score_sync(r), r)
        scores.append(s)
        if s.signals is not None:  # read even where too thin to score: who said what
            history = (*history, s)
    return scores


def _finish(
    conversation_id: str,
    msgs: Sequence[ScoringMessage],
    thirds: list[WindowScore],
    parts: list[WindowScore],
    reqs: Sequence[WindowRequest],
    tolerance: float,
) -> TranscriptResult:
    """The result with phases cut on evidence where both ends are now scored; else the thirds'
    result. The session's alliance, the message patterns and the skipped messages stay those
    of the thirds (the paper's unit): only the phases, the change and the trajectory move."""
    skipped = _skipped(list(msgs), thirds)
    weights = [float(max(s.n_exchanges, 1)) for s in thirds]
    short = len(thirds) == 1  # a two-exchange transcript scored as a whole
    by_thirds = _combine(conversation_id, thirds, weights, short, tolerance, skipped)
    if not (parts[0].scored and parts[2].scored):
        return _with_language(by_thirds, msgs)
    weights = [float(max(r.n_exchanges, 1)) for r in reqs]
    result = _combine(conversation_id, parts, weights, False, tolerance, skipped)
    result = dataclasses.replace(
        result, alliance=by_thirds.alliance, messages=by_thirds.messages, split="evidence"
    )
    return _with_language(result, msgs)


def _with_signals(score: WindowScore, request: WindowRequest) -> WindowScore:
    """A window read by a scorer that does not read ruptures (an LLM, a test double) gets the
    signals the embedded lexicons read from its text: "declined" means the same whatever scorer
    rated it (`_decline`). Unscored windows get none."""
    if score.signals is not None or score.scores is None:
        return score
    from .scoring._embedded import window_signals

    signals = window_signals(request.messages, request.history, first=request.window_index == 0)
    return score.model_copy(update={"signals": signals})


def _with_language(result: TranscriptResult, msgs: Sequence[ScoringMessage]) -> TranscriptResult:
    return dataclasses.replace(result, language=detect_language(m.text for m in msgs))


async def analyze_transcript_async(
    conversation_id: str,
    messages: Sequence[Message],
    scorer: Scorer,
    *,
    trajectory_tolerance: float = 0.25,
    score_timeout: float | None = None,
) -> TranscriptResult:
    """Score a finished transcript with any scorer (LLM, cascade, ...). A window whose scoring
    takes longer than `score_timeout` seconds is unscored (``scorer_timeout``)."""
    msgs = _to_scoring(messages)
    if not msgs:
        return _combine(conversation_id, [], [], True, trajectory_tolerance, ())
    reqs, weights, short = _requests(conversation_id, msgs)
    scores = await _score_async(scorer, reqs, score_timeout)
    resplit = _resplit(conversation_id, msgs, reqs, scores, short)
    if resplit is not None:
        done = {id(r): s for r, s in zip(reqs, scores, strict=True)}
        parts = await _score_async(scorer, resplit, score_timeout, done)
        return _finish(conversation_id, msgs, scores, parts, resplit, trajectory_tolerance)
    return _with_language(
        _combine(
            conversation_id, scores, weights, short, trajectory_tolerance, _skipped(msgs, scores)
        ),
        msgs,
    )


async def _score_async(
    scorer: Scorer,
    reqs: Sequence[WindowRequest],
    score_timeout: float | None,
    done: Mapping[int, WindowScore] | None = None,
) -> list[WindowScore]:
    """`_score_sync` for any scorer (LLM, cascade): history is the scored windows only."""
    scores: list[WindowScore] = []
    history: tuple[WindowScore, ...] = ()
    for r in reqs:
        known = done.get(id(r)) if done else None
        if known is not None:
            scores.append(known)
            if known.scored:
                history = (*history, known)
            continue
        if history:
            r = WindowRequest(
                r.conversation_id, r.window_index, r.messages, r.n_exchanges, history, r.kind
            )
        s = _with_signals(await score_or_unscored(scorer, r, time_limit=score_timeout), r)
        scores.append(s)
        if s.scored:
            history = (*history, s)
    return scores
