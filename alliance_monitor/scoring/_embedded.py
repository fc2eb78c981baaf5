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
4. Each cue adds its evidence points to constructs through `_lexicon.EVIDENCE`. The four items
   of a dimension share evidence (`_SHARE`: each also gets half the mean of the other three). A
   construct's rating is ``3 + 2 * tanh(GAIN * net / (exchanges + PRIOR))``: the net evidence
   *rate* per exchange, shrunk toward 3 when the window is short. Confidence grows with the total
   amount of evidence found, so short or bland windows sit near 3 with low confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .._lang import detect_language
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
from . import _lexicon_zh as zh
from ._base import SyncScorer

__all__ = ["EmbeddedScorer"]

ALL_CONSTRUCTS: tuple[str, ...] = tuple(c for ids in CONSTRUCTS.values() for c in ids)

# --- rules: per-message patterns ---------------------------------------------------------------

#: Turns that explore (domain.md's counter-example to passive response).
_EXPLORING = frozenset(
    {"open_question", "invite", "reflection", "summary", "empathy", "elicit_view"}
)

#: Engaged moves that are not exploring but are not passive either (asking permission before
#: advice, affirming, supporting autonomy, talking goals).
_ENGAGED = _EXPLORING | {"permission", "affirmation", "autonomy", "goal_focus"}

#: Turns whose "yeah" in reply confirms that the counselor understood.
_REFLECTIVE = frozenset({"reflection", "restatement", "summary", "empathy"})

#: Passive response. A non-exploring reply starts at `_PASSIVE_BASE`; each cue present raises it
#: (combined as independent evidence: p = 1 - prod(1 - w)). Exploring replies get `_EXPLORED`,
#: engaged ones `_PASSIVE_BASE`.
_PASSIVE_BASE = 0.1
_PASSIVE: dict[str, float] = {
    "minimal": 0.4,  # only "ok", "I see", "mm-hmm"
    "reassure": 0.45,  # "it will be fine", "don't worry"
    "subject_change": 0.4,
    "closed_question": 0.2,
}
_AFTER_DISCLOSURE = 0.35  # the client just disclosed something emotional: not exploring it
_IN_A_RUN = 0.2  # a string: the previous counselor reply was minimal or generic too
_EXPLORED = 0.05

#: Directive / boundary-overstepping. Advice-like cues combine as independent evidence and are
#: then multiplied by every mitigation that applies; confrontation is never mitigated.
_DIRECTIVE: dict[str, float] = {
    "advise": 0.65,  # "you should / must / need to", "I'd recommend", "I want you to"
    "imperative": 0.5,  # "Cut down to two."
    "warn": 0.45,  # "if you keep drinking you'll ..."
    "persuade": 0.45,  # "don't you think you should", "the fact is", "you'd feel better if you"
    "suggest": 0.4,  # "you could try", "why don't you"
}
#: A long statement that neither asks nor explores is telling, not asking: it leans directive a
#: little (never enough to flag on its own), up to `_TELLING` at `_TELLING_WORDS` words.
_TELLING = 0.15
_TELLING_WORDS = 40
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

#: Slope: a net 1 / _GAIN points per exchange (about one reflection every other exchange) puts a
#: construct tanh(1) = 76% of the way from 3 to 5 (or 1). Chosen so that windows with strong,
#: sustained evidence reach levels 4 or 2 (the demo conversations), not by AUC, which the slope
#: barely changes.
_GAIN = 3.5
#: Pseudo-exchanges of "no evidence" added to every window (short windows drift to 3).
_PRIOR = 3.0
#: Items of one dimension share evidence: each construct also gets this fraction of the mean
#: evidence of the other three items of its dimension. The four items measure one thing
#: (Bordin's goal, task or bond); an observer who sees clear evidence for three of them does not
#: rate the fourth "no evidence at all". Without it a dimension stays near 3 even when one or
#: two items are at 5, because most cues speak to one or two items.
_SHARE = 0.5
#: A message is cited as evidence for a construct when it moved it by at least this much.
_CITE = 0.05
#: Total evidence (sum of |points| / 4) at which confidence reaches 0.5.
_CONFIDENCE_HALF = 2.0
#: A client reply this long (words) after an exploring turn is elaboration; this short after an
#: open question is a short reply.
_ELABORATION_WORDS = 20
_SHORT_WORDS = 2

