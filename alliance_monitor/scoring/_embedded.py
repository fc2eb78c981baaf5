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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

from .._lang import SUPPORTED_LANGUAGES, detect_language
from .._models import (
    CONSTRUCTS,
    DimensionScores,
    MessagePattern,
    Role,
    ScoringMessage,
    WindowRequest,
    WindowScore,
    WindowSignals,
    constructed,
)
from . import _lexicon as lx
from . import _lexicon_zh as zh
from ._base import SyncScorer
from ._model import (
    Model,
    content_words,
    counselor_features,
    load_model,
    tokens,
)
from ._model_zh import PackedHead, load_model_zh
from ._rupture import PHRASE_MATCHERS, SignalReader, prior_signals

__all__ = [
    "MIN_PIECES",
    "MIN_POINTS",
    "EmbeddedScorer",
    "evidence_profile",
    "says_enough",
    "window_signals",
]

SUPPORTED = SUPPORTED_LANGUAGES | {"und"}
ALL_CONSTRUCTS: tuple[str, ...] = tuple(c for ids in CONSTRUCTS.values() for c in ids)

# --- rules: per-message patterns ---------------------------------------------------------------

#: Turns that explore (domain.md's counter-example to passive response).
_EXPLORING = frozenset(
    {"open_question", "invite", "reflection", "summary", "empathy", "understanding", "elicit_view"}
)

#: Engaged moves that are not exploring but are not passive either (asking permission before
#: advice, affirming, supporting autonomy, talking goals).
_ENGAGED = _EXPLORING | {"permission", "affirmation", "autonomy", "goal_focus"}

#: Collaborative moves that are not exploring but keep a reply from being passive: asking
#: permission, supporting autonomy, talking goals.
_COLLABORATIVE = frozenset({"permission", "autonomy", "goal_focus"})

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
    "pleasantry": 0.35,  # "good luck", "I hope things get better", "that's a great idea"
    "affirmation": 0.2,  # praise alone neither asks nor reflects
}
_AFTER_DISCLOSURE = 0.35  # the client just disclosed something emotional: not exploring it
_IN_A_RUN = 0.2  # a string: the previous counselor reply was minimal or generic too
_EXPLORED = 0.15
#: Among exploring replies, one that reflects without asking sits above the questions: the
#: phrase cues of a reflection ("it sounds like", "I can understand") are a less certain
#: reading than a question mark (they also open sympathy and praise), so such a statement keeps
#: at least half of `_EXPLORED`. Still never flagged.
_STATED = 0.5
#: An exploring reply that also talks about the counselor ("I think", "I know", "I've been
#: there", "my sister ...") turns partly to the counselor's own view or story: among exploring
#: replies it ranks a little higher (its "not taken up" share x (1 - `_SELF_SHARE`)), never
#: flagged. English only (measured: the Chinese first-person forms did not help).
_SELF_SHARE = 0.3
_SELF_TALK = re.compile(
    r"\b(?:i (?:think|know|have|had|was|used to|went|did|got)|i'(?:ve|m)|my)\b", re.I
)
#: An engaged reply (affirmation, permission, autonomy, goal talk) that neither asks nor reflects.
_ENGAGED_PASSIVE = 0.15
#: Weight of the learned model's "neither a question nor a reflection" probability.
_MODEL_PASSIVE = 0.9
#: A single minimal encourager, not after a disclosure and not in a string, is at most this
#: passive (not flagged).
_ONE_MINIMAL = 0.46
#: A client turn of this many words or fewer (and no disclosure) brought nothing to take up: a
#: reply to it is at most `_NOTHING_BROUGHT` passive (never flagged).
_BROUGHT_WORDS = 3
_NOTHING_BROUGHT = 0.4
#: Model probabilities count as session evidence only above this floor (rescaled to 0-1), so
#: that a bland window does not collect evidence from many small probabilities.
_MODEL_FLOOR = 0.3
#: Weight of the learned model's advice probability in the advice part of the directive score.
_MODEL_ADVICE = 0.6
#: A simple reflection is worth this share of a complex one as session evidence.
_SIMPLE_SHARE = 0.5
#: Languages the learned model reads.
_MODEL_LANGUAGES = frozenset({"en", "und"})
#: Windows in which the learned Chinese model reads the messages with Han characters.
_ZH_MODEL_LANGUAGES = frozenset({"zh", "mixed"})
#: Chinese (a message with Han characters, which the learned model does not read): a rule
#: stand-in for the model's "input / advice" reading. A long statement that neither asks nor
#: explores leans directive, up to `_ZH_TELLING` at `_ZH_TELLING_WORDS` word units; never enough
#: to flag on its own. (Z1 on the Chinese dev set: 0.74 without it, 0.82 with it.)
_ZH_TELLING = 0.15
_ZH_TELLING_WORDS = 40
#: Chinese, in place of the model's "neither a question nor a reflection" reading: a counselor
#: statement is at most `_ZH_PASSIVE` passive by this reading, less by `_ZH_ABOUT_CLIENT` when
#: it speaks about the client (你) and by `_ZH_INNER_STATE` more when it names a feeling or an
#: inner state (`_lexicon_zh.ABOUT_CLIENT_RE`, `INNER_STATE_RE`). Never enough to flag alone.
_ZH_PASSIVE = 0.4

