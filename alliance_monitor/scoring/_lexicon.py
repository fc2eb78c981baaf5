"""Cue lexicons of the embedded scorer, and the table that maps cues to the twelve constructs.

Everything a clinician may want to read or change is in this file:

* `COUNSELOR_FORM`, `COUNSELOR_MOVES` and `CLIENT_CUES` list the cues, one `Cue` each: a short
  name, the regular expression that finds it, and what it means clinically. The expressions run on
  lowercased, NFKC-normalised text with typographic apostrophes made plain (see `normalize`).
* `EVIDENCE` says which cue is evidence for (+) or against (-) which construct of domain.md
  (G1-G4 Goal, T1-T4 Task, B1-B4 Bond), in "evidence points": about 1.0 is one clear, strong
  piece of evidence; 0.3 is a hint. Some keys are *context cues* that `_embedded.py` derives from a
  message and the client turn before it (advice nobody asked for, a minimal reply right after an
  emotional disclosure...); they are listed in `CONTEXT_CUES`.

The lexicons are built from counseling-skill knowledge (Motivational Interviewing: open
questions, reflections, affirmations, asking permission, supporting autonomy, versus advising
without permission, confronting, directing, warning) and the two counselor patterns of domain.md
(passive response, boundary-overstepping). They were not mined from the calibration data.

Each pattern is a *trigger*: it matches a short phrase and looks ahead (without consuming) for
context such as "this sentence ends with a question mark", so one pass of `finditer` over a
message finds every cue in it. All patterns are joined into one compiled expression per group at
import time.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = [
    "CLIENT_CUES",
    "CLIENT_RE",
    "CONTEXT_CUES",
    "COUNSELOR_FORM",
    "COUNSELOR_FORM_RE",
    "COUNSELOR_MOVES",
    "COUNSELOR_MOVES_RE",
    "EVIDENCE",
    "MINIMAL_RE",
    "WITHDRAWAL_RE",
    "Cue",
    "normalize",
]


class Cue(NamedTuple):
    """One lexicon entry: `name` (a regex group name), `pattern`, and its clinical meaning."""

    name: str
    pattern: str
    meaning: str


# --- shared fragments --------------------------------------------------------------------------

#: Start of a sentence or clause, allowing spoken/typed lead-ins ("so, um, what ...").
_START = r"(?:^|(?<=[.!?;:,\-] )|(?<=[.!?;:,\-]))(?:(?:so|and|now|well|um|uh|okay|ok|then|but|just|please)[,]? )*"
#: The rest of the sentence is a question (ends with "?").
_IN_QUESTION = r"(?=[^.!?]*\?)"
#: The rest of the sentence is a statement (ends with "." / "!" / end of text, or a tag "..., ok?").
_IN_STATEMENT = r"(?=[^.!?]*(?:[.!]|$|,? (?:ok|okay|right|alright)\?))"
_BE = r"(?:'re| are)"
_FEEL = (
    r"(?:scared|afraid|terrified|worried|anxious|nervous|sad|depressed|down|lonely|alone|angry|mad"
    r"|furious|ashamed|embarrassed|guilty|hopeless|helpless|overwhelmed|stressed|hurt|upset"
    r"|frustrated|exhausted|miserable|lost|stuck|confused|desperate|heartbroken|devastated"
    r"|worthless|numb|torn|unsure|discouraged|disappointed)"
)
_DIFFICULT_WORDS = (
    r"hard|difficult|tough|painful|frustrating|scary|upsetting|overwhelming|exhausting"
    r"|stressful|lonely|awful|rough|confusing|heartbreaking"
)
_DIFFICULT = f"(?:{_DIFFICULT_WORDS})"

# --- counselor: the form of the turn (exploring or not) ----------------------------------------

COUNSELOR_FORM: tuple[Cue, ...] = (
    Cue(
        "permission",
        r"(?:is it|would it be|would that be|will it be) (?:ok|okay|alright|all right|fine)"
        r"(?: with you)? (?:if|for me|to)"
        r"|(?:would|do) you mind if"
        r"|(?:can|could|may|might) i (?:share|tell you|offer|give you|make a|suggest|mention|add"
        r"|go over|show you|ask you)"
        r"|would you (?:like|want) (?:me to|to hear|some|more|to know|to talk|information)"
        r"|do you want (?:me to|to hear|some|to know)"
        r"|would it (?:help|be helpful|be useful) (?:if|to)"
        r"|(?:would|are) you (?:be )?(?:interested|open|willing) (?:in|to)"
        r"|if (?:it's|that's) (?:ok|okay|alright|all right)(?: with you)?"
        r"|with your permission|if you(?:'d| would) like,? i|if you want,? i",
        "Asks before giving advice or information (MI 'ask permission'). Respect and shared "
        "method: T4, B3, B4. Also makes a following suggestion non-directive.",
    ),
    Cue(
        "elicit_view",
        r"what do you (?:think|make of (?:that|this|it))"
        r"|(?:what|how) do you (?:think|feel) about (?:that|this|it|those|these|what i)"
        r"|how does (?:that|this) sound|does (?:that|this) (?:fit|make sense|sound right|seem right)"
        r"|what fits (?:best )?for you|which (?:of these|one) (?:appeals|would you|do you)",
        "Asks the client's own view of an idea (elicit-provide-elicit): agreement on method and "
        "goals, respect. T4, G2, B3. Counts as exploring.",
    ),
    Cue(
        "invite",
        r"tell me (?:more|about|what|how|a (?:little|bit))"
        r"|(?:can|could|would) you (?:tell|say|share) (?:me )?(?:more|a (?:little|bit)|what|how)"
        r"|say (?:a (?:little|bit) )?more|help me understand|walk me through|go on\b"
        r"|keep going|what else",
        "Invites the client to say more (an open question in statement form). Exploring: "
        "G3, T2, B3.",
    ),
    Cue(
        "open_question",
        _START
        + r"(?:what|how(?! (?:many|much|often|old|long|far)\b)|why(?! (?:don't|not) )"
        r"|in what ways?|which)\b"
        + _IN_QUESTION,
        "Open question: asks for the client's own account. Exploring: G3, T2, B3.",
    ),
    Cue(
        "closed_question",
        _START
        + r"(?:do|does|did|are|is|was|were|have|has|had|can|could|would|will|should|any"
        r"|how (?:many|much|often|old|long|far))\b"
        + _IN_QUESTION,
        "Closed (yes/no or fact) question. No alliance evidence by itself; it does not explore "
        "(counts toward a passive reply right after an emotional disclosure).",
    ),
    Cue(
        "reflection",
        r"(?:(?:(?:it|that) )?sounds? (?:like|as (?:if|though))|it seems (?:like|as if|that)"
        r"|you seem|you(?:'re| are) (?:feeling|worried|concerned|afraid|scared|frustrated|angry"
        r"|upset|sad|hurt|tired|overwhelmed|stressed|torn|unsure|not sure|wondering|struggling"
        r"|ready|hoping|thinking about|saying|someone who|a person who|really|pretty|quite"
        r"|a (?:little|bit)|kind of|sort of|not (?:sure|ready|happy|convinced))"
        r"|you feel|you(?:'ve| have) been (?:feeling|struggling|thinking|trying|worried|working)"
        r"|you (?:really )?(?:want(?:ed)?|wish|hope) (?:to|more|some|that)"
        r"|you(?:'d| would) (?:like|rather|prefer)|you don't (?:want|like|feel|see|think)"
        r"|part of you|on (?:the )?one hand|on the other hand|for you,? (?:it's|this is|that's)"
        r"|(?:what )?i(?:'m| am) hearing|i get the (?:sense|feeling)|you care (?:about|a lot)"
        r"|(?:it|that|this) (?:really )?matters to you|you(?:'re| are) (?:the kind of )?(?:person|someone)"
        r"|it(?:'s| is| has been|'s been) (?:really |been |so |very )?"
        + _DIFFICULT
        + r" for you"
        r"|" + _START + r"so,? (?:you|your|for you)\b)"
        + _IN_STATEMENT,
        "Reflection: a statement (not a question) of what the client feels or means. Shared "
        "view of the problem and feeling understood: G3, T3, B3, B1. Counts as exploring.",
    ),
    Cue(
        "summary",
        r"you (?:mentioned|said|told me)|so far (?:we|you)|to (?:sum up|summarize|recap)"
        r"|let me (?:see if i|make sure i)|if i(?:'ve| have)? (?:got|understand) (?:this|it|you)"
        r"|what i(?:'ve| have) heard",
        "Summary or callback to what the client said earlier: G3, T3, G1. Counts as exploring.",
    ),
)

# --- counselor: what the turn does (warmth, respect, direction, passivity) ---------------------

COUNSELOR_MOVES: tuple[Cue, ...] = (
    Cue(
        "empathy",
        r"that (?:must|must've|must have|sounds|seems|has been|'s been) (?:be |been )?"
        r"(?:really |so |very |pretty |quite |incredibly )?(?:" + _DIFFICULT_WORDS + r"|a lot)"
        r"|i can (?:imagine|understand|see (?:why|how))"
        r"|i(?:'m| am) (?:so |really |very )?sorry (?:to hear|that|you|about|for)"
        r"|i hear (?:you|that|how)|(?:it )?makes (?:a lot of |total )?sense (?:that|why)"
        r"|no wonder|understandabl[ey]",
        "Empathic statement / reflection of feeling: warmth and respect, understanding: "
        "B1, B3, G3, B4. Counts as exploring.",
    ),
    Cue(
        "affirmation",
        r"(?:that's|that is|it's|it is) (?:really |so |very )?(?:great|wonderful|fantastic"
        r"|impressive|amazing|excellent|awesome) (?:that|to|how)"
        r"|good for you|well done|(?:great|good|nice) (?:job|work|point|insight)"
        r"|you(?:'ve| have) (?:done|made|worked|come|managed|accomplished|shown|already)"
        r"|you did (?:it|a|well|great|really)|(?:that|it) (?:took|takes) (?:a lot of |real )?"
        r"(?:courage|strength|guts|effort)|you(?:'re| are) (?:really |so )?(?:strong|brave"
        r"|committed|determined|resourceful|capable|doing (?:great|well|a good))"
        r"|i (?:really )?appreciate (?:you|your|that|how)"
        r"|thank(?:s| you) for (?:sharing|telling|being|coming|opening|trusting)"
        r"|i(?:'m| am) (?:glad|happy|impressed) (?:you|that|to hear)|it(?:'s| is) clear (?:that )?you"
        r"|(?:that )?shows (?:a lot|how much|that you)|you should be proud",
        "Affirmation: genuine recognition of the client's strengths or efforts. Warmth, respect, "
        "confidence: B1, B3, B2.",
    ),
    Cue(
        "autonomy",
        r"(?:it's|it is|that's|that is) (?:completely |totally |entirely |really |all )?"
        r"(?:up to you|your (?:choice|decision|call|life))"
        r"|(?:you|only you) (?:can |get to |will |should )?(?:decide|choose)"
        r"|you(?:'re| are) the (?:expert|one (?:who|that)|best judge|boss)"
        r"|whatever you (?:decide|choose)|take (?:it|what fits|what works) or leave it"
        r"|(?:what|whatever) (?:works|makes sense) (?:best )?for you|you know yourself"
        r"|no pressure|in your own (?:time|way)|take your time|you don't have to"
        r"|(?:if|when) you(?:'re| are) ready|if (?:and when )?you (?:want|choose|decide)",
        "Autonomy support: the client decides. Agreement on method and goals, respect: "
        "T4, G2, B3. Also makes a suggestion in the same turn non-directive.",
    ),
    Cue(
        "goal_focus",
        r"\b(?:your|our|the|a|my) goals?\b|what (?:would|do) you (?:like|want|hope) (?:to|from|for)"
        r"|what (?:are|were) you hoping|what(?: is|'s)? (?:most )?important to you"
        r"|what matters (?:most )?to you|where (?:would|do) you (?:like|want) to (?:start|begin)"
        r"|what (?:brings|brought) you|what would (?:be different|change|it look like|you like)"
        r"|(?:next|first|small) steps?|(?:a|your|the) plan\b|work on together"
        r"|(?:we|you and i) (?:can|could) work on|what (?:might|could|will) you do"
        r"|how (?:might|could|will) you (?:do|start|go about|handle)"
        r"|what are you (?:willing|ready|able) to|how (?:important|confident|ready) (?:is it|are you)"
        r"|on a scale (?:of|from)",
        "Talks about the aims and the steps of the work together: clear, agreed goals and steps: "
        "G1, G2, T1, T3.",
    ),
    Cue(
        "confront",
        r"trust me|(?:that's|that is|you're|you are) (?:just |being )?(?:wrong|ridiculous|silly"
        r"|nonsense|crazy|stupid|stubborn|difficult|unrealistic)"
        r"|that's (?:not true|not the point|an excuse|no excuse|not how (?:it|this) works)"
        r"|(?:that's|that is) the wrong way|you(?:'re| are) not listening|listen to me"
        r"|(?:you(?:'re| are) )?(?:just )?making excuses|(?:no|stop with the|enough) excuses"
        r"|you(?:'re| are) in denial|calm down|get over it|come on,"
        r"|(?:let me|i'll|i will) tell you (?:something|what|how)"
        r"|you (?:need|have) to (?:understand|realize|accept)|you don't understand"
        r"|you(?:'re| are) (?:overreacting|exaggerating|kidding yourself|fooling yourself)"
        r"|be honest with yourself|you know (?:that's|better|full well)|the problem is you"
        r"|i know (?:what's|what is) best|you have no choice|there's no (?:other )?(?:choice|option)"
        r"|(?:yes|yeah),? but you|i don't (?:care|buy)|that doesn't matter",
        "Confronting, dismissing or overriding the client's view (boundary-overstepping). "
        "Against respect, warmth, trust, shared view of the problem, agreed method: "
        "B3, B1, B4, G3, T4.",
    ),
    Cue(
        "moralize",
        r"you (?:ought to be|should (?:be|feel)) ashamed|shame on you"
        r"|(?:that's|that is|it's|it is) (?:so |really |very )?(?:irresponsible|selfish|immoral"
        r"|unacceptable|disgusting)|you(?:'re| are) (?:being )?(?:irresponsible|selfish|lazy|weak)"
        r"|it(?:'s| is) your (?:responsibility|duty|fault)|think (?:about|of) your (?:kids|children"
        r"|family|wife|husband|baby)|what kind of (?:mother|father|parent|person)"
        r"|a (?:good|responsible) (?:mother|father|parent|person) would|how could you",
        "Moralizing or shaming (boundary-overstepping). Against respect, warmth, trust: B3, B1, B4.",
    ),
    Cue(
        "reassure",
        r"(?:it|everything|things|all)(?:'ll| will| is going to|'s going to| gonna) (?:be|work out"
        r"|turn out|get better)(?: (?:just )?(?:fine|ok|okay|alright|all right|good|great))?"
        r"|don't worry|no need to worry|you(?:'ll| will) be (?:fine|ok|okay|alright|all right)"
        r"|(?:it's|it is|that's|that is) (?:totally |completely |perfectly |pretty )?(?:normal"
        r"|natural|not (?:that|so) bad|no big deal|not a big deal)"
        r"|everyone (?:feels|goes through|gets)|(?:happens|it happens) to (?:everyone|everybody)"
        r"|cheer up|look on the bright side|at least you|i(?:'m| am) sure (?:it|you|things|everything)"
        r"(?:'ll| will)|you(?:'ll| will) get through|stay positive|think positive"
        r"|try not to (?:worry|think about it)|it could be worse",
        "Generic reassurance ('it will be fine'): vague, not personal; a passive reply that "
        "does not explore. Weakly against a shared view of the problem: G3.",
    ),
    Cue(
        "subject_change",
        _START
        + r"(?:anyway|anyways|moving on|on (?:another|a different) (?:note|topic)|next question)"
        r"|let(?:'s| us) (?:move on|talk about something else|change the subject|get back to"
        r"|go back to|switch)|(?:changing|to change) the (?:subject|topic)|getting back to"
        r"|(?:i'd|i would|i want to|let me|i need to) (?:also )?(?:ask (?:you )?(?:about|a few|some)"
        r"|move on|switch)",
        "Changes the subject: a passive reply when it follows something the client cares about. "
        "Against agreeing what is important to work on: T3, G3.",
    ),
    Cue(
        "advise",
        r"(?:i think |i feel |i believe )?you (?:really |just |definitely |absolutely |seriously )?"
        r"(?:should|must|need to|have to|ought to|gotta|got to|had better|'d better)\b"
        r"(?! be proud)" + _IN_STATEMENT + r"|i (?:really |strongly |would |'d )?(?:want|need) you to"
        r"|i(?:'d| would)? (?:really |strongly |definitely )?(?:recommend|suggest|advise"
        r"|encourage you)|(?:my|our) (?:advice|recommendation|suggestion)"
        r"|the (?:best|only|right) (?:thing|way|option|choice|solution) (?:to do )?(?:is|would be)"
        r"|what you (?:need|have|should|must|ought) to do|you(?:'d| would) be (?:better off|wise)"
        r"|it(?:'s| is|'d be| would be) (?:really |very )?(?:important|essential|best|better|crucial"
        r"|critical|vital|necessary|a good idea) (?:that you|for you to|to|if you)"
        r"|(?:make sure|be sure) (?:you|to|that)"
        r"|i(?:'m| am) going to (?:have you|ask you to|need you|put you|sign you|refer you"
        r"|give you|prescribe)|we (?:need|have|got) to (?:get|start|make|cut|stop|work on|look at"
        r"|do|bring)|let's (?:get you|start you|put you|make sure|cut|set you|have you)"
        r"|you can't (?:keep|continue|go on)|you(?:'ll| will) (?:need|have) to",
        "Advice or instruction ('you should / must / need to', 'I want you to', 'I'd recommend', "
        "'the best thing is'). Directive unless asked for or offered with permission and choice; "
        "unasked it is evidence against agreed goals and method: T4, G2, B3.",
    ),
    Cue(
        "suggest",
        r"(?:maybe )?you (?:could|might|may) (?:want to |wanna )?(?:try|consider|think about|start"
        r"|cut|look into|talk to|get|take|use|switch|stop|avoid|join|call)"
        r"|why (?:don't you|not (?:try|just))|how about (?:you|trying|if you)"
        r"|what about (?:trying|if you)|one (?:thing|option|idea) (?:you could|would be|is to)"
        r"|(?:it|that) (?:might|may|could|would) (?:help|be (?:good|helpful|useful|worth)) "
        r"(?:to|if you|for you to)|have you (?:thought about|considered|tried)",
        "Softer suggestion. Directive to a lesser degree when unasked: T4, G2.",
    ),
    Cue(
        "warn",
        r"if you (?:don't|do not|keep|continue|carry on)[^.!?]{0,40}(?:you'll|you will|you're going"
        r"|you are going|it will|it'll|you could|you might|you can)"
        r"|(?:you(?:'re| are)|it(?:'s| is)) (?:going to|gonna) (?:kill|die|end up|lose|ruin|destroy"
        r"|hurt|damage|get worse)|(?:could|can|will|may|might) (?:kill you|damage|destroy|ruin"
        r"|cause (?:serious|permanent|a lot|damage|cancer|problems)|lead to (?:serious|death"
        r"|cancer|problems|damage))|(?:very |really |extremely )?dangerous"
        r"|serious (?:consequences|damage|risk|health problems)|(?:at|put you at) (?:high |serious "
        r"|great )?risk|unless you|before it's too late|or else",
        "Warning of consequences (MI 'warn'): persuasion by threat. Directive unless asked for or "
        "offered with permission.",
    ),
    Cue(
        "imperative",
        _START
        + r"(?:stop|start|try|cut|quit|avoid|take|get|make|keep|call|eat|drink|exercise|write"
        r"|remember|consider|go|do|don't|never|always|put|limit|reduce|switch|use|find"
        r"|think about|focus on|set|listen)\b(?! (?:you|i|we|they|he|she|it)\b)"
        + _IN_STATEMENT,
        "A sentence that opens with a command ('Cut down to two.', 'Stop drinking.'). "
        "Directive unless asked for or offered with choice.",
    ),
)

# --- client ------------------------------------------------------------------------------------

CLIENT_CUES: tuple[Cue, ...] = (
    Cue(
        "discord",
        r"you (?:don't|do not|can't|never) (?:get it|understand|listen|know what|care)"
        r"|you(?:'re| are) not (?:listening|hearing|getting it|helping)"
        r"|(?:stop|quit) (?:telling|lecturing|preaching|judging|nagging|pushing)"
        r"|that's not what i (?:said|meant)|you sound like my|i didn't come here (?:to|for)"
        r"|leave me alone|easy for you to say|(?:why|what) (?:are|do) you (?:keep )?(?:asking|care)"
        r"|this (?:isn't|is not|doesn't) help|this is (?:pointless|useless|a waste)"
        r"|(?:you're|you are) (?:wrong|judging|lecturing)|who are you to"
        r"|(?:none of|mind) your (?:own )?business|i don't need (?:a|your) (?:lecture|advice)"
        r"|whatever you say",
        "Discord with the counselor ('you don't get it', 'stop lecturing me'). Against confidence "
        "in the counselor, trust, respect, usefulness of the work: B2, B4, B3, T2, T4, G3.",
    ),
    Cue(
        "confusion",
        r"(?:i don't|i do not|i'm not sure i) (?:know|understand|see) (?:why i'm here|what (?:we're"
        r"|we are|this is|you want|the point)|how (?:this|talking) (?:helps|is going to|will))"
        r"|what(?:'s| is) the point of (?:this|talking|these|coming)|why are we (?:talking|doing)"
        r"|what are we (?:doing|supposed to)|i (?:was|got) (?:sent|made to come)"
        r"|i don't (?:need|want) to be here|(?:made|sent|forced) me (?:to )?(?:come|here)",
        "Doubt or confusion about the aims of the counseling (reverse of G1). Against G1, G2, T2.",
    ),
    Cue(
        "asks_advice",
        r"what (?:should|can|could|do) i do|what (?:do|would) you (?:suggest|recommend|advise"
        r"|think i should|do)|(?:any|some|got any) (?:advice|suggestions|ideas|tips)"
        r"|(?:can|could) you (?:help me|tell me (?:what|how)|give me|suggest)"
        r"|how (?:do|can|should|could) i (?:stop|cut|quit|get|deal|cope|handle|make|start|do"
        r"|manage|change|tell|talk)|what are (?:my|the|some) options|(?:tell|show) me (?:what|how) to"
        r"|i (?:need|want|would like|'d like) (?:some |your )?(?:advice|help|suggestions|ideas)"
        r"|is there (?:anything|something) (?:i|you) (?:can|could)|where do i (?:start|begin)",
        "Asks for advice or help: confidence in the counselor (B2), wants this work (T2). Makes a "
        "following suggestion non-directive.",
    ),
    Cue(
        "commitment",
        r"i(?:'m| am) (?:going to|gonna|planning to|ready to|committed to|determined to)"
        r"|i(?:'ll| will) (?:try|start|cut|stop|quit|do|make|call|talk|get|give|go|work|keep|set)"
        r"|i(?:'ve| have) (?:decided|already started|started to|already cut|already stopped)"
        r"|my (?:goal|plan) (?:is|will be)|i can do (?:that|it|this)|let's do (?:it|that)"
        r"|that (?:might|could|would) work|(?:sounds|that's) like a (?:good |great )?plan",
        "Commitment / taking steps ('I'm going to', 'I'll try'): agreed steps and change: T1, G4, "
        "T4.",
    ),
    Cue(
        "change_talk",
        r"i (?:really |do |definitely |kind of |sort of |just )?(?:want|wanna|'d like|would like"
        r"|wish|hope) to|i (?:could|can) (?:try|start|cut|stop|quit|change|make|talk|probably"
        r"|maybe|definitely)|i need to (?:stop|cut|quit|change|do|get|start|make|lose|take|be"
        r"|work|find)|i (?:should|ought to|gotta) (?:probably |really )?(?:stop|cut|quit|change"
        r"|start|try|do|get|take|be|make)|(?:it|that) (?:would|could|might) (?:be (?:good|better"
        r"|nice|great)|help)|i don't want to (?:keep|end up|be|die|lose|go back|feel|have)"
        r"|(?:maybe|probably) i (?:should|could|need)|i(?:'m| am) (?:tired of|sick of)"
        r"|i(?:'d| would) be (?:willing|open|happy) to|i(?:'m| am) (?:ready|willing|thinking about)",
        "Change talk (desire, ability, reasons, need): shared sense of what change would be good: "
        "G4, G1, T3.",
    ),
    Cue(
        "sustain",
        r"i (?:can't|cannot|couldn't) (?:do|stop|quit|change|give|see|imagine)"
        r"|i don't (?:think|believe) (?:i|it|that|this) (?:is|will|can|need|would|'s)"
        r"|i don't (?:want|need) to (?:stop|quit|change|cut)|i don't have (?:a|any) problem"
        r"|(?:it's|it is|that's|that is) not (?:a|that|really a|such a|really that) (?:big|bad"
        r"|problem|issue|deal)|i(?:'m| am) (?:fine|not ready|not going to|not gonna)"
        r"|i (?:like|enjoy|love) (?:drinking|smoking|it|the way)|it helps me"
        r"|(?:everyone|everybody) (?:does|drinks|smokes)|i(?:'ve| have) (?:already )?tried "
        r"(?:that|everything|it)|(?:that|it) (?:won't|wouldn't|doesn't|didn't|isn't going to"
        r"|never) (?:work|help)|(?:yes|yeah),? but|no way|i don't see (?:the|why|how)"
        r"|i(?:'m| am) not (?:an alcoholic|addicted)|i don't (?:have|get) (?:the )?time",
        "Sustain talk / resistance to change ('I can't', 'that won't work', 'yes but'). Against "
        "an agreed view of change and steps: G4, T1, T4 (more so right after advice).",
    ),
    Cue(
        "decline",
        r"^(?:well,? )?(?:no|nope|nah|not really|i'd rather not|i don't think so|not (?:right )?now)"
        r"\b",
        "Declines (an offer, a suggestion). Context only: permission not given; advice that "
        "follows is pushing on.",
    ),
    Cue(
        "assent",
        r"^(?:yeah|yes|yep|yup|right|mm+[- ]?hmm+|uh[- ]?huh|true|sure|definitely)\b",
        "Plain assent. Context only: after a reflection or summary it confirms it.",
    ),
    Cue(
        "confirm",
        r"exactly|that's (?:right|it|true|exactly|so true|correct)"
        r"|you(?:'re| are) (?:right|so right|absolutely right)|precisely|absolutely",
        "Confirms the counselor got it ('exactly', 'that's right'): shared view of the problem and "
        "of what matters: G3, T3, B2.",
    ),
    Cue(
        "gratitude",
        r"thank(?:s| you)|(?:that|this|it|you)(?:'s| is| was| were| has been)? (?:really |very |so )?"
        r"(?:helps?|helped|helpful|useful)|i appreciate|(?:good|great) (?:idea|point|question)"
        r"|(?:that|it) makes (?:a lot of |total )?sense|i feel (?:a (?:little |bit )?)?better"
        r"|i(?:'m| am) glad (?:i came|we talked|i talked)",
        "Gratitude or appreciation ('thank you, that helps'): warmth and confidence in the "
        "counselor, useful work: B1, B2, T2.",
    ),
    Cue(
        "disclosure",
        r"i (?:feel|felt|am feeling|'m feeling|'ve been feeling)"
        r"|i(?:'m| am| was|'ve been| have been| get| got) (?:so |really |very |pretty |kind of "
        r"|just |a little |a bit |feeling |always |constantly )?" + _FEEL
        + r"|(?:it|this|that|everything)(?:'s| is| has been| was) (?:so |really |very )?"
        r"(?:hard|difficult|painful|scary|awful|terrible|overwhelming)"
        r"|i (?:cried|cry|can't stop crying|hate myself)|i(?:'ve| have) never told"
        r"|to be honest|i(?:'m| am) being honest|honestly,|the truth is"
        r"|i miss (?:him|her|them|my)|i don't know what to do|i can't (?:cope|take it|handle|sleep)",
        "Emotional or personal disclosure: the client trusts the counselor (B4). The counselor's "
        "next reply should explore it.",
    ),
)

#: A whole counselor message that is only minimal encouragers ("ok", "I see", "mm-hmm").
MINIMAL_RE = re.compile(
    r"(?:(?:ok(?:ay)?|i see|m+[- ]?h+m+|m+h?m+|uh[- ]?huh|hmm+|right|yeah|yes|yep|sure|got it"
    r"|alright|all right|i understand|understood|fine|good|great|cool|oh|ah|wow|really|true|and"
    r"|so|um|uh|i hear you|gotcha|no|nope)[\s.,!?…\-]*)+"
)
#: A whole client message that withdraws ("whatever", "I don't know", "I guess").
WITHDRAWAL_RE = re.compile(
    r"(?:(?:i )?(?:don't|dunno|do not) know|idk|whatever|i guess(?: so)?|dunno|doesn't matter"
    r"|it doesn't matter|i don't care|if you say so|meh|fine|nothing|no idea|not sure)"
    r"(?:[\s.,!?…\-]+(?:i guess|whatever))?[\s.,!?…\-]*"
)

#: Cues derived by `_embedded.py` from a message in the context of the client turn before it.
CONTEXT_CUES: dict[str, str] = {
    "advice_unasked": "advice, suggestion, command or warning nobody asked for, without "
    "permission or choice (scaled by its directive weight)",
    "advice_offered": "advice after the client asked, or offered with permission / choice",
    "pushing_on": "advice or confrontation right after the client declined or resisted",
    "passive_reply": "a flagged passive reply (minimal, generic or off-topic, not exploring)",
    "after_disclosure": "the counselor reply follows an emotional disclosure",
    "asked_for": "the counselor reply follows a client request for advice",
    "after_permission": "the counselor reply follows permission the client gave",
    "minimal": "a counselor message made only of minimal encouragers ('ok', 'I see')",
    "resists_advice": "client sustain talk or discord right after a directive counselor turn",
    "confirms_reflection": "client assents ('yeah', 'right') right after a reflection/summary",
    "elaboration": "client reply of 20 words or more",
    "short_reply": "client reply of one or two words right after an open question or invitation",
    "withdrawal": "client reply that is only 'whatever', 'I don't know', 'I guess'...",
}

# --- cue -> construct evidence -----------------------------------------------------------------

#: Evidence points each cue contributes to each construct (+ for, - against). Dimension of each
#: construct: G = Goal, T = Task (approach), B = Bond; see domain.md for the twelve statements.
EVIDENCE: dict[str, dict[str, float]] = {
    # counselor: exploring and collaborative moves
    "open_question":       {"G3": 0.3, "T2": 0.4, "B3": 0.2},
    "invite":              {"G3": 0.3, "T2": 0.4, "B3": 0.2},
    "reflection":          {"G3": 0.6, "T3": 0.3, "B3": 0.3, "B1": 0.2},
    "summary":             {"G3": 0.4, "T3": 0.3, "G1": 0.2},
    "empathy":             {"B1": 0.5, "B3": 0.4, "G3": 0.2, "B4": 0.2},
    "affirmation":         {"B1": 0.4, "B3": 0.5, "B2": 0.1},
    "elicit_view":         {"T4": 0.4, "G2": 0.3, "B3": 0.2},
    "permission":          {"T4": 0.5, "B3": 0.4, "B4": 0.2},
    "autonomy":            {"T4": 0.5, "G2": 0.4, "B3": 0.3},
    "goal_focus":          {"G1": 0.5, "G2": 0.3, "T1": 0.3, "T3": 0.2},
    "advice_offered":      {"T1": 0.3, "T4": 0.1},
    # counselor: boundary-overstepping and passive moves
    "advice_unasked":      {"T4": -0.5, "G2": -0.4, "B3": -0.3, "T1": -0.1},
    "pushing_on":          {"T4": -0.6, "G2": -0.5, "T1": -0.3, "B3": -0.3},
    "confront":            {"B3": -0.8, "B1": -0.6, "B4": -0.5, "G3": -0.5, "T4": -0.4},
    "moralize":            {"B3": -0.7, "B1": -0.4, "B4": -0.3, "T4": -0.3},
    "passive_reply":       {"G3": -0.3, "T2": -0.3, "B1": -0.2},
    "after_disclosure":    {},  # context only; its effect is inside passive_reply
    "reassure":            {"G3": -0.3, "B3": -0.1},
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
    "confirms_reflection": {"G3": 0.3, "T3": 0.1},
    "gratitude":           {"B1": 0.6, "B2": 0.6, "T2": 0.3},
    "disclosure":          {"B4": 0.6, "B1": 0.1, "G3": 0.1},
    "asks_advice":         {"B2": 0.3, "T2": 0.2, "T1": 0.1},
    "elaboration":         {"T2": 0.3, "B4": 0.3, "G3": 0.1},
    "short_reply":         {"T2": -0.2, "B4": -0.1},
    "withdrawal":          {"T2": -0.4, "B4": -0.4, "B1": -0.2, "G1": -0.1},
    # pattern / context only: no construct evidence of their own
    "closed_question": {}, "minimal": {}, "advise": {}, "suggest": {}, "imperative": {},
    "warn": {}, "decline": {}, "assent": {}, "asked_for": {}, "after_permission": {},
}  # fmt: skip


# --- compilation -------------------------------------------------------------------------------


def _compile(cues: tuple[Cue, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{c.name}>{c.pattern})" for c in cues))


COUNSELOR_FORM_RE = _compile(COUNSELOR_FORM)
COUNSELOR_MOVES_RE = _compile(COUNSELOR_MOVES)
CLIENT_RE = _compile(CLIENT_CUES)

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})


def normalize(text: str) -> str:
    """Lowercase, NFKC-normalise and straighten apostrophes (ASCII text skips the Unicode work)."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