#: A client message ending like this is mid-thought (typed in pieces, or cut off).
_UNFINISHED = ("-", "\u2014", "\u2013", "\u2026", "..", ",", "\uff0c", "\u3001")
#: A client message starting like this continues their previous one ("-for 45 minutes.", "and
#: then he left"): the client is in the middle of telling something.
_CONTINUES = ("-", "\u2014", "\u2013", "\u2026", "..", "and ", "and,", "'cause ", "because ")

#: Client cues that push back. A bare "no" counts only as an answer to an offer or a suggestion
#: (not to "Do you smoke?").
_PUSHBACK = frozenset({"sustain", "discord"})
_OFFERS = frozenset({"advise", "suggest", "imperative", "warn", "persuade", "permission"})


@dataclass(slots=True)
class _Context:
    """What the counselor is replying to, and how the previous counselor turn went."""

    disclosure: bool = False
    unfinished: bool = False
    asked_for: bool = False
    declined: bool = False
    permission_pending: bool = False
    prev_explored: bool = True
    prev_generic: bool = False
    prev_directive: bool = False
    prev_reflected: bool = False
    prev_opened: bool = False
    prev_statement: bool = False
    prev_offered: bool = False
    #: What the client said in their current and previous turn (for "does this restate it?"),
    #: and its content-word stems once computed.
    heard: str = ""
    earlier: str = ""
    heard_stems: frozenset[str] | None = None


def _stems(text: str) -> frozenset[str]:
    """Content-word stems: "drinking", "drinks", "drink" -> "drink"; function words dropped.
    Chinese text adds its content character bigrams ("失眠", "工作")."""
    stems = frozenset(w[:5] for w in lx.STEM_RE.findall(lx.normalize(text))) - lx.FUNCTION_STEMS
    return stems | zh.han_bigrams(text) if zh.has_han(text) else stems


def _asks(text: str) -> bool:
    """The message contains a question mark (ASCII or full-width)."""
    return "?" in text or "\uff1f" in text


def _echoes(text: str, ctx: _Context) -> bool:
    """True if a counselor statement reuses a content word of the client's last two turns: a
    simple reflection restates what the client said; a "you ..." statement that does not is
    telling the client about themselves (information, an assessment)."""
    if ctx.heard_stems is None:
        ctx.heard_stems = _stems(ctx.heard + " " + ctx.earlier)
    return not ctx.heard_stems.isdisjoint(_stems(text))


def _scan(text: str, counselor: bool) -> dict[str, None]:
    """The cues of one message, in order of appearance (a dict keeps order deterministic)."""
    t = lx.normalize(text)
    found: dict[str, None] = {}
    if counselor:
        lx.COUNSELOR_CLAUSE_MATCHER.find(t, found)
        lx.COUNSELOR_PHRASE_MATCHER.find(t, found)
        if len(t) <= lx.SHORT_CHARS and lx.MINIMAL_RE.fullmatch(t):
            found["minimal"] = None
    else:
        lx.CLIENT_START_MATCHER.match_start(t, found)
        lx.CLIENT_PHRASE_MATCHER.find(t, found)
        if len(t) <= lx.SHORT_CHARS and lx.WITHDRAWAL_RE.fullmatch(t):
            found["withdrawal"] = None
    if zh.has_han(t):  # Chinese or mixed: the Chinese wording of the same cues
        _scan_zh(t, counselor, found)
    return found


def _scan_zh(t: str, counselor: bool, found: dict[str, None]) -> None:
    t = t.replace("\u60a8", "\u4f60")  # the polite "you" reads like the plain one
    if counselor:
        zh.COUNSELOR_CLAUSE_MATCHER.find(t, found)
        zh.COUNSELOR_PHRASE_MATCHER.find(t, found)
        if len(t) <= zh.SHORT_CHARS and zh.MINIMAL_RE.fullmatch(t):
            found["minimal"] = None
    else:
        zh.CLIENT_START_MATCHER.match_start(t, found)
        zh.CLIENT_PHRASE_MATCHER.find(t, found)
        if len(t) <= zh.SHORT_CHARS and zh.WITHDRAWAL_RE.fullmatch(t):
            found["withdrawal"] = None


def _combine(weights: dict[str, float], cues: dict[str, None]) -> float:
    """1 - prod(1 - w) over the cues present: independent pieces of evidence."""
    keep = 1.0
    for cue, w in weights.items():
        if cue in cues:
            keep *= 1.0 - w
    return 1.0 - keep


