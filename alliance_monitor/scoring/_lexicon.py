"""Cue lexicons of the embedded scorer, and the table that maps cues to the twelve constructs.

Everything a clinician may want to read or change is in this file:

* The cue lists (`COUNSELOR_CLAUSE`, `COUNSELOR_PHRASES`, `CLIENT_START`, `CLIENT_PHRASES`): one
  `Cue` each, with a short name, the phrases that signal it, and what it means clinically. Phrases
  are regular expressions over lowercased, NFKC-normalised text with plain apostrophes (see
  `normalize`); each phrase starts with a literal word.
* `EVIDENCE`: which cue is evidence for (+) or against (-) which construct of domain.md (G1-G4
  Goal, T1-T4 Task, B1-B4 Bond), in *evidence points*: about 1.0 is one strong, clear piece of
  evidence, 0.3 a hint. Some keys are *context cues* that `_embedded.py` derives from a message and
  the client turn before it (advice nobody asked for, a minimal reply right after an emotional
  disclosure...); `CONTEXT_CUES` lists them.

The lexicons come from counseling-skill knowledge (Motivational Interviewing: open questions,
simple, complex and double-sided reflections, affirmations, asking permission, supporting
autonomy, versus advising without permission, persuading, confronting, directing, warning) and
the two counselor patterns of domain.md (passive response, boundary-overstepping), not from
mining the calibration data. They name skills, not topics: no substance or illness words
decide a cue.

Where a cue is looked for:

* *clause* cues only at the start of a sentence or clause, after spoken/typed lead-ins ("okay, so,
  um, what ..."): question types, reflections phrased as "you ..." / "so ...", commands.
* *phrase* cues anywhere. All phrases of a group compile into one expression, dispatched on the
  first character and first word of each phrase (a small trie), so one `finditer` pass per message
  finds every cue cheaply. Context such as "this sentence ends with a question mark" is a
  lookahead, so a match consumes only its trigger words and never hides a later cue.
* When two cues could start at the same place, the one listed first wins (phrases are grouped
  by first word, in order of first appearance).
* A list of words that share one long context (the imperative's 62 verbs) is written once, at
  the end of its expression, instead of once per word: the same matches, and the clause
  expression a quarter of its spelled-out length for `re` to parse (`_word_list_tail`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from .._traditional import TABLE as TRADITIONAL
from .._traditional import to_simplified

__all__ = [
    "CLIENT_PHRASES",
    "CLIENT_PHRASE_MATCHER",
    "CLIENT_START",
    "CLIENT_START_MATCHER",
    "CONTEXT_CUES",
    "COUNSELOR_CLAUSE",
    "COUNSELOR_CLAUSE_MATCHER",
    "COUNSELOR_PHRASES",
    "COUNSELOR_PHRASE_MATCHER",
    "EVIDENCE",
    "MINIMAL_RE",
    "SHORT_CHARS",
    "WITHDRAWAL_RE",
    "Cue",
    "CueMatcher",
    "normalize",
]


class Cue(NamedTuple):
    """One lexicon entry: a `name`, the regex `phrases` that signal it, its clinical `meaning`."""

    name: str
    phrases: tuple[str, ...]
    meaning: str


# --- shared fragments --------------------------------------------------------------------------

#: The rest of the sentence is a question (it ends with "?"). Lookaheads are bounded (300
#: characters) so a huge unpunctuated message costs linear time, not quadratic.
Q = r"(?=[^.!?]{0,300}\?)"
#: The rest of the sentence is a statement: ends with "." / "!" / end of text, or a tag ", ok?".
S = r"(?=[^.!?]{0,300}(?:[.!]|$|,? (?:ok|okay|right|alright|isn't it|don't you|yeah|huh)\?))"
_FEELINGS = (
    r"(?:scared|afraid|terrified|worried|anxious|nervous|sad|depressed|down|lonely|alone|angry|mad"
    r"|furious|ashamed|embarrassed|guilty|hopeless|helpless|overwhelmed|stressed|hurt|upset"
    r"|frustrated|exhausted|miserable|lost|stuck|confused|desperate|heartbroken|devastated"
    r"|worthless|numb|torn|discouraged|disappointed|terrible|awful)"
)
#: What a "you're ..." reflection names: a feeling, a state of mind, a stance, a conflict.
_EXPERIENCE = (
    r"(?:feeling|worried|concerned|afraid|scared|frustrated|angry|upset|sad|hurt|tired|sick of"
    r"|overwhelmed|stressed|torn|unsure|wondering|struggling|ready|hoping|noticing|finding"
    r"|thinking|saying|telling me|realizing|realising|proud|ashamed|embarrassed|disappointed"
    r"|confused|curious|interested|committed|determined|nervous|anxious|lonely|shocked"
    r"|surprised|annoyed|irritated|down|stuck|lost|happy|glad|relieved|excited|fed up|done with"
    r"|someone who|a person who|the kind of|the sort of|beginning to|starting to|trying to"
    r"|up for|open to|keen|considering|aware|caught|pulled|in two minds|of two minds"
    r"|in a (?:tough|difficult|hard|tricky) (?:spot|place|position|situation)|at a point"
    r"|looking for|not (?:sure|ready|happy|convinced|feeling|comfortable|certain|keen"
    r"|interested|looking|wanting|quite|really sure|so sure)|questioning|uncertain"
    r"|ambivalent|conflicted|hopeful|motivated|tempted|desperate|afraid that|worried that)\b"
)
#: Degree words before a feeling ("you're really worried", "that's so hard").
_DEGREE = r"(?:really |so |very |pretty |quite |incredibly |kind of |sort of |a (?:little |bit )?)?"
#: After "you" in advice forms: not reported or conditional speech ("when you have to", "feel
#: like you need to", "told that you have to"). Fixed-width lookbehinds, one per lead word.
_EMBEDDING = ("when", "if", "like", "whether", "feel", "felt", "told", "reason", "reasons")
_NOT_EMBEDDED = "".join(f"(?<!{w} you)" for w in _EMBEDDING)
_HARD = (
    r"(?:hard|difficult|tough|painful|frustrating|scary|upsetting|overwhelming|exhausting"
    r"|stressful|lonely|awful|rough|confusing|heartbreaking|a lot)"
)


def _each(words: str, suffix: str, *, after_comma: bool = True) -> tuple[str, ...]:
    """One phrase per word of `words` (space-separated), each followed by `suffix`.

    With `after_comma=False` the word must not directly follow a comma.
    """
    if after_comma:
        return tuple(w + suffix for w in words.split())
    return tuple(f"{w}(?<!, {w}){suffix}" for w in words.split())


# --- counselor: clause-initial cues (the form of the turn) -------------------------------------

COUNSELOR_CLAUSE: tuple[Cue, ...] = (
    Cue(
        "open_question",
        (
            r"what(?:'s|'d|'re|'ll)?\b" + Q,
            # not "how are you (doing) (today)?": a greeting (see "pleasantry")
            r"how(?:'s|'d|'re)?\b(?! (?:many|much|often|old|long|far|about)\b)"
            r"(?! are you(?: doing| feeling)?(?: today| tonight| this (?:morning|evening))?\?)" + Q,
            r"how come\b" + Q,
            # not "why did you / why would you / why don't you": judging, not exploring
            r"why(?:'s|'d)?\b(?! (?:don't|not|did you|didn't you|would you|do you keep"
            r"|on earth)\b)" + Q,
            r"in what ways?\b" + Q,
            r"which\b" + Q,
            r"where (?:would|could|do|does|might) you (?:see|think|want|like|go|start|begin"
            r"|want)\b" + Q,
            r"where would you\b" + Q,
            r"when you (?:think|look|imagine|picture|hear)\b" + Q,
            r"tell me\b",
        ),
        "Open question: asks for the client's own account ('what', 'how', 'in what way', "
        "'tell me'). Exploring: G3, T2, B3.",
    ),
    Cue(
        "closed_question",
        (
            *_each(
                "do does did are is was were have has had can could would will should shall may"
                " any anything anyone",
                r"\b" + Q,
            ),
            r"how (?:many|much|often|old|long|far|about)\b" + Q,
        ),
        "Closed (yes/no or fact) question. No alliance evidence by itself; it does not explore, "
        "so right after an emotional disclosure it counts toward a passive reply.",
    ),
    Cue(
        "reflection",
        (
            # "you ..." statements (or rising-intonation checks) about the client's feelings,
            # wishes, views or meaning; not "you should / need to / could try" (advice).
            r"you (?:feel|felt|want|wanted|wanna|wish|hope|think|thought|believe|seem|sound|like"
            r"|love|enjoy|care|worry|mean|value|miss|hate|fear|dread|regret|wonder|doubt"
            r"|realize|realise|recognize|see yourself|find yourself|just (?:feel|want|don't))\b"
            r"(?! (?:should|must|need to|have to|ought|gotta|got to|better|could try|might want"
            r"|what)\b)",
            r"you (?:don't|didn't|do not|never) (?:want|like|feel|think|see|know|really|expect"
            r"|care|believe|trust|enjoy|wanna|sound|seem)\b",
            r"you(?:'re| are| were| was| seemed?| sound| got| get| feel) " + _DEGREE + _EXPERIENCE,
            r"you(?:'ve| have) (?:really |always |also |already |never )?(?:been (?:feeling"
            r"|thinking|trying|struggling|worried|noticing|wondering|hoping|through|wanting"
            r"|dealing)|noticed|realized|realised|found|decided|wanted|felt|thought|started to"
            r"|begun to|come to|struggled|had enough|had it)\b",
            r"you(?:'d| would) (?:really |rather |much rather )?(?:like|rather|prefer|love|want)\b",
            r"what you(?:'re| are| would|'d|'ve| have)? (?:really |most )?(?:want|wanted|like|mean"
            r"|hope|hoping|saying|telling me|looking for|worried about|afraid of|concerned about"
            r"|noticed|noticing|value|care about|struggle with|struggling with)\b" + S,
            r"(?:it|that) (?:sounds|seems|feels) (?:like|as if|as though|to me)",
            r"(?:it|that) (?:doesn't|does not) (?:feel|seem|sound)",
            r"(?:for|to) you,? (?:it's|this is|that's|it)\b",
            r"your (?:main |biggest |real |big )?(?:worry|concern|fear|hope|sense|feeling|wish"
            r"|frustration|priority|dream|struggle) (?:is|was|seems|right now)\b",
        ),
        "Reflection of feeling or meaning: a statement (or rising-intonation check) of what the "
        "client feels, wants, values, fears or means ('you feel', 'you're worried that', 'you'd "
        "like', 'what you want is'). Shared view of the problem, feeling understood: G3, T3, B3, "
        "B1. Counts as exploring.",
    ),
    Cue(
        "restatement",
        (
            # "so you ..." and short "so ..." restatements: "okay, so money and time."
            r"so,? you\b(?! (?:should|must|need to|have to|ought|gotta|got to|better|know)\b)"
            r"(?!-)",
            r"so,? (?:it's|that's|this is|it is|that is|your)\b",
            r"so\b,? (?!(?:what|how|why|where|when|do|does|did|are|is|can|could|would|will"
            r"|should|have|has|i|i'm|i'd|i'll|let's|let|we|if|tell|anyway)\b)"
            r"[\w' ,-]{1,40}(?:[.!]|$)",
            # Any other statement about the client, with the client as subject ("You've tried a
            # few medications.", "You're up for the challenge?"): a simple reflection of content.
            # Not advice, predictions or permissions (you should / need to / could / will / can).
            r"you(?:'re| are|'ve| have| were| was| did| had| got| just| also| still| really"
            r"| already| almost| always| never| sort of| kind of| kinda| probably| only| went"
            r"| said| told| tried| used to| started| stopped| cut| quit| made| managed)?\b"
            r"(?! (?:should|must|need|needs|have to|has to|ought|gotta|got to|better|could|can"
            r"|might|may|will|shall|going to|gonna|not going|not gonna|do have|do need|don't need"
            r"|do not need|don't have to|wrong|kidding|know|see|guys)\b)(?!['-])",
        ),
        "Restates what the client said: a simple reflection of surface content ('So you've cut "
        "down to five.', 'You've tried the patches.'). Some evidence of a shared view of the "
        "problem (G3); on its own it does not explore.",
    ),
    Cue(
        "subject_change",
        (
            r"anyways?",
            r"moving on",
            r"on (?:another|a different) (?:note|topic)",
            r"next question",
            r"changing (?:the )?(?:subject|topic)",
        ),
        "Changes the subject: a passive reply when it follows something the client cares about. "
        "Against agreeing what is important to work on: T3, G3.",
    ),
    Cue(
        "imperative",
        _each(  # at a sentence start, not after a comma ("..., um, use up sugar")
            "stop start try cut quit avoid take get make keep call eat drink exercise write"
            " remember consider go do don't put limit reduce switch use find focus set listen"
            " read join throw pour promise give stay tell ask talk be remain check look spend learn"
            " practice practise pursue strengthen seek reach let allow breathe treat search plan"
            " apply contact visit surround distract obey meditate",
            r"\b(?! (?:you|i|we|they|he|she|it|me|your time|ahead|on|going|worry|be so hard"
            r"|get me|up on yourself|yourself a break|me more|me about|me what|me how|me a bit"
            r"|me a little|with me|to me|about"
            # well-wishing and closings, not commands: "take care", "stay safe", "keep it up"
            r"|care|safe|strong|positive|hopeful|blessed|well|tuned|it up|up the good|smiling"
            r"|the faith|your (?:chin|head) up)\b)" + S,
            after_comma=False,
        ),
        "A sentence that opens with a command ('Cut down to two.', 'Stop drinking.', 'Promise "
        "me you will call.'). Directive unless asked for or offered with choice.",
    ),
)

# --- counselor: phrases anywhere (what the turn does) ------------------------------------------

COUNSELOR_PHRASES: tuple[Cue, ...] = (
    Cue(
        "permission",
        (
            r"is it (?:ok|okay|alright|all right|fine)(?: with you)? (?:if|for me|to)",
            r"would (?:it|that) be (?:ok|okay|alright|all right|fine)(?: with you)? (?:if|for|to)",
            r"(?:would|do) you mind if",
            r"(?:can|could|may|might) i (?:share|tell you|offer|give you|make a|suggest|mention"
            r"|add|go over|show you|ask you|throw|put|run|check)",
            r"would you (?:like|want) (?:me to|to hear|some|more|to know|to talk|information"
            r"|to look|to go over)",
            r"do you want (?:me to|to hear|some|to know)",
            r"would it (?:help|be helpful|be useful) (?:if|to)",
            r"(?:would|are) you (?:be )?(?:interested|open|willing) (?:in|to)",
            r"how would you feel (?:about|if) (?:me|i|we)",
            r"(?:what|how) (?:would|do) you (?:think|feel) (?:about|if) (?:me|i) (?:shar|tell"
            r"|giv|offer|suggest)",
            r"if (?:it's|that's) (?:ok|okay|alright|all right)(?: with you)?",
            r"if you(?:'re| are) (?:interested|open to it)",
            r"with your permission",
            r"if you(?:'d| would) like,? i",
            r"if you want,? i",
            r"let me know if you(?:'d| would) like",
        ),
        "Asks before giving advice or information (MI 'ask permission'). Respect and shared "
        "method: T4, B3, B4. Also makes a following suggestion non-directive.",
    ),
    Cue(
        "elicit_view",
        (
            r"what do you (?:think|make of (?:that|this|it))",
            r"(?:what|how) do you (?:think|feel) about (?:that|this|it|those|these|what i)",
            r"what are your thoughts",
            r"how does (?:that|this) sound",
            r"does (?:that|this) (?:fit|make sense|sound right|seem right|ring true)",
            r"(?:does|did) (?:that|this) (?:fit|match) (?:for|with) you",
            r"what fits (?:best )?for you",
            r"which (?:of these|one) (?:appeals|would you|do you)",
            r"(?:how|where) does (?:that|this) (?:leave|fit for) you",
            r"am i (?:right|getting (?:that|this|it) right|understanding|close)",
            r"did i (?:get (?:that|this|it) right|understand|miss)",
        ),
        "Asks the client's own view of an idea or checks understanding (elicit-provide-elicit): "
        "agreement on method and goals, respect. T4, G2, B3. Counts as exploring.",
    ),
    Cue(
        "invite",
        (
            r"tell me (?:more|about|what|how|a (?:little|bit))",
            r"(?:can|could|would|will) you (?:tell|say|share|describe|explain|talk|elaborate"
            r"|expand|think of|give me (?:an|some|a sense)|fill me in|walk me)\b",
            r"would you mind (?:telling|sharing|filling|describing|explaining|talking|saying)",
            r"say (?:a (?:little|bit) )?more",
            r"help me understand",
            r"walk me through",
            r"go on\b",
            r"keep going",
            r"what else",
            r"anything else",
            r"i(?:'m| am) (?:wondering|curious)",
            r"i wonder (?:what|how|if|whether)",
            r"i(?:'d| would) (?:like|love) to (?:hear|know|understand|learn)",
            r"how (?:are|were|do|did|have) you (?:been )?(?:feel|feeling|doing|coping|handling"
            r"|managing|getting on)\b",
        ),
        "Invites the client to say more (an open question in statement form, or a request to "
        "describe). Exploring: G3, T2, B3.",
    ),
    # Before the broad "you're ..." reflection forms below: in the trie the first listed phrase
    # wins when two could match at the same place, so specific readings go first.
    Cue(
        "affirmation",
        (
            r"(?:that's|that is|it's|it is) (?:really |so |very )?(?:great|wonderful|fantastic"
            r"|impressive|amazing|excellent|awesome) (?:that|to|how)",
            r"(?:that's|that is|it's|it is) (?:a )?(?:really |very )?(?:great|good|big|huge"
            r"|important|positive|wonderful|brave|smart|wise) (?:step|start|change|insight|goal"
            r"|achievement|accomplishment|progress|effort|decision|choice|idea|plan|thing to do)",
            r"good for you",
            r"well done",
            r"(?:great|good|nice) (?:job|work|point|insight)",
            r"you(?:'ve| have) (?:really |already |clearly )?(?:done|made|worked|come|managed"
            r"|accomplished|shown|achieved|taken (?:a|the|some)|put (?:a lot|in|some)|thought"
            r"(?: a lot| hard)? about this|been (?:able|working hard|really trying|very honest"
            r"|very open|so honest|so open))",
            r"you did (?:it|a|well|great|really)",
            r"(?:that|it) (?:took|takes) (?:a lot of |real )?(?:courage|strength|guts|effort)",
            r"you(?:'re| are) (?:being )?(?:really |so |very )?(?:strong|brave|committed"
            r"|determined|resourceful|capable|honest|open|insightful|thoughtful|self-aware"
            r"|dedicated|caring|doing (?:great|well|a good))",
            r"you (?:clearly|obviously|really|genuinely) (?:care|love|want|value|know)",
            r"you care (?:a lot|deeply|so much)",
            r"i can (?:see|tell|hear) (?:how much |that )?you(?:'ve| have|'re| are)? (?:really "
            r"|already )?(?:tried|worked|thought|trying|working|put|been|made|done|committed|care"
            r"|love|want)",
            r"i (?:really )?appreciate (?:you|your|that|how)",
            r"thank(?:s| you) for (?:sharing|telling|being (?:so |this )?(?:open|honest)|opening"
            r"|trusting)",
            r"i(?:'m| am) (?:glad|happy|impressed) (?:you|that|to hear)",
            r"it(?:'s| is) clear (?:that )?you",
            r"(?:that|this) (?:shows|says a lot|speaks to)",
            r"you should be proud",
        ),
        "Affirmation: genuine recognition of the client's strengths, values or efforts. Warmth, "
        "respect, confidence: B1, B3, B2.",
    ),
    Cue(
        "confront",
        (
            r"trust me",
            r"(?:that's|that is|you're|you are) (?:just |being )?(?:wrong|ridiculous|silly"
            r"|nonsense|crazy|stupid|stubborn|unrealistic)",
            r"that's (?:not true|not the point|an excuse|no excuse|not how (?:it|this) works)",
            r"(?:that's|that is) the wrong way",
            r"you(?:'re| are) not listening",
            r"listen to me",
            r"making excuses",
            r"(?:no|stop with the|enough) excuses",
            r"you(?:'re| are) in denial",
            r"calm down",
            r"get over it",
            r"come on,",
            r"let me tell you something",
            r"i(?:'m| am) telling you",
            r"you (?:need|have) to (?:understand|realize|accept)",
            r"you don't understand",
            r"you(?:'re| are) (?:overreacting|exaggerating|kidding yourself|fooling yourself)",
            r"be honest with yourself",
            r"you know (?:better|full well)",
            r"what's there to think about",
            r"the problem is you",
            r"i know (?:what's|what is) best",
            r"you have no choice",
            r"there's no (?:other )?(?:choice|option)",
            r"(?:yes|yeah),? but you",
            r"i don't (?:care|buy)",
            r"that doesn't matter",
            r"i (?:just |already )told you",
            r"i can promise you",
            r"what do you mean,? (?:maybe|no)",
        ),
        "Confronting, dismissing or overriding the client's view (boundary-overstepping). "
        "Against respect, warmth, trust, shared view of the problem, agreed method: "
        "B3, B1, B4, G3, T4.",
    ),
    Cue(
        "moralize",
        (
            r"you (?:ought to be|should (?:be|feel)) ashamed",
            r"shame on you",
            r"(?:that's|that is|it's|it is) (?:so |really |very )?(?:irresponsible|selfish|immoral"
            r"|unacceptable|disgusting)",
            r"you(?:'re| are) (?:being )?(?:irresponsible|selfish|lazy|weak)",
            r"it(?:'s| is) your (?:responsibility|duty|fault)",
            r"take responsibility",
            r"think (?:about|of) your (?:kids|children|family|wife|husband|baby)",
            r"what kind of (?:mother|father|parent|person)",
            r"a (?:good|responsible) (?:mother|father|parent|person) would",
            r"how could you",
        ),
        "Moralizing or shaming (boundary-overstepping). Against respect, warmth, trust: "
        "B3, B1, B4.",
    ),
    Cue(
        "advise",
        (
            # not reported or conditional: "when you have to", "feel like you need to"
            r"you" + _NOT_EMBEDDED + r"(?:'ve| have)?(?: really| just| definitely| absolutely"
            r"| seriously| do| probably)? (?:should|must|need to|have to|ought to|gotta|got to"
            r"|had better|'d better|better)\b(?! (?:be proud|like|feel|think|have (?:been|felt)))"
            + S,
            r"you" + _NOT_EMBEDDED + r"(?:'ve|'d| would)? (?:got to|gotta|have to|need to)\b" + S,
            r"you(?:'re| are) (?:going to|gonna) (?:have|need) to",
            r"i (?:really |strongly |would |'d |just )?(?:want|need|like) you to",
            r"(?:i|we)(?:'d| would)? (?:(?:really|strongly|definitely|actually|just|still|highly"
            r"|also|personally) ){0,2}(?:recommend|suggest|advise"
            r"|encourage you)",
            r"(?:what )?i(?:'d| would) like (?:to recommend|to suggest|you to)",
            r"(?:my|our) (?:advice|recommendation|suggestion)",
            r"the (?:best|only|right) (?:thing|way|option|choice|solution) (?:to do )?(?:is"
            r"|would be)",
            r"the (?:first|next) thing (?:you (?:need|should|have|must)|to do|is to)",
            r"what you (?:need|have|should|must|ought) to do",
            r"here's what (?:you|i want|we(?:'re| are)|we need)",
            r"it's time (?:for you )?to (?:stop|quit|cut|start|get|make|do|change|take|face)",
            r"you(?:'d| would) be (?:better off|wise)",
            r"it(?:'s| is|'d be| would be) (?:really |very )?(?:important|essential|best|better"
            r"|crucial|critical|vital|necessary|a good idea|good) (?:that you|for you to|if you"
            r"|to (?!you\b))",
            r"make sure (?:you|that you|to)\b(?! (?:i|i've|i'm)\b)",
            r"be sure (?:you|to)",
            r"i(?:'m| am) going to (?:have you|ask you to|need you|put you|sign you|refer you"
            r"|give you|prescribe)",
            r"we(?<!what we) (?:need|have|got) to (?:get|start|make|cut|stop|work on|look at|do"
            r"|bring)",
            r"let's (?:get you|start you|put you|make sure|cut|set you|have you)",
            r"you can't (?:keep|continue|go on)",
            r"you(?:'ll| will) (?:need|have) to",
            r"you (?:do not|don't) need (?:a|an|any|that|those|another)\b",
            r"not (?:be )?a bad idea",
            r"a good idea (?:to|if|for you)",
            r"one (?:good |other )?(?:option|thing|idea) (?:would be|is|you could)",
            r"promise me",
            r"i(?:'ll| will) tell you what",
            r"if i were you",
            r"i(?:'d| would) (?:probably |definitely |really )?(?:consider|go with|start with"
            r"|try)\b",
        ),
        "Advice or instruction ('you should / must / need to', 'I want you to', 'I'd recommend', "
        "'the best thing is'). Directive unless asked for or offered with permission and choice; "
        "unasked it is evidence against agreed goals and method: T4, G2, B3.",
    ),
    Cue(
        "persuade",
        (
            r"don't you think (?:you|it|that|this|maybe)",
            r"wouldn't (?:it|you) (?:be|feel) (?:better|nicer|easier|good|great)",
            r"(?:you|you've) (?:have|got) to admit",
            r"surely you",
            r"the (?:fact|truth|reality|bottom line) is",
            r"(?:studies|research|science|the evidence|the research|experts) (?:shows?|says?"
            r"|tells? us|proves?)",
            r"(?:it's|it is) (?:a )?(?:proven|well[- ]known|scientific|a fact)",
            r"you (?:can't|cannot) (?:deny|argue)",
            r"you(?:'ll| will| would|'d) (?:feel|be|look|sleep) (?:so much |a lot |much )?"
            r"(?:better|healthier|happier) (?:if|once|when) you",
            r"if you (?:just|only) [^.!?]{0,40}(?:you'd|you would|you'll|you will)",
            r"isn't it (?:obvious|clear|time)",
            r"think (?:about|of) it this way",
        ),
        "Arguing for change without permission (MI 'persuade'): 'don't you think you should', "
        "'the fact is', 'studies show', 'you'd feel better if you'. Directive unless asked for or "
        "offered with permission; the righting reflex.",
    ),
    Cue(
        "warn",
        (
            r"if you (?:don't|do not|keep|continue|carry on)[^.!?]{0,40}(?:you'll|you will|you're"
            r" going|you are going|it will|it'll|you could|you might|you can|your)",
            r"(?:you're|you are|it's|it is) (?:going to|gonna) (?:kill|die|end up|lose|ruin"
            r"|destroy|hurt|damage|get worse|cause)",
            r"you(?:'re| are) not (?:going to|gonna) be able to",
            r"you(?:'re| are) (?:risking|killing|hurting|damaging|destroying|ruining)",
            r"(?:it's|it is|that's|that is|this is) (?:killing|hurting|damaging|destroying"
            r"|ruining) (?:you|your)",
            r"(?:could|can|will|may|might) (?:kill you|damage|destroy|ruin|cause (?:serious"
            r"|permanent|a lot|damage|problems)|lead to (?:serious|death|problems"
            r"|damage))",
            r"dangerous",
            r"serious (?:consequences|damage|risk|problems)",
            r"(?:at|put you at) (?:high |serious |great )?risk",
            r"unless you",
            r"before it's too late",
            r"or else",
            r"i(?:'m| am) (?:a (?:little )?bit |a little |very |really |quite |so )?(?:concerned"
            r"|worried) about (?:your|you|the|how|this|that)\b",
            r"i(?:'d| would) hate (?:to see|for) you",
        ),
        "Warning of consequences or raising concern without permission (MI 'warn'): persuasion "
        "by threat. Directive unless asked for or offered with permission.",
    ),
    Cue(
        "reflection",
        (
            r"sounds? (?:to me )?(?:like|as (?:if|though))",
            r"it seems (?:like|as if|that|to me)",
            r"(?:it )?strikes me (?:that|as)",
            r"i (?:sense|get a sense|see a sense)",
            r"you seem",
            r"you(?:'re| are) " + _DEGREE + _EXPERIENCE,
            r"you(?<!do you)(?<!did you)(?<!how you) (?:really |just |kind of |sort of |still )?"
            r"feel",
            r"feels? like you(?:'re| are)?\b",
            r"you(?:'ve| have) been (?:feeling|struggling|thinking|trying|worried|working)",
            r"(?:what )?i(?:'m| am) hearing",
            r"(?:what )?i hear you (?:saying|say)",
            r"so you(?:'re| are) saying",
            r"you(?:'re| are) telling me",
            r"in other words",
            r"i get the (?:sense|feeling)",
            r"important to you",
            r"(?:a concern|a worry|a struggle|a priority|a big deal|troublesome|upsetting|worrying"
            r"|painful|frustrating|meaningful|scary|precious) (?:to|for) you",
            r"(?:a )?(?:big|huge|important|large|real) part of (?:your|who you)",
            r"the last thing you(?:'d| would) want",
            r"i(?:'m| am) (?:picking up|guessing|getting (?:a|the) (?:strong |real )?(?:sense"
            r"|feeling))",
            r"i (?:also )?heard (?:that|you)",
            r"(?:it|that|this) (?:really )?matters to you",
            r"it(?:'s| is| has been|'s been) " + _DEGREE + _HARD + " for you",
            # double-sided reflections: both sides of the client's ambivalence
            r"on (?:the )?one hand",
            r"on the other hand,? (?:you|there's|there is|part|it's hard|it's also)",
            r"at the same time,? (?:you|there's|part)",
            r"and yet,? you",
            r"(?:a|one|another|other|the other) part of you",
            r"part of you",
            r"(?:mixed|conflicting) feelings",
            r"(?:in|of) two minds",
            r"torn between",
            r"(?:the way|how) you see (?:it|things|yourself|this)",
            r"in your (?:eyes|mind|view|experience)",
            r"from your (?:point of view|perspective|side)",
            r"(?:a lot|so much) (?:going on|on your (?:plate|mind|shoulders))",
        ),
        "Reflection anywhere in the turn ('it sounds like', 'you're feeling', 'what I'm "
        "hearing', 'on the one hand ... on the other', 'part of you'). See the clause cue of the "
        "same name.",
    ),
    Cue(
        "summary",
        (
            r"you (?:also |just |kind of |already |even )?(?:mentioned|said|told me)",
            r"so far (?:we|you)",
            r"to (?:sum up|summarize|summarise|recap|pull (?:this|it) together)",
            r"let me (?:see if i|make sure i|summarize|summarise|recap)",
            r"if i(?:'ve| have)? (?:got|understand|heard) (?:this|it|you)",
            r"what i(?:'ve| have) heard",
            r"(?:earlier|before) you (?:said|mentioned|talked)",
            r"let me (?:check|see) (?:if|that) i",
        ),
        "Summary or callback to what the client said earlier: G3, T3, G1. Counts as exploring.",
    ),
    Cue(
        "empathy",
        (
            r"that (?:must|must've|must have|sounds|seems|has been|'s been) (?:be |been )?"
            + _DEGREE
            + _HARD,
            r"(?:that's|that is|it's|it is) " + _DEGREE + _HARD + r"\b" + S,
            r"i can (?:imagine|understand|see (?:why|how))",
            r"i(?:'m| am) (?:so |really |very )?sorry (?:to hear|that|you|about|for)",
            r"i hear (?:you|that|how)",
            r"(?:it )?makes (?:a lot of |total )?sense (?:that|why)",
            r"no wonder",
            r"understandabl[ey]",
        ),
        "Empathic statement / reflection of feeling: warmth and respect, understanding: "
        "B1, B3, G3, B4. Counts as exploring.",
    ),
    Cue(
        "understanding",
        (
            r"i can (?:completely |totally |really |definitely |certainly |only |just |fully )?"
            r"(?:imagine|understand|see (?:why|how)|feel (?:your|how|that|the)|sense (?:your|how"
            r"|that)|tell (?:how|that you))",
            r"i (?:completely |totally |really |definitely |fully )?understand (?:how|why|what"
            r"|that|your)",
            r"i can't (?:even )?imagine (?:how|what)",
            r"i can (?:really |definitely )?tell (?:that )?you(?:'re| are| have|'ve| must| really"
            r"| feel| care)\b",
            r"(?:it|that|this) (?:must|can|could|would|might) (?:be|have been|feel) "
            + _DEGREE
            + _HARD
            + r"\b",
        ),
        "Says the counselor understands or can imagine the client's experience ('I can "
        "completely understand how...', 'I can feel how anxious you are'). A bid to take up what "
        "the client feels, but a formula too: counts as exploring for the passive score, with "
        "a little warmth as evidence (B1, B3).",
    ),
    Cue(
        "autonomy",
        (
            r"(?:it's|it is|that's|that is) (?:completely |totally |entirely |really |all )?"
            r"(?:up to you|your (?:choice|decision|call|life))",
            r"(?:you|only you) (?:can |get to |will )?(?:decide|choose)",
            r"you(?:'re| are) the (?:expert|one (?:who|that)|best judge|boss)",
            r"whatever you (?:decide|choose)",
            r"take (?:it|what fits|what works) or leave it",
            r"(?:what|whatever) (?:works|makes sense) (?:best )?for you",
            r"you know yourself",
            r"no pressure",
            r"in your own (?:time|way)",
            r"take your time",
            r"you don't have to",
            r"(?:if|when) you(?:'re| are) ready",
            r"if you (?:decide|choose)",
            r"you(?:'re| are) (?:the one )?in (?:charge|control)",
            r"(?:it's|it is) (?:entirely |completely |totally )?(?:your|yours) to (?:decide"
            r"|choose)",
            r"you know (?:best|what's best|what works)",
            r"(?:no one|nobody) (?:can|is going to|will) (?:make you|decide for you|force you)",
            r"i(?:'m| am) not (?:here |going |gonna |trying )?(?:to )?(?:tell you what|make you"
            r"|force you|lecture|judge|push you)",
            r"i won't (?:tell you what|make you|force you|push you|lecture|judge)",
            r"(?:you can|feel free to) (?:take|leave|ignore|disagree)",
            r"if (?:that|it|this) (?:doesn't|does not|don't) (?:fit|work for you|feel right)",
            r"(?:whatever|what) feels right (?:to|for) you",
            r"(?:your|the) (?:choice|decision) is yours",
        ),
        "Autonomy support: the client decides. Agreement on method and goals, respect: "
        "T4, G2, B3. Also makes a suggestion in the same turn non-directive.",
    ),
    Cue(
        "goal_focus",
        (
            r"(?:your|our|the|a|my) goals?\b",
            r"what (?:would|do) you (?:like|want|hope) (?:to|from|for)",
            r"what (?:are|were) you hoping",
            r"what(?: is|'s)? (?:most )?important to you",
            r"what matters (?:most )?to you",
            r"where (?:would|do) you (?:like|want) to (?:start|begin)",
            r"what (?:brings|brought) you",
            r"what would (?:be different|change|it look like|you like)",
            r"(?:next|first|small) steps?",
            r"(?:a|your|the) plan\b",
            r"work on together",
            r"(?:we|you and i) (?:can|could) work on",
            r"what (?:might|could|will) you do",
            r"how (?:might|could|will) you (?:do|start|go about|handle)",
            r"what are you (?:willing|ready|able) to",
            r"how (?:important|confident|ready) (?:is it|are you)",
            r"on a scale (?:of|from)",
        ),
        "Talks about the aims and the steps of the work together: clear, agreed goals and steps: "
        "G1, G2, T1, T3.",
    ),
    Cue(
        "reassure",
        (
            r"(?:it|everything|things|all)(?:'ll| will| is going to|'s going to| gonna) (?:be"
            r"|work out|turn out|get better)(?: (?:just )?(?:fine|ok|okay|alright|all right|good"
            r"|great))?" + S,
            r"don't worry",
            r"no need to worry",
            r"you(?:'ll| will) be (?:fine|ok|okay|alright|all right)",
            r"(?:it's|it is|that's|that is) (?:totally |completely |perfectly |pretty )?(?:normal"
            r"|natural|not (?:that|so) bad|no big deal|not a big deal)",
            r"everyone (?:feels|goes through|gets)",
            r"(?:happens|it happens) to (?:everyone|everybody)",
            r"cheer up",
            r"look on the bright side",
            r"at least you",
            r"i(?:'m| am) sure (?:it|you|things|everything)(?:'ll| will)",
            r"you(?:'ll| will) get through",
            r"stay positive",
            r"think positive",
            r"try not to (?:worry|think about it)",
            r"it could be worse",
            r"time heals",
            r"(?:these|such) things happen",
            r"it is what it is",
            r"everything happens for a reason",
            r"(?:plenty|other) (?:more )?fish in the sea",
        ),
        "Generic reassurance ('it will be fine'): vague, not personal; a passive reply that does "
        "not explore. Weakly against a shared view of the problem: G3.",
    ),
    Cue(
        "pleasantry",
        (
            r"(?:good|best of) luck",
            r"i (?:really |do )?hope (?:you|that|things|it|everything|this|your)",
            r"i wish you",
            r"(?:you're|you are) (?:very |so |most )?welcome",
            r"take care",
            r"stay safe",
            r"have a (?:good|nice|great|lovely|wonderful|blessed)",
            r"(?:glad|happy) (?:i could|i can|to) help",
            r"(?:thank you|thanks)(?! for (?:sharing|being|telling|trusting|opening))",
            r"you(?:'ve| have)? got this",
            r"you can do (?:it|this)",
            r"(?:that's|that is|that sounds like|sounds like) (?:a |an )?(?:really |very |such a )?"
            r"(?:great|good|wonderful|excellent|awesome|fantastic|nice|smart|brilliant)"
            r"(?: (?:idea|plan|thing|start|step|choice|decision|way))?" + S,
            r"(?:great|good|nice|wonderful|excellent) (?:idea|plan|choice)",
            r"(?:hello|hi|hey|bye|goodbye)",
            r"how are you(?: doing| feeling)?(?: today| tonight| this (?:morning|evening))?\?",
            r"nice (?:to|talking|chatting|meeting)",
            r"(?:i'm|i am) (?:here|always here) (?:for you|to (?:help|listen))",
        ),
        "Courtesy, well-wishing or praise with no content of the client's ('good luck', 'I "
        "hope things get better', 'that's a great idea'): polite, warm in tone, but it takes "
        "nothing up. Passive when that is all the reply does; no construct evidence of its own.",
    ),
    Cue(
        "helps_info",
        (
            r"(?:can|could|might|may|will|would)(?<!i can)(?<!i could) (?:really |also |definitely"
            r" |sometimes )?(?:be (?:very |really |so )?helpful|help (?:you|to|clear|keep|calm"
            r"|with|a lot|reduce|relieve|ease))\b" + S,
        ),
        "Information that names what helps ('taking a deep breath can help', 'a hobby can be "
        "helpful'): a suggestion dressed as information. Leans directive a little (ordering "
        "only); no construct evidence of its own.",
    ),
    Cue(
        "subject_change",
        (
            r"let(?:'s| us) (?:move on|talk about something else|change the subject|get back to"
            r"|go back to|switch)",
            r"getting back to",
            r"(?:i'd|i would|i want to|let me|i need to) (?:also )?(?:like to )?(?:ask (?:you )?"
            r"(?:about|a few|some)|move on|switch)",
        ),
        "Changes the subject (see the clause cue of the same name).",
    ),
    Cue(
        "suggest",
        (
            r"(?:maybe )?you (?:could|might|may) (?:want to |wanna )?(?:try|consider|think about"
            r"|start|cut|look into|talk to|get|take|use|switch|stop|avoid|join|call)" + S,
            r"it (?:helps|works (?:well|best)) (?:if|when) (?:you|they|people)",
            r"i hope you(?:'ll| will)",
            r"(?:really )?needs to (?:change|stop|happen)",
            r"needs? to be (?:worked on|changed|done|addressed|dealt with|looked at|tweaked)",
            r"why (?:don't you|not (?:try|just))(?! (?:start by )?(?:tell|share|say))",
            r"how about (?:trying|doing|cutting|taking|using)",
            r"what about (?:trying|if you)",
            r"(?:it|that) (?:might|may|could|would) (?:help|be (?:good|helpful|useful|worth)) "
            r"(?:to|if you|for you to)",
            r"have you (?:ever |already )?(?:considered|tried|thought (?:about|of)|looked into"
            r"|checked (?:with|into|out)|reached out|looked at|asked (?:for|about))",
            # suggestions asked as questions: "What about a food bank?", "Is there anyone you
            # could ask?", "Would you be open to trying it?", "Could you try ...?"
            r"what about (?:a|an|the|some|trying|if you|talking|going|getting|joining|asking"
            r"|doing|taking|making|reaching|looking|finding|using|writing|calling|seeing)\b",
            r"(?:is there|are there) (?:anywhere|anyone|someone|somebody|any (?:way|place|one"
            r"|groups?|resources?|programs?|services?|organi[sz]ations?))\b[^.!?]{0,40}?"
            r"\b(?:you|who|which|where) (?:could|can|might)",
            r"would you be (?:open|able|willing) to (?:try|trying|go|talk|see|join|reach|ask"
            r"|look|get|take|visit|speak|contact|call|consider|find|start|apply)",
            r"(?:can|could) you (?:try|ask (?:for|them|him|her|your)|reach out|adjust|join|apply"
            r"|look into|speak to|talk to (?:a|an|your|someone|them|him|her))",
            r"do you think (?:it would help|it might help|you could|you can|maybe)",
            # self-disclosure as advice: "one thing that helped me was ..."
            r"(?:one |a |another )?(?:thing|strategy|tip|trick|technique|method|something) that"
            r" (?:has |really |always )?(?:helped|helps|worked (?:for|well for)|works for) me",
            r"what (?:helped|helps|has helped|worked for) me",
            r"i(?:'ve| have)? (?:also )?(?:find|found) (?:that |it )?[^.!?]{0,60}"
            r"\bhelp(?:s|ed|ful)?",
            r"what i(?:'ve| have)? found (?:that )?(?:helps|helped|works|worked)",
            r"it (?:always |really )?helps? me (?:to|when)",
            r"how about (?!you\b|that\b|it\b|now\b|this\b)",
            r"is it possible (?:for you )?to",
            r"is there (?:any|a|an) (?:possibility|option|chance|way)\b",
            r"(?:who|that) (?:you )?(?:can|could) (?:talk to|help you|confide in|lean on|turn to"
            r"|support you|reach out to)",
            r"(?:some |many |most |other )?(?:people|others) (?:in your (?:situation|position) )?"
            r"(?:find|found|say) (?:it )?(?:helpful|comforting|useful)",
            r"have you (?:ever |already )?(?:talked|spoken|discussed) (?:to|with|this|it)",
            # hedged suggestions, also as a question ("Maybe you need more time to relax?")
            r"(?:maybe|perhaps) you (?:could|can|might|should|need to|may want|want to)",
            r"(?:maybe|perhaps) (?:try|trying|consider|it would help|it might help)",
            r"(?:maybe|perhaps),? (?:you )?(?:could |can |should )?(?:just )?(?:take|seek|get|go"
            r"|talk|reach|ask|look|find|join|call|write|make|start|give|use|set|spend|do|see)\b"
            + S,
            r"you can (?:also |always |just )?(?:try|consider|look into|reach out|join|search"
            r"|check out|go|ask|talk to|call|contact|use|apply|google|practice|start)\b" + S,
            r"you (?:two|both|guys|all|may just|might just|just) (?:need|have) to\b" + S,
            r"another (?:option|suggestion|idea|thing you (?:could|can|might))\b",
            r"i (?:would|'d) (?:suggest|try)",
            r"it (?:might|may|could|would) be (?:a )?(?:good idea|best|wise|worth)",
        ),
        "Softer suggestion. Directive to a lesser degree when unasked: T4, G2.",
    ),
)

# --- client ------------------------------------------------------------------------------------

CLIENT_START: tuple[Cue, ...] = (
    Cue(
        "decline",
        (
            r"no",
            r"nope",
            r"nah",
            r"not really",
            r"i'd rather not",
            r"i don't think so",
            r"not (?:right )?now",
        ),
        "Declines an offer or suggestion (at the start of the reply). Context only: permission "
        "not given; advice that follows is pushing on.",
    ),
    Cue(
        "assent",
        (
            r"yeah",
            r"yes",
            r"yep",
            r"yup",
            r"right",
            r"mm+[- ]?hmm+",
            r"uh[- ]?huh",
            r"true",
            r"sure",
            r"definitely",
        ),
        "Plain assent (at the start of the reply). Context only: after a reflection or summary "
        "it confirms it.",
    ),
)

CLIENT_PHRASES: tuple[Cue, ...] = (
    Cue(
        "discord",
        (
            r"you (?:don't|do not|can't|never) (?:get it|understand|listen|know what|care)",
            r"you(?:'re| are) not (?:listening|hearing|getting it|helping)",
            r"(?:stop|quit) (?:telling|lecturing|preaching|judging|nagging|pushing)",
            r"that's not what i (?:said|meant)",
            r"you sound like my",
            r"i didn't come here (?:to|for)",
            r"leave me alone",
            r"easy for you to say",
            r"(?:why|what) (?:are|do) you (?:keep )?(?:asking|care)",
            r"this (?:isn't|is not|doesn't) help",
            r"i(?:'m| am) not sure (?:this|that|you|it)(?:'s| is) (?:helping|working|going to"
            r" help)",
            r"this is (?:pointless|useless|a waste)",
            r"(?:you're|you are) (?:wrong|judging|lecturing)",
            r"who are you to",
            r"(?:none of|mind) your (?:own )?business",
            r"i don't need (?:a|your) (?:lecture|advice)",
            r"whatever you say",
            r"you(?:'re| are|'ve got to| have to| must) (?:be )?(?:joking|kidding)",
            r"are you (?:joking|kidding|serious)",
        ),
        "Discord with the counselor ('you don't get it', 'stop lecturing me'). Against confidence "
        "in the counselor, trust, respect, usefulness of the work: B2, B4, B3, T2, T4, G3.",
    ),
    Cue(
        "confusion",
        (
            r"(?:i don't|i do not|i'm not sure i) (?:know|understand|see) (?:why i'm here|what "
            r"(?:we're|we are|this is|you want|the point)|how (?:this|talking) (?:helps|is going"
            r" to|will))",
            r"what(?:'s| is) the point of (?:this|talking|these|coming)",
            r"why are we (?:talking|doing)",
            r"what are we (?:doing|supposed to)",
            r"i (?:was|got) (?:sent|made to come)",
            r"i don't (?:need|want) to be here",
            r"(?:made|sent|forced) me (?:to )?(?:come|here)",
        ),
        "Doubt or confusion about the aims of the counseling (reverse of G1). Against G1, G2, T2.",
    ),
    Cue(
        "asks_advice",
        (
            r"what (?:should|can|could|do) i do",
            r"what (?:do|would) you (?:suggest|recommend|advise|think i should|do)",
            r"(?:any|some|got any) (?:advice|suggestions|ideas|tips)",
            r"(?:can|could) you (?:help me|tell me (?:what|how)|give me|suggest)",
            r"how (?:do|can|should|could) i (?:stop|cut|quit|get|deal|cope|handle|make|start|do"
            r"|manage|change|tell|talk)",
            r"what are (?:my|the|some) options",
            r"(?:tell|show) me (?:what|how) to",
            r"i (?:need|want|would like|'d like) (?:some |your )?(?:advice|help|suggestions|ideas)",
            r"is there (?:anything|something) (?:i|you) (?:can|could)",
            r"where do i (?:start|begin)",
        ),
        "Asks for advice or help: confidence in the counselor (B2), wants this work (T2). Makes a "
        "following suggestion non-directive.",
    ),
    Cue(
        "commitment",
        (
            r"i(?:'m| am) (?:going to|gonna|planning to|ready to|committed to|determined to)",
            r"i(?:'ll| will) (?:try|start|cut|stop|quit|do|make|call|talk|get|give|go(?! now| home"
            r"| then)|work|keep|set)",
            r"i(?:'ve| have) (?:decided|already started|started to|already cut|already stopped)",
            r"my (?:goal|plan) (?:is|will be)",
            r"i can do (?:that|it|this)",
            r"let's do (?:it|that)",
            r"that (?:might|could|would) work",
            r"(?:sounds|that's) like a (?:good |great )?plan",
        ),
        "Commitment / taking steps ('I'm going to', 'I'll try'): agreed steps and change: T1, G4, "
        "T4.",
    ),
    Cue(
        "change_talk",
        (
            r"i (?:really |do |definitely |kind of |sort of |just )?(?:want|wanna|'d like"
            r"|would like|wish|hope) to",
            r"i (?:could|can) (?:try|start|cut|stop|quit|change|make|talk|probably|maybe"
            r"|definitely)",
            r"i need to (?:stop|cut|quit|change|do|get|start|make|lose|take|be|work|find)",
            r"i (?:should|ought to|gotta) (?:probably |really )?(?:stop|cut|quit|change|start|try"
            r"|do|get|take|be|make)",
            r"(?:it|that) (?:would|could|might) (?:be (?:good|better|nice|great)|help)",
            r"i don't want to (?:keep|end up|be|die|lose|go back|feel|have)",
            r"(?:maybe|probably) i (?:should|could|need)",
            r"i(?:'m| am) (?:tired of|sick of)",
            r"i(?:'d| would) be (?:willing|open|happy) to",
            r"i(?:'m| am) (?:ready|willing|thinking about)",
        ),
        "Change talk (desire, ability, reasons, need): shared sense of what change would be good: "
        "G4, G1, T3.",
    ),
    Cue(
        "sustain",
        (
            r"i (?:can't|cannot|couldn't) (?:do|stop(?! (?:thinking|crying|worrying|feeling))|quit"
            r"|change|give|see|imagine)",
            r"i don't (?:think|believe) (?:i|it|that|this) (?:is|will|can|need|would|'s)",
            r"i don't (?:want|need) to (?:stop|quit|change|cut|do (?:that|this|it)|try (?:that"
            r"|it))",
            r"i(?:'m| am) not (?:doing|going to do|gonna do) (?:that|it|this)",
            r"i don't have (?:a|any) problem",
            r"(?:it's|it is|that's|that is) not (?:a|that|really a|such a|really that) (?:big|bad"
            r"|problem|issue|deal)",
            r"i(?:'m| am) (?:fine|not ready|not going to|not gonna)",
            r"i (?:like|enjoy|love) (?:it|doing it|the way)",
            r"it helps me",
            r"(?:everyone|everybody) (?:does (?:it|that)|else does|i know does)",
            r"i(?:'ve| have) (?:already )?tried (?:that|everything|it)",
            r"(?:that|it) (?:won't|wouldn't|doesn't|didn't|isn't going to|never) (?:work|help)",
            r"(?:yes|yeah),? but",
            r"no way",
            r"i don't see (?:the|why|how)",
            r"i(?:'m| am) not (?:an addict|addicted|that bad)",
            r"i don't (?:have|get) (?:the )?time",
        ),
        "Sustain talk / resistance to change ('I can't', 'that won't work', 'yes but'). Against "
        "an agreed view of change and steps: G4, T1, T4 (more so right after advice).",
    ),
    Cue(
        "confirm",
        (
            r"exactly",
            r"that's (?:right|it|true|exactly|so true|correct)",
            r"you(?:'re| are) (?:right|so right|absolutely right)",
            r"precisely",
            r"absolutely",
        ),
        "Confirms the counselor got it ('exactly', 'that's right'): shared view of the problem and "
        "of what matters: G3, T3, B2.",
    ),
    Cue(
        "gratitude",
        (
            r"thank(?:s| you)",
            r"(?:that|this|it|you)(?:'s| is| was| were| has been)? (?:really |very |so )?"
            r"(?:helps?|helped|helpful|useful)",
            r"i appreciate",
            r"(?:good|great) (?:idea|point|question)",
            r"(?:that|it) makes (?:a lot of |total )?sense",
            r"i feel (?:a (?:little |bit )?)?better",
            r"i(?:'m| am) glad (?:i came|we talked|i talked)",
        ),
        "Gratitude or appreciation ('thank you, that helps'): warmth and confidence in the "
        "counselor, useful work: B1, B2, T2.",
    ),
    Cue(
        "disclosure",
        (
            r"i (?:just |really |still |sometimes |always |kind of |often )?(?:feel|felt"
            r"|am feeling|'m feeling|'ve been feeling)",
            r"i(?:'m| am| was|'ve been| have been| get| got) (?:so |really |very |pretty |kind of "
            r"|just |a little |a bit |feeling |always |constantly )?" + _FEELINGS,
            r"(?:it|this|that|everything)(?:'s| is| has been| was) (?:so |really |very )?"
            r"(?:hard|difficult|painful|scary|awful|terrible|overwhelming)",
            r"i (?:cried|cry|hate myself)",
            r"i (?:can't|cannot) stop (?:thinking|crying|worrying|feeling)",
            r"i(?:'ve| have) never told",
            r"to be honest",
            r"i(?:'m| am) being honest",
            r"honestly,",
            r"the truth is",
            r"i miss (?:him|her|them|my)",
            r"i don't know what to do",
            r"i can't (?:cope|take it|handle|sleep)",
        ),
        "Emotional or personal disclosure: the client trusts the counselor (B4). The counselor's "
        "next reply should explore it.",
    ),
)

#: A whole counselor message that is only minimal encouragers ("ok", "I see", "mm-hmm"), up to
#: `SHORT_CHARS` long. Atomic groups and possessive runs: no backtracking, whatever the input.
SHORT_CHARS = 60
MINIMAL_RE = re.compile(
    r"(?>(?:ok(?:ay)?|i see|m++[- ]?h++m++|m{2,}+|uh[- ]?huh|(?<!h)h++m++|right|yeah|yes|yep"
    r"|sure|got it|alright|all right|i understand|understood|fine|good|great|cool|oh|ah|wow"
    r"|really|true|and|so|um|uh|i hear you|gotcha|no|nope)[\s.,!?…\-]*)++"
)
#: A whole client message that withdraws ("whatever", "I don't know", "I guess").
WITHDRAWAL_RE = re.compile(
    r"(?:(?:i )?(?:don't|dunno|do not) know|idk|whatever|i guess(?: so)?|dunno|doesn't matter"
    r"|it doesn't matter|i don't care|if you say so|meh|fine|nothing|no idea|not sure)"
    r"(?:[\s.,!?…\-]+(?:i guess|whatever))?[\s.,!?…\-]*"
)

#: Words for the restatement check (`_embedded._echoes`): a simple reflection reuses the client's
#: content words. A word's stem drops one ending (-ing, -ed, -es, -s, -e) and keeps 5 letters:
#: "smoking", "smokes", "smoke" -> "smok". Function words and fillers do not count as reuse.
STEM_RE = re.compile(r"(?<![a-z'])([a-z]{3,}?)(?:ing|ed|es|s|e)?(?![a-z'])")
_FUNCTION_WORDS = (
    "that this there these those then than them they their what when where which while with"
    " would could should about have been being from into just like really some more much very"
    " also well yeah okay know think because cause going gonna want your yours mean things"
    " thing kind sort stuff right sure does doing didn dont done make made said says say"
    " time times other maybe even still always never only over here will shall might must"
    " need feel felt tell told mhmm hmmm alright you yes not and the for but are was all any"
    " can get got had has her him his how its let lot now off one our out own see she who why"
    " yet too did way use"
)
FUNCTION_STEMS = frozenset(m[:5] for m in STEM_RE.findall(_FUNCTION_WORDS))

#: Cues derived by `_embedded.py` from a message in the context of the client turn before it.
CONTEXT_CUES: dict[str, str] = {
    "minimal": "a counselor message made only of minimal encouragers ('ok', 'I see')",
    "after_disclosure": "the counselor reply follows an emotional disclosure",
    "asked_for": "the counselor reply follows a client request for advice",
    "after_permission": "the counselor reply follows permission the client gave",
    "advice_unasked": "advice, suggestion, command or warning nobody asked for, without "
    "permission or choice (scaled by its directive weight)",
    "advice_offered": "advice after the client asked, or offered with permission / choice",
    "pushing_on": "advice right after the client declined or resisted",
    "passive_reply": "a flagged passive reply (minimal, generic or off-topic, not exploring)",
    "resists_advice": "client sustain talk, discord or a 'no' right after a directive turn",
    "confirms_reflection": "client assents ('yeah', 'right') right after a reflection/summary",
    "agrees": "client assents right after another counselor statement (not a question)",
    "complies": "client commitment or change talk right after unasked advice: compliance, "
    "weaker than change the client voices on their own",
    "elaboration": "client reply of 20 words or more",
    "short_reply": "client reply of one or two words right after an open question",
    "withdrawal": "client reply that is only 'whatever', 'I don't know', 'I guess'...",
    "rupture_withdrawal": "a withdrawal rupture marker (`_rupture.py`): vague agreement to "
    "directive advice, a reply that shrank after an open question, deflection",
    "rupture_confrontation": "a confrontation rupture marker (`_rupture.py`): the client "
    "rejects the counselor's framing or complains about the help",
    "repair": "a counselor repair move (`_rupture.py`): acknowledging the strain, checking how "
    "the conversation is going, changing course",
    "repaired_rupture": "a rupture the counselor's reply repaired and the client took up",
    "overstepping": "a directive counselor message that oversteps at any stage (`_rupture.py`): "
    "pushing on after a no, warning, persuading, moralizing, dismissing the client's view",
    "reflection_model": "the learned model reads a counselor statement as a reflection the "
    "lexicon did not name (scaled by its probability; simple ones count half)",
    "telling_model": "the learned model reads a counselor statement as information or advice "
    "given without permission, choice or the client asking (scaled by its probability)",
}

# --- cue -> construct evidence -----------------------------------------------------------------

#: Evidence points each cue contributes to each construct (+ for, - against). Dimension of each
#: construct: G = Goal, T = Task (approach), B = Bond; see domain.md for the twelve statements.
#: The alliance is a relationship, so what the client does in reply weighs as much as the
#: counselor's move: a question is a bid (small weights; the client's elaboration is the
#: evidence), a reflection shows understanding (more), and the client confirming it more again.
# fmt: off
EVIDENCE: dict[str, dict[str, float]] = {
    # counselor: exploring and collaborative moves
    "open_question":       {"G3": 0.2, "T2": 0.2, "B3": 0.1},
    "invite":              {"G3": 0.3, "T2": 0.3, "B3": 0.2},
    "reflection":          {"G3": 0.6, "T3": 0.3, "B3": 0.3, "B1": 0.2},
    "restatement":         {"G3": 0.4, "B3": 0.1},
    "summary":             {"G3": 0.4, "T3": 0.3, "G1": 0.2},
    "empathy":             {"B1": 0.5, "B3": 0.4, "G3": 0.2, "B4": 0.2},
    "understanding":       {"B1": 0.2, "B3": 0.2},
    "affirmation":         {"B1": 0.4, "B3": 0.5, "B2": 0.1},
    "elicit_view":         {"T4": 0.4, "G2": 0.3, "B3": 0.2},
    "permission":          {"T4": 0.5, "B3": 0.4, "B4": 0.2},
    "autonomy":            {"T4": 0.5, "G2": 0.4, "B3": 0.3},
    "goal_focus":          {"G1": 0.5, "G2": 0.3, "T1": 0.3, "T3": 0.2},
    "advice_offered":      {"T1": 0.3, "T4": 0.1},
    # counselor: boundary-overstepping and passive moves
    "advice_unasked":      {"T4": -0.5, "G2": -0.4, "B3": -0.3, "T3": -0.2, "T1": -0.1},
    "pushing_on":          {"T4": -0.6, "G2": -0.5, "T1": -0.3, "B3": -0.3},
    "confront":            {"B3": -0.8, "B1": -0.6, "B4": -0.5, "G3": -0.5, "T4": -0.4},
    "moralize":            {"B3": -0.7, "B1": -0.4, "B4": -0.3, "T4": -0.3},
    "passive_reply":       {"G3": -0.3, "T2": -0.3, "B3": -0.3, "B1": -0.2, "B4": -0.2},
    "reassure":            {"G3": -0.3, "B3": -0.1},
    "pleasantry":          {},
    "helps_info":          {},
    "subject_change":      {"T3": -0.3, "G3": -0.2, "T2": -0.1},
    # client: effect on the relationship
    "commitment":          {"T1": 0.6, "G4": 0.3, "T4": 0.2},
    "change_talk":         {"G4": 0.5, "G1": 0.3, "T3": 0.2},
    "sustain":             {"G4": -0.3, "T1": -0.2, "T4": -0.1},
    "resists_advice":      {"T4": -0.5, "T1": -0.4, "G2": -0.4, "B3": -0.1},
    "discord":             {"B2": -0.7, "B4": -0.6, "B3": -0.6, "T2": -0.5, "T4": -0.5,
                            "G3": -0.4},
    "confusion":           {"G1": -0.6, "G2": -0.3, "T2": -0.4},
    "confirm":             {"G3": 0.6, "T3": 0.3, "B2": 0.2},
    "confirms_reflection": {"G3": 0.4, "T3": 0.2, "B2": 0.1},
    "agrees":              {"T3": 0.2, "G2": 0.1},
    "complies":            {"T1": 0.2},
    "gratitude":           {"B1": 0.6, "B2": 0.6, "T2": 0.3},
    "disclosure":          {"B4": 0.4, "B1": 0.1, "G3": 0.1},
    "asks_advice":         {"B2": 0.3, "T2": 0.2, "T1": 0.1},
    "elaboration":         {"T2": 0.3, "B4": 0.3, "G3": 0.1},
    "short_reply":         {"T2": -0.2, "B4": -0.1},
    "withdrawal":          {"T2": -0.4, "B4": -0.4, "B1": -0.2, "G1": -0.1},
    # ruptures and repair (`_rupture.py`): markers without evidence of their own above
    "rupture_withdrawal":  {"T2": -0.4, "B4": -0.3, "B1": -0.2, "T4": -0.1},
    "rupture_confrontation": {"G3": -0.4, "T4": -0.4, "B3": -0.4, "B2": -0.3, "T2": -0.3},
    "repair":              {"T2": 0.2, "B3": 0.2, "T4": 0.1},
    "overstepping":        {"T4": -0.4, "G2": -0.3, "B3": -0.3, "B4": -0.2},
    # the markers themselves: their evidence comes through the rupture cues above, once
    # `_rupture` has read them in context
    "deflection": {}, "rejects": {}, "yes_but": {}, "closing": {}, "dismissing": {},
    "repaired_rupture":    {"B4": 0.4, "B1": 0.3, "T2": 0.3, "B3": 0.2},
    # the learned model, where the lexicon found nothing (scaled by the model's probability)
    "reflection_model":    {"G3": 0.5, "T3": 0.3, "B3": 0.3, "B1": 0.2},
    "telling_model":       {"T4": -0.9, "G2": -0.6, "B3": -0.3},
    # pattern or context only: no construct evidence of their own
    "closed_question": {}, "imperative": {}, "advise": {}, "suggest": {}, "warn": {},
    "persuade": {},
    "minimal": {}, "after_disclosure": {}, "asked_for": {}, "after_permission": {},
    "decline": {}, "assent": {},
}
# fmt: on


# --- compilation -------------------------------------------------------------------------------

_FIRST_WORD = re.compile(r"[a-z']+")
_LEAD_GROUP = re.compile(r"\(\?:([a-z' |]+)\)(\??)")


def _expand(phrase: str) -> list[str]:
    """Spell out a leading group of plain words: "(?:it|that) sounds" -> "it sounds", ...

    The trie dispatches on a phrase's first word, so a phrase must start with one.
    """
    m = _LEAD_GROUP.match(phrase)
    if m is None:
        return [phrase]
    rest = phrase[m.end() :]
    options = [alt + rest for alt in m.group(1).split("|")]
    if m.group(2):
        options.append(rest)
    return [e for o in options for e in _expand(o)]


#: Start of a sentence or clause, then up to four spoken/typed lead-ins ("okay, so, um, ...").
#: A dash starts a clause only as a break ("well -- so", "-and then"), not inside "to-do". The
#: text is searched with ". " in front, so the message start is a clause start too; starting
#: with punctuation lets the regex engine skip quickly to the places worth trying.
_CLAUSE_START = (
    r"(?:[.!?,;:—–…]|-(?<=[\s.-]-))\s*"
    r"(?:(?:so|and|now|well|um|uh|okay|ok|then|but|just|please|right|yeah|mm-hmm|alright"
    r"|i mean|you know|i think)[,.]? +){0,4}"
)


#: An opening parenthesis that starts a capturing group (not escaped, not "(?").
_CAPTURING = re.compile(r"(?<!\\)\((?!\?)")


class _Tail(NamedTuple):
    """A word list of one cue, written once at the end of the expression (see `_word_list_tail`)."""

    name: str
    expression: str


def _word_list_tail(trie: dict[str, dict[str, list[tuple[str, str]]]]) -> _Tail | None:
    """Take the words of a `_each(..., after_comma=False)` list out of `trie` into one branch.

    Such a list gives each word the phrase `word(?<!, word)SUFFIX` with one long SUFFIX (the
    imperative: 62 words, about 400 characters each). Spelled out, the suffix is most of what
    `re` has to parse and compile. Written once instead, as `(?<!, )(?:s(?:top|tart)|...)SUFFIX`,
    the expression matches exactly as before, because:

    * `(?<!, word)` right after `word` asks what `(?<!, )` asks right before it: the two
      characters before the word are not ", ";
    * only words that end their first character's branch are moved (a word some earlier cue
      also starts keeps its place), and every alternative starts with its literal first
      character, so at any position the alternatives that can match are tried in the same order;
    * `(?:a|b)SUFFIX` tries `aSUFFIX` and then `bSUFFIX`, as `aSUFFIX|bSUFFIX` does.

    Mutates `trie` (the moved words leave it); returns None when no word qualifies.
    """
    key: tuple[str, str] | None = None
    moved: dict[str, list[str]] = {}
    for first, by_word in trie.items():
        words = list(by_word)
        while words:
            word = words[-1]
            rests = by_word[word]
            lead = f"(?<!, {word})"
            if len(rests) != 1 or not rests[0][0].startswith(lead):
                break
            this = (rests[0][0][len(lead) :], rests[0][1])
            if key is None:
                key = this
            elif this != key:
                break
            moved.setdefault(first, []).insert(0, word)
            words.pop()
        for word in moved.get(first, ()):
            del by_word[word]
    if key is None:
        return None
    suffix, name = key
    groups = "|".join(
        f"{re.escape(first)}(?:{'|'.join(re.escape(w[1:]) for w in words)})"
        for first, words in moved.items()
    )
    return _Tail(name, f"(?<!, )(?:{groups}){suffix}(?![\\w'])()")


class CueMatcher:
    """One compiled expression for a group of cues; `find(text)` returns the cue names found.

    The expression is built and compiled on first use (not at import: `import alliance_monitor`
    stays cheap for code that never scores with the embedded scorer).
    """

    __slots__ = ("_clause", "_cues", "_lead", "_names", "_regex")

    def __init__(self, cues: tuple[Cue, ...], *, clause: bool = False) -> None:
        self._cues = cues
        self._clause = clause
        self._regex: re.Pattern[str] | None = None
        self._names: tuple[str | None, ...] = ()
        self._lead = ". " if clause else ""

    def compile(self) -> re.Pattern[str]:
        """Build the expression (once); raises ValueError for a malformed phrase."""
        if self._regex is not None:
            return self._regex
        cues, clause = self._cues, self._clause
        # first char -> first word -> [(rest of phrase, cue name)], in the order listed
        trie: dict[str, dict[str, list[tuple[str, str]]]] = {}
        for cue in cues:
            for phrase in (e for p in cue.phrases for e in _expand(p)):
                if _CAPTURING.search(phrase):
                    raise ValueError(f"capturing group in {cue.name!r}: {phrase!r}")
                head = _FIRST_WORD.match(phrase)
                if head is None:
                    raise ValueError(f"{cue.name!r} phrase must start with a word: {phrase!r}")
                word, rest = head.group(), phrase[head.end() :]
                if rest[:1] in ("?", "*", "+", "{", "["):  # "sounds?": dispatch on "sound"
                    word, rest = word[:-1], word[-1] + rest
                trie.setdefault(word[0], {}).setdefault(word, []).append((rest, cue.name))
        tail = _word_list_tail(trie)
        # An empty group closes each phrase: `lastindex` says which phrase matched.
        names: list[str | None] = [None]
        branches = []
        for first, by_word in trie.items():
            words = []
            for word, rests in by_word.items():
                alts = []
                for rest, name in rests:
                    alts.append(f"{rest}(?![\\w'])()")
                    names.append(name)
                words.append(f"{re.escape(word[1:])}(?:{'|'.join(alts)})")
            if words:
                branches.append(f"{re.escape(first)}(?:{'|'.join(words)})")
        if tail is not None:
            branches.append(tail.expression)
            names.append(tail.name)
        prefix = _CLAUSE_START if clause else r"(?<![\w'])"
        self._names = tuple(names)
        self._regex = re.compile(f"{prefix}(?:{'|'.join(branches)})")
        return self._regex

    def find(self, text: str, found: dict[str, None]) -> None:
        """Add the names of the cues found in `text` to `found`, in order of appearance."""
        regex = self._regex or self.compile()
        names = self._names
        for m in regex.finditer(self._lead + text):
            found[names[m.lastindex or 0] or ""] = None

    def match_start(self, text: str, found: dict[str, None]) -> None:
        """Like `find`, but only a cue at the very start of `text`."""
        m = (self._regex or self.compile()).match(self._lead + text)
        if m is not None:
            found[self._names[m.lastindex or 0] or ""] = None


COUNSELOR_CLAUSE_MATCHER = CueMatcher(COUNSELOR_CLAUSE, clause=True)
COUNSELOR_PHRASE_MATCHER = CueMatcher(COUNSELOR_PHRASES)
CLIENT_START_MATCHER = CueMatcher(CLIENT_START, clause=True)
CLIENT_PHRASE_MATCHER = CueMatcher(CLIENT_PHRASES)

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
#: What NFKC does to the full-width forms of ASCII (！ to ～) and to the ideographic space: the
#: punctuation of Chinese input, folded without NFKC's full pass.
_FULL_WIDTH = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)} | {0x3000: " "}
#: Full-width forms, straight quotes and Simplified characters in one `str.translate` pass.
_FOLD = {**TRADITIONAL, **_FULL_WIDTH, **_QUOTES}


def normalize(text: str) -> str:
    """Lowercase, NFKC-normalise, straighten apostrophes and write Traditional Chinese in
    Simplified characters (ASCII text skips the Unicode work).

    The result is that of NFKC followed by the folds, computed faster: the folds (which include
    NFKC's own mapping of full-width punctuation) go first, and the full NFKC pass runs only
    when something is left for it to change (`unicodedata.is_normalized`), which Chinese chat
    rarely has. A test checks both ways agree.
    """
    if text.isascii():
        return text.lower()
    out = to_simplified(text, _FOLD)
    if not unicodedata.is_normalized("NFKC", out):
        out = to_simplified(unicodedata.normalize("NFKC", out), _FOLD)
    return out.lower()
