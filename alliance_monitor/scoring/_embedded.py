"""The embedded scorer: offline, deterministic, rule-based; the library's default.

How a window is scored (docs/embedded-scorer.md has the long version):

1. Every message is normalised (`_lexicon.normalize`) and scanned once per cue group; the cues
   found are kept in order of appearance.
2. Every counselor message is judged *in the context of the client turn just before it*
   (`_Context`): was it an emotional disclosure, a request for advice, a "no", an answer to a
   permission question? That gives the message's passive and directive scores (`_PASSIVE`,
   `_DIRECTIVE`, `_MITIGATE` below) and its context cues ("advice_unasked", "passive_reply"...).
3. Client messages get context cues too ("resists_advice" after a directive turn,
   "confirms_reflection" after a reflection, "short_reply", "elaboration").
4. Each cue adds its evidence points to constructs through `_lexicon.EVIDENCE`. A construct's
   rating is ``3 + 2 * tanh(GAIN * net / (exchanges + PRIOR))``: the net evidence *rate* per
   exchange, shrunk toward 3 when the window is short. Confidence grows with the total amount of
   evidence found, so short or bland windows sit near 3 with low confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .._models import (
    CONSTRUCTS,
    DimensionScores,
    MessagePattern,
    Role,
    ScoringMessage,
    WindowRequest,
    WindowScore,
)
from . import _lexicon as lx
from ._base import SyncScorer

__all__ = ["EmbeddedScorer"]

ALL_CONSTRUCTS: tuple[str, ...] = tuple(c for ids in CONSTRUCTS.values() for c in ids)

# --- rules: per-message patterns ---------------------------------------------------------------

#: Turns that explore (domain.md's counter-example to passive response).
_EXPLORING = frozenset({"open_question", "invite", "reflection", "summary", "empathy", "elicit_view"})

#: Passive response. A non-exploring reply starts at `_PASSIVE_BASE`; each cue present raises it
#: (combined as independent evidence: p = 1 - prod(1 - w)). Exploring replies get `_EXPLORED`.
_PASSIVE_BASE = 0.1
_PASSIVE: dict[str, float] = {
    "minimal": 0.45,  # only "ok", "I see", "mm-hmm"
    "reassure": 0.45,  # "it will be fine", "don't worry"
    "subject_change": 0.4,
    "closed_question": 0.2,
}
_AFTER_DISCLOSURE = 0.35  # the client just disclosed something emotional: not exploring it
_IN_A_RUN = 0.2  # the previous counselor reply did not explore either
_EXPLORED = 0.05

#: Directive / boundary-overstepping. Advice-like cues combine as independent evidence and are
#: then multiplied by every mitigation that applies; confrontation is never mitigated.
_DIRECTIVE: dict[str, float] = {
    "advise": 0.65,  # "you should / must / need to", "I'd recommend", "I want you to"
    "imperative": 0.5,  # "Cut down to two."
    "warn": 0.45,  # "if you keep drinking you'll ..."
    "suggest": 0.4,  # "you could try", "why don't you"
}
_CONFRONT: dict[str, float] = {"confront": 0.8, "moralize": 0.75}
_MITIGATE: dict[str, float] = {
    "permission": 0.35,  # asks permission in the same turn
    "autonomy": 0.55,  # "it's up to you" in the same turn
    "elicit_view": 0.55,  # "what do you think?" in the same turn
    "asked_for": 0.4,  # the client just asked for advice
    "after_permission": 0.4,  # the client just said yes to a permission question
}
_PUSHING_ON = 0.3  # the client just declined or resisted: advice is pushed harder
_FLAG = 0.5

# --- rules: window scores ----------------------------------------------------------------------

#: Net evidence per exchange at which a construct is ~tanh(1) = 76% of the way to 1 or 5.
_GAIN = 2.0
#: Pseudo-exchanges of "no evidence" added to every window (short windows drift to 3).
_PRIOR = 2.0
#: Total evidence (sum of |points| / 4) at which confidence reaches 0.5.
_CONFIDENCE_HALF = 3.0
#: A client reply this long (words) is elaboration; this short after an open question, short.
_ELABORATION_WORDS = 20
_SHORT_WORDS = 2

_CLIENT_DIRECTIVE_REACTIONS = frozenset({"sustain", "discord", "decline"})


@dataclass(slots=True)
class _Context:
    """What the counselor is replying to, and how the previous counselor turn went."""

    disclosure: bool = False
    asked_for: bool = False
    declined: bool = False
    permission_pending: bool = False
    prev_explored: bool = True
    prev_directive: bool = False
    prev_reflected: bool = False
    prev_opened: bool = False


def _scan(text: str, counselor: bool) -> dict[str, None]:
    """The cues of one message, in order of appearance (a dict keeps order deterministic)."""
    t = lx.normalize(text)
    if counselor:
        found = dict.fromkeys(m.lastgroup or "" for m in lx.COUNSELOR_FORM_RE.finditer(t))
        found.update(dict.fromkeys(m.lastgroup or "" for m in lx.COUNSELOR_MOVES_RE.finditer(t)))
        if lx.MINIMAL_RE.fullmatch(t):
            found["minimal"] = None
    else:
        found = dict.fromkeys(m.lastgroup or "" for m in lx.CLIENT_RE.finditer(t))
        if lx.WITHDRAWAL_RE.fullmatch(t):
            found["withdrawal"] = None
    return found


def _combine(weights: dict[str, float], cues: dict[str, None]) -> float:
    """1 - prod(1 - w) over the cues present: independent pieces of evidence."""
    keep = 1.0
    for cue, w in weights.items():
        if cue in cues:
            keep *= 1.0 - w
    return 1.0 - keep


def _counselor_turn(cues: dict[str, None], ctx: _Context) -> tuple[float, float, float]:
    """Passive score, directive score, and the unmitigated advice part, for one counselor turn."""
    if ctx.asked_for:
        cues["asked_for"] = None
    if ctx.permission_pending and not ctx.declined:
        cues["after_permission"] = None
    if ctx.disclosure:
        cues["after_disclosure"] = None
    if _EXPLORING.isdisjoint(cues):
        keep = (1.0 - _PASSIVE_BASE) * (1.0 - _combine(_PASSIVE, cues))
        if ctx.disclosure:
            keep *= 1.0 - _AFTER_DISCLOSURE
        if not ctx.prev_explored and ("minimal" in cues or "reassure" in cues):
            keep *= 1.0 - _IN_A_RUN
        passive = 1.0 - keep
    else:
        passive = _EXPLORED
    advice = _combine(_DIRECTIVE, cues)
    if advice and ctx.declined:
        advice = min(1.0, advice + _PUSHING_ON)
        cues["pushing_on"] = None
    mitigation = 1.0
    for cue, factor in _MITIGATE.items():
        if cue in cues:
            mitigation *= factor
    confront = _combine(_CONFRONT, cues)
    directive = 1.0 - (1.0 - advice * mitigation) * (1.0 - confront)
    return passive, directive, advice


def _client_turn(cues: dict[str, None], words: int, ctx: _Context) -> None:
    """Add context cues to a client message and update what the next counselor turn replies to."""
    if ctx.prev_directive and not _CLIENT_DIRECTIVE_REACTIONS.isdisjoint(cues):
        cues["resists_advice"] = None
    if ctx.prev_reflected and "assent" in cues:
        cues["confirms_reflection"] = None
    if words >= _ELABORATION_WORDS:
        cues["elaboration"] = None
    elif ctx.prev_opened and words <= _SHORT_WORDS and "withdrawal" not in cues:
        cues["short_reply"] = None
    ctx.disclosure = ctx.disclosure or "disclosure" in cues
    ctx.asked_for = ctx.asked_for or "asks_advice" in cues
    ctx.declined = ctx.declined or not _CLIENT_DIRECTIVE_REACTIONS.isdisjoint(cues)


class _Tally:
    """Evidence points per construct and the message ids behind them."""

    __slots__ = ("absolute", "ids", "net")

    def __init__(self) -> None:
        self.net = dict.fromkeys(ALL_CONSTRUCTS, 0.0)
        self.absolute = 0.0
        self.ids: dict[str, dict[str, None]] = {c: {} for c in ALL_CONSTRUCTS}

    def add(self, msg_id: str, cue: str, scale: float = 1.0) -> None:
        for construct, points in lx.EVIDENCE[cue].items():
            self.net[construct] += points * scale
            self.absolute += abs(points * scale)
            self.ids[construct][msg_id] = None


def _analyse(
    messages: Sequence[ScoringMessage], tally: _Tally | None
) -> list[MessagePattern]:
    """One pass over the window: message patterns, and evidence into `tally` if given."""
    patterns: list[MessagePattern] = []
    ctx = _Context()
    for msg in messages:
        if msg.role is Role.COUNSELOR:
            cues = _scan(msg.text, True)
            passive, directive, advice = _counselor_turn(cues, ctx)
            if tally is not None:
                _counselor_evidence(tally, msg.id, cues, passive, directive, advice)
            patterns.append(
                MessagePattern.model_construct(
                    id=msg.id,
                    passive=round(passive, 4),
                    directive=round(directive, 4),
                    cues=tuple(cues),
                )
            )
            ctx = _Context(
                permission_pending="permission" in cues,
                prev_explored=not _EXPLORING.isdisjoint(cues),
                prev_directive=directive >= _FLAG,
                prev_reflected="reflection" in cues or "summary" in cues,
                prev_opened="open_question" in cues or "invite" in cues,
            )
        elif msg.role is Role.CLIENT:
            cues = _scan(msg.text, False)
            _client_turn(cues, msg.text.count(" ") + 1, ctx)
            if tally is not None:
                for cue in cues:
                    tally.add(msg.id, cue)
    return patterns


def _counselor_evidence(
    tally: _Tally, msg_id: str, cues: dict[str, None], passive: float, directive: float,
    advice: float,
) -> None:
    for cue in cues:
        tally.add(msg_id, cue)
    if advice:
        unasked = min(advice, directive)
        tally.add(msg_id, "advice_unasked", unasked)
        if advice > unasked:
            tally.add(msg_id, "advice_offered", advice - unasked)
    if passive >= _FLAG:
        tally.add(msg_id, "passive_reply", passive)


def _rating(net: float, units: float) -> float:
    return round(3.0 + 2.0 * math.tanh(_GAIN * net / (units + _PRIOR)), 4)


class EmbeddedScorer(SyncScorer):
    """Offline rule-based scorer: lexicon cues, judged in context, mapped to the twelve constructs.

    Deterministic and pure Python; no model, no network. See docs/embedded-scorer.md.
    """

    name = "embedded"
    version = "1.0"

    def message_patterns(self, messages: Sequence[ScoringMessage]) -> list[MessagePattern]:
        """Passive and directive scores of each counselor message, judged in context."""
        return _analyse(messages, None)

    def score_sync(self, request: WindowRequest) -> WindowScore:
        tally = _Tally()
        patterns = _analyse(request.messages, tally)
        n_turns = sum(1 for m in request.messages if m.role is not Role.OTHER)
        units = n_turns / 2.0
        constructs = {c: _rating(tally.net[c], units) for c in ALL_CONSTRUCTS}
        amount = tally.absolute / 4.0
        evidence_ids = dict.fromkeys(i for c in ALL_CONSTRUCTS for i in tally.ids[c])
        msgs = request.messages
        return WindowScore(
            conversation_id=request.conversation_id,
            window_index=request.window_index,
            constructs=constructs,
            scores=DimensionScores.from_constructs(constructs),
            confidence=round(amount / (amount + _CONFIDENCE_HALF), 4),
            evidence=tuple(m.id for m in msgs if m.id in evidence_ids),
            construct_evidence={c: tuple(tally.ids[c]) for c in ALL_CONSTRUCTS if tally.ids[c]},
            messages=tuple(patterns),
            n_messages=len(msgs),
            n_exchanges=request.n_exchanges,
            first_message_id=msgs[0].id if msgs else None,
            last_message_id=msgs[-1].id if msgs else None,
            start_ts=msgs[0].ts if msgs else None,
            end_ts=msgs[-1].ts if msgs else None,
            merged_from=request.merged_from,
            scorer=self.name,
            model=None,
            prompt_version=f"embedded-{self.version}",
        )
