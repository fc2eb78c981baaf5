"""Ruptures, repair and the stage of a conversation, read from the text (English and Chinese).

This is what an observer sees when an alliance actually falls, after Safran and Muran's model of
alliance ruptures (the basis of the Rupture Resolution Rating System), in our own wording:

* **Withdrawal**: the client moves away from the counselor or the work. A shrug ("whatever",
  "I don't know" as a whole reply, 随便, 无所谓), vague agreement to advice nobody asked for
  ("okay.", "I understand.", 嗯嗯好的), a reply that shrank after an open question although the
  client used to write at length, deflecting or changing the subject ("anyway", "never mind",
  "I don't want to talk about it", 算了不说了, 换个话题吧).
* **Confrontation**: the client moves against the counselor or the work. Complaints about the
  counselor, the help or the process ("you're not listening", "this isn't helping", 你根本不懂,
  说了也没用), rejecting the counselor's framing ("that's not the point", "so you're saying it's
  my fault?", 不是这样的), "yes, but" to advice.
* **Repair**: the counselor notices and responds: acknowledges the strain or takes
  responsibility ("I'm sorry, I got ahead of you", 抱歉是我说得太急了), asks how the conversation
  is going for the client ("is this helpful?", 这样聊对你有帮助吗), changes course ("let's step
  back", 我们先不谈这个). Right after a rupture, a reply that reflects, explores or hands the
  choice back to the client (not one that pushes on) is also a repair *attempt*; it counts as a
  repair once the client takes it up (their next turn is no rupture).
* **Stage**: a helping conversation moves through opening (greeting, first exploring), working
  (exploring, comforting, insight), action (suggestions, plans) and closing (thanks, summary,
  goodbye). The stage is what a window's moves are judged against (domain.md, "Stages are not
  declines"): fewer questions and more suggestions late in a session are the expected course;
  a warm goodbye is not a passive reply; short thanks at the close are not withdrawal.

The phrase lists name what the client and the counselor do, not topics. They are compiled into
the embedded scorer's own phrase expressions (`PHRASE_MATCHERS`), so a message is still scanned
once; `SignalReader` is driven by the scorer's one pass over a window (`_embedded._analyse`),
which hands it each message's cues, markers included. `WindowSignals` (in
`alliance_monitor._models`) is what comes out; the decline definition
(`alliance_monitor._decline`) reads it.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

from .._models import Rupture, Stage, WindowScore, WindowSignals, _trusted
from . import _lexicon as lx
from . import _lexicon_zh as zh
from ._lexicon import MINIMAL_RE, Cue, CueMatcher

__all__ = [
    "CLIENT_MARKERS",
    "CLIENT_MARKERS_ZH",
    "COUNSELOR_MARKERS",
    "COUNSELOR_MARKERS_ZH",
    "PHRASE_MATCHERS",
    "SignalReader",
    "prior_signals",
]

# --- English ------------------------------------------------------------------------------------

CLIENT_MARKERS: tuple[Cue, ...] = (
    Cue(
        "deflection",
        (
            r"anyway(?:s)?,? (?:let's|can we|i (?:should|have to|gotta|need to) go|it doesn't"
            r" matter|whatever)",
            r"never ?mind",
            r"forget (?:it|about it|i said)",
            r"(?:can|could) we (?:just )?(?:talk about|change) (?:something else|the subject"
            r"|the topic)",
            r"i (?:don't|do not|dont) (?:really )?(?:want|wanna) (?:to )?(?:talk|get into|go"
            r" into|discuss) (?:about )?(?:it|that|this)",
            r"i'd rather not (?:talk|say|get into|go into|discuss)",
            r"let's (?:just )?(?:drop|leave) it",
            r"it's not (?:a big deal|important|worth (?:talking|it))",
            r"doesn't matter (?:anyway|now)",
            r"no point (?:talking|in talking|going into)",
        ),
        "Withdrawal by deflection: the client steps away from what they raised ('never mind', "
        "'can we talk about something else', 'I don't want to talk about it').",
    ),
    Cue(
        "rejects",
        (
            r"that's not (?:the (?:point|problem|issue)|what i (?:said|meant|asked|mean)|true"
            r"|fair|helpful|how it (?:is|works))",
            r"it's not (?:like that|that simple|that easy|about that)",
            r"you (?:don't|do not|dont) (?:even )?know (?:me|what it's like|my|how)",
            r"how would you know",
            r"i (?:already|just) (?:told|said|explained)",
            r"you (?:keep|already) (?:saying|telling|asking|said)",
            r"(?:this|talking) (?:isn't|is not|doesn't|does not|won't|will not) (?:really )?(?:help"
            r"|helping|working|going to help)",
            r"i (?:feel|felt) (?:a bit |kind of |so )?(?:judged|lectured|attacked|pushed"
            r"|criticized|criticised|dismissed)",
            r"i didn't ask (?:for|you)",
            r"so you(?:'re| are) saying",
            r"(?:are|were) you (?:even )?(?:listening|reading)",
            r"did you (?:even )?(?:read|hear|listen)",
            r"i know(?:,| that)? i know",
            r"i(?:'ve| have) heard (?:it|that|all (?:that|this|of this)) (?:before|already)",
            r"people (?:keep|always) (?:telling|tell) me",
            r"(?:that|it) (?:sounds|is) (?:easy|easier) for you",
            r"you(?:'re| are) (?:just )?(?:like|the same as) (?:my|everyone|everybody)",
            r"you don't (?:have to|need to) (?:tell|lecture|remind) me",
            r"that's (?:ridiculous|nonsense|absurd)",
            r"you(?:'re| are) not (?:a|my) (?:doctor|therapist|mother|mom|dad|father)",
            r"(?:it's|that's|this is) (?:just )?not good enough",
            r"(?:do|did) you (?:even )?(?:understand|care|want to know|get) (?:how|what|that"
            r"|why|about)",
            r"you (?:don't|do not|dont) (?:get|understand) (?:it|me|how|what|that)",
            r"(?:this|that|it)(?:'s| is) (?:a little |a bit |way |just )?too much for me",
        ),
        "Confrontation: the client rejects the counselor's framing or complains about the help "
        "('that's not the point', 'you don't even know me', 'I already told you', 'this isn't "
        "helping', 'I feel judged').",
    ),
    Cue(
        "yes_but",
        (
            r"(?:yeah|yes|yea|yep|ok|okay|sure|right|true|maybe|i know|i understand|i guess"
            r"|i could|i can|i tried|i've tried|i have tried),? but\b",
            r"i get (?:that|it),? but\b",
        ),
        "'Yes, but' to a suggestion (a rupture only right after the counselor told or advised).",
    ),
    Cue(
        "closing",
        (
            r"bye",
            r"goodbye",
            r"good (?:bye|night)",
            r"goodnight",
            r"have a (?:good|nice|great|lovely|wonderful|blessed)",
            r"take care",
            r"(?:talk|speak|chat) (?:to you )?(?:later|soon)",
            r"thank(?:s| you) (?:so much |very much |a lot )?for (?:your|the|talking|listening"
            r"|chatting|helping|everything|this|being|all)",
            r"(?:nice|good|great) (?:talking|chatting|to talk)",
            r"i (?:have to|need to|gotta|should) go",
        ),
        "Closing: thanks for the talk, goodbyes.",
    ),
)

COUNSELOR_MARKERS: tuple[Cue, ...] = (
    Cue(
        "dismissing",
        (
            r"(?:that's|that is|you're|you are) (?:just |being )?(?:wrong|ridiculous|silly"
            r"|nonsense|stubborn|unrealistic)",
            r"that's (?:not true|not the point|an excuse|no excuse|not how (?:it|this) works)",
            r"(?:that's|that is) the wrong way",
            r"(?:you're|you are) making excuses",
            r"(?:no|stop with the|enough) excuses",
            r"you(?:'re| are) in denial",
            r"calm down",
            r"come on,",
            r"let me tell you something",
            r"you (?:need|have) to (?:understand|realize|realise|accept)",
            r"you don't understand",
            r"you(?:'re| are) (?:overreacting|exaggerating|kidding yourself|fooling yourself)",
            r"be honest with yourself",
            r"you know (?:better|full well)",
            r"what's there to think about",
            r"the problem is you",
            r"i know (?:what's|what is) best",
            r"you have no choice",
            r"(?:yes|yeah),? but you(?:'re| are)?",
            r"i (?:just |already )told you",
            r"what do you mean,? (?:maybe|no)",
            r"i think you(?:'re| are) wrong",
        ),
        "Dismissing or overriding the client's view ('that's just an excuse', 'you're in "
        "denial', 'I already told you'): overstepping at any stage. (Stricter than the scorer's "
        "'confront' cue, which also reads supportive 'trust me, it gets better'.)",
    ),
    Cue(
        "repair",
        (
            r"i(?:'m| am) sorry (?:if|that) i",
            r"sorry (?:if|that) i",
            r"i apologi[sz]e",
            r"my apologies",
            r"i didn't mean to",
            r"that(?:'s| is| was) (?:on me|my (?:fault|mistake))",
            r"my (?:mistake|bad)",
            r"i (?:may|might) have (?:pushed|jumped|misunderstood|misread|gotten ahead|got ahead"
            r"|been|come across|sounded|rushed|gone too)",
            r"i (?:got|was getting|am getting|'m getting) ahead of",
            r"i (?:was|am|'m) being (?:too )?(?:pushy|preachy|bossy)",
            r"let me (?:back up|step back|slow down|try (?:that )?again)",
            r"let's (?:step back|take a step back|go back|slow down|back up)",
            r"(?:we|you) don't have to (?:talk about|decide|do|go into|get into)",
            r"i won't push",
            r"no pressure",
            r"you(?:'re| are) right,? i",
            r"i (?:misunderstood|got that wrong|got it wrong|missed that)",
            r"how (?:is|does) (?:this|our|the) (?:conversation|talk|chat|session)? ?(?:going|feel"
            r"|feeling)",
            r"how are you (?:finding|feeling about) (?:this|our|the way)",
            r"is (?:this|that|talking about this|our conversation) (?:helpful|useful|okay|ok"
            r"|what you (?:want|need|came))",
            r"what would (?:be|feel) (?:most |more |the most )?helpful",
            r"what (?:do|did|would) you (?:want|need|hope|like) (?:from|to get out of) (?:this"
            r"|our|me|today)",
            r"am i (?:understanding|getting|hearing) (?:you|this|that|it) right",
            r"did i (?:get|understand) (?:that|this|it|you) right",
            r"(?:tell|let) me (?:know )?if i(?:'m| am) (?:off|wrong|missing)",
            r"correct me if",
        ),
        "Repair: acknowledging the strain, taking responsibility, asking how the conversation "
        "is going for the client, changing course ('I'm sorry if I pushed', 'let's step back', "
        "'is this helpful?', 'we don't have to talk about that').",
    ),
    Cue(
        "closing",
        (
            r"bye",
            r"goodbye",
            r"good bye",
            r"take care",
            r"(?:good|best of) luck",
            r"have a (?:good|nice|great|lovely|wonderful|blessed)",
            r"(?:you're|you are) (?:very |so |most )?welcome",
            r"(?:glad|happy) (?:i could|i can|to|that i could) (?:help|be of help|talk)",
            r"(?:it was|it's been) (?:nice|good|great|a pleasure)",
            r"(?:nice|good|great) (?:talking|chatting)",
            r"i wish you (?:all )?the best",
            r"all the best",
        ),
        "Closing: well-wishing and goodbyes after the client thanked or closed.",
    ),
)

# --- Chinese -----------------------------------------------------------------------------------

CLIENT_MARKERS_ZH: tuple[Cue, ...] = (
    Cue(
        "deflection",
        (
            r"算了(?:吧)?(?:,|。|!|\s|$|不说|不聊|不谈)",
            r"不想(?:再)?(?:说|谈|聊|提)(?:了|这个|这些|它)",
            r"(?:换个|换一个)话题",
            r"(?:没什么|没啥)好(?:说|谈|聊)的",
            r"不说(?:这个)?了",
            r"(?:就|先)这样吧",
            r"(?:说|聊)(?:别的|其他的)吧",
            r"(?:不重要|无所谓)了",
        ),
        "Withdrawal by deflection (算了不说了, 换个话题吧, 不想谈这个).",
    ),
    Cue(
        "rejects",
        (
            r"不是(?:这样|这个样子|那样)的",
            r"(?:说了|讲了|聊了)(?:也)?(?:没用|白说|白讲)",
            r"(?:这|这样|聊这些|说这些)(?:有什么用|没(?:什么)?用|帮不了)",
            r"我(?:已经|都)(?:说过|讲过|告诉过你)",
            r"你(?:怎么会|哪里|又怎么)(?:知道|懂|明白)",
            r"你(?:又|一直|总是)(?:在)?(?:说|讲|问)",
            r"你(?:跟|和)我(?:妈|爸|父母|家人)(?:一样|说的一样)",
            r"你(?:这是|是在|在|又在)?(?:指责|批评|评判|教训)我",
            r"我(?:觉得|感觉)(?:被)?(?:指责|批评|评判|说教)",
            r"(?:这些|这个)(?:道理)?我(?:都)?(?:知道|懂|明白)",
            r"(?:道理)?谁都(?:知道|懂)",
            r"你(?:这是|是在)说(?:都是)?我的(?:错|问题)",
        ),
        "Confrontation (不是这样的, 说了也没用, 我已经说过了, 这些道理我都懂, 你是在说都是我的错).",
    ),
    Cue(
        "closing",
        (
            r"再见",
            r"拜拜",
            r"(?:谢谢|感谢)(?:你|您)?(?:的)?(?:帮助|倾听|陪伴|耐心|开导|时间)",
            r"(?:今天)?(?:就)?(?:先)?(?:聊|说|谈)到这(?:里|儿)",
            r"晚安",
        ),
        "Closing (谢谢你的帮助, 再见, 今天就聊到这里).",
    ),
)

COUNSELOR_MARKERS_ZH: tuple[Cue, ...] = (
    Cue(
        "repair",
        (
            r"(?:对不起|抱歉|不好意思)(?:,|。|!|\s)?(?:是)?我",
            r"是我(?:没|说得|讲得|太|理解错)",
            r"我(?:可能|也许|刚才)(?:说得|讲得)?(?:太|有点|有些)(?:多|急|快|直接|着急)",
            r"我(?:刚才)?(?:没有|没)(?:理解|听懂|明白|注意到)",
            r"我们(?:先)?(?:慢一点|放慢|退一步|换个方式|换一种方式|不谈这个|不聊这个|先不谈|先不聊)",
            r"(?:不想|不愿意)(?:谈|说|聊)的话(?:也)?没关系",
            r"(?:不用|不必)勉强",
            r"按(?:照)?你的节奏",
            r"(?:这样|这么)(?:聊|谈)(?:对你)?有(?:帮助|用)吗",
            r"你觉得(?:我们)?(?:今天)?(?:这样)?(?:聊|谈)得怎么样",
            r"我(?:这样)?理解(?:得)?对吗",
            r"我说得对吗",
            r"如果我(?:理解|说)(?:错|得不对)",
            r"你(?:更)?希望我(?:怎么|如何)",
            r"你(?:更)?(?:希望|想)(?:我们)?(?:今天)?(?:聊|谈)(?:些)?什么",
        ),
        "Repair (抱歉是我说得太急了, 我们先不谈这个, 这样聊对你有帮助吗, 我理解得对吗).",
    ),
    Cue(
        "closing",
        (
            r"再见",
            r"拜拜",
            r"祝你(?:好运|顺利|一切|早日|生活)",
            r"不客气",
            r"(?:下周|下次|明天)见",
            r"(?:今天)?(?:就)?(?:先)?(?:说|聊|谈)到这(?:儿|里)",
            r"很高兴(?:能)?(?:帮到|帮助|和你聊)",
        ),
        "Closing (不客气, 祝你顺利, 再见, 今天就聊到这里).",
    ),
)


#: The scorer's phrase cues and these markers in one expression per side and language, so a
#: message is scanned once for both (`_embedded._scan_with`). The markers come last: where a
#: scorer cue and a marker start at the same place, the scorer cue is found.
def _peek_en(cues: tuple[Cue, ...]) -> tuple[Cue, ...]:
    """The markers matched without consuming more than their first word (the rest is a
    lookahead), so a scorer cue that starts inside a marker is still found: the scorer's
    message readings stay exactly what they are without the markers."""
    out = []
    for cue in cues:
        phrases = []
        for phrase in (e for p in cue.phrases for e in lx._expand(p)):
            head = re.match(r"[a-z']+", phrase)
            rest = phrase[head.end() :] if head else ""
            if head is None or not rest.startswith(" "):
                phrases.append(phrase)  # "anyway(?:s)?": nothing after the first word to free
            else:
                phrases.append(f"{head.group()}(?={rest}(?![\\w']))")
        out.append(cue._replace(phrases=tuple(phrases)))
    return tuple(out)


def _peek_zh(cues: tuple[Cue, ...]) -> tuple[Cue, ...]:
    """`_peek_en` for Chinese: each marker consumes its first character only."""
    return tuple(
        cue._replace(
            phrases=tuple(f"{first}(?={rest})" for p in cue.phrases for first, rest in zh.heads(p))
        )
        for cue in cues
    )


def _but_closing(cues: tuple[Cue, ...]) -> tuple[Cue, ...]:
    return tuple(c for c in cues if c.name != "closing")


def _closing_only(cues: tuple[Cue, ...]) -> tuple[Cue, ...]:
    return tuple(c for c in cues if c.name == "closing")


PHRASE_MATCHERS: dict[str, tuple[CueMatcher | zh.ZhMatcher, CueMatcher | zh.ZhMatcher]] = {
    "en": (
        CueMatcher(lx.COUNSELOR_PHRASES + _peek_en(_but_closing(COUNSELOR_MARKERS))),
        CueMatcher(lx.CLIENT_PHRASES + _peek_en(_but_closing(CLIENT_MARKERS))),
    ),
    "zh": (
        zh.ZhMatcher(zh.COUNSELOR_PHRASES + _peek_zh(_but_closing(COUNSELOR_MARKERS_ZH))),
        zh.ZhMatcher(zh.CLIENT_PHRASES + _peek_zh(_but_closing(CLIENT_MARKERS_ZH))),
    ),
}
#: Closing markers overlap the scorer's courtesy and gratitude cues ("take care", "thank you
#: for your help"), which win where both start at the same word; they are looked for apart, in
#: short messages and in those with courtesy or thanks (`closing`).
_CLOSING: dict[tuple[bool, bool], CueMatcher | zh.ZhMatcher] = {
    (False, True): CueMatcher(_closing_only(COUNSELOR_MARKERS)),
    (False, False): CueMatcher(_closing_only(CLIENT_MARKERS)),
    (True, True): zh.ZhMatcher(_closing_only(COUNSELOR_MARKERS_ZH)),
    (True, False): zh.ZhMatcher(_closing_only(CLIENT_MARKERS_ZH)),
}
#: A message this short (characters) is checked for closing markers whatever its cues.
_CLOSING_CHARS = 40
_COURTESY = frozenset({"pleasantry", "gratitude"})


#: A word every closing marker has (a cheap test before the markers themselves).
_CLOSING_HINT = re.compile(
    r"bye|night|care|talk|chat|later|soon|welcome|luck|best|thank|have a|nice|great|go\b"
    r"|再见|拜拜|晚安|到这|谢谢|感谢|不客气|祝你|下次|下周|明天见|很高兴"
)


def closing(text: str, cues: dict[str, None], *, counselor: bool) -> bool:
    """True if the message (normalised `text`, its `cues`) thanks for the talk or says goodbye."""
    if _COURTESY.isdisjoint(cues) and (
        len(text) > _CLOSING_CHARS or _CLOSING_HINT.search(text) is None
    ):
        return False
    found: dict[str, None] = {}
    _CLOSING[(False, counselor)].find(text, found)
    if not found and zh.has_han(text):
        _CLOSING[(True, counselor)].find(text, found)
    return bool(found)


#: Where a scorer cue overlapping a marker was found (the scorer's "confront" reads some of the
#: same words as "dismissing", its "sustain" and "discord" some of those of "yes_but" and
#: "rejects"), the marker may have lost the place to it: the markers alone are looked for again
#: in that message (rare, so the cost stays small).
_MARKERS_ALONE: dict[tuple[bool, bool], CueMatcher | zh.ZhMatcher] = {
    (False, True): CueMatcher(_but_closing(COUNSELOR_MARKERS)),
    (False, False): CueMatcher(_but_closing(CLIENT_MARKERS)),
    (True, True): zh.ZhMatcher(_but_closing(COUNSELOR_MARKERS_ZH)),
    (True, False): zh.ZhMatcher(_but_closing(CLIENT_MARKERS_ZH)),
}
_OVERLAPPING = {True: frozenset({"confront", "moralize"}), False: frozenset({"sustain", "discord"})}
_NONE: frozenset[str] = frozenset()


def _markers(
    text: str, cues: dict[str, None], names: frozenset[str], counselor: bool
) -> frozenset[str] | set[str]:
    """The markers among a message's cues, and those a scorer cue took the place of."""
    overlapping = _OVERLAPPING[counselor]
    if names.isdisjoint(cues) and overlapping.isdisjoint(cues):
        return _NONE
    found = set(names.intersection(cues))
    if not overlapping.isdisjoint(cues):
        alone: dict[str, None] = {}
        _MARKERS_ALONE[(False, counselor)].find(text, alone)
        if zh.has_han(text):
            _MARKERS_ALONE[(True, counselor)].find(text, alone)
        found.update(alone)
    return found