def _counselor_turn(
    cues: dict[str, None], text: str, ctx: _Context
) -> tuple[float, float, float, float]:
    """Passive score, directive score, and the advice part before and after mitigation."""
    words = zh.word_units(text)
    if "restatement" in cues and not _echoes(text, ctx):
        del cues["restatement"]
    if ctx.asked_for:
        cues["asked_for"] = None
    if ctx.permission_pending and not ctx.declined:
        cues["after_permission"] = None
    if ctx.disclosure:
        cues["after_disclosure"] = None
    if ctx.unfinished and "minimal" in cues:
        passive = _PASSIVE_BASE  # "mm-hmm" while the client is mid-story: let them go on
    elif _ENGAGED.isdisjoint(cues):
        keep = (1.0 - _PASSIVE_BASE) * (1.0 - _combine(_PASSIVE, cues))
        if ctx.disclosure:
            keep *= 1.0 - _AFTER_DISCLOSURE
        if ctx.prev_generic and ("minimal" in cues or "reassure" in cues):
            keep *= 1.0 - _IN_A_RUN
        passive = 1.0 - keep
    elif "subject_change" in cues:  # "Anyway, how is work?": a question about something else
        keep = (1.0 - _PASSIVE_BASE) * (1.0 - _PASSIVE["subject_change"])
        if ctx.disclosure:
            keep *= 1.0 - _AFTER_DISCLOSURE
        passive = 1.0 - keep
    elif _EXPLORING.isdisjoint(cues):
        passive = _PASSIVE_BASE
    else:
        passive = _EXPLORED
    advice = _combine(_DIRECTIVE, cues)
    if advice and ctx.declined:
        advice = min(1.0, advice + _PUSHING_ON)
        cues["pushing_on"] = None
    if words >= _TELLING_WORDS // 4 and not _asks(text) and _EXPLORING.isdisjoint(cues):
        advice = 1.0 - (1.0 - advice) * (1.0 - _TELLING * min(1.0, words / _TELLING_WORDS))
    mitigation = 1.0
    for cue, factor in _MITIGATE.items():
        if cue in cues:
            mitigation *= factor
    confront = _combine(_CONFRONT, cues)
    unasked = advice * mitigation
    directive = 1.0 - (1.0 - unasked) * (1.0 - confront)
    return passive, directive, advice, unasked


def _client_turn(cues: dict[str, None], text: str, ctx: _Context) -> None:
    """Add context cues to a client message and update what the next counselor turn replies to."""
    pushback = not _PUSHBACK.isdisjoint(cues) or (ctx.prev_offered and "decline" in cues)
    if ctx.prev_directive:
        if pushback:
            cues["resists_advice"] = None
        elif "commitment" in cues or "change_talk" in cues:
            cues.pop("commitment", None)
            cues.pop("change_talk", None)
            cues["complies"] = None
    if "assent" in cues:
        if ctx.prev_reflected:
            cues["confirms_reflection"] = None
        elif ctx.prev_statement:
            cues["agrees"] = None
    words = zh.word_units(text)
    if words >= _ELABORATION_WORDS and ctx.prev_explored:
        cues["elaboration"] = None
    elif ctx.prev_opened and words <= _SHORT_WORDS and "withdrawal" not in cues:
        cues["short_reply"] = None
    ctx.unfinished = text.endswith(_UNFINISHED) or text.lower().startswith(_CONTINUES)
    ctx.disclosure = ctx.disclosure or "disclosure" in cues
    ctx.asked_for = ctx.asked_for or "asks_advice" in cues
    ctx.declined = ctx.declined or pushback


class _Tally:
    """Evidence points per construct and the message ids behind them."""

    __slots__ = ("absolute", "ids", "net")

    def __init__(self) -> None:
        self.net = dict.fromkeys(ALL_CONSTRUCTS, 0.0)
        self.absolute = 0.0
        self.ids: dict[str, dict[str, None]] = {c: {} for c in ALL_CONSTRUCTS}

    def add(self, msg_id: str, cue: str, scale: float = 1.0) -> None:
        for construct, points in lx.EVIDENCE[cue].items():
            points *= scale
            self.net[construct] += points
            self.absolute += abs(points)
            if abs(points) >= _CITE:
                self.ids[construct][msg_id] = None