_ZH_ABOUT_CLIENT = 0.6
_ZH_INNER_STATE = 0.4

#: Directive / boundary-overstepping. Advice-like cues combine as independent evidence and are
#: then multiplied by every mitigation that applies; confrontation is never mitigated.
_DIRECTIVE: dict[str, float] = {
    "advise": 0.65,  # "you should / must / need to", "I'd recommend", "I want you to"
    "imperative": 0.5,  # "Cut down to two."
    "warn": 0.45,  # "if you keep drinking you'll ..."
    "persuade": 0.45,  # "don't you think you should", "the fact is", "you'd feel better if you"
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
_PUSHING_ON = 0.3
#: Pushing on needs advice to push: at least this much before mitigation (a question or a
#: reflection after the client said no is not pushing on, whatever small advice probability the
#: model gives it).
_PUSH_MIN = 0.3
#: A closed question that offers an option ("Do you have anyone you can call?", "Can you get
#: out for walks?", "Is there a cheaper place?": `_OPTION_QUESTION`) leads the client into the
#: counselor's idea more than an open question does: a small lean toward directive that only
#: orders replies (never flagged, no construct evidence). In chat many suggestions are asked
#: this way. (Any closed question: E1 the same, but AnnoMI's A2 0.014 lower on the even half.)
_CLOSED_LEAN = 0.03
#: Information that names what helps ("taking a deep breath can help"): a suggestion dressed as
#: information, a lean toward directive that orders replies only (no construct evidence: in
#: AnnoMI's high-quality sessions such information mostly comes with permission and choice, and
#: as evidence it cost session AUC 0.007 on the held-out half).
_INFO_LEAN = 0.2
_OPTION_QUESTION = re.compile(
    r"\b(?:(?:can|could|would|will) you|is there|are there|any(?:one|thing|where|body)?)\b", re.I
)
#: Stage: unasked advice (and the learned model's "telling") to a client who has been heard and
#: has asked for help, or agreed to hear suggestions, and has not declined since, weighs this
#: share as evidence against the alliance (the action stage calls for suggestions). The
#: message's directive score is unchanged.
_ACTION_FIT = 0.5
#: A flagged directive reply is at most this passive: one reply, one pattern.
_DIRECTED = 0.45  # the client just declined or resisted: advice is pushed harder
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
#: Evidence points on one dimension (sum of |points|) at which its confidence reaches 0.5.
_DIMENSION_HALF = 2.0
#: Abstention: below this confidence, with fewer pieces of evidence than `_MIN_PIECES`, or with
#: fewer than `_MIN_WORDS` words said (`_lexicon_zh.word_units`, so Han characters count as
#: words), a window is "insufficient_evidence" (a handful of greetings, one short exchange).
#: The confidence floor was 0.25 until few long turns (Chinese sessions of 4-6 paragraphs) were
#: found abstaining in both languages; the word floor keeps one short exchange abstaining.
_MIN_CONFIDENCE = 0.2
_MIN_PIECES = 3
_MIN_WORDS = 12
#: Languages whose cues the scorer has ("und": too few letters to tell, e.g. "ok", emoji). Chinese
#: ("zh", "mixed") is read by the Chinese cues of `_lexicon_zh` (see `_scan_normalized`).
_READS = frozenset({"en", "und", "zh", "mixed"})
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
    #: Content words (prefixes) of the client's current and previous turn, for the model.
    heard_words: frozenset[str] = frozenset()
    earlier_words: frozenset[str] = frozenset()


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


def _scan_normalized(t: str, counselor: bool) -> dict[str, None]:
    """Cues of one normalised message, in order of appearance: English, plus Chinese where
    the text has Han characters."""
    found: dict[str, None] = {}
    if not zh.has_han(t):
        _scan_with(lx, t, counselor, found)
        return found
    # Chinese or mixed. Every English phrase has Latin letters: without any there is nothing
    # for the English scan to find.
    if _LATIN_LETTER.search(t) is not None:
        _scan_with(lx, t, counselor, found)
    # the Chinese wording of the same cues; the polite "you" reads like the plain one
    _scan_with(zh, t.replace("\u60a8", "\u4f60"), counselor, found)
    return found


_LATIN_LETTER = re.compile(r"[a-z]")


def _scan_with(lexicon: ModuleType, t: str, counselor: bool, found: dict[str, None]) -> None:
    """The cues of one language's lexicon module (`_lexicon` or `_lexicon_zh`: the same names);
    its phrase cues are scanned together with the rupture and repair markers of `_rupture`
    (`_rupture.PHRASE_MATCHERS`: one pass for both)."""
    counselor_phrases, client_phrases = _PHRASES[lexicon is zh]
    if counselor:
        lexicon.COUNSELOR_CLAUSE_MATCHER.find(t, found)
        counselor_phrases.find(t, found)
        if len(t) <= lexicon.SHORT_CHARS and lexicon.MINIMAL_RE.fullmatch(t):
            found["minimal"] = None
    else:
        lexicon.CLIENT_START_MATCHER.match_start(t, found)
        client_phrases.find(t, found)
        if len(t) <= lexicon.SHORT_CHARS and lexicon.WITHDRAWAL_RE.fullmatch(t):
            found["withdrawal"] = None


#: (counselor, client) phrase matchers, English (False) and Chinese (True).
_PHRASES = {False: PHRASE_MATCHERS["en"], True: PHRASE_MATCHERS["zh"]}


@lru_cache(maxsize=4096)
def _read(text: str, counselor: bool) -> tuple[str, dict[str, None]]:
    """A message's normalised text and its cues (`_scan_normalized`), remembered: a transcript's
    messages are read again when its phases are cut on evidence (`_batch`) and by every window
    that holds them. The cues are the caller's to copy, never to change."""
    t = lx.normalize(text)
    return t, _scan_normalized(t, counselor)


def _scan(text: str, counselor: bool) -> dict[str, None]:
    """The cues of one message, in order of appearance (a dict keeps order deterministic):
    the English cues, and the Chinese wording of the same cues where the text has Han
    characters (`_lexicon_zh`). Another language adds its scanner the same way."""
    return _scan_normalized(lx.normalize(text), counselor)


def _combine(weights: dict[str, float], cues: dict[str, None]) -> float:
    """1 - prod(1 - w) over the cues present: independent pieces of evidence."""
    keep = 1.0
    for cue, w in weights.items():
        if cue in cues:
            keep *= 1.0 - w
    return 1.0 - keep


def _counselor_turn(
    cues: dict[str, None],
    text: str,
    ctx: _Context,
    probs: dict[str, float] | None = None,
    zh_read: bool = False,
) -> tuple[float, float, float, float]:
    """Passive score, directive score, and the advice part before and after mitigation.

    `probs` are the learned model's class probabilities for the message (None: rules only);
    `zh_read`: they come from the Chinese model (`_zh_moves`).
    """
    if "restatement" in cues and ("pleasantry" in cues or not _echoes(text, ctx)):
        del cues["restatement"]  # "You're welcome." restates nothing
    if ctx.asked_for:
        cues["asked_for"] = None
    if ctx.permission_pending and not ctx.declined:
        cues["after_permission"] = None
    if ctx.disclosure:
        cues["after_disclosure"] = None
    passive = _passive(cues, text, ctx, probs, zh_read)
    advice = _combine(_DIRECTIVE, cues)
    if probs is not None:
        advice = 1.0 - (1.0 - advice) * (1.0 - _MODEL_ADVICE * probs["advice"])
    elif zh.has_han(text) and not _asks(text) and _EXPLORING.isdisjoint(cues):
        words = zh.word_units(text)
        if words >= _ZH_TELLING_WORDS // 4:
            lean = _ZH_TELLING * min(1.0, words / _ZH_TELLING_WORDS)
            advice = 1.0 - (1.0 - advice) * (1.0 - lean)
    if advice >= _PUSH_MIN and ctx.declined:
        advice = min(1.0, advice + _PUSHING_ON)
        cues["pushing_on"] = None
    mitigation = 1.0
    for cue, factor in _MITIGATE.items():
        if cue in cues:
            mitigation *= factor
    confront = _combine(_CONFRONT, cues)
    unasked = advice * mitigation
    directive = 1.0 - (1.0 - unasked) * (1.0 - confront)
    if "closed_question" in cues and _OPTION_QUESTION.search(text):
        directive = 1.0 - (1.0 - directive) * (1.0 - _CLOSED_LEAN * mitigation)
    if "helps_info" in cues:
        directive = 1.0 - (1.0 - directive) * (1.0 - _INFO_LEAN * mitigation)
    if directive >= _FLAG and "reassure" not in cues:
        # telling the client what to do is the other pattern (overstepping), not a passive one
        # ("don't worry, it'll be fine" stays generic reassurance)
        passive = min(passive, _DIRECTED)
    return passive, directive, advice, unasked


def _passive(
    cues: dict[str, None],
    text: str,
    ctx: _Context,
    probs: dict[str, float] | None,
    zh_read: bool = False,
) -> float:
    """How far a counselor reply fails to take up what the client brought (domain.md).

    A reply that asks or reflects is never passive, however short: `_EXPLORED`. A question about
    something else ("Anyway, how is work?") is a change of subject, not exploring. Otherwise the
    rule cues (minimal encourager, generic reassurance, subject change) and the learned model's
    share of "not a question, not a reflection" combine as independent evidence, raised right
    after an emotional disclosure and in a string of such replies. "Mm-hmm" while the client is
    in the middle of telling something is letting them go on.
    """
    asks = _asks(text)
    if "subject_change" in cues:
        keep = (1.0 - _PASSIVE_BASE) * (1.0 - _PASSIVE["subject_change"])
        if ctx.disclosure:
            keep *= 1.0 - _AFTER_DISCLOSURE
        return 1.0 - keep
    if ctx.unfinished and "minimal" in cues:
        return _PASSIVE_BASE
    explored = 0.0
    rule = _combine(_PASSIVE, cues)
    # The rule cues and the model read the same thing (how far the reply is from a question or
    # a reflection): the stronger reading counts.
    if probs is not None:
        explored = probs["question"] + probs["reflection_simple"] + probs["reflection_complex"]
        rule = max(rule, _MODEL_PASSIVE * (1.0 - explored))
    elif not asks and zh.has_han(text):
        explored = _zh_explored(text)
        rule = max(rule, _ZH_PASSIVE * (1.0 - explored))
    keep = (1.0 - _PASSIVE_BASE) * (1.0 - rule)
    if ctx.disclosure:
        keep *= 1.0 - _AFTER_DISCLOSURE * (1.0 - explored)
    if ctx.prev_generic and ("minimal" in cues or "reassure" in cues):
        keep *= 1.0 - _IN_A_RUN
    if not _COLLABORATIVE.isdisjoint(cues):
        keep = max(keep, 1.0 - _ENGAGED_PASSIVE)
    if "minimal" in cues and not (ctx.disclosure or ctx.prev_generic):
        # one "ok" is not yet a pattern: passive when it strings or follows a disclosure
        keep = max(keep, 1.0 - _ONE_MINIMAL)
    brought = zh.word_units(ctx.heard.strip()) > _BROUGHT_WORDS or (
        ctx.prev_generic and zh.word_units(ctx.earlier.strip()) > _BROUGHT_WORDS
    )
    if not (ctx.disclosure or brought):
        # the client brought nothing to take up ("Hi.", "Thanks."): not a passive response
        keep = max(keep, 1.0 - _NOTHING_BROUGHT)
    if asks or not _EXPLORING.isdisjoint(cues) or "restatement" in cues:
        # asks or reflects: never passive; the rest only orders such replies among themselves
        # (a question below a reflecting statement, see `_STATED`)
        if _SELF_TALK.search(text):
            keep *= 1.0 - _SELF_SHARE
        if asks and zh_read:
            # a Chinese question: the Chinese model tells an exploring question from a
            # courtesy or small-talk one (真的吗？路上堵车了吗？) better than the context rules
            return _EXPLORED * (1.0 - explored)
        if asks:
            return _EXPLORED * (1.0 - keep)
        return _EXPLORED * (1.0 - _STATED * keep)
    return 1.0 - keep


def _zh_moves(p: dict[str, float]) -> dict[str, float]:
    """The Chinese model's classes (`_model_zh.CLASSES`) as the English model's moves, so one set
    of rules reads both: a question is a question, a reflection a complex reflection, a
    suggestion or an instruction advice, information input, reassurance and the rest other."""
    return {
        "question": p["question"],
        "reflection_simple": 0.0,
        "reflection_complex": p["reflection"],
        "advice": p["suggestion"] + p["instruction"],
        "input": p["information"],
        "other": p["reassurance"] + p["other"],
    }


def _zh_explored(text: str) -> float:
    """A Chinese statement's rule reading of "takes up the client" (0-1), in place of the learned
    model's question-or-reflection probability: it speaks about the client, and it names a
    feeling or an inner state."""
    about = _ZH_ABOUT_CLIENT if zh.ABOUT_CLIENT_RE.search(text) else 0.0
    inner = _ZH_INNER_STATE if zh.INNER_STATE_RE.search(text) else 0.0
    return min(1.0, about + inner)


def _client_turn(cues: dict[str, None], text: str, ctx: _Context) -> int:
    """Add context cues to a client message and update what the next counselor turn replies to;
    the message's length in word units."""
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
    return words


_DIMENSION_OF: dict[str, str] = {c: d for d, ids in CONSTRUCTS.items() for c in ids}
#: `_lexicon.EVIDENCE` as `_Tally.add` reads it: per cue, (construct, points, size of the
#: points, dimension of the construct), in the table's order.
_EVIDENCE_ROWS: dict[str, tuple[tuple[str, float, float, str], ...]] = {
    cue: tuple((c, p, abs(p), _DIMENSION_OF[c]) for c, p in items.items())
    for cue, items in lx.EVIDENCE.items()
}


class _Tally:
    """Evidence points per construct, per dimension, and the message ids behind them."""

    __slots__ = ("absolute", "by_message", "counts", "dim_absolute", "ids", "net", "pieces")

    def __init__(self, *, per_message: bool = False) -> None:
        #: Pieces and points per message (only when asked: a batch phase, `_batch` may cut
        #: phases on evidence with it).
        self.by_message: dict[str, list[float]] | None = {} if per_message else None
        self.net = dict.fromkeys(ALL_CONSTRUCTS, 0.0)
        self.absolute = 0.0
        self.dim_absolute = dict.fromkeys(CONSTRUCTS, 0.0)
        #: Pieces of evidence (a cue of one message) that moved a dimension by `_CITE` or more.
        self.counts = dict.fromkeys(CONSTRUCTS, 0)
        #: Pieces of evidence that moved any dimension by `_CITE` or more.
        self.pieces = 0
        self.ids: dict[str, dict[str, None]] = {c: {} for c in ALL_CONSTRUCTS}

    def add(self, msg_id: str, cue: str, scale: float = 1.0) -> None:
        rows = _EVIDENCE_ROWS[cue]
        if not rows:
            return
        moved: dict[str, float] = {}
        net, ids = self.net, self.ids
        absolute = self.absolute
        for construct, points, size, dim in rows:
            if scale != 1.0:
                points *= scale
                size = abs(points)
            net[construct] += points
            absolute += size
            moved[dim] = moved.get(dim, 0.0) + size
            if size >= _CITE:
                ids[construct][msg_id] = None
        by_message = self.by_message
        if by_message is not None:
            row = by_message.setdefault(msg_id, [0.0, 0.0])
            row[1] += absolute - self.absolute
        self.absolute = absolute
        dim_absolute, counts, cited = self.dim_absolute, self.counts, False
        for dim, amount in moved.items():
            dim_absolute[dim] += amount
            if amount >= _CITE:
                counts[dim] += 1
                cited = True
        if cited:
            self.pieces += 1
            if by_message is not None:
                by_message[msg_id][0] += 1


#: Features of one message as the model saw them: (message id, side, features). Filled only
#: when a list is passed to `_analyse` (the training script reads features through it, so
#: training and inference cannot drift apart).
Capture = list[tuple[str, str, list[str]]]


def _analyse(
    messages: Sequence[ScoringMessage],
    tally: _Tally | None,
    model: Model | None = None,
    language: str = "en",
    capture: Capture | None = None,
    reader: SignalReader | None = None,
    zh_head: PackedHead | None = None,
) -> list[MessagePattern]:
    """One pass over the window: message patterns, and evidence into `tally` if given.

    `model` is the learned model (None: rules only); it reads English. `zh_head` is the learned
    Chinese model (`_model_zh`); in a Chinese or mixed window it reads the counselor messages
    that have Han characters. Other messages are judged by their rule cues alone. `reader` (if
    given) reads the window's stage, ruptures and repairs in the same pass; its rupture and
    repair evidence goes into `tally`, and each move is judged by what the stage calls for
    (`_counselor_evidence`).
    """
    patterns: list[MessagePattern] = []
    read = _read
    if language not in _MODEL_LANGUAGES:
        model = None
    if language not in _ZH_MODEL_LANGUAGES:
        zh_head = None
    ctx = _Context()
    last = Role.OTHER
    for msg in messages:
        if msg.role is Role.COUNSELOR:
            t, found = read(msg.text, True)
            cues = dict(found)
            probs = None
            zh_read = zh_head is not None and zh.has_han(t)
            if zh_head is not None and zh_read:
                probs = _zh_moves(zh_head.moves(t))
            elif model is not None or capture is not None:
                toks = tokens(t)
                words = content_words(toks, lx.FUNCTION_STEMS)
                echoes = len(words & ctx.heard_words) + len(words & ctx.earlier_words)
                feats = counselor_features(toks, echoes)
                if capture is not None:
                    capture.append((msg.id, "counselor", feats))
                if model is not None:
                    probs = model.counselor.proba(feats)
            passive, directive, advice, unasked = _counselor_turn(
                cues, msg.text, ctx, probs, zh_read
            )
            fit = _FIT_NONE
            if reader is not None:
                reader.counselor(msg.id, t, cues, directive, _asks(msg.text))
                fit = _FITS[
                    reader.answers_close, reader.heard and reader.asked and not ctx.declined
                ]
            if tally is not None:
                _counselor_evidence(
                    tally, msg.id, msg.text, cues, passive, advice, unasked, probs, fit
                )
            patterns.append(
                MessagePattern.trusted(msg.id, round(passive, 4), round(directive, 4), tuple(cues))
            )
            reflected = not _REFLECTIVE.isdisjoint(cues) or (
                probs is not None
                and probs["reflection_simple"] + probs["reflection_complex"] >= 0.5
            )
            ctx = _Context(
                # a second counselor message in a row still answers the same client turn
                disclosure=ctx.disclosure,
                asked_for=ctx.asked_for,
                declined=ctx.declined,
                prev_statement=not _asks(msg.text) and "minimal" not in cues,
                permission_pending="permission" in cues,
                prev_offered=not _OFFERS.isdisjoint(cues),
                prev_explored=not _EXPLORING.isdisjoint(cues) or reflected or _asks(msg.text),
                prev_generic="minimal" in cues or "reassure" in cues,
                prev_directive=directive >= _FLAG,
                prev_reflected=reflected,
                prev_opened="open_question" in cues or "invite" in cues,
                heard=ctx.heard,
                earlier=ctx.earlier,
                heard_stems=ctx.heard_stems,
                heard_words=ctx.heard_words,
                earlier_words=ctx.earlier_words,
            )
        elif msg.role is Role.CLIENT:
            if last is Role.COUNSELOR:  # a new client turn: forget the previous one
                ctx.disclosure = ctx.asked_for = ctx.declined = False
                ctx.earlier, ctx.heard = ctx.heard, ""
                ctx.earlier_words, ctx.heard_words = ctx.heard_words, frozenset()
            ctx.heard += " " + msg.text
            ctx.heard_stems = None
            t, found = read(msg.text, False)
            cues = dict(found)
            n_words = _client_turn(cues, msg.text, ctx)
            if reader is not None:
                reader.client(msg.id, t, cues, n_words)
            if model is not None or capture is not None:
                # the client's words, for "does the reply reuse them?" (a simple reflection)
                ctx.heard_words |= content_words(tokens(t), lx.FUNCTION_STEMS)
            if tally is not None:
                for cue in cues:
                    tally.add(msg.id, cue)
        if reader is not None and tally is not None and reader.pending:
            for mid, cue in reader.take_cues():
                tally.add(mid, cue)
        last = msg.role
    if reader is not None:
        reader.finish()
        if tally is not None:
            for mid, cue in reader.take_cues():
                tally.add(mid, cue)
    return patterns


@dataclass(frozen=True, slots=True)
class _Fit:
    """How a counselor move fits the stage it is made in (`_stage_fit`)."""

    #: The reply answers the client's thanks or goodbye: a courtesy is what the close calls for.
    closing: bool = False
    #: The client has been heard and has asked for help (or agreed to hear suggestions) and has
    #: not declined since: suggestions fit the action stage.
    action: bool = False


_FITS = {(c, a): _Fit(closing=c, action=a) for c in (False, True) for a in (False, True)}
_FIT_NONE = _FITS[False, False]


def _counselor_evidence(
    tally: _Tally,
    msg_id: str,
    text: str,
    cues: dict[str, None],
    passive: float,
    advice: float,
    unasked: float,
    probs: dict[str, float] | None = None,
    fit: _Fit = _FIT_NONE,
) -> None:
    """Evidence of one counselor turn: its cues, its advice (unasked or offered), passivity, and
    the learned model's reading of reflections the lexicon did not name. Judged by the stage
    (`fit`): a courtesy answering the client's goodbye is no passive reply; a suggestion to a
    client who has been heard and asked for help counts as offered, not pushed."""
    for cue in cues:
        tally.add(msg_id, cue)
    if fit.action:
        unasked *= _ACTION_FIT
    if unasked >= _CITE:
        tally.add(msg_id, "advice_unasked", unasked)
    if advice - unasked >= _CITE:
        tally.add(msg_id, "advice_offered", advice - unasked)
    if passive >= _FLAG and not fit.closing:
        tally.add(msg_id, "passive_reply", passive)
    if probs is None:
        return
    if _REFLECTIVE.isdisjoint(cues):
        reflected = probs["reflection_complex"] + _SIMPLE_SHARE * probs["reflection_simple"]
        if reflected > _MODEL_FLOOR:
            tally.add(msg_id, "reflection_model", _above_floor(reflected))
    telling = probs["input"] + probs["advice"]
    if telling > _MODEL_FLOOR and _MITIGATE.keys().isdisjoint(cues) and not _asks(text):
        tally.add(
            msg_id, "telling_model", _above_floor(telling) * (_ACTION_FIT if fit.action else 1.0)
        )


def _above_floor(p: float) -> float:
    return (p - _MODEL_FLOOR) / (1.0 - _MODEL_FLOOR)


def _shared(net: dict[str, float]) -> dict[str, float]:
    """Each construct's own evidence plus `_SHARE` x the mean evidence of its dimension's others."""
    out: dict[str, float] = {}
    for ids in CONSTRUCTS.values():
        total = sum(net[c] for c in ids)
        for c in ids:
            out[c] = net[c] + _SHARE * (total - net[c]) / (len(ids) - 1)
    return out


def _says_enough(messages: Sequence[ScoringMessage]) -> bool:
    """The window's counselor and client messages hold at least `_MIN_WORDS` word units
    (`word_units`, at least 1 a message): counted until there are enough, not to the end."""
    words = 0
    for m in messages:
        if m.role is not Role.OTHER:
            words += zh.word_units(m.text)
            if words >= _MIN_WORDS:
                return True
    return False


def _rating(net: float, units: float) -> float:
    return round(3.0 + 2.0 * math.tanh(_GAIN * net / (units + _PRIOR)), 4)


_TWO_LETTERS = re.compile(r"[A-Za-z][^A-Za-z]*[A-Za-z]")


def _window_language(messages: Sequence[ScoringMessage]) -> str:
    """`detect_language` of the window's counselor and client texts, with a fast path for plain
    ASCII text (Latin letters only: "en", or "und" under two letters)."""
    texts = [m.text for m in messages if m.role is not Role.OTHER]
    joined = " ".join(texts)
    if joined.isascii():
        return "en" if _TWO_LETTERS.search(joined) else "und"
    return detect_language(texts)


#: What a window needs to be scored (`EmbeddedScorer` abstains below): pieces of evidence and
#: total points (`_MIN_CONFIDENCE` turned into points: confidence = a / (a + half), a = points / 4).
MIN_PIECES = _MIN_PIECES
MIN_POINTS = 4.0 * _CONFIDENCE_HALF * _MIN_CONFIDENCE / (1.0 - _MIN_CONFIDENCE)
#: The word floor, for the batch analyzer's evidence cuts (`_batch._enough`).
says_enough = _says_enough


def evidence_profile(messages: Sequence[ScoringMessage]) -> list[tuple[int, float]]:
    """Per message, in order: the pieces of evidence and the evidence points the embedded
    scorer finds in it, read in one pass over `messages` (for splitting a transcript where its
    evidence lies, `_batch`)."""
    tally = _Tally(per_message=True)
    language = _window_language(messages)
    model = load_model() if language in _MODEL_LANGUAGES else None
    zh_head = load_model_zh() if language in _ZH_MODEL_LANGUAGES else None
    _analyse(messages, tally, model, language, reader=SignalReader(), zh_head=zh_head)
    found = tally.by_message or {}
    out = []
    for m in messages:
        pieces, points = found.get(m.id, (0.0, 0.0))
        out.append((int(pieces), points))
    return out


def _opens_session(request: WindowRequest) -> bool:
    """The window is the first of its session (a batch transcript's first phase, a live
    session's first window)."""
    if request.span_start is not None:
        return request.span_start == 0
    return request.window_index == 0


def window_signals(
    messages: Sequence[ScoringMessage],
    history: Sequence[WindowScore] = (),
    *,
    first: bool = False,
) -> WindowSignals:
    """Stage, client engagement, ruptures and repairs of a window (`WindowSignals`), read with
    the embedded scorer's lexicons whatever scorer rated it; `history` is the pair's earlier
    window scores (most recent last), `first` says the window opens a session."""
    reader = SignalReader(prior_signals(history), first=first)
    _analyse(messages, None, None, _window_language(messages), reader=reader)
    return reader.result()


class EmbeddedScorer(SyncScorer):
    """Offline scorer: lexicon cues and small learned models, judged in context, mapped to the
    twelve constructs.

    Deterministic and pure Python; no network. See docs/embedded-scorer.md. `model` replaces the
    shipped learned English model (the training script scores held-out halves with it),
    `zh_model` the learned Chinese one (`_model_zh`, docs/chinese.md); `use_model=False` scores
    with the rule cues alone.

    A window in a language the scorer cannot read is unscored (reason
    ``"unsupported_language"``); a window with too little evidence is returned with status
    ``"insufficient_evidence"`` and its near-3 reading, which no decline or low-alliance rule
    acts on.
    """

    name = "embedded"
    version = "2.2"

    def __init__(
        self, *, model: Model | None = None, use_model: bool = True, zh_model: Model | None = None
    ) -> None:
        self._model = model
        self._use_model = use_model
        self._zh_head = PackedHead.pack(zh_model.counselor) if zh_model is not None else None

    def _learned(self) -> Model | None:
        if self._model is None and self._use_model:
            self._model = load_model()
        return self._model

    def _learned_zh(self, language: str) -> PackedHead | None:
        if self._zh_head is None and self._use_model and language in _ZH_MODEL_LANGUAGES:
            self._zh_head = load_model_zh()
        return self._zh_head

    def message_patterns(self, messages: Sequence[ScoringMessage]) -> list[MessagePattern]:
        """Passive and directive scores of each counselor message, judged in context."""
        language = _window_language(messages)
        return _analyse(
            messages, None, self._learned(), language, zh_head=self._learned_zh(language)
        )

    def score_sync(self, request: WindowRequest) -> WindowScore:
        msgs = request.messages
        language = _window_language(msgs)
        if language not in SUPPORTED or language not in _READS:
            return WindowScore(
                **request.window_fields(),
                status="unscored",
                reason="unsupported_language",
                language=language,
                scorer=self.name,
                model=None,
                prompt_version=f"embedded-{self.version}",
            )
        tally = _Tally(per_message=request.kind in ("phase", "session"))
        reader = SignalReader(prior_signals(request.history), first=_opens_session(request))
        patterns = _analyse(
            msgs,
            tally,
            self._learned(),
            language,
            reader=reader,
            zh_head=self._learned_zh(language),
        )
        n_turns = sum(1 for m in msgs if m.role is not Role.OTHER)
        units = n_turns / 2.0
        constructs = {c: _rating(net, units) for c, net in _shared(tally.net).items()}
        amount = tally.absolute / 4.0
        evidence_ids = dict.fromkeys(i for c in ALL_CONSTRUCTS for i in tally.ids[c])
        confidence = round(amount / (amount + _CONFIDENCE_HALF), 4)
        dim_conf = {d: round(a / (a + _DIMENSION_HALF), 4) for d, a in tally.dim_absolute.items()}
        dim_conf["overall"] = confidence
        counts = dict(tally.counts)
        counts["overall"] = tally.pieces
        enough = (
            tally.pieces >= _MIN_PIECES and confidence >= _MIN_CONFIDENCE and _says_enough(msgs)
        )
        # Built from values computed just above (in range, of the right types): no validation.
        fields = request.window_fields()
        score = constructed(
            WindowScore,
            fields
            | dict(
                status="scored" if enough else "insufficient_evidence",
                reason=None if enough else "insufficient_evidence",
                constructs=constructs,
                scores=DimensionScores.from_constructs(constructs),
                confidence=confidence,
                dimension_confidence=dim_conf,
                evidence_count=counts,
                language=language,
                evidence=tuple(m.id for m in msgs if m.id in evidence_ids),
                construct_evidence={c: tuple(tally.ids[c]) for c in ALL_CONSTRUCTS if tally.ids[c]},
                messages=tuple(patterns),
                scorer=self.name,
                model=None,
                prompt_version=f"embedded-{self.version}",
                signals=reader.result(),
            ),
        )
        if tally.by_message is not None:
            score._evidence_by_message = {
                mid: (int(p), a) for mid, (p, a) in tally.by_message.items()
            }
        return score