#: The marker names (cues with no construct evidence of their own in `_lexicon.EVIDENCE`, except
#: "repair").
CLIENT_MARKER_NAMES = frozenset(c.name for c in CLIENT_MARKERS + CLIENT_MARKERS_ZH)
COUNSELOR_MARKER_NAMES = frozenset(c.name for c in COUNSELOR_MARKERS + COUNSELOR_MARKERS_ZH)
#: Cues that call for a look at the markers (a marker, or a scorer cue that may hide one).
_CLIENT_WATCH = CLIENT_MARKER_NAMES | _OVERLAPPING[False]
_COUNSELOR_WATCH = COUNSELOR_MARKER_NAMES | _OVERLAPPING[True]


#: A whole client reply of vague agreement ("okay.", "I understand.", "maybe", 嗯嗯, 好吧):
#: a minimal reply, or one of these short forms.
_VAGUE = re.compile(
    r"(?:i (?:understand|know|guess)|maybe|perhaps|probably|i suppose|if you say so|i'll try"
    r"|i will try|(?:ok(?:ay)?|yeah|yes|sure|alright),? (?:i guess|maybe|i suppose|fine)"
    r"|嗯+好?的?|好吧|好的吧|行吧|可能吧|也许吧|我知道了|知道了|我尽量|我试试吧)[\s.,!?…~。]*"
)