def _analyse(messages: Sequence[ScoringMessage], tally: _Tally | None) -> list[MessagePattern]:
    """One pass over the window: message patterns, and evidence into `tally` if given."""
    patterns: list[MessagePattern] = []
    ctx = _Context()
    last = Role.OTHER
    for msg in messages:
        if msg.role is Role.COUNSELOR:
            cues = _scan(msg.text, True)
            passive, directive, advice, unasked = _counselor_turn(cues, msg.text, ctx)
            if tally is not None:
                _counselor_evidence(tally, msg.id, cues, passive, advice, unasked)
            patterns.append(
                MessagePattern.model_construct(
                    id=msg.id,
                    passive=round(passive, 4),
                    directive=round(directive, 4),
                    cues=tuple(cues),
                )
            )
            ctx = _Context(
                # a second counselor message in a row still answers the same client turn
                disclosure=ctx.disclosure,
                asked_for=ctx.asked_for,
                declined=ctx.declined,
                prev_statement=not _asks(msg.text) and "minimal" not in cues,
                permission_pending="permission" in cues,
                prev_offered=not _OFFERS.isdisjoint(cues),
                prev_explored=not _EXPLORING.isdisjoint(cues),
                prev_generic="minimal" in cues or "reassure" in cues,
                prev_directive=directive >= _FLAG,
                prev_reflected=not _REFLECTIVE.isdisjoint(cues),
                prev_opened="open_question" in cues or "invite" in cues,
                heard=ctx.heard,
                earlier=ctx.earlier,
                heard_stems=ctx.heard_stems,
            )
        elif msg.role is Role.CLIENT:
            if last is Role.COUNSELOR:  # a new client turn: forget the previous one
                ctx.disclosure = ctx.asked_for = ctx.declined = False
                ctx.earlier, ctx.heard = ctx.heard, ""
            ctx.heard += " " + msg.text
            ctx.heard_stems = None
            cues = _scan(msg.text, False)
            _client_turn(cues, msg.text, ctx)
            if tally is not None:
                for cue in cues:
                    tally.add(msg.id, cue)
        last = msg.role
    return patterns


def _counselor_evidence(
    tally: _Tally,
    msg_id: str,
    cues: dict[str, None],
    passive: float,
    advice: float,
    unasked: float,
) -> None:
    """Evidence of one counselor turn: its cues, its advice (unasked or offered), passivity."""
    for cue in cues:
        tally.add(msg_id, cue)
    if unasked:
        tally.add(msg_id, "advice_unasked", unasked)
    if advice > unasked:
        tally.add(msg_id, "advice_offered", advice - unasked)
    if passive >= _FLAG:
        tally.add(msg_id, "passive_reply", passive)


def _shared(net: dict[str, float]) -> dict[str, float]:
    """Each construct's own evidence plus `_SHARE` x the mean evidence of its dimension's others."""
    out: dict[str, float] = {}
    for ids in CONSTRUCTS.values():
        total = sum(net[c] for c in ids)
        for c in ids:
            out[c] = net[c] + _SHARE * (total - net[c]) / (len(ids) - 1)
    return out


def _rating(net: float, units: float) -> float:
    return round(3.0 + 2.0 * math.tanh(_GAIN * net / (units + _PRIOR)), 4)


class EmbeddedScorer(SyncScorer):
    """Offline rule-based scorer: lexicon cues, judged in context, mapped to the twelve constructs.

    Deterministic and pure Python; no model, no network. See docs/embedded-scorer.md.
    """

    name = "embedded"
    version = "1.1"

    def message_patterns(self, messages: Sequence[ScoringMessage]) -> list[MessagePattern]:
        """Passive and directive scores of each counselor message, judged in context."""
        return _analyse(messages, None)

    def score_sync(self, request: WindowRequest) -> WindowScore:
        tally = _Tally()
        patterns = _analyse(request.messages, tally)
        n_turns = sum(1 for m in request.messages if m.role is not Role.OTHER)
        units = n_turns / 2.0
        constructs = {c: _rating(net, units) for c, net in _shared(tally.net).items()}
        amount = tally.absolute / 4.0
        evidence_ids = dict.fromkeys(i for c in ALL_CONSTRUCTS for i in tally.ids[c])
        msgs = request.messages
        return WindowScore(
            **request.window_fields(),
            constructs=constructs,
            scores=DimensionScores.from_constructs(constructs),
            confidence=round(amount / (amount + _CONFIDENCE_HALF), 4),
            evidence=tuple(m.id for m in msgs if m.id in evidence_ids),
            construct_evidence={c: tuple(tally.ids[c]) for c in ALL_CONSTRUCTS if tally.ids[c]},
            messages=tuple(patterns),
            scorer=self.name,
            model=None,
            prompt_version=f"embedded-{self.version}",
            language=detect_language(m.text for m in msgs),
        )