# --- reading a window --------------------------------------------------------------------------

#: The counselor's moves that explore or reflect (a reply to a rupture made of these, and not
#: directive, is a repair attempt: rolling with it rather than pushing on).
_ATTUNED = frozenset(
    {
        "reflection",
        "empathy",
        "understanding",
        "open_question",
        "invite",
        "elicit_view",
        "autonomy",
        "permission",
        "summary",
    }
)
_ACTION = frozenset({"advise", "suggest", "imperative", "warn", "persuade", "helps_info"})
_EXPLORE = frozenset(
    {"open_question", "invite", "reflection", "restatement", "empathy", "summary", "understanding"}
)
_CLIENT_ACTION = frozenset({"commitment", "asks_advice"})
#: Directive moves that overstep at any stage: warning, persuading, moralizing; pushing on
#: after the client declined advice (not after a "no" that answered a question); and the
#: "dismissing" marker below (domain.md's dismissing or overriding the client's view).
_OVERRIDING = frozenset({"warn", "persuade", "moralize"})
#: A client turn this long or longer (word units) counted as engaged in the engagement measure;
#: one this short after an open question, from a client whose earlier turns ran to
#: `_SHRINK_FROM` words or more, has shrunk.
_SHRUNK = 3
_SHRINK_FROM = 12
_REFLECTING = frozenset({"reflection", "restatement", "summary", "empathy", "understanding"})
#: Withdrawal markers this many client turns before a closing marker belong to the close.
_CLOSE_TURNS = 2
#: A reply to a rupture counts as the client taking up a repair when it is no rupture and has at
#: least this many words (or agrees, confirms, thanks, commits).
_UPTAKE_WORDS = 6
_UPTAKE_CUES = frozenset(
    {
        "assent",
        "confirm",
        "confirms_reflection",
        "gratitude",
        "commitment",
        "change_talk",
        "elaboration",
        "agrees",
        "disclosure",
    }
)
#: The client has been heard once at least this many of their turns brought something (a
#: disclosure, or `_SUBSTANTIVE` words or more) and as many counselor replies since then asked
#: or explored without directing.
_HEARD_TURNS = 2
_SUBSTANTIVE = 8
#: Greetings that open a conversation.
_GREETING = re.compile(r"^(?:hi|hello|hey|good (?:morning|afternoon|evening))\b|你好|您好|嗨")


class _Turn:
    """The client turn being read (consecutive client messages)."""

    __slots__ = ("closing", "cues", "ids", "markers", "texts", "thanks", "words")

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.words = 0
        self.cues: dict[str, None] = {}
        self.markers: dict[str, None] = {}
        #: Thanks for the talk or a goodbye (the close); thanks of any kind.
        self.closing = False
        self.thanks = False


class SignalReader:
    """Reads one window's stage, client engagement, ruptures and repairs, message by message.

    `prior` is the pair's signals before this window (`prior_signals`): the client's earlier
    engagement, ruptures still open, whether the client has been heard and has asked for help.
    Feed it every message in order (`client` / `counselor`, with the cues the scorer found),
    then call `result()`.
    """

    def __init__(self, prior: _Prior | None = None, *, first: bool = False) -> None:
        self._prior = prior or _Prior()
        self._first = first
        self._turn: _Turn | None = None
        self._turn_words: list[int] = []
        self._ruptures: list[Rupture] = []
        #: Ruptures not yet repaired (from this window, or carried over), oldest first.
        self._open: list[Rupture] = list(self._prior.open)
        #: The counselor message that answered the open ruptures with a repair attempt.
        self._attempt: str | None = None
        self._repairs: list[str] = []
        self._overstepping: list[str] = []
        #: Client turns read so far, and the turn of each rupture of this window.
        self._turns = 0
        self._turn_of: dict[str, int] = {}
        self._finished = False
        self._heard = self._prior.heard
        self._asked = self._prior.asked
        #: Client turns that brought something (a disclosure, or `_SUBSTANTIVE` words), and
        #: counselor replies since the first that asked or explored (for "heard").
        self._disclosed = _HEARD_TURNS if self._prior.heard else 0
        self._responded = _HEARD_TURNS if self._prior.heard else 0
        self._explore = 0
        self._action = 0
        self._questions = 0
        self._greeting = False
        self._closing_at = -1
        self._n = 0
        #: What the counselor's last turn was (for reading the client's reply).
        self._last_directive = False
        self._last_telling = False
        self._last_told = False
        self._declined_advice = False
        self._last_opened = False
        self._last_closed_question = False
        #: Evidence cues for the scorer, by message id (drained by `take_cues`; empty: none).
        self.pending: list[tuple[str, str]] = []
        #: The client turn just closed thanked or said goodbye (read by `counselor`).
        self._turn_closing = False
        #: The counselor message just read answers a client's thanks or goodbye: a courtesy
        #: there fits the closing stage (no passive-reply evidence).
        self.answers_close = False

    # -- messages -------------------------------------------------------------------------------
    def client(self, msg_id: str, text: str, cues: dict[str, None], words: int) -> None:
        """A client message (`text` normalised, `cues` its cues incl. context cues)."""
        self._n += 1
        turn = self._turn
        if turn is None:
            turn = self._turn = _Turn()
        turn.ids.append(msg_id)
        turn.texts.append(text)
        turn.words += words
        if self._n <= 2 and _GREETING.search(text):
            self._greeting = True
        short = len(text) <= _CLOSING_CHARS
        if not cues:
            if short and closing(text, cues, counselor=False):
                turn.closing = True
            if words >= _SUBSTANTIVE and not turn.closing:
                self._disclosed += 1
            return
        turn.cues.update(cues)
        if not _CLIENT_WATCH.isdisjoint(cues):
            for name in _markers(text, cues, CLIENT_MARKER_NAMES, False):
                turn.markers[name] = None
        courtesy = "gratitude" in cues
        if courtesy:
            turn.thanks = True
        if (short or courtesy) and closing(text, cues, counselor=False):
            turn.closing = True
        if not turn.closing and ("disclosure" in cues or words >= _SUBSTANTIVE):
            self._disclosed += 1
        if "asks_advice" in cues:
            self._asked = True
        if "resists_advice" in cues or ("decline" in cues and self._last_telling):
            self._asked = False
        if not _CLIENT_ACTION.isdisjoint(cues):
            self._action += 1

    def counselor(
        self, msg_id: str, text: str, cues: dict[str, None], directive: float, asks: bool
    ) -> None:
        """A counselor message (`text` normalised, `cues` its cues, `directive` its score)."""
        self._n += 1
        if self._turn is not None:
            self._close_turn()
        directed = directive >= 0.5
        markers = (
            _NONE
            if _COUNSELOR_WATCH.isdisjoint(cues)
            else _markers(text, cues, COUNSELOR_MARKER_NAMES, True)
        )
        explore = not _EXPLORE.isdisjoint(cues)
        action = not _ACTION.isdisjoint(cues)
        self.answers_close = self._turn_closing
        if "after_permission" in cues:
            self._asked = True  # the client agreed to hear suggestions
        if "repair" in markers:  # its construct evidence comes with the cue
            self._repairs.append(msg_id)
        if self._open:
            if self._attempt is None and (
                "repair" in markers or (not directed and not _ATTUNED.isdisjoint(cues))
            ):
                self._attempt = msg_id
            elif directed:
                self._attempt = None  # pushing on over the rupture withdraws any attempt
        if explore:
            self._explore += 1
        if self._disclosed and (asks or explore) and not directed:
            self._responded += 1
            if self._disclosed >= _HEARD_TURNS and self._responded >= _HEARD_TURNS:
                self._heard = True
        if asks:
            self._questions += 1
        if action or directed:
            self._action += 1
        if "dismissing" in markers or (
            directed
            and (
                not _OVERRIDING.isdisjoint(cues) or ("pushing_on" in cues and self._declined_advice)
            )
        ):
            self._overstepping.append(msg_id)
            self.pending.append((msg_id, "overstepping"))
        if (len(text) <= _CLOSING_CHARS or not _COURTESY.isdisjoint(cues)) and closing(
            text, cues, counselor=True
        ):
            self._closing()
        if self._n <= 2 and _GREETING.search(text):
            self._greeting = True
        self._last_directive = directed
        telling = directive >= 0.3 or action
        self._last_telling = telling
        # told, not asked or reflected: a bare "okay." to advice is vague agreement, not the
        # confirmation it is after a reflection. (Any long statement counted as "telling" too
        # cost session AUC on AnnoMI: long explanations given with permission get "okay" too.)
        self._last_told = telling and not asks and _REFLECTING.isdisjoint(cues)
        opened = "open_question" in cues or "invite" in cues
        self._last_opened = opened
        self._last_closed_question = asks and not opened

    def _close_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is None:
            return
        self._turn_closing = turn.closing or turn.thanks
        self._turns += 1
        # the client said no to advice (not to a question): advice that follows pushes on
        self._declined_advice = self._last_told and (
            "decline" in turn.cues or "resists_advice" in turn.cues or "yes_but" in turn.markers
        )
        if turn.closing:
            self._closing()
        else:
            self._turn_words.append(turn.words)
        marker = self._rupture_marker(turn)
        last = turn.ids[-1]
        if marker is not None:
            kind = "confrontation" if marker in _CONFRONTING else "withdrawal"
            rupture = Rupture(message_id=last, kind=kind, marker=marker)
            self._ruptures.append(rupture)
            self._open.append(rupture)
            self._turn_of[last] = self._turns
            self._attempt = None
            if kind == "confrontation" and marker in _NEW_EVIDENCE:
                self.pending.append((last, "rupture_confrontation"))
            elif marker == "yes_but" and "resists_advice" not in turn.cues:
                self.pending.append((last, "resists_advice"))  # "yes, but" to a suggestion
            return
        if self._open and self._attempt is not None and self._took_up(turn):
            for r in self._open:
                repaired = r.model_copy(update={"repaired_by": self._attempt})
                self._replace(repaired)
            self.pending.append((self._attempt, "repaired_rupture"))
            self._open = []
            self._attempt = None

    def _replace(self, repaired: Rupture) -> None:
        for i, r in enumerate(self._ruptures):
            if r.message_id == repaired.message_id:
                self._ruptures[i] = repaired
                return
        self._ruptures.append(repaired)  # carried over from an earlier window

    def _closing(self) -> None:
        """A closing marker: withdrawal markers of the last `_CLOSE_TURNS` client turns belong to
        the close ("ok", "nope, I'm good", "thanks, bye") and are dropped."""
        self._closing_at = self._n
        recent = self._turns - _CLOSE_TURNS
        drop = {
            r.message_id
            for r in self._open
            if r.kind == "withdrawal" and self._turn_of.get(r.message_id, -1) > recent
        }
        if drop:
            self._ruptures = [r for r in self._ruptures if r.message_id not in drop]
            self._open = [r for r in self._open if r.message_id not in drop]

    @staticmethod
    def _took_up(turn: _Turn) -> bool:
        return turn.words >= _UPTAKE_WORDS or not _UPTAKE_CUES.isdisjoint(turn.cues)

    def _rupture_marker(self, turn: _Turn) -> str | None:
        cues, markers = turn.cues, turn.markers
        if "discord" in cues:
            return "discord"
        if turn.closing:
            return None  # "no, thanks for your help!" closes, it does not push back
        if "rejects" in markers:
            return "rejects"
        if "resists_advice" in cues or (self._last_telling and "yes_but" in markers):
            return "yes_but"
        if "deflection" in markers:
            return "deflection"
        if "withdrawal" in cues and not self._last_closed_question:
            return "shrug"
        if turn.words <= _SHRUNK and self._last_told and self._vague(turn):
            return "vague_agreement"
        if (
            turn.words <= _SHRUNK
            and self._last_opened
            and "confirms_reflection" not in cues
            and self._reference_words() >= _SHRINK_FROM
        ):
            return "shrinking"
        return None

    @staticmethod
    def _vague(turn: _Turn) -> bool:
        text = " ".join(turn.texts).strip()
        return bool(
            MINIMAL_RE.fullmatch(text) or _VAGUE.fullmatch(text) or zh.MINIMAL_RE.fullmatch(text)
        )

    def _reference_words(self) -> float:
        earlier = self._turn_words[:-1]
        if self._prior.words is not None:
            return self._prior.words
        return statistics.median(earlier) if len(earlier) >= 2 else 0.0

    @property
    def heard(self) -> bool:
        """The client has disclosed and the counselor has explored or reflected it."""
        return self._heard

    @property
    def asked(self) -> bool:
        """The client has asked for help or agreed to hear suggestions, and not declined since."""
        return self._asked

    # -- output ---------------------------------------------------------------------------------
    def finish(self) -> None:
        """The window's last message was read (closes the client turn in progress). Evidence of
        withdrawal markers is given now, once the close can no longer explain them."""
        if self._finished:
            return
        self._close_turn()
        self._finished = True
        for r in self._ruptures:
            if (
                r.kind == "withdrawal"
                and r.marker in _NEW_EVIDENCE
                and r.message_id in self._turn_of
            ):
                self.pending.append((r.message_id, "rupture_withdrawal"))

    def take_cues(self) -> list[tuple[str, str]]:
        """(message id, evidence cue) found since the last call: "rupture_withdrawal",
        "rupture_confrontation", "repair", "repaired_rupture"."""
        out, self.pending = self.pending, []
        return out

    def result(self) -> WindowSignals:
        self.finish()
        words = self._turn_words
        median = float(statistics.median(words)) if words else 0.0
        engagement = None
        ref = self._prior.words
        if ref and len(words) >= 2:
            engagement = round(median / ref, 3)
        # built from values computed here (in range, of the right types, every field in the
        # order declared): no validation, no walk over the fields (one per window)
        return _trusted(
            WindowSignals,
            {
                "stage": self._stage(),
                "client_turns": len(words),
                "client_words": round(median, 2),
                "engagement": engagement,
                "ruptures": tuple(self._ruptures),
                "repairs": tuple(self._repairs),
                "overstepping": tuple(self._overstepping),
                "heard": self._heard,
                "asked": self._asked,
            },
        )

    def _stage(self) -> Stage:
        if self._closing_at >= 0 and self._closing_at >= self._n * 2 // 3:
            return "closing"
        if self._greeting or (self._first and self._explore >= self._action):
            return "opening"
        if self._action >= 2 and self._action >= self._explore:
            return "action"
        return "working"


_CONFRONTING = frozenset({"discord", "rejects", "yes_but"})
#: Markers that are evidence only as ruptures ("discord", "yes_but" and "shrug" are the
#: scorer's cues "discord", "resists_advice" and "withdrawal", with evidence of their own).
_NEW_EVIDENCE = frozenset({"rejects", "deflection", "vague_agreement", "shrinking"})


class _Prior:
    """What a window's reading needs from the pair's earlier windows."""

    __slots__ = ("asked", "heard", "open", "words")

    def __init__(
        self,
        words: float | None = None,
        open_: Sequence[Rupture] = (),
        heard: bool = False,
        asked: bool = False,
    ) -> None:
        self.words = words
        self.open = tuple(open_)
        self.heard = heard
        self.asked = asked


#: How many earlier windows the client's reference engagement is read from.
_ENGAGEMENT_WINDOWS = 4


def prior_signals(history: Sequence[WindowScore]) -> _Prior | None:
    """The pair's state before a window, from its earlier window scores (most recent last):
    the client's median turn length over up to `_ENGAGEMENT_WINDOWS` earlier windows with at
    least two client turns, ruptures of the last window left unrepaired, and whether the client
    has been heard and has asked for help."""
    sigs = [w.signals for w in history if w.signals is not None]
    if not sigs:
        return None
    lengths = [s.client_words for s in sigs if s.client_turns >= 2][-_ENGAGEMENT_WINDOWS:]
    last = sigs[-1]
    return _Prior(
        words=statistics.fmean(lengths) if lengths else None,
        open_=last.unrepaired,
        heard=last.heard,
        asked=last.asked,
    )
