"""The safety net: does a client message indicate a risk of harm to self or to others?

**This is a safety net that routes a signal to a human. It is not a clinical instrument, not a
risk assessment and not a crisis service.** It matches English and Chinese (simplified, plus
common traditional forms and pinyin) phrase lists; it misses risk expressed in other words or
other languages, and it fires on some messages that carry no risk.
Its only job is to make sure that a human (the counselor's supervisor, the platform's crisis
team) looks at the conversation *now*, instead of after a scoring window closes or an alert
cooldown ends. Whoever receives the signal follows the platform's own crisis protocol.

How it reads a message (`scan_risk`):

1. The shared plain form (`_text.fold`, also read by redaction and the guard on model output):
   NFKC (full-width, mathematical, circled letters), zero-width and invisible characters
   removed, look-alike letters mapped to Latin (Cyrillic and Greek look-alikes, small capitals
   ``ᴋɪʟʟ``, squared and regional-indicator letters), Traditional characters to Simplified,
   whitespace collapsed. Then accents and other combining marks are dropped (NFKD), and
   apostrophes (``don't`` = ``dont``).
2. Case folding.
3. Spaced-out letters are collapsed: ``k i l l  m y s e l f``, ``s.u.i.c.i.d.e``.
4. Common substitutions inside words are undone: ``k1ll``, ``su!c!de``, ``d3ad``, ``$elf``.
5. Split words are joined ("my self", "sui cide", "un alive", "over dose"), a few common
   misspellings read as the word ("myslef"), and a lone "2" between words is "to" ("want 2 die").
6. ``l`` and ``i`` count as one letter (``1`` and ``|`` stand for both), and a run of one
   letter counts as one (``kiiill``, ``dieeee``). The phrase lists are reduced the same way.

Phrase lists follow the categories of a clinical suicide-risk screen: suicidal ideation and the
wish to be dead or not to wake up (`wish_to_be_dead`), active thoughts (`suicidal_thoughts`),
method (`method`: looking up how, choosing the means), intent, plan and timing (`intent_plan`),
preparatory acts (`preparatory_acts`: gathering means, writing goodbyes, giving things away),
perceived burdensomeness (`burdensomeness`), wanting to disappear or to end everything
(`end_everything`), prior attempts, self-harm; and towards others violent intent, weapon
threats and telling someone to die (`telling_to_die`: "kys"). Chat shorthand ("kms", not "5 kms")
is read too. Explicit denials directly before a phrase ("I'm not suicidal", "I have never tried
to hurt myself") are not flagged, nor a past phrase followed by recovery ("I used to want to die
but I'm much better now"), nor "suicide" as a topic ("a book about suicide"); idioms such as
"killing it at work", "I could kill for a coffee" or "my phone died" are not in the lists. The
result carries machine labels only (`SafetyHit.cues`), never text from the message.

Most phrases are compositions rather than sentences: a wish, an intent or a thought (the frame:
"want to", "planning to", "thinking about", 想, 打算, 希望) followed by its object (to die, to stop
existing, to disappear, an act against oneself), so that "I want to stop existing" and "I've been
planning to overdose" are read by the same two word classes. A match counts only when it is the
writer's own present statement: not after a denial in its clause (before it or, in Chinese,
right after: 自杀的念头我从来没有), not with another subject ("she wants to die", 我朋友想死;
for burdensomeness, not someone else's words: "my mom says I'm a burden", 我妈说我是累赘), not
a topic, a film or a lesson, not a question put to the writer ("my therapist asked if..."), not
a past the message says is over with nothing recent before the recovery, not embarrassment or
boredom ("so embarrassed I want to disappear", 尴尬得想消失) or laughter after a cause.

Chinese (`_scan_zh`) is read separately, with the same categories: Cantonese function words are
read as their Mandarin equivalents first (唔 不, 冇 没, 咗 了, 佢 他, 落去 下去, 諗 想), clause
breaks are kept so that a denial or a subject is read in its own clause; separators, symbols and
zero-width characters between Han characters are dropped after the shared plain form ("自 杀",
"自*杀", "自\u200b杀"); pinyin is read syllable by syllable, together or apart ("zisha",
"wo xiang zi sha", "bu xiang huo le"; initials after a verb: 想zs, 想qs), mixed with Han (zi杀,
qing生), and homophones written to pass filters (紫砂 but not 紫砂壶, 自鲨, 想鼠了); "X死了"
hyperbole (笑死我了, 累死了, 想死你了, 尴尬得想死, 为了火锅去死) is not in the lists, and a
method or a suicide reported about someone else (有人跳楼了, 他哥哥自杀了) is not a disclosure.
Measured on the written sets in tests/data with ``benchmarks/safety_sets.py`` (recall and false
alarms per language, on the half tuned on and on the half kept untouched).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from ._safety_reader import features_en, load_reader
from ._text import fold

__all__ = ["SafetyCategory", "SafetyHit", "scan_risk"]

SafetyCategory = Literal["self_harm", "harm_to_others"]


@dataclass(frozen=True, slots=True)
class SafetyHit:
    """What `scan_risk` found: a category and the machine labels of the cues that matched.

    `category` is ``"self_harm"`` when any self-directed cue matched (even if a cue towards
    others matched too), else ``"harm_to_others"``. `cues` is sorted and never contains text
    from the message.
    """

    category: SafetyCategory
    cues: tuple[str, ...]


# --- normalisation -------------------------------------------------------------------------

#: Letters from other scripts that render like Latin ones (after case folding), and quote marks.
_CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ɑ": "a", "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ℓ": "l", "ı": "i",
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c",
    "Т": "t", "У": "y", "Х": "x", "І": "i", "Ј": "j", "Ѕ": "s", "Ο": "o", "Α": "a", "Ε": "e",
    "Ι": "i", "Κ": "k", "Ν": "n", "Ρ": "p", "Τ": "t", "Χ": "x",
    "’": "", "‘": "", "ʼ": "", "`": "", "´": "", "'": "",
}  # fmt: skip
_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Co", "Cs"})
_FOLD_CACHE_LIMIT = 8192


class _FoldTable(dict[int, int | str | None]):
    """`str.translate` table filled lazily, one code point at a time (bounded)."""

    def __missing__(self, code: int) -> int | str | None:
        ch = chr(code)
        value: int | str | None = code
        if ch in _CONFUSABLES:
            value = _CONFUSABLES[ch]
        elif unicodedata.category(ch) in _DROP_CATEGORIES:
            value = None  # combining marks, zero-width and other format characters
        elif unicodedata.category(ch) == "Cc":
            value = " "
        if len(self) < _FOLD_CACHE_LIMIT:
            self[code] = value
        return value


_FOLD = _FoldTable()

#: Three or more single letters (or substitution characters) separated by spaces, dots...
#: Matched from the separator before the run (a space is put in front of the text), which is
#: several times faster than a look-behind.
_SPACED = re.compile(r"[ .\-_*~/](?:[a-z0-9@$!|][ .\-_*~/]{1,3}){2,}[a-z0-9@$!|](?![a-z0-9])")
_SPACED_SEP = re.compile(r"[ .\-_*~/]")
_LEET_HINT = re.compile(r"[0-9@$!|+]")
_TOKEN = re.compile(r"[a-z0-9@$!|+]+")
_LEET = str.maketrans({
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "i", "+": "t",
})  # fmt: skip
_HAS_LETTER = re.compile(r"[a-z]")
_DOUBLES = tuple(c + c for c in "abcdefghijkmnopqrstuvwxyz")  # no "l": it is "i" by then


def _deleet(match: re.Match[str]) -> str:
    token = match.group()
    core = token.strip("!|+")
    if not core or not _HAS_LETTER.search(core) or not _LEET_HINT.search(core):
        return token  # a number, or punctuation: leave it alone
    start = token.index(core)
    return token[:start] + core.translate(_LEET) + token[start + len(core) :]


def _fold_case(text: str) -> str:
    if text.isascii():
        return text.lower().replace("'", "").replace("`", "")
    text = fold(text)  # the shared plain form: NFKC, look-alikes, small capitals, zero-width
    text = unicodedata.normalize("NFKD", text).translate(_FOLD).casefold()
    if not text.isascii():  # case folding can produce new compatibility forms (rare)
        text = unicodedata.normalize("NFKD", text).translate(_FOLD)
    return text


#: Words people split in two or three ("my self", "sui cide", "un alive") or misspell, read as
#: the word; a lone "2" between words is "to" ("i want 2 die").
_JOINED_WORDS = """
myself yourself himself herself themselves ourselves suicide suicidal unalive unaliving overdose
overdosing goodbye goodbyes anymore cannot noose selfharm worthless hopeless everyone everything
nobody
"""
_JOINED = frozenset(_JOINED_WORDS.split())
_ALIASES = {
    "myslef": "myself", "mysefl": "myself", "myslf": "myself", "mysef": "myself",
    "mysself": "myself", "wnat": "want", "wnt": "want", "wana": "wanna", "suicde": "suicide",
    "sucide": "suicide", "suiside": "suicide", "sucidal": "suicidal",
    # chat shorthand
    "abt": "about", "wud": "would", "wld": "would", "cud": "could", "shud": "should",
    "rn": "right now", "tmrw": "tomorrow", "tmr": "tomorrow", "tmrow": "tomorrow",
    "tonite": "tonight", "ppl": "people", "cuz": "because", "coz": "because", "bc": "because",
    "w/o": "without", "evry1": "everyone", "every1": "everyone", "no1": "no one",
    "some1": "someone", "any1": "anyone", "gunna": "gonna", "wont": "wont", "dnt": "dont",
    "cant": "cant", "cnt": "cant", "nvr": "never", "lyf": "life", "wanna": "wanna",
}  # fmt: skip
_GAP = "\x00"  # stands for the separators in the split forms below


def _trie_regex(words: list[str]) -> str:
    """One alternation for `words` written as a trie (linear matching, no long alternation
    tried at every position); `_GAP` in a word stands for one or two separators."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:  # type: ignore[type-arg]
        branches = [
            (r"[ \-_.*~/]{1,2}" if ch == _GAP else re.escape(ch)) + emit(child)
            for ch, child in sorted(node.items())
            if ch
        ]
        if "" in node:
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return emit(trie)


def _split_forms(word: str) -> list[str]:
    """`word` cut in two or three parts, `_GAP` between them: "my\x00self", "s\x00ui\x00cide"."""
    cuts = range(1, len(word))
    forms = [word[:i] + _GAP + word[i:] for i in cuts]
    forms += [word[:i] + _GAP + word[i:j] + _GAP + word[j:] for i in cuts for j in cuts if i < j]
    return forms


_SPLIT = re.compile(
    r"(?<![a-z0-9])"
    + _trie_regex([form for word in sorted(_JOINED) for form in _split_forms(word)])
    + r"(?![a-z0-9])"
)
_ALIAS = re.compile(r"(?<![a-z0-9])(?:" + "|".join(_ALIASES) + r")(?![a-z0-9])")
_TWO = re.compile(r"(?<=[a-z] )2(?= [a-z])")
_SEPARATORS = re.compile(r"[ \-_.*~/]")


def _join_split_words(text: str) -> str:
    """`text` with split risk words joined ("my self", "sui cide"), the misspellings in
    `_ALIASES` corrected, and a lone "2" between words read as "to"; one regex pass each."""
    text = _SPLIT.sub(lambda m: _SEPARATORS.sub("", m.group()), text)
    if _ALIAS.search(text):
        text = _ALIAS.sub(lambda m: _ALIASES[m.group()], text)
    return _TWO.sub("to", text) if "2" in text else text


def _normalise(text: str, runs: list[str]) -> str:
    """The form the phrase lists are matched against; spelled-out runs are appended to `runs`."""
    text = _fold_case(text)

    def join(match: re.Match[str]) -> str:
        run = match.group()
        word = _SPACED_SEP.sub("", run[1:])
        runs.append(word)
        return run[0] + word

    text = _SPACED.sub(join, " " + text)
    if _LEET_HINT.search(text):
        text = _TOKEN.sub(_deleet, text)
    return _skeleton(_join_split_words(text))


def _skeleton(text: str) -> str:
    """l and i are one letter; a run of one letter is one letter ("kill" -> "ki")."""
    text = text.replace("l", "i")
    for double in _DOUBLES:
        while double in text:
            text = text.replace(double, double[0])
    return text


# --- phrase lists --------------------------------------------------------------------------
#
# Small regular expressions over lower-case words written without apostrophes. When compiled,
# every run of letters is reduced to its skeleton ("kill" -> "ki"); a space means "one or more
# separators"; " ~" means "then up to two filler words"; ">" means "the word ends here" (write
# it at the end of a lookahead's words: "(?! (?:for|to)>)"). Write no letter escapes (\b, \w, \s)
# and no quantifier right after a letter (write (?:wrist|wrists)). Check new phrases for
# skeleton collisions with everyday words ("noose" and "nose" share the skeleton "nose").

# --- composed phrases ----------------------------------------------------------------------
#
# The screen's categories as compositions rather than sentences: a wish, an intent or a thought
# (the frame) followed by a death or self-harm object, so that "I want to stop existing", "I've
# been planning to overdose" and "I keep fantasizing about not being here" are read by the same
# two word classes. The frames assume the writer as subject; `_affirmed` drops a match whose
# clause has another subject ("she wants to die", "people who want to die"), a denial, a past
# that is over, or a topic ("a song about wanting to disappear").

#: Adverbs allowed between a frame and its object ("want to just quietly die").
_ADV = (
    r"(?:(?:just|really|actually|finally|simply|quietly|peacefully|honestly|seriously|literally|"
    r"kinda|kind of|sort of|fucking|fkn|fking|go|already|so badly|truly|genuinely|definitely|"
    r"probably|maybe|rather|sometimes|often) )*"
)
#: A wish: followed by "to" and an infinitive ("want to", "wish I could", "part of me wants to").
_WISH = (
    r"(?:(?:want|wants|wanted|wanting|need|needs|needed|long|longs|longing|longed|yearn|"
    r"yearning|wish|wished|wishing|would like|d like|would love|d love|tempted|urge|urges|ready|"
    r"prepared|deserve|deserves|deserved|desire|choose|chose|aching|itching|praying|pray|"
    r"give anything|do anything|trade anything) to|"
    r"wanna|tryna|wish i (?:could|would|can|was able "
    r"to)|wish id|if only i could|let me|why (?:cant|can not|cannot|dont|do not|wont) i)"
)
#: An intent or a plan: "going to", "planning to", "I'll", "decided to".
_INTENT = (
    r"(?:(?:going|plan|plans|planning|planned|intend|intends|intending|intended|decided|"
    r"deciding|determined|about|meant|meaning|mean|resolved|promised myself) to|gonna|finna|ima|"
    r"(?:i|ill|id) (?:will|would|shall|might|may|must|should|am going to|m going to)|"
    r"(?:i|ill|id|im) (?:gonna|finna)|i (?:am|m) (?:going|gonna) to)"
)
#: A thought, a fantasy or a plan about an act (then a gerund): "thinking about", "considering".
_THOUGHT = (
    r"(?:(?:think|thinks|thinking|thought|thoughts|dream|dreams|dreaming|dreamt|dreamed|"
    r"fantasize|fantasizes|fantasizing|fantasized|fantasise|fantasises|fantasising|fantasised|"
    r"fantasy|fantasies|obsess|obsessing|obsessed|idea|ideas|plan|plans|planning|planned) "
    r"(?:about|of|on)|consider|considers|considering|considered|contemplate|contemplates|"
    r"contemplating|contemplated|imagine|imagines|imagining|imagined|picture|picturing|"
    r"cant stop|can not stop|cannot stop|feel like|feels like|felt like|feeling like|"
    r"romanticizing|romanticising)"
)
#: Hyperbole after "die"/"dying": of embarrassment, laughing, to see, for a coffee, inside.
_NOT_LITERAL = (
    r"(?! (?:of|from|laughing|for|to|inside|happy|on (?:this|that) hill|alone|old|young|a "
    r"little|of embarrassment|my hair|my clothes|it|them|in (?:a|the) (?:game|fire|movie|show)|"
    r"scares|scare|scared|terrifies|terrify|frightens|freaks)>)"
)
#: Not self-directed injury: "hurt myself lifting", "cut myself shaving".
_ACCIDENT = (
    r"(?! (?:a |some |off|short|shaving|cooking|chopping|while|by accident|accidentally|on "
    r"(?:a|the)|at (?:the|work)|playing|lifting|running|in the|when (?:i )?(?:fell|tripped|"
    r"slipped|was)|out|up|down|over)>)"
)
#: A place high enough to fall from, and the ways to get there.
_HEIGHT = (
    r"(?:bridge|roof|rooftop|building|balcony|cliff|window|overpass|ledge|parking garage|"
    r"car park|parking lot|top floor|edge)"
)
#: Wanting to be dead, to not exist: needs a wish (not an intent: "I'm going to die of
#: embarrassment", "I'll be gone by the weekend").
_DEAD_OBJECT = (
    r"(?:die" + _NOT_LITERAL + r"|be dead|not be (?:alive|here|around|on this earth|in this "
    r"world)|not (?:exist|wake up)|not live(?! (?:like|in|with|on|at|for|through|by|so|this|"
    r"that|my|a|an|the|near|there|here|alone|together)>)|no longer (?:exist|be here|be alive|live)"
    r"|stop "
    r"(?:existing|living|breathing|being alive|being here)|cease to exist|be gone(?! (?:for|on|"
    r"by|until|till|before|from|to|when|while|this|next|all)>)|go to sleep forever|sleep "
    r"forever|fall asleep (?:forever|and (?:never|not) wake(?: up)?)|never wake(?: up)?(?! (?:earl"
    r"y|"
    r"before|at)>)|(?:disappear|vanish) (?:forever|for good|permanently|for ever|completely)|"
    r"(?:be with|join|see) ~2(?:in heaven|on the other side|in the afterlife)|leave this (?:world|"
    r"earth|life)|end my (?:own )?existence)"
)
#: An act against oneself: a wish or an intent is enough ("I plan to overdose").
_ACT_OBJECT = (
    r"(?:kill myself|end my (?:own )?life|end it all|take my (?:own )?life|(?:of|off) myself|"
    r"unalive(?: myself)?|(?:hang|shoot|drown|stab|poison|suffocate|gas|electrocute|strangle|"
    r"starve|bleed) myself|(?:slit|cut|open) my (?:wrist|wrists|throat|veins)|(?:cut|hurt|harm|"
    r"burn|punish|scratch) myself" + _ACCIDENT + r"|(?:cut|burn|carve|scratch) (?:my|into my) "
    r"(?:arm|arms|wrist|wrists|thigh|thighs|leg|legs|skin|stomach|hips|body)|overdose(?! on (?:cof"
    r"fee|caffeine|sugar|"
    r"chocolate|candy|netflix|tv)>)|od(?! on (?:coffee|caffeine|sugar)>)|(?:jump|throw myself) "
    r"(?:off|from) (?:a|the|my|this|that|our) ~1" + _HEIGHT + r"|(?:jump|throw myself|step|"
    r"walk|lie down) (?:in front of|under|onto) (?:a|the) (?:train|bus|truck|car|lorry|tracks|"
    r"traffic)|drive (?:my car |the car )?(?:off|into) (?:a|the) ~1(?:bridge|cliff|wall|tree|"
    r"river|lake|traffic|pole|truck)|crash my car on purpose|end (?:things|everything)(?! (?:with|"
    r"between|at|for (?:us|them))>)|go through with it|take (?:all|every one|the whole) (?:of )?"
    r"(?:my |the |these |those )?(?:pills|meds|tablets|medication|bottle|packet|box))"
)
#: After a thought: the acts as gerunds ("thinking about ending it", "considering suicide").
_GERUND_OBJECT = (
    r"(?:dying" + _NOT_LITERAL + r"|killing myself|ending my (?:own )?life|ending it all|ending "
    r"it(?! (?:with|between|early|off|here|there|at)>)|ending things(?! (?:with|between)>)|"
    r"ending everything|taking my (?:own )?life|suicide(?! (?:prevention|awareness|rates|rate|"
    r"statistics|squad|hotline|bomber|bombers|door|doors)>)|(?:hanging|shooting|drowning|stabbing|"
    r"poisoning|suffocating|starving|offing|gassing) myself|overdosing|slitting my|(?:jumping|"
    r"throwing myself) (?:off|from) (?:a|the|my|this|that) ~1" + _HEIGHT + r"|jumping in front "
    r"of|not being (?:here|alive|around|in this world)|not existing|no longer existing|not waking "
    r"up|never waking up|being dead|(?:cutting|hurting|harming|burning|punishing) myself"
    + _ACCIDENT
    + r"|self harm|self harming|unaliving(?: myself)?|disappearing (?:forever|for good)|my own "
    r"(?:death|funeral)|(?:how|ways) to (?:die|kill myself|end it|end my life|do it))"
)

_SELF: dict[str, tuple[str, ...]] = {
    "suicidal_ideation": (
        r"(?:kill|killing) myself(?! (?:with|studying|working|laughing|over|trying|at work))",
        r"(?:end|ending) (?:my (?:own )?life|it all|my own existence)",
        r"take my (?:own )?life",
        r"(?:want|wanted|wanna|ready|wish|wishing|longing) to die" + _NOT_LITERAL,
        r"wanna die" + _NOT_LITERAL,
        r"(?:want|wanna|wanted) to dye(?! (?:my|it|the|her|his|your|them|some|a|an|our|their|"
        r"this|that|hair|clothes|shirt|easter|eggs)>)",
        r"wish (?:i|id) (?:was|were|could be) dead",
        r"wish (?:i|id) (?:was|were|had) never (?:been )?born",
        r"wish i (?:wasnt|werent|didnt) exist",
        r"better off (?:dead|without me|if i (?:was|were) gone)",
        r"no (?:reason|point) (?:to|in) (?:live|living|going on|being alive|being here)",
        r"nothing (?:left )?to live for",
        r"(?:dont|do not|no longer) want to (?:live|be alive|exist|wake up|be here anymore)"
        r"(?! (?:with|in|like|at|for|early|so early|on|near|there|here|alone|together|by|without|"
        r"under|before|until|till|this|that|the|my|a|an|when|to|through)>)",
        r"(?:tired|sick) of (?:living|being alive|existing|life|being here|waking up)(?! (?:in|wit"
        r"h|at|like|on|here|there|paycheck)>)",
        r"(?:life|it) (?:is not|isnt|aint) worth living",
        r"not worth living",
        r"never wake up(?! (?:before|early|at|on time|until|in time|till|for|when)>)",
        r"(?:cant|can not|cannot) go on (?:living|anymore|any more)",
        r"suicidal(?: thoughts)?",
        r"unalive(?: myself)?",
        r"unaliving",
        r"sewer slide",
        r"(?:want to|wanna|gonna|going to|about to|finna|ima|i will) kms",
    ),
    "suicide_mention": (
        r"suicide(?! (?:squad|door|doors|bomber|bombers|prevention|awareness|statistics|mission|"
        r"missions|run|runs|drill|drills|sprint|sprints|hotline|hotlines|rate|rates)>)",
    ),
    "prior_attempt": (
        r"(?:attempted|tried to) (?:suicide|kill myself|end my life|take my (?:own )?life)",
        r"suicide attempt",
    ),
    "self_harm": (
        r"(?:cut|cutting|burn|burning|hurt|hurting|harm|harming|punish|punishing|scratch|"
        r"scratching|starve|starving) myself"
        r"(?! (?:a |some |off|short|shaving|cooking|chopping|while|by accident|"
        r"accidentally|on (?:a|the)|at (?:the|work)|playing|lifting|running|in the|"
        r"when (?:i )?(?:fell|tripped|slipped|was (?:cooking|running|playing|working))))",
        r"self (?:harm|harming|harmed|injury|injuring|mutilation)",
        r"selfharm",
        r"(?:hitting|hit|punching|punch|slapping|slap|biting|bite) myself"
        r"(?! (?:in the head for|for forgetting|on the (?:forehead|head) when))",
        r"(?:i|ive|i have) (?:cut|cutted) (?:again|last night|today|yesterday|tonight)",
        r"(?:relapsed|relapse|relapsing) (?:on|into|with) self (?:harm|harming)",
        r"took a (?:blade|razor|knife) to my (?:wrist|wrists|arm|arms|skin|leg|legs|thigh|thighs)",
        r"until (?:it|they) (?:bleed|bled|bleeds)",
        r"(?:cuts|burns|scars|marks|wounds) (?:i made|i did|ive made|i gave myself|i do)",
    ),
    # the screen's "wish to be dead": wanting not to wake up, to be dead, to stop existing
    "wish_to_be_dead": (
        r"(?:hope|wish|pray|praying|hoping) (?:i|id|that i) (?:dont|do not|wont|will not|never|"
        r"would not|wouldnt) (?:ever )?wake up",
        r"(?:sleep|asleep|bed|pills|tonight) ~(?:and|then) (?:not|never|dont|wont) wake up",
        r"(?:rather|prefer to|sooner) be dead",
        r"(?:wish|hope|pray) (?:i|id|that i) (?:would|could|will) (?:just )?(?:die|be dead|"
        r"not exist)",
        r"die in my sleep",
        r"go to sleep forever(?! (?:on|in|after|this)>)",
        r"(?:want|wants|wanna|wish|rather|prefer) (?:to )?(?:just )?not be (?:alive|here|around|"
        r"on this earth)",
        r"if i (?:never|didnt|did not|dont|do not|wouldnt|would not) (?:wake|woke|woken) up",
        r"feel like (?:dying" + _NOT_LITERAL + r"|killing myself|ending it|ending my life|ending "
        r"it all)",
        r"(?:wish|hope|pray) (?:a|the|that a|some) (?:car|bus|truck|train|plane) (?:would|will|"
        r"could) (?:just )?(?:hit|kill|run over) me",
        r"(?:being|be|if i was|if i were) dead (?:would be|is|was) (?:easier|better|a relief|"
        r"nicer|peaceful)",
        r"(?:stop|cease|quit) existing",
        r"(?:wish i could|want to|wanna|would rather) (?:just )?not exist",
        r"what(?:s| is) (?:even )?the point (?:of|in) (?:living|life|being alive|going on|"
        r"staying alive|me being here)",
        r"(?:dont|do not|no longer) want to be (?:here|around|on this earth|in this world)"
        r"(?! (?:at|in|for|with|today|tonight|this|when|because)>)",
    ),
    # active thoughts: thinking about it, thoughts of it
    "suicidal_thoughts": (
        r"(?:thinking|thought|thinks|think) (?:about|of) (?:killing myself|suicide|ending my life|"
        r"ending it all|ending it|ending things|ending everything|taking my (?:own )?life|dying"
        + _NOT_LITERAL
        + r"|not being (?:here|alive|around))(?! (?:with|for|because of (?:my|the) (?:job|work))>)",
        r"thoughts (?:of|about) (?:suicide|killing myself|ending my life|ending it|ending things|"
        r"dying" + _NOT_LITERAL + r"|taking my (?:own )?life|not being (?:here|alive|around))",
        r"(?:the )?thought of (?:killing myself|ending it|ending my life|dying) (?:is|keeps|has|"
        r"comes|wont)",
    ),
    # method: looking up how, choosing the means
    "method": (
        r"(?:looked up|look up|looking up|googled|googling|google|searched|searching|search|"
        r"researched|researching|research|read up on|reading up on) ~(?:how to|how do you|"
        r"ways to|ways of|way to|best way to|painless ways to|easiest way to) ~(?:die|kill myself|"
        r"overdose|od|hang myself|end my life|end it|tie a noose|slit|commit suicide|suicide)",
        r"(?:painless|easy|easiest|quick|quickest|best|quiet) (?:way|ways) to (?:die|kill myself|"
        r"end my life|end it|commit suicide|go)",
        r"how (?:many|much) (?:pills|tablets|meds|sleeping pills|paracetamol|tylenol|insulin|of "
        r"(?:these|my|them|the)) ~(?:die|kill|not wake up|overdose|fatal|lethal|end it|be enough)",
        r"(?:what|which) (?:bridge|building|roof|floor|height|dose) ~(?:high|tall|enough|lethal|"
        r"kill|fatal)",
        r"which (?:pills|meds|tablets|drugs) (?:id|i would|ill|i will|i could|i should) "
        r"(?:take|use)",
        r"(?:lethal|fatal|deadly) (?:dose|amount|overdose)",
        r"bleed (?:out|to death)",
        r"how (?:high|far|long) ~(?:need|have|would|does) ~(?:jump|fall|drop|bleed|hang|die)",
        r"(?:use|using|used) (?:it|them|the gun|the knife|the rope|the pills) on myself",
        r"(?:thought about|thinking about|think about|want to|wanna|going to|gonna|could just|"
        r"might) (?:drive|driving|crash|crashing|steer|steering) ~(?:into|off) (?:a|the|an) "
        r"(?:tree|wall|bridge|cliff|river|truck|oncoming|lake|pole)",
        r"(?:step|stepping|jump|jumping|walk|walking|throw myself|lie down) (?:in front of|onto|"
        r"under) (?:a|the) (?:train|bus|truck|car|tracks|traffic)",
    ),
    # preparatory acts: gathering the means, goodbyes, giving things away, affairs in order
    "preparatory_acts": (
        r"(?:bought|buying|got|getting|have|purchased|ordered) (?:a |some |the )?rope"
        r"(?! (?:for|to|at|from|swing|ladder|course|bridge|access)>)",
        r"(?:bought|buying|got|purchased|ordered|hid|hiding|stashed|stashing) (?:a lot of|lots of|"
        r"loads of|so many|many|a bunch of|a stash of|extra|enough) (?:pills|paracetamol|"
        r"painkillers|sleeping pills|tablets|tylenol|meds|medication)(?! ~3(?:pharmacy|chemist|"
        r"doctor|prescription|trip|holiday|travel|vacation|in case|flight)>)",
        r"(?:stockpiling|stockpiled|saving up|hoarding|collecting|saved up|stashing|"
        r"stashed) (?:my |the |up my |up )?(?:pills|meds|tablets|antidepressants|painkillers|"
        r"paracetamol|sleeping pills|medication|prescriptions)",
        r"(?:wrote|written|writing|write|finished|left) ~(?:goodbye|goodbyes|farewell|suicide|last)"
        r" (?:letter|letters|note|notes|message|messages|text|texts|video)",
        r"(?:letter|letters|note|notes|message|messages) ~(?:saying goodbye|to say goodbye)",
        r"(?:saying|said|say|started saying) (?:my )?goodbye to (?:everyone|everybody|people|my "
        r"family|my friends|all|them|you all)(?! (?:at|before (?:the|i|we) (?:move|trip|leave)|"
        r"when we)>)",
        r"(?:giving|gave|give|given) (?:all )?my (?:things|stuff|belongings|possessions|clothes|"
        r"games|pets|cat|dog) away(?! (?:to charity|before (?:the|we|i) move)>)",
        r"(?:when|after|once) (?:im|i am|ive|i have) gone(?! (?:for|to|on|away|out|shopping|"
        r"home|back)>)",
        r"(?:put|putting|got|getting) my affairs in order"
        r"(?! (?:before (?:the|we|i) move|for the)>)",
    ),
    # perceived burdensomeness
    "burdensomeness": (
        r"(?:im|i am|i feel like|i feel|im just|i am just|im only) (?:just |only |such |nothing "
        r"but )?(?:a|such a) (?:burden|waste of space|drain)(?! (?:at|when|on the|in class|for "
        r"asking|asking|if i ask|because i|for needing|sometimes when|on the team|to the team)>)",
        r"burden (?:to|on|for) (?:everyone|everybody|my family|my parents|my mom|my mum|my dad|"
        r"them|others|the people|my kids|my husband|my wife|my friends)",
        r"(?:would|will|d) be (?:happier|better|better off|relieved|fine|ok|okay|free) (?:if|"
        r"when|once) (?:i|im) (?:was |were |am |is |just )?(?:gone|dead|not (?:here|around|"
        r"alive)|wasnt (?:here|around|alive)|werent (?:here|around)|died|disappeared)",
        r"(?:no one|nobody|noone|nobodys|no ones) (?:would|will|even|would even|will even) "
        r"(?:miss me|care if i (?:died|die|was gone|were gone|disappeared|killed myself)|notice if "
        r"i (?:died|was gone|disappeared))(?! (?:at|in|on|if i (?:skip|skipped|left|leave|didnt)|"
        r"when i (?:skip|left|leave))>)",
        r"by (?:existing|being alive|being here|just existing)",
        r"(?:be|are|would be|is|life would be|things would be) (?:better|easier|happier) (?:off )?"
        r"without me(?! (?:at|in|there|on)>)",
    ),
    # wanting to disappear, to end everything
    "end_everything": (
        r"(?:(?:want|wanna|need|going|like) to|wish i could|if i could|i could) (?:just )?"
        r"(?:disappear|vanish)"
        r"(?! (?:for|into|from (?:work|school|class|the party|social)|under|on|to (?:my|the))>)",
        r"(?:vanish|disappear|leave|gone) from this (?:world|earth|life)",
        r"leave this (?:world|earth|life)(?! better>)",
        r"(?:want|wanna|need|wish|just want) (?:it all|everything|all of it|it|all this) to (?:end|"
        r"stop|be over) (?:for good|forever|permanently|now)",
        r"(?:want|wanna|need|wish) (?:it all|everything|all of it) to (?:end|stop|be over)"
        r"(?! (?:for a (?:minute|second|moment|bit|while|day)|so i can)>)",
        r"end everything",
        r"(?:the pain|it all|this|everything|my life) to (?:end|stop) (?:for good|forever|"
        r"permanently)",
        r"(?:end|stop) (?:the pain|it|this|everything) (?:for good|forever|permanently)",
        r"(?:im|i am) done with (?:life|living|this life|being alive|existing|everything and "
        r"everyone)",
    ),
    "intent_plan": (
        r"(?:going to|gonna|will|ill|plan to|planning to|decided to|about to|ready to|want to|"
        r"wanna|im|i am) end it(?! (?:with|between|for (?:us|them|him|her)|here|there|off|early|at "
        r"(?:work|school)|on (?:a|good)|by)>)",
        r"(?:end|ending) it (?:tonight|today|tomorrow|this weekend|soon|on (?:friday|saturday|"
        r"sunday|monday|tuesday|wednesday|thursday))(?! with>)",
        r"(?:this is|today is|tonight is) my (?:last|final) (?:night|day)(?! (?:in|at|of|with|here|"
        r"on|as|before|off)>)",
        r"(?:picked|chosen|chose|set|decided on) (?:the|a) (?:date|day|time)(?! (?:for|of|to)>)",
        r"(?:have|made|got|make) a plan (?:to|for how to|for how i) ~(?:die|kill myself|end (?:it|"
        r"my life|things|everything))",
        r"(?:by|before) (?:next week|tomorrow|the weekend|friday|monday|my birthday|the end of "
        r"the (?:week|month)) (?:i|ill) (?:wont|will not) be (?:here|alive|around)",
        r"(?:wont|will not) be (?:here|alive|around) (?:anymore|much longer|for much longer|"
        r"for long)",
        r"(?:want|wanna|wanted|thinking about|thought about|going) to (?:overdose|od)"
        r"(?! on (?:coffee|caffeine|sugar|chocolate|candy|netflix)>)",
        r"(?:going to|gonna|will|ill) (?:take|swallow) (?:all|every one|the whole) (?:of )?"
        r"(?:my |the )?(?:pills|meds|tablets|medication|bottle)",
        r"(?:going to|gonna|will|plan to|planning to|plan on|planning on|decided to|about to|"
        r"ready to|tonight i|today i) (?:kill myself|end (?:it all|my life)|"
        r"take my (?:own )?life|hang myself|overdose|slit my (?:wrist|wrists))",
        r"hang myself",
        r"slit my (?:wrist|wrists)",
        r"(?:overdose|overdosing|od) on",
        r"(?:take|took|taking|swallow|swallowed|swallowing) (?:all|a bunch|the whole|every) "
        r"(?:of )?(?:my |the |of my )?(?:pills|meds|tablets|medication|bottle|packet)",
        r"(?:stockpiling|saving up|hoarding|collecting|saved up) "
        r"(?:my |the )?(?:pills|meds|tablets)",
        r"(?:jump|jumping) (?:off|from) (?:a|the|my) (?:bridge|roof|building|balcony|overpass)",
        r"(?:step|jump|walk|throw myself) in front of (?:a|the) (?:train|bus|truck|car)",
        r"(?:suicide|goodbye|farewell) (?:note|letter)",
        r"(?:giving|gave|give) away (?:all )?my (?:stuff|things|belongings|possessions)",
        r"(?:wont|will not) be alive (?:tomorrow|much longer|next week|anymore)",
        r"(?:wont|will not) be around (?:much longer|anymore|any more|for long)",
        r"(?:tie|tied|tying|made|making|bought) (?:a |the |my )?noose",
    ),
}

_VICTIMS = (
    r"(?:him|her|them|you|someone|somebody|anyone|anybody|everyone|everybody|people|"
    r"(?:my|the|that|his|her) (?:wife|husband|partner|boyfriend|girlfriend|mom|mum|mother|dad|"
    r"father|son|daughter|baby|kid|kids|child|children|brother|sister|boss|teacher|ex|neighbor|"
    r"neighbour|roommate|family|coworker|classmate|stepdad|stepmom|landlord|guy|man|woman))"
)
_VIOLENT_VERBS = (
    r"(?:kill|killing|murder|murdering|hurt|hurting|stab|stabbing|shoot|shooting|strangle|"
    r"strangling|choke|choking|poison|poisoning|smother|smothering)"
)

_OTHERS: dict[str, tuple[str, ...]] = {
    "violent_intent": (
        r"(?:want to|wanna|going to|gonna|will|ill|i will|plan to|planning to|thinking about|"
        r"thinking of|"
        r"fantasizing about|fantasising about|urge to|urges to|ready to|about to|afraid ill|"
        r"scared ill|afraid i will|scared i will) ~"
        + _VIOLENT_VERBS
        + " "
        + _VICTIMS
        + r"(?! (?:feelings|feeling|chances|career|reputation|pride|business|time))",
        r"homicidal(?: thoughts)?",
    ),
    "weapon_threat": (
        r"(?:bring|bringing|take|taking|brought|took) (?:a|my|the|my dads|my fathers|my moms|my br"
        r"others|his|her) (?:gun|knife|weapon|rifle|"
        r"pistol) (?:to|into) (?:school|work|class|the office|campus|church)",
        r"shoot up (?:the|my|a|this) (?:school|office|place|class|workplace|church)",
        r"(?:ill|i will|im going to|i am going to|gonna|going to) (?:bring|get|grab|use|take) "
        r"(?:my|my dads|my fathers|my brothers|my moms|a|the|his|her) (?:gun|rifle|pistol|knife|"
        r"shotgun|weapon)(?! (?:to (?:the range|hunting|clean)|hunting|for hunting|camping)>)",
        r"make (?:them|him|her|everyone|you all) pay ~(?:gun|knife|rifle|shoot|kill|stab)",
    ),
}

_SELF_COMPOSED: dict[str, tuple[str, ...]] = {
    "suicidal_ideation": (_WISH + " " + _ADV + _ACT_OBJECT,),
    "prior_attempt": (
        r"(?:took|taken|had|survived) an overdose",
        r"(?:jumped|threw myself) (?:off|from) (?:a|the) ~1" + _HEIGHT + r" ~6(?:survived|lived|"
        r"hospital|broke|attempt|woke up)",
        r"(?:i|ive|i have|i had|almost|nearly) (?:odd|oded|overdosed)(?! (?:on (?:coffee|caffeine"
        r"|sugar))>)",
        r"(?:not|isnt|wasnt|wouldnt be|wont be) my first attempt",
        r"(?:i|ive|i have|i had|when i) attempted>(?! (?:to|the|a|an|it|this|that|my|our|your)>)",
        r"(?:my|a|the) (?:first|second|third|last|previous|suicide|failed) attempt(?! (?:at|to)>)",
        r"(?:survived|after|since) (?:an|my|the|a) (?:overdose|suicide attempt|attempt)",
        r"(?:drank|drink|drinking|swallowed|swallow|took) (?:some |a bottle of )?(?:bleach|antifre"
        r"eze|"
        r"poison|drain cleaner|pesticide|weed killer|rat poison)",
        r"(?:took|taken|swallowed|downed|take|taking) (?:like |about |around )?(?:[1-9][0-9]+|twen"
        r"ty|thirty|"
        r"forty|fifty|a hundred) (?:of )?(?:my )?(?:pills|tylenol|advil|paracetamol|tablets|sleepi"
        r"ng "
        r"pills|xanax|meds|ibuprofen|painkillers|aspirin)",
        r"(?:tried|try|trying|attempted|attempt|attempting|tries) to " + _ADV + _ACT_OBJECT,
    ),
    "wish_to_be_dead": (
        r"(?:so |just |really )?done (?:with )?(?:life|living|being alive|existing)(?! (?:in|at|l"
        r"ike|with)>)",
        r"life (?:is not|isnt|aint) (?:even )?worth (?:it|anything) (?:anymore|any more|at all)",
        r"(?:cant|can not|cannot|dont) see (?:a|any) future (?:for myself|for me|at all|anymore|a"
        r"ny more)",
        r"(?:wish|wished|wishing) (?:i|id|that i) (?:wasnt|werent|was not|were not|hadnt been|had"
        r" not "
        r"been|had never been) (?:alive|born|here|around)",
        r"(?:dont|do not|no longer) (?:really )?wanna (?:live|be alive|exist|wake up|be here|go o"
        r"n)",
        r"(?:hope|hoping|pray|praying|wish|wishes|wishing) ~3(?:plane|car|bus|train) (?:would |wil"
        r"l )?(?:crash|"
        r"crashes|crashed|hit me|hits me)",
        r"(?:hope|hoping|pray|praying|wish|wishes|wishing) ~2(?:cancer|illness|disease|tumor|tumou"
        r"r|heart attack) "
        r"(?:would |will )?(?:come back|comes back|get me|gets me|kill me|kills me|take me|takes m"
        r"e)",
        r"hate (?:being alive|existing|that im (?:still )?alive|waking up)(?! (?:early|at|on|for|s"
        r"o early|in)>)",
        r"(?:dont|do not|no longer) (?:wanna|want to) be here (?:anymore|any more|no more)",
        _WISH + " " + _ADV + _DEAD_OBJECT,
        r"(?:wish|wished|wishing) (?:i|id|that i) (?:was|were|had been|could be|would be|d be|"
        r"could just be) dead",
        r"(?:wouldnt|would not|dont|do not) mind if (?:a|the|some) ~1(?:car|bus|truck|train|"
        r"lorry|plane|disease|illness|accident) (?:hit|hits|ran over|runs over|killed|kills|took|"
        r"takes) me",
        r"wish (?:i|id|that i) (?:had |d )?never (?:been born|existed|woken up|woke up|been "
        r"alive)",
        r"(?:should|shouldnt|should not) (?:never )?have (?:never )?been born",
        r"(?:wish|hope|pray|praying|hoping) (?:someone|somebody|something|god|a car|a bus|a truck|"
        r"the plane|a train) (?:would|will|could) (?:just )?(?:kill me|take me|end me|end it|run "
        r"me over|hit me)",
        r"(?:take|takes) me (?:in my sleep|away from this)",
        r"(?:hope|hoping|pray|praying|wish|wishing) (?:that )?(?:i|id) (?:die|get (?:hit|cancer|"
        r"sick and die)|dont wake|never wake|crash)",
        r"(?:hope|hoping|pray|praying|wish|wishing) ~3(?:illness|disease|cancer|accident|"
        r"something) ~3(?:die|dead|kills me|takes me)",
        r"(?:death|dying|being dead|not existing|nonexistence|oblivion|not waking up|never "
        r"waking up|to die|to not exist|not being alive|not being here) (?:sounds|seems|feels|"
        r"would be|would feel|is|looks|must be) (?:so |really |more |quite |like )?(?:peaceful|"
        r"nice|good|better|easier|a relief|relieving|appealing|tempting|like (?:a )?relief|like "
        r"peace|like freedom|welcome|comforting|better than this|so much better|like an escape|"
        r"like the only way out)",
        r"welcome death|(?:at peace|ok|okay|fine|content|happy) with (?:dying|death|not waking "
        r"up|never waking up|being dead)",
        r"(?:wouldnt|would not|dont|do not) mind (?:dying|being dead|not waking up|if i died|"
        r"if i didnt wake up|never waking up|not existing)",
        r"if i (?:died|die|dont wake up|didnt wake up|never woke up|never wake up|was dead|were "
        r"dead|was gone|were gone) ~3(?:fine|ok|okay|relief|relieved|better|wouldnt mind|good|"
        r"dont care|wouldnt care|so be it|whatever|happy)",
        r"(?:jealous|envious|envy) (?:of )?(?:people|those|the ones|anyone|everyone|dead people)"
        r" (?:who|that) (?:die|died|are dead|get to die|passed)",
        r"(?:imagining|imagine|picturing|picture|planning|plan) my (?:own )?funeral",
        r"(?:no|lost (?:the|my|all)|have no|dont have (?:the|any)|without (?:the|any)) (?:will|"
        r"desire|wish|want|reason|reasons|motivation|drive) (?:left )?to (?:live|keep living|go on|"
        r"keep going|be alive|carry on|stay alive|continue)",
        r"(?:dont|do not|cant|cannot|can not) see (?:the|a|any) (?:point|reason|use) (?:in|of|to) "
        r"(?:living|life|being alive|going on|keep living|keep going|staying alive|carrying on|"
        r"continuing|any of it anymore)",
        r"(?:rather|sooner|prefer to) (?:be dead|die" + _NOT_LITERAL + r")(?! than (?:wear|eat|"
        r"drink|watch|listen|sing|dance|admit|say sorry|apologize|apologise|be seen|lose|sit "
        r"through|go to (?:the|that|a|this|his|her) (?:party|class|meeting|gym|dentist|wedding|"
        r"concert|game)|do (?:my|this|that|the) (?:homework|essay|chores|dishes))>)",
        r"(?:no|any) (?:reason|point) (?:to|in) (?:keep|keeping|continue|continuing|carry on) "
        r"(?:living|going|on)",
        r"(?:dont|do not|no longer) (?:really )?(?:want|wanna|wish|plan|intend|expect|care) (?:to|"
        r"on) (?:live|be alive|stay alive|keep living|exist|wake up|see tomorrow|see another day|"
        r"make it (?:through|to)|go on living|keep going|survive|being here|be here)"
        r"(?! (?:at|in|for|with|today|tonight|this|when|because|early|so early|before|on|like "
        r"this|here|there|during|after|until|anymore at|alone)>)",
    ),
    "suicidal_thoughts": (
        _THOUGHT + " " + _ADV + "(?:myself )?" + _GERUND_OBJECT,
        r"(?:came|come|was|got|been) (?:so |really |very )?close to (?:killing myself|ending it|"
        r"ending my life|taking my (?:own )?life|doing it)",
        r"(?:suicidal|dark|intrusive|death) (?:thoughts|ideation|urges|feelings) (?:are|have been|"
        r"keep|came|come|wont|are back|back)",
        r"(?:voice|voices|brain|head|mind) ~2(?:telling|tells|told|keeps telling|says|saying) me "
        r"to (?:die|kill myself|end it|do it|jump)",
        r"(?:cant|can not|cannot) (?:get|stop) ~2(?:dying|death|suicide|killing myself|ending it)"
        r" (?:out of|off) my (?:head|mind)",
        r"(?:idea|thought|thoughts) of (?:dying|death|suicide) ~2(?:out of my head|wont leave|"
        r"keeps coming|stuck)",
    ),
    "intent_plan": (
        r"(?:sunday|monday|tuesday|wednesday|thursday|friday|saturday|tomorrow|tonight|today) (?:"
        r"is|s) "
        r"the (?:day|night)(?! (?:we|i|of|for|before|after|when|that|to|my|our|off)>)",
        r"(?:dont think|not sure|doubt) (?:ill|i will|im going to|i am going to) be (?:around|here"
        r"|alive) "
        r"(?:much longer|for long|long|next (?:week|month|year)|tomorrow|by)",
        r"(?:wont|will not) be here (?:much longer|for long)",
        r"jump (?:tonight|today|tomorrow|this weekend)",
        r"(?:already|finally) (?:wrote|written|left|finished) (?:the|my|a) (?:note|letter)>",
        r"(?:cant|can not|cannot|dont know if i can|not sure i can) (?:promise|guarantee|say) (?:i"
        r"ll|i will|"
        r"that ill|that i will|im going to) (?:be safe|stay safe|keep myself safe|make it)",
        r"(?:dont|do not) (?:feel|think im) safe (?:with myself|from myself|alone tonight|tonight)",
        r"(?:scared|afraid|terrified|worried) (?:of )?what (?:i|ill) (?:might|will|could|would|am "
        r"going to|"
        r"m going to) do (?:to myself|tonight)",
        r"(?:ready|going|want|wanna|need|time) to let go>(?! (?:of|off)>)",
        r"(?:went|drove|walked|go|going) (?:up )?to (?:the|a) (?:bridge|rooftop|roof|cliff|tracks|"
        r"train "
        r"tracks) ~6(?:stood|stared|looked down|almost|nearly|thinking about|to jump|to do it)",
        r"(?:have|got|made|making) a plan ~3(?:and i know (?:when|how|where)|to do it|for (?:it|ho"
        r"w|when)|"
        r"to end it|to kill myself)",
        r"(?:picked|chosen|chose|found) (?:the|a|my) (?:bridge|building|method|spot to do it|place"
        r" to do "
        r"it)>(?! (?:for|to|of|where we|near)>)",
        _INTENT + " " + _ADV + _ACT_OBJECT,
        r"(?:wont|will not|not going to|dont think ill|dont think i will|dont expect to|not "
        r"gonna) be alive",
        r"alive (?:for )?(?:much longer|long|by (?:the|next)|to see)",
        r"(?:planned|worked out|figured out|know|decided|thought through|chosen|picked) (?:exactly "
        r")?(?:how|when|where) (?:i|id|ill|im going to|i will|i would|im gonna) (?:do it|end it|"
        r"go|die|kill myself|do this)",
        r"(?:set|picked|chosen|chose|decided on|planned|settled on) (?:a|the|my) (?:date|day|time|"
        r"night) (?:to|when i) (?:die|do it|end it|go|kill myself)",
        r"(?:do|doing) it (?:this time|for real)",
        r"(?:do|doing) it ~3(?:when|while|once) (?:everyone|everybody|nobody|no one|my (?:family|"
        r"parents|wife|husband|mom|mum|roommate)|theyre|theyve)(?: is| s|s| are|re)? ~1(?:out|"
        r"asleep|away|gone|home|at work|sleeping|not home|left)",
        r"(?:do|doing) it ~3(?:before anyone|and nobody|and no one|so nobody|so no one)",
        r"going through with it(?! (?:for|with)>)",
        r"(?:when|while|once) (?:nobody|no one|everyone|everybody)(?: will be| is| s|s)? (?:home|"
        r"out|asleep|away|around|gone) (?:to stop|and) (?:me|i)",
        r"(?:nobody|no one|noone|nothing) (?:can|will|is going to|could|would) (?:stop|save|find) "
        r"me (?:now|this time|in time)",
        r"(?:last|final) (?:message|goodbye|words|post|text) (?:to|for) (?:anyone|anybody|everyone|"
        r"you all|you guys|the world|you)",
        r"(?:checking|check|checked|going to check|ready to check) out (?:of life|for good|"
        r"permanently|of this life|of this world)",
        r"(?:want|wanna|need|get|getting) out of this (?:life|world|existence)",
        r"(?:not going to|wont|will not|not gonna) (?:make it|be here|be around) (?:to|until|till|"
        r"past|through) (?:christmas|my birthday|the weekend|next (?:week|month|year)|tomorrow|"
        r"new year|the end of)",
        r"(?:this|it) (?:is|will be) (?:the|my) (?:last|final) time (?:you|anyone|any of you) "
        r"(?:hear|will hear) from me",
        r"(?:swallow|swallowed|swallowing|take|took|taking|down|downed|downing) (?:every|all (?:of"
        r" )?"
        r"(?:my|the|those|these)|the whole|a whole|a full|the rest of (?:my|the)|a handful of|"
        r"handfuls of|a bottle of|bottles of|a box of) ~1(?:pill|pills|tablet|tablets|meds|"
        r"medication|bottle|packet|sleeping pills|painkillers|paracetamol)",
    ),
    "method": (
        r"(?:looking|staring|stare|look|stared|looked) at (?:the )?(?:train )?tracks",
        r"(?:bought|buying|got|purchased|ordered) (?:a|my|the) (?:gun|pistol|rifle|handgun|firearm)"
        r"(?! (?:for (?:hunting|the range|sport|work)|license|licence|safe)>)",
        r"(?:enough|plenty of|a lot of|lots of) (?:pills|meds|tablets|sleeping pills|painkillers) "
        r"(?:saved|stashed|hidden|stored|collected)|(?:pills|meds|tablets) saved up",
        r"(?:researching|researched|looking up|looked up|googling|googled|reading about) (?:suicid"
        r"e )?"
        r"(?:methods|ways to die|how to die|how to do it|painless ways)(?! (?:for|of|in)>)",
        r"(?:keep|keeping|kept|have|hiding|hid) (?:a|my|the) ~1(?:razor|blade|blades|knife|rope|pi"
        r"lls|gun) "
        r"~4just in case",
        r"(?:vodka|alcohol|whiskey|booze) and (?:my|the|all my|all the) ~2(?:pills|prescription|me"
        r"ds|"
        r"sleeping pills)",
        r"(?:keep|keeps|kept|been|cant stop) (?:staring|looking) at (?:the|my|those|these|all the|"
        r"all my) ~1"
        r"(?:pills|knife|knives|rope|blade|blades|razor|razors|gun)",
        r"(?:sitting|standing|stood|sat|sit|stand) on (?:the|a|this) (?:roof |bridge |building |ba"
        r"lcony )?"
        r"(?:ledge|railing|edge of (?:the|a|this) ~1(?:roof|bridge|building|cliff|balcony))",
        r"how many ~3(?:pills|tablets|meds|sleeping pills|of them|of these) ~3(?:it would take|wou"
        r"ld it "
        r"take|does it take|it takes|would do it|to do it|would be enough|is enough|would kill)",
        r"(?:have|got|holding|looking at|staring at) (?:the|my|all my|a|all the) ~1(?:pills|knife|"
        r"rope|gun|"
        r"blade|razor|razors|blades) (?:right )?(?:in front of me|in my hand|next to me)",
        r"(?:how|which|what) (?:many|much|kind of|type of) ~1(?:pills|tablets|meds|sleeping pills|"
        r"paracetamol|tylenol|insulin|medication|medications|of (?:these|my|them|the)) ~6(?:die|"
        r"kill|not wake up|never wake up|overdose|fatal|lethal|end it|be enough|enough to|od)",
        r"(?:which|what) (?:medications|meds|pills|drugs) (?:are|is) (?:lethal|fatal|deadly)",
        r"(?:lethal|fatal|deadly) (?:in )?(?:large )?(?:dose|doses|amount|overdose|quantities)",
        r"how (?:high|tall|far up|far down|deep) (?:the|that|this|a|my) ~2" + _HEIGHT,
        r"(?:quickest|fastest|easiest|least painful|painless|surest|best|simplest) (?:way|ways|"
        r"method|methods) (?:to|of) (?:die|kill myself|end it|end my life|go|do it|dying|killing "
        r"myself|suicide)",
        r"(?:use|using|used) (?:my|his|the|a|her|our|my dads|my fathers) ~1(?:gun|rifle|pistol|"
        r"knife|blade|razor|rope|belt|pills|meds|car) on myself",
        r"(?:lie|lying|lay|laying) down on (?:the|them|the train) (?:tracks|rails|road)",
        r"(?:standing|stood|sitting|sat|stand) (?:on|at) (?:the|a|my|that|this) ~1"
        + _HEIGHT
        + r" ~4(?:jump|jumping|fall|falling|let go|end it|edge|thinking about it)",
        r"(?:staring|stare|stared|looking|looked|look) at (?:the|my|those|these|all the) ~1"
        r"(?:knives|knife|pills|tablets|meds|rope|blade|blades|razor|razors|gun|tracks|bridge|"
        r"ledge|bottle) ~6(?:thinking about it|how many|wondering|tempting|it would take|would it "
        r"take|using them|using it|end it|do it|enough)",
    ),
    "preparatory_acts": (
        r"(?:getting rid of|gave away|giving away|give away) (?:all|most) (?:of )?my (?:things|st"
        r"uff|"
        r"belongings|possessions)",
        r"(?:doesnt|dont|didnt|dont even) know (?:it was|its|that was) (?:goodbye|the last time|my"
        r" goodbye)",
        r"less to (?:clean up|deal with|sort out|handle) after>(?! (?:the|my|a|party|dinner|class|"
        r"we)>)",
        r"(?:wont|will not|dont) have to (?:worry about|deal with|put up with) me (?:anymore|much "
        r"longer|"
        r"soon|for long)",
        r"(?:left|leaving|wrote down|writing down) (?:all )?my passwords (?:and|for|so)",
        r"(?:find|read|see|get) (?:them|it|this|my letter|my letters|the letters|the note) (?:afte"
        r"r|when "
        r"(?:im|i am) (?:gone|dead))>",
        r"(?:sorry for everything|thank you for (?:everything|trying|being there)) ~6(?:goodbye|by"
        r"e|"
        r"farewell)>",
        r"(?:goodbye|farewell) (?:everyone|everybody|all|world|forever|for good|cruel world)",
        r"(?:saving|saved|been saving) (?:up )?(?:my |all my )?(?:sleeping pills|pills|meds|tablet"
        r"s|"
        r"painkillers|antidepressants) (?:for (?:weeks|months|a while|ages|when)|just in case)",
        r"(?:a plan|the plan|the means|a way|a date|the date|a time) and (?:the|a) (?:means|date|"
        r"time|plan|pills|rope|gun)",
        r"(?:planned|worked|figured) (?:it |everything )?(?:all )?out ~6(?:pills|rope|gun|knife|"
        r"bridge|note|letter|tablets|meds|overdose|jump|noose)",
        r"know where (?:my|the|his|her|our) ~1(?:dad|father|mom|mum|mother|brother|parents|"
        r"grandpa|husband|wife|family) (?:keeps|hides|keep|hide|stores|store) (?:his|her|their|the|"
        r"a) ~1(?:gun|guns|rifle|pistol|pills|meds|sleeping pills|ammo|bullets)",
        r"made (?:my )?peace(?! with>) ~4(?:ready|time to go|goodbye|gone|go>|leave)",
        r"(?:a |my |the )?(?:stash|stockpile|hoard|supply|collection) of (?:pills|meds|tablets|"
        r"sleeping pills|painkillers|paracetamol|medication|pills and)",
        r"(?:hidden|hid|hiding|stashed|stashing|squirreled|squirreling) "
        r"(?:away )?(?:my |the |some |extra |a lot of )?(?:pills|meds|tablets|sleeping pills|"
        r"painkillers|paracetamol|medication)(?! (?:in a|in the|in my) (?:organiser|organizer|"
        r"pillbox|case)>)",
        r"counting (?:them|the pills|my pills|pills|the tablets|my meds)",
        r"(?:for|until) (?:when|the day) (?:im|i am|i) (?:ready|gone|not here|dead|do it)",
        r"(?:wrote|written|writing|write|left|leaving|leave|recorded|recording|record|typed|"
        r"drafted|finished|prepared) ~4(?:note|notes|letter|letters|message|messages|video|videos|"
        r"email|emails|text|texts) ~9(?:saying goodbye|goodbye|to find|to read|after (?:im|i am|"
        r"i) (?:gone|dead)|when (?:im|i am|i) (?:gone|dead|not here)|for when|for after|"
        r"explaining why|after)",
        r"(?:goodbye|farewell|final|suicide) (?:letter|letters|note|notes|video|videos|message|"
        r"messages|texts|emails)(?! (?:at|to my (?:coworkers|colleagues|students|class)|for "
        r"(?:my )?(?:coworkers|colleagues|students|class))>)",
        r"(?:said|say|saying|made|making) (?:my )?(?:final|last) (?:goodbye|goodbyes)",
        r"(?:said|saying|made) (?:all )?my goodbyes",
        r"this is (?:goodbye|farewell|my goodbye)(?! (?:for now|to)>)",
        r"(?:wont|will not|wouldnt|would not|dont|do not) need (?:it|them|this|that|these|those|"
        r"my [a-z]+|any of it|any of this) (?:anymore|any more|where im going|after (?:this|"
        r"tonight|im gone)|soon|much longer)",
        r"(?:use|have|keep|get) (?:it|them|this|my [a-z]+) (?:after|when) (?:im|i am) (?:gone|"
        r"dead|not here)",
        r"(?:after|when|once) (?:im|i am|ive|i have|i) (?:dead|not here anymore|no longer here|no "
        r"longer around|not around anymore|died)",
        r"(?:rope|noose|belt|cord) ~6(?:beam|hook|rafter|ceiling|tree|stool|chair|door|closet "
        r"rod|banister|railing)(?! (?:for|to) (?:the|a|my) (?:tent|swing|hammock|climb|boat)>)",
        r"(?:beam|hook|rafter|ceiling|stool) ~6(?:rope|noose)",
        r"(?:deleted|deleting|closed|closing|cancelled|canceled) (?:all )?(?:my )?(?:accounts|"
        r"social media|everything) ~4(?:after|so (?:nobody|no one|there)|when im gone|nothing to "
        r"deal)",
        r"(?:giving|gave|give|given|gifting|gifted|handing out) (?:away )?(?:my|all my|most of my|"
        r"away my|my favourite|my favorite) ~2(?:things|stuff|belongings|possessions|clothes|"
        r"games|pets|cat|dog|guitar|books|jewelry|jewellery) ~6(?:wont need|dont need|after im|"
        r"when im gone|after i die|use them after|need them more|im gone)",
        r"(?:left|leaving|wrote|writing) (?:instructions|my passwords|my will) ~5(?:after im|"
        r"when im gone|in case|for after|so they|to find)",
        r"(?:made|making|wrote|writing|finished|updated|updating) (?:my|a) will ~6(?:goodbye|"
        r"gone|affairs|in order|nothing left|ready)",
    ),
    "burdensomeness": (
        r"(?:better off|happier|easier|relieved|free|lighter|be fine|be ok|be okay) (?:with me "
        r"dead|with me gone|if i (?:was|were|am|m|died|disappeared|killed myself|wasnt|werent) "
        r"(?:dead|gone|not here|not around|here|around|alive)?|if i (?:just )?(?:died|"
        r"disappeared|killed myself)|when im (?:gone|dead)|once im (?:gone|dead)|without me "
        r"(?:around|here|alive|in their lives|in it))",
        r"(?:better off|happier|easier|relieved|free) (?:of|from|without) me(?! (?:at|in|there|on|"
        r"for)>)",
        r"(?:dead weight|waste of (?:space|oxygen|air|a life|skin)|drain on (?:everyone|my family|"
        r"them|everybody|the people))",
        r"(?:lives|life) would be (?:easier|better|simpler|happier) (?:if|without) (?:i|me)",
        r"(?:world|everyone|everybody|they|my family|people) (?:would be|is|are|d be|will be) "
        r"better (?:off )?(?:without|with no) me",
        r"(?:no one|nobody|noone|nobodys|no ones) (?:would|will|is going to|even|would even|will "
        r"even) (?:miss|notice|care|mourn|cry|be sad)(?: me)? (?:if|when) (?:i|im) (?:died|die|"
        r"dead|gone|was gone|were gone|disappeared|killed myself|not here|wasnt here)",
        r"(?:everyone|everybody|they|them|my family|my parents|people) (?:would|will|d) "
        r"(?:finally )?be (?:free|rid) of me",
    ),
    "self_harm": (
        r"(?:been|started|keep|kept|still|back to|went back to) cutting(?! (?:back|down|out|class|"
        r"school|corners|costs|carbs|ties|my hair|hair|the|it|onions|wood|paper|fabric|grass|coup"
        r"ons)>)",
        r"(?:went|cut|cutting|go) (?:a lot |way |much )?deeper (?:than|this time)",
        r"(?:burned|burnt|burning|burn) my (?:wrist|wrists|arm|arms|thigh|thighs|skin|hand|hands)"
        r" with "
        r"(?:a|the) (?:hot |heated )?(?:spoon|lighter|cigarette|match|matches|knife)",
        r"(?:until|til|till) i (?:bleed|bled|bruise|bruised)",
        r"(?:carved|carving|carve|sliced|slicing) (?:into )?my (?:skin|arms|arm|wrists|wrist|thig"
        r"hs|thigh|"
        r"legs|leg|stomach|hips|body)",
        r"(?:cut|cutting|burned|burnt|burning) my (?:skin|arms|wrists|thighs|stomach|hips)(?! (?:"
        r"on|with|"
        r"by accident|accidentally|while|when|shaving|cooking|in)>)",
        r"(?:arms|wrists|thighs|legs|skin|body|stomach) (?:are|is) (?:covered in|full of) (?:cuts"
        r"|scars|"
        r"burns|fresh cuts)",
        r"(?:the )?urge (?:to cut |to hurt myself |to self harm )?is (?:so )?(?:bad|strong|back|un"
        r"bearable|"
        r"overwhelming)|(?:urge|urges) to (?:cut|self harm|burn myself|hurt myself)",
        r"relapsed ~4(?:months|weeks|days|years|month|week|year) clean",
        # an intent marker after the act ("until it bleeds", "on purpose", "to feel something")
        r"(?:cut|cutting|cuts|burn|burning|burnt|burned|hit|hitting|punch|punching|punched|"
        r"scratch|scratching|scratched|carve|carved|carving|slice|sliced|slicing|stab|stabbed|"
        r"stabbing|bang|banging|banged|bash|bashing|pinch|pinching|bite|biting|hurt|hurting|harm|"
        r"harming) (?:my|myself|into my|on my) ~3(?:until|til|till|on purpose|deliberately|to "
        r"(?:feel|punish|cope|numb|calm)|so (?:i|that i) (?:can|could) feel)",
        # the body part and the instrument of self-injury ("my arms with a lighter")
        r"(?:cut|cutting|cuts|burn|burning|burnt|burned|carve|carved|carving|slice|sliced|"
        r"slicing|stab|stabbed|stabbing|scratch|scratched|scratching) ~5(?:arm|arms|wrist|wrists|"
        r"thigh|thighs|leg|legs|skin|stomach|hips|hip|body|forearm|forearms) ~5(?:razor|razors|"
        r"blade|blades|lighter|cigarette|cigarettes|compass|scissors|broken glass|glass|sharpener)",
        r"(?:until|til|till) (?:it|they|my [a-z]+) (?:bleed|bled|bleeds|bruise|bruised|bruises|"
        r"cracked|broke)",
        r"(?:used|use|using|take|took|taking) (?:a|the|my) (?:razor|blade|knife|lighter|cigarette|"
        r"compass|scissors|glass|sharpener) (?:on|to) (?:my|myself)",
        r"(?:urge|urges|need|craving|crave|tempted|want|wanna|wanted) (?:to )?(?:cut|burn|hurt|"
        r"harm)(?! (?:the|my|down|back|it|out|in|off|class|school|ties|carbs|sugar|costs|loose|"
        r"corners|you|him|her|them|anyone|people|someone|your|his|their|a|an|up|through|across|"
        r"ahead|less|so|any|anybody|everyone|that|this|those|these)>)",
        r"(?:is|was|by|from|about|stop|start|started|keep|kept|quit|resist|resisting|relapse into|"
        r"relapsed into|helps is|helped is|clean from|days clean|months clean|back to|began|been|"
        r"go back to|went back to|do is|thing is) (?:cutting|self harming|burning myself)"
        r"(?=[^a-z0-9 ]|$| again>| myself>| when>| because>| to (?:feel|cope|numb)>)",
        r"(?:relapsed|relapse|relapsing)(?: (?:last night|again|today|yesterday|this week))?"
        r"[^a-z0-9]+(?:and )?(?:cut|used a (?:razor|blade)|burned|burnt|hurt myself)",
        r"(?:make|made|making) myself (?:bleed|bruise|suffer)",
        r"(?:bleed|bled|bleeding|bruise|bruised|bruises) (?:on purpose|deliberately)",
        r"(?:to|as a way to|so i can|so i could) punish myself",
        r"(?:cut|cutting|burn|burning|hurt|hurting) (?:myself )?(?:to (?:feel something|feel "
        r"anything|cope|punish myself|numb)|as (?:punishment|a punishment))",
    ),
    "end_everything": (
        r"(?:only|one|last) (?:way out|escape|solution|option|answer) (?:is|would be|left is) (?:d"
        r"eath|"
        r"dying|to die|suicide|to end it|ending it|to kill myself)",
        r"death (?:is|seems|feels like) (?:the|my) only (?:way out|option|answer|solution|escape)",
        r"(?:tonights|tonight is|today is|todays) the (?:night|day) ~4(?:im done|i am done|its ove"
        r"r|"
        r"goodbye|end it|do it|ready)",
        r"(?:want|wanna|need|wish|just want|ready|long) (?:for )?(?:it all|everything|all of it|"
        r"my life|this life|all this) (?:to )?(?:end|stop|be over)"
        r"(?! (?:for a (?:minute|second|moment|bit|while|day)|so i can|and then|before)>)",
        r"(?:want|wanna|need|wish|just want) my life (?:to )?(?:end|be over|stop)",
        r"(?:end|stop|escape) (?:this|the|my) pain (?:permanently|for good|forever|once and for "
        r"all)",
        r"(?:want|wanna|need) (?:a |an |the )?(?:permanent |final )?(?:way out|escape) (?:of|from) "
        r"(?:this|life|it all|everything)",
    ),
}
_OTHERS_COMPOSED: dict[str, tuple[str, ...]] = {
    "violent_intent": (
        r"(?:snap|lose it|lose control|flip) and (?:hurt|kill|attack|hit|stab) (?:someone|somebody|"
        r"him|her|them|people|everyone)",
        r"(?:"
        + _WISH
        + "|"
        + _INTENT
        + "|"
        + _THOUGHT
        + r") ~1(?:run|running) (?:him|her|them|you) "
        r"over",
        r"(?:" + _WISH + "|" + _INTENT + "|" + _THOUGHT + r"|afraid (?:ill|i will|i might|im "
        r"going to)|scared (?:ill|i will|i might|im going to)|worried (?:ill|i will|i might|im "
        r"going to)|plan how to|planning how to|planned how to|(?:figuring|figured|working|worked) "
        r"out how to) ~1" + _ADV + r"(?:kill|killing|murder|murdering|hurt|hurting|harm|harming|"
        r"stab|stabbing|shoot|shooting|strangle|strangling|choke|choking|poison|poisoning|smother|"
        r"smothering|beat|beating|burn|burning|attack|attacking|run over|running over|push|"
        r"pushing) (?:him|her|them|you|someone|somebody|anyone|everyone|everybody|people|(?:my|"
        r"the|that|his|her|those|these|all the|this) (?:wife|husband|partner|boyfriend|girlfriend|"
        r"mom|mum|mother|dad|father|son|daughter|baby|kid|kids|child|children|brother|sister|boss|"
        r"teacher|teachers|ex|neighbor|neighbour|neighbors|roommate|family|coworker|coworkers|"
        r"classmate|classmates|stepdad|stepmom|stepfather|stepmother|landlord|guy|man|woman|girl|"
        r"boy|bully|bullies|people|students|manager|uncle|aunt|cousin|grandpa|grandma|friend|"
        r"friends|bitch|bastard|idiot|asshole|prick|jerk|cop|cops|supervisor|professor|coach)|the"
        r" (?:people|kids|students|teachers) (?:at|"
        r"in) (?:my|the) [a-z]+)(?! (?:feelings|feeling|chances|career|reputation|pride|business|"
        r"time|plans|hair|nails|game|score|deck|character|in the game)>)",
        r"(?:beat|beating|kick|kicking) (?:him|her|them|you|my [a-z]+) (?:to death|senseless|"
        r"until (?:he|she|they) (?:cant|stop|die|bleed))",
        r"(?:burn|burning) (?:his|her|their|your|the) (?:house|place|car|apartment|flat) (?:down )?"
        r"(?:with|while) (?:him|her|them|you|everyone)",
        r"(?:put|putting) (?:him|her|them|you|my [a-z]+|that [a-z]+) in (?:the )?hospital",
        r"(?:never|wont|will not) (?:breathe|wake up|walk) again(?! (?:after|the)>)",
        r"(?:make|making) (?:them|him|her|everyone|you all|them all) (?:all )?(?:pay|suffer|bleed)"
        r" ~4(?:plan|gun|knife|rifle|shoot|kill|stab|hurt|die|dead|blood|bought)",
        r"(?:scared|afraid|terrified|worried) (?:ill|i will|i might|im going to|i am going to|that "
        r"i (?:will|might|could)) ~1(?:hurt|harm|kill|shake|snap and hurt) (?:my|the|him|her|them)",
    ),
}
#: Constructs of the fourth round (written statements, even half): dying as a relief ("it would
#: be a relief if I didn't make it"), not seeing oneself alive much longer, others spared ("doing
#: everyone a favour by dying", "better off if I wasn't in the picture"), how easy it would be,
#: pills counted out, a goodbye left for "after I'm gone".
_SELF_ROUND4: dict[str, tuple[str, ...]] = {
    "wish_to_be_dead": (
        r"(?:dont|do not|no longer|dont even|do not even) care (?:if|whether) i (?:live|die|"
        r"wake up|make it|survive)(?! (?:in|at|on|with|through)>)",
        r"(?:relief|blessing|better|easier|nice|fine|ok|okay|peaceful|mercy) (?:if|when) i ~6(?:"
        r"didnt make it|did not make it|didnt survive|did not survive|never woke up|didnt wake up|"
        r"did not wake up|died|was dead|were dead|just died|wasnt alive)"
        r"(?! (?:late|early|on time|in time|at|my|her|his|the)>)",
        r"(?:dont|do not|cant|can not|cannot) see myself (?:being|staying|living) (?:around|here|"
        r"alive) (?:much longer|for much longer|for long|anymore|any more|next year)",
        r"(?:wont|will not) be (?:around|alive) (?:much longer|for much longer)",
        r"cease to be>(?! (?:a|an|the|my|your|his|her|their|our|so|as|able|part|friends|in|on|"
        r"useful|relevant|valid|true)>)",
    ),
    "burdensomeness": (
        r"(?:better off|happier|easier|relieved|free|lighter|be fine|be ok|be okay) if i (?:wasnt|"
        r"werent|was not|were not) (?:in the picture|in their lives|in the way|born|alive anymore|"
        r"here anymore|around anymore)",
        r"(?:doing|do|did) (?:everyone|everybody|them|the world|my family|you all) a (?:favour|"
        r"favor) (?:by|if i) ~1(?:dying|died|disappearing|disappeared|killing myself|"
        r"not being here|being gone|leaving for good|ending it)",
        r"one less (?:problem|burden|mouth to feed|thing to worry about|worry|expense) ~3"
        r"(?:if|when|once) (?:i|im) (?:was |were |am )?(?:dead|gone|died|not here|not around|"
        r"disappeared)",
    ),
    "preparatory_acts": (
        r"(?:after|once) (?:im|i am) (?:gone|dead)>(?! (?:for|on|until|till|to|this|next|from|away|"
        r"by|in|at|over|abroad|overseas|travelling|traveling)>)",
        r"(?:pills|tablets|meds|sleeping pills|painkillers) (?:all )?(?:counted|lined up)>",
        r"(?:wrote|written|made|finished|signed) (?:my|a) will ~6(?:left|leave|leaving|gave|giving)"
        r" (?:everything|it all|all my|all of my)",
    ),
    "method": (
        r"(?:pills|meds|drugs|tablets|dose|amount|dosage) ~2(?:are|is|would be|be) (?:lethal|fatal|"
        r"deadly)",
        r"(?:which|what) (?:bridge|building|roof|cliff|pills|method|rope|gun|train|tree) (?:id|i "
        r"would|i will|ill|im going to|im gonna|to) (?:use|jump from|jump off|pick|choose|do it)",
        r"(?:almost|nearly) (?:stepped|jumped|walked|threw myself|drove) (?:in front of|off|into)",
        r"(?:how to (?:make|tie) a|tied a|made a|tying a) noose",
        r"how (?:many|much) ~2(?:pills|tylenol|paracetamol|acetaminophen|tablets|meds|advil|"
        r"ibuprofen|aspirin|insulin|sleeping pills|of (?:these|them|my [a-z]+)) ~2(?:it takes|it "
        r"would take|would it take|does it take|to die|to kill|to od|would kill|is lethal|is fatal|"
        r"is a lethal)(?! to (?:feel|work|kick|help|sleep|get)>)",
        r"(?:easy|simple|quick|painless) (?:it )?(?:would|could|d|will) be to (?:just )?(?:let go|"
        r"jump|step off|fall|end it|die|drive off|swerve|step in front)"
        r"(?! (?:of|off|with|on|in|into|at|ahead|to|for|up)>)",
    ),
}
_SELF_COMPOSED = {
    label: _SELF_COMPOSED.get(label, ()) + _SELF_ROUND4.get(label, ())
    for label in (*_SELF_COMPOSED, *(k for k in _SELF_ROUND4 if k not in _SELF_COMPOSED))
}
_SELF = {
    label: _SELF.get(label, ()) + _SELF_COMPOSED.get(label, ())
    for label in (*_SELF, *(k for k in _SELF_COMPOSED if k not in _SELF))
}
_OTHERS = {label: specs + _OTHERS_COMPOSED.get(label, ()) for label, specs in _OTHERS.items()}

#: Phrases glued into one token: spelled out letter by letter, or written as a hashtag.
_SQUASHED: dict[str, tuple[str, ...]] = {
    "suicidal_ideation": (
        "killmyself", "endmylife", "takemylife", "wanttodie", "wannadie", "enditall",
        "unalivemyself",
    ),
    "self_harm": ("cutmyself", "hurtmyself", "harmmyself"),
    "intent_plan": ("hangmyself", "slitmywrists", "overdoseon"),
    "violent_intent": ("killhim", "killher", "killthem", "killyou", "killeveryone"),
}  # fmt: skip

_WORD = re.compile(r"[a-z]+")
_LETTER_THEN_QUANTIFIER = re.compile(r"[a-z][?*+{]")
_SEP = r"[^a-z0-9]+"
_FILLERS = re.compile(r" ~([1-9]?)")


def _filler(n: int) -> str:
    """Up to `n` words of any kind (each with the separators after it)."""
    return r"(?:[a-z0-9]+[^a-z0-9]+){0," + str(n) + "}"


_START = r"(?<![a-z0-9])"
_END = r"(?![a-z0-9])"


def _spec(spec: str) -> str:
    if _LETTER_THEN_QUANTIFIER.search(spec):
        raise ValueError(f"quantifier after a letter in safety phrase {spec!r}")
    out = _WORD.sub(lambda m: _skeleton(m.group()), spec)
    out = _FILLERS.sub(lambda m: _SEP + _filler(int(m.group(1) or 2)), out)
    return out.replace(" ", _SEP).replace(">", _END)


def _compile(specs: tuple[str, ...], *, bounded: bool = True) -> re.Pattern[str]:
    body = "|".join(_spec(s) for s in specs)
    return re.compile(f"{_START}(?:{body}){_END}" if bounded else body)


def _raw(regex: str) -> str:
    """A regular expression with its words in skeleton form (for the `_RAW` patterns)."""
    return _WORD.sub(lambda m: _skeleton(m.group()), regex)


#: Chat shorthand, as regular expressions over the normalised text: "kms" (kill myself) but not
#: "5 kms" or "kms per hour"; "kys" (kill yourself, said to someone else).
_RAW: dict[str, tuple[str, ...]] = {
    "suicidal_ideation": (
        _raw(
            r"(?<![a-z0-9])(?<![0-9] )(?<!few )(?<!the )(?<!many )(?<!some )(?<!of )kms"
            r"(?![a-z0-9])(?! (?:per|an|a|away|from|of|to|is|are|was|unit|units|left|more|long|"
            r"south|north|east|west|today|yesterday|each|every|in)(?![a-z0-9]))"
        ),
    ),
    "telling_to_die": (r"(?<![a-z0-9])kys(?![a-z0-9])",),
}
_CATEGORY: dict[str, SafetyCategory] = {
    **{label: "self_harm" for label in _SELF},
    **{label: "harm_to_others" for label in _OTHERS},
    "telling_to_die": "harm_to_others",
    "implicit_risk": "self_harm",
    "implicit_threat": "harm_to_others",
}
#: The learned reader (English), loaded with the patterns (in a worker thread when a Monitor
#: starts).
_READER = load_reader()
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, _compile(specs)) for label, specs in (*_SELF.items(), *_OTHERS.items())
) + tuple((label, re.compile("|".join(regexes))) for label, regexes in _RAW.items())


def _first_letters(regex: str) -> frozenset[str] | None:
    """The letters a match of `regex` can start with, or None when that is not a small set of
    letters (then the phrase is tried at every word start)."""
    try:
        import re._constants as ops  # type: ignore[import-not-found]  # private: read at import
        import re._parser as parser  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - the module layout of another Python
        return None

    def first(items: Any) -> tuple[set[str] | None, bool]:
        """(first letters, whether `items` can match the empty string)."""
        out: set[str] = set()
        for op, av in items:
            if op is ops.LITERAL:
                return out | {chr(av)}, False
            if op is ops.IN:
                if any(o is not ops.LITERAL for o, _ in av):
                    return None, False
                return out | {chr(a) for _, a in av}, False
            if op in (ops.ASSERT, ops.ASSERT_NOT, ops.AT):
                continue  # zero-width
            if op is ops.SUBPATTERN:
                inner = [av[-1]]
            elif op is ops.BRANCH:
                inner = list(av[1])
            elif op in (ops.MAX_REPEAT, ops.MIN_REPEAT):
                inner = [av[2]]
            else:
                return None, False
            can_be_empty = op in (ops.MAX_REPEAT, ops.MIN_REPEAT) and av[0] == 0
            for sub in inner:
                letters, empty = first(sub)
                if letters is None:
                    return None, False
                out |= letters
                can_be_empty |= empty
            if not can_be_empty:
                return out, False
        return out, True

    letters, empty = first(parser.parse(regex))
    return None if letters is None or empty else frozenset(letters)


def _dispatch(regexes: list[str], start: str = _START) -> re.Pattern[str]:
    """One pattern for all `regexes` (each starting a word), grouped by their first letter behind
    a one-character lookahead: at a word start only the phrases that can start with its letter
    are tried
    (about twice as fast as one long alternation; the same matches)."""
    by_letter: dict[str, list[str]] = {}
    anywhere: list[str] = []
    for regex in regexes:
        letters = _first_letters(regex)
        if letters is None:
            anywhere.append(regex)
            continue
        for letter in letters:
            by_letter.setdefault(letter, []).append(regex)
    groups = [
        f"(?={re.escape(letter)})(?:{'|'.join(group)})"
        for letter, group in sorted(by_letter.items())
    ]
    return re.compile(f"{start}(?:{'|'.join(groups + anywhere)})")


#: Every phrase in one pattern: a single pass tells whether the per-label passes are needed
#: (most messages match nothing; this keeps them at one regex pass instead of one per label).
_ANY = _dispatch(
    [f"(?:{_spec(spec)}){_END}" for specs in (*_SELF.values(), *_OTHERS.values()) for spec in specs]
    + [regex for regexes in _RAW.values() for regex in regexes]
)
_SQUASHED_WHOLE = _compile(tuple(w for words in _SQUASHED.values() for w in words))
_SQUASHED_LABEL = {_skeleton(w): label for label, words in _SQUASHED.items() for w in words}
_SQUASHED_PART = tuple(
    (label, _compile(words, bounded=False)) for label, words in _SQUASHED.items()
)

#: An explicit denial right before a phrase: "not", "never", "don't" (+ up to three fillers).
_NEGATION = re.compile(
    _START
    + _spec(
        r"(?:not|never|dont|do not|didnt|doesnt|does not|wont|would not|wouldnt|no longer|"
        r"havent|have not|hasnt|arent|isnt|no (?:real |actual |serious )?(?:thoughts|thought|plan|"
        r"plans|intention|intentions|intent|desire|wish|urge|urges|interest|history))"
        r"(?: (?:really|ever|even|actually|want|wanna|to|be|going|gonna|feel|feeling|that|so|like|"
        r"am|i|im|tried|try|thought|think|thinking|considered|wanted|planned|had|have|any|"
        r"thoughts|of|about|intend|intention|plan|plans|ever|in|on)){0,4}"
    )
    + r"[^a-z0-9]*$"
)
_NEGATION_WINDOW = 64
#: "no" or "without" right before: "no thoughts of suicide" (not "no, I want to die").
_NO = re.compile(r"(?<![a-z0-9])(?:no|without|zero) $")
#: Somebody's death reported: "died by suicide", "lost my uncle to suicide".
_DIED_BY = re.compile(
    _START
    + _spec(r"(?:died|dies|death|deaths|lost (?:him|her|them|[a-z]+|my [a-z]+)) (?:by|to)")
    + r"[^a-z0-9]*$"
)
#: "I used to want to die but I'm much better now", "I had suicidal thoughts as a teenager but
#: I'm doing well now": a past marker near a phrase that comes before a recovery.
_PAST = re.compile(
    _START
    + _spec(
        r"(?:used to|years ago|year ago|i once|once|had|when i was|as a (?:teen|teenager|kid|child|"
        r"student)|in (?:high school|middle school|college|uni|university|my teens|my twenties)|"
        r"back (?:then|in)|in the past|at (?:school|uni)|previously|last year|tried|attempted)>"
    )
)
_RECOVERED = re.compile(
    _START
    + _spec(
        r"(?:but|now|and) ~(?:im|i am|its|i feel|things are|life is|ive been|i have been) (?:much |"
        r"so |a lot |way |"
        r"doing )?(?:better|fine|ok|okay|good|safe|over it|well|stable|recovered|healed|in a "
        r"(?:much |way |far |really )?(?:good|better|great|healthier|safe) place|happy)|"
        r"not anymore|(?:im|i am) (?:much |so |a lot )?(?:better|"
        r"doing well|doing better|stable|safe|okay|ok|fine) now|(?:but|and) (?:i )?(?:stopped|"
        r"quit|havent since|have not since|dont anymore|got help|got better|recovered|havent in|"
        r"have not in|have been clean|ve been clean)|(?:therapy|treatment|medication|meds|"
        r"counseling|counselling) (?:really )?(?:helped|saved me|worked)|(?:havent|have not|"
        r"didnt) (?:done it|cut|self harmed|felt that way|had those thoughts|thought about it) "
        r"(?:in|for|since) (?:a long time|years|months|ages)|(?:clean|free) (?:for|since) ~2"
        r"(?:years|months|weeks|year|month)"
    )
)
#: Something recent between the phrase and the recovery: "I cut last night but I'm ok now" is
#: not a past that is over.
_RECENT = re.compile(
    _START
    + _spec(
        r"(?:last night|yesterday|today|tonight|this (?:week|morning|evening|weekend)|recently|"
        r"lately|again|right now|an hour ago|earlier)>"
    )
)
#: Embarrassment and boredom right before: "I'm so embarrassed I want to disappear".
_HYPERBOLE = re.compile(
    _START
    + _spec(
        r"(?:embarrassed|embarrassing|embarrassment|mortified|awkward|cringe|cringey|cringing|"
        r"bored|boring|so full|hungover|so cringe) ~3"
    )
    + r"[^a-z0-9]*$"
)
#: "this meeting makes me want to die lol": a cause right before, with laughter in the message.
_CAUSAL = re.compile(_START + _spec(r"(?:makes|made|make|making) me") + r"[^a-z0-9]*$")
#: "if I have to sit through one more meeting I'm going to kill myself lol": a condition with an
#: everyday cause before the phrase, read as hyperbole when the message laughs.
_IF_CAUSE = re.compile(
    _START
    + _spec(
        r"(?:(?:if|unless) (?:i have to|i hear|i see|i get|i gotta|this|that|the|my|one more|"
        r"another|anyone|someone|he|she|they|you)|one more|another) "
    )
    + r"[^.,;:!?\n]{0,64}$"
)
_LAUGHTER = re.compile(
    r"(?<![a-z0-9])(?:lol|lmao|lmfao|rofl|haha[ha]*|hehe[he]*|jk|jkjk|xd)(?![a-z0-9])"
    r"|😂|🤣|😆|😅"
)
#: Labels whose phrases may name the writer in them or right after them: "they'll find the
#: letters after I'm gone" is the writer's preparation though "they" is the clause's subject.
_OWN_LABELS = frozenset({"preparatory_acts"})
_FIRST_PERSON = re.compile(_raw(r"(?<![a-z0-9])(?:im|i am|i|me|myself|my)(?![a-z0-9])"))
#: Labels where the scopes read differently: another subject is the point of burdensomeness
#: ("my family would be better off"); the words of another person are read there only.
_OTHERS_ALLOWED = frozenset({"burdensomeness"})


@dataclass(frozen=True, slots=True)
class _Scope:
    """What the whole message says about its phrases (computed once per message)."""

    recovered_at: int  # start of a recovery ("but I'm much better now"), or -1
    laughter: bool  # lol, haha, crying-laughing emoji
    others: bool  # check for another subject before the phrase
    reported: bool  # check for "says", "told me" before the phrase
    own: bool = False  # a match that names the writer ("after I'm gone") is theirs whoever acts


#: "a book about suicide", "a talk on suicide", "a show where the guy wants to die": the words
#: as a topic, not a disclosure.
_TOPIC = re.compile(
    _START
    + _spec(
        r"(?:book|books|film|movie|documentary|talk|class|lesson|article|video|podcast|essay|"
        r"show|episode|song|songs|news|research|study|paper|course|training|assembly|seminar|"
        r"workshop|statistics|awareness|prevention|presentation|project|report|novel|story|"
        r"poem|lyrics|series|game|character|scene|chapter|play|lecture|module|unit) (?:about|on|of|"
        r"covering|where|in which|when) ~3|in (?:the|a|this|that) (?:movie|film|show|book|story|"
        r"novel|game|series|song|episode|play|video|documentary|anime|manga|comic) ~4|(?:discussed|"
        r"discussing|discuss|(?:we|they|class|teacher|school) ~2(?:talked|talk|talking|learned|dis"
        r"cussed|"
        r"covered) about|(?:asked|asks|ask|asking) (?:me )?(?:if|whether|about) ~5|learned about|"
        r"learning about|learnt about|studying|studied|wrote "
        r"about|writing about|reading about|read about|researching|talked about in class|lecture "
        r"on|essay on|a paper on|teaching about|taught about)"
    )
    + r"[^a-z0-9]*$"
)
#: Someone else is the subject of the clause right before a phrase: "she wants to die", "my
#: friend keeps thinking about dying", "people who want to die".
_OTHER_SUBJECT = re.compile(
    _START
    + _spec(
        r"(?:he|she|they|hes|shes|theyre|theyve|theyd|hed|shed|theyll|who|whos|whod|you|youre|"
        r"youd|youve|u|someone|somebody|anyone|people|character|characters|friend|friends|"
        r"brother|sister|mom|mum|mother|dad|father|cousin|boyfriend|girlfriend|roommate|"
        r"classmate|coworker|colleague|partner|husband|wife|son|daughter|kid|kids|uncle|aunt|"
        r"grandma|grandpa|guy|girl|man|woman|patient|student|teenager|teen|neighbor|neighbour)"
        r"(?: (?:also|really|just|still|even|always|never|probably|said|says|saying|keeps|kept|"
        r"keep|has|had|have|been|was|is|are|were|would|will|could|might|does|did|do|told me|tells "
        r"me|thinks|thought|feels|felt|that|literally|actually|both|all|often|sometimes|used to|"
        r"once|seriously|apparently|clearly|obviously|want|wants|wanted|wanna|to|tried|tries|try|"
        r"committed|died by|died of|lost|nearly|almost|"
        r"planned|plans|planning|plan|going|gonna|thinking|talking|talked|talks|about|of|"
        r"threatened|threatening|threatens|attempted|admitted|confessed)){0,5}"
    )
    + r"[^a-z0-9]*$"
)
#: Someone else says it: "my mom says I'm a burden" (read for burdensomeness only).
_REPORTED = re.compile(
    _START
    + _spec(
        r"(?:says|said|tells me|told me|thinks|calls me|called me|"
        r"make me feel like|makes me feel like|made me feel like|keeps saying|kept saying)"
        r"(?: that)?"
    )
    + r"[^a-z0-9]*$"
)

# --- Chinese -------------------------------------------------------------------------------
#
# Chinese has no spaces, so obfuscation by inserted spaces, symbols or zero-width characters is
# undone by keeping only Han characters, Latin letters and digits (after the shared plain form,
# which folds full-width forms and Traditional characters): "我 不 想 活 了", "自*杀", "自\u200b杀"
# all read "...不想活了", "自杀". Romanised spellings that people use to get past keyword
# filters are listed too: full pinyin (zisha, qingsheng), the initials after a verb of wanting
# (想zs, 要zs, 想qs), pinyin mixed with Han (zi杀, qing生) and homophones (紫砂, 自鲨).
#
# Hyperbole is common with 死 ("to death"): 笑死我了, 累死了, 想死你了 (I miss you), 热死了,
# 气死我了. No phrase below is "X死了"; 想死 counts only when no person follows it (想死你了
# is missing someone), and the violent phrases need a victim right after the verb.

# Cantonese function words written in Hong Kong chats, read as their Mandarin equivalents
# before the plain form (so 唔想再活落去 reads 不想再活下去 and 佢 is another subject).
_CANTONESE = {
    "唔": "不", "冇": "没", "咗": "了", "佢哋": "他们", "佢": "他", "嘅": "的", "係": "是",
    "喺": "在", "哋": "们", "啲": "些", "攰": "累", "落去": "下去", "嚟": "来", "乜嘢": "什么",
    "點樣": "怎样", "点样": "怎样", "嗰": "那", "畀": "给", "俾": "给", "睇": "看", "諗": "想",
    "谂": "想", "諗住": "想着", "谂住": "想着", "成日": "每天", "搵": "找", "瞓": "睡",
    "走咗": "走了", "食晒": "吃完", "食": "吃", "晒": "完", "呢個": "这个", "呢个": "这个",
    "呢一切": "这一切", "呢度": "这里", "屋企": "家", "返工": "上班", "點死": "怎么死",
    "点死": "怎么死",
}  # fmt: skip
_CANTONESE_RE = re.compile("|".join(sorted(_CANTONESE, key=len, reverse=True)))
#: Clause breaks are kept (as "|"): a denial, a subject or a topic is read in its own clause.
_ZH_CLAUSE = re.compile(r"[，。！？；：,!?;:\n…、]+")
_ZH_DROP = re.compile(r"[^0-9a-z|\u3400-\u4dbf\u4e00-\u9fff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_ZH_PERSON = (
    r"(?:他|她|他们|她们|你|你们|那个人|那个|这个人|那家伙|那个混蛋|他全家|他们全家|那些人|"
    r"(?:我的?)?(?:爸|妈|爸爸|妈妈|老公|老婆|丈夫|妻子|男朋友|女朋友|男友|女友|前任|前男友|"
    r"前女友|老板|领导|上司|同事|同学|室友|继父|继母|后妈|后爸|孩子|儿子|女儿|哥|姐|弟|妹|邻居))"
)
_ZH_VERBS = (
    r"(?:杀了|杀死|弄死|砍死|捅死|掐死|毒死|宰了|捅了|打死|揍死|撞死|烧死|勒死|闷死|推下楼|搞死|"
    r"斩死|整死|干掉|"
    r"推下去)"
)
#: A wish (想, 好想, 希望, 宁愿, 巴不得; "want to" written in English) before its object.
_ZH_WISH = (
    r"(?<![理思感回梦幻猜联构预着设])(?:想|想要|希望|宁愿|宁可|巴不得|恨不得|渴望|盼着|一心想|"
    r"wantto|wanna|wishicould)"
)
#: What the wish is for: to die, to disappear, to not wake up, to leave the world.
_ZH_DEATH = (
    r"(?:(?:去)?死(?![你您他她它机线党忠角心磕记活板刑缓定]|我(?:了|啦)|了?吧你|[也都]不(?:去|吃|"
    r"喝|穿|看|买|做|学|上|参加|相亲)|一死)|die(?![a-z])|"
    r"(?:去)?自杀|"
    r"轻生|解脱(?!了|出来)|(?:就这样|就这么|永远|彻底|从(?:这个)?世界上?)?消失(?!几天|一下|一会|"
    r"一阵|一段|几个|[一两三几]|在)|不存在|离开(?:这个|这)?(?:世界|人世|人间)|结束(?:自己的?|"
    r"我的)?(?:生命|一切|这一切)|了结(?:自己|生命)?|一了百了|(?:一直|永远)睡(?:下去|过去)|睡(?:下"
    r"去|"
    r"过去|着)?(?:就)?(?:不|别)(?:要)?(?:再)?醒|永远(?:离开|闭上眼)|跳(?:楼|河|桥|海|江|下去)|割腕|"
    r"上吊|(?:就这样|就这么)走了|不活了|disappear|一走了之|一睡不醒|吞药|喝农药|烧炭|自我了断|"
    r"(?:安静|悄悄|默默|永远)地?离开(?=$|\||了))"
)
#: Means kept ready: the object with a verb of getting or keeping it ready, either order.
_ZH_MEANS = r"(?:刀片|木炭|炭|农药|绳子|麻绳|安眠药|老鼠药|百草枯|敌敌畏|除草剂|药片|煤气罐)"
_ZH_READY = r"(?:准备好|买好|备好|藏好|放好|准备了|买了|备了|藏了|囤了|攒了|弄到)"
#: Everyday uses of the same means ("买了木炭准备去烧烤"): the message is not read for means.
_ZH_MEANS_ORDINARY = re.compile(
    r"行李|绑|备用|常备|以防万一|急救|感冒|发烧|咳嗽|生病|头疼|头痛|过敏|退烧|烧烤|烤肉|烤串|bbq|"
    r"露营|野炊"
    r"|火锅|取暖|晾|跳绳|剃须|刮胡子|种地|种菜|除草|杀虫|老鼠|做饭|"
    r"装修|搬家|打包|手工|美工|拔河|捆|绑东西"
)
_ZH_EVERYDAY_MEANS = re.compile(r"刀片|炭|绳|煤气|老鼠药|除草剂")
#: Pills kept for an illness, not gathered: 存了一些药在家里备用, 感冒了买了很多药.
_ZH_PILLS_ORDINARY = re.compile(
    r"备用|常备|以防万一|急救|感冒|发烧|咳嗽|生病|头疼|头痛|过敏|退烧|按医嘱"
)
_ZH_HEIGHT = r"(?:桥|楼|天台|楼顶|大厦|悬崖|阳台|窗台|高架)"

_ZH_COMPOSED: dict[str, tuple[str, ...]] = {
    "wish_to_be_dead": (
        r"(?:消失|死掉?|不在)(?:了)?(?:会)?(?:比较好|最好|更好|比较轻松)",
        r"自我了断|了断自己|寻短|只剩(?:下)?绝路|走(?:上)?绝路|绝路一条",
        r"(?:想|要|只想|好想)结束(?:了|掉|算了|这一切)?(?=$|\|)|(?:想|要)si(?![a-z])",
        r"(?:连)?死的勇气都有了",
        r"(?:想象|想像|幻想|计划|安排|梦到)(?:自己|我)的?葬礼",
        r"(?:早点|干脆|还是)(?:结束|死|走|解脱)(?:掉)?算了",
        r"(?<![累笑热冷饿困气吓烦忙尬痛心聊丑疼])死(?:掉|了)?(?:算了|就好了|就好)",
        r"早点死|早死早超生|只求一死|求死|为什么(?:又|还要|还)醒",
        r"(?:不想|不再|不愿|不要)(?:再|继续)?(?:活|生存)(?:了|下去|着)",
        r"(?:我的)?存在(?:本身)?(?:就是)?(?:个|一个)?(?:错误|多余|笑话)",
        r"(?:永远|彻底)(?:地)?消失(?!几天|一下|一会|一阵|一段|[一两三几半个][^|]{0,2}(?:天|周|星期|礼拜|月|年|周末))|人间蒸发(?!几天|一下|一会|一阵|一段"
        r"|[一两三几半个][^|]{0,2}(?:天|周|星期|礼拜|月|年|小时|会|阵|下|周末))",
        r"(?:不配|不值得|没必要|不该)(?:再)?(?:活|活着|活下去|存在)",
        r"为什么(?:还|要)(?:活着|活下去|出生|存在|被生下来)",
        r"没有(?:任何)?(?:活下去|活着|生存)的?(?:力气|欲望|念想|盼头)",
        r"对(?:活着|生活|未来|人生|明天)(?:已经)?(?:没有|没|不抱)(?:任何)?(?:期待|希望|留恋|盼头|"
        r"指望)",
        r"(?:如果|要是|假如|等|哪天)(?:我)(?:明天|哪天|突然|有一天)?(?:不在了|死了|走了|消失了|没"
        r"了)",
        r"(?<![累笑热冷饿困气吓烦忙尬痛心聊丑疼])死(?:了|掉)?(?:会|就|的话)?(?:会)?(?:好(?![多几久像大长些看吃玩听用处奇感])|更好|好些"
        r"|好一点|"
        r"好点|清净|安静|不用|不会再|不痛|没有痛苦|一了百了)",
        r"(?:不想|不愿意?)(?:再)?(?:在|待在|留在|活在)(?:这个)?(?:世界|世上|人间|世间)",
        r"(?:去|到)(?:一个)?没有(?:痛苦|烦恼)的(?:地方|世界)|永远(?:都)?不(?:回来|醒来)",
        r"(?:要是|如果|假如)(?:没有我|我没(?:有)?出生|我不存在|我从来没(?:有)?(?:出生|存在))",
        r"满脑子(?:都是)?(?:死|自杀|怎么死|想死)",
        r"(?:我)?活着(?:就是|只是|简直是)?(?:在)?浪费(?:空气|粮食|资源)",
        _ZH_WISH + r"(?:就|能|可以|去|赶紧|早点|快点|一下子)?" + _ZH_DEATH,
        r"(?:一直|永远)睡下去(?:就好|多好|该多好|算了)",
        r"(?:出个?|遇到|来场|来个)(?:车祸|意外|绝症|大病)[^|]{0,6}(?:走了|死|没了|就好)",
        r"(?:想|琢磨|在想|研究)(?:着)?(?:要)?(?:怎么|怎样|如何)(?:才能|样才能|样)?(?:解脱|去死|死"
        r"|自杀|离开这个世界)",
        r"(?:对|和)(?:这个)?世界(?:已经|真的)?(?:没有|没)(?:任何|什么)?(?:留恋|牵挂)",
        r"了无牵挂",
        r"(?:还|倒)?不如(?:我|让我)?(?:去)?(?:死|消失|不存在|没出生|从来没出生|走了算了)"
        r"(?![你您他她它])",
        r"不想(?:再|继续)?活(?:了|下去|着)",
        r"活着(?:就是|只是|真是)?(?:一种|一场)?(?:受罪|煎熬|折磨|浪费|多余)",
        r"没有(?:任何)?(?:活下去|活着)的?(?:理由|动力|意义|希望|勇气)",
    ),
    "intent_plan": (
        r"(?:想|计划|考虑)(?:好)?(?:了)?具体(?:怎么|如何|要怎么)(?:做|死|实施|动手|结束)",
        r"药[^|]{0,6}(?:就能|就会|就可以)(?:解脱|死|结束|一了百了|不醒)",
        r"(?:今晚|今天晚上|明天|今天)[^|]{0,3}动手(?![做打术写搞])|(?:别|不要|不用)救我",
        r"(?:想好|选好|决定好|计划好)(?:了)?(?:在)?(?:哪里|哪儿|地方|时间|日子|哪天)[^|]{0,6}(?:结"
        r"束|走|死|跳|动手)",
        r"从(?:窗户|窗口|窗台|阳台|楼上|楼顶|天台|桥上|屋顶)(?:上)?跳(?:出去|下去|下来)?",
        r"(?:什么|哪种)(?:方式|方法|办法)(?:去)?(?:结束|死|自杀|了结|走)",
        r"(?:想|要|打算)吃完[^|]{0,6}药",
        r"(?:等|趁)[^|]{0,8}(?:睡(?:着)?了|不在(?:家)?|出门|上班|走了|没人)(?:以后|之后|的时候)?(?:我)?"
        r"(?:就)?"
        r"(?:去)?(?:天台|楼顶|桥上|河边|江边|海边|死|跳|自杀|结束|吃药|吞药|割腕|上吊|动手|了结|"
        r"走了|烧炭)",
        r"(?:今晚|今天|明天|这)(?:就)?是(?:我的?)?(?:人生|生命)?(?:的)?最后一(?:晚|天|夜)",
        r"(?:打算|准备|决定|想|要)(?:今晚|明天|今天)?(?:把)?(?:药)?(?:吃|吞)(?:完|光|掉)?(?:所有|"
        r"全部|一整|"
        r"整)(?:的|瓶|盒)?(?:[\u4e00-\u9fff]{0,3})?药",
        r"一次(?:性)?(?:吃|吞)(?:完|光|掉|了|下)?(?:所有|全部|整瓶|一整瓶|一瓶|一盒|几十片|一大把)",
        _ZH_HEIGHT + r"[^。]{0,10}(?:很|好|真|就|真的)?想(?:往下)?跳(?![舞绳槽过水伞高远起进])",
        r"(?:已经|都)?(?:决定|想好|选好)(?:了)?[^|]{0,8}(?:结束一切|结束自己|去死|怎么死|哪天走|日"
        r"子)",
        r"(?:结束|终结)(?:掉)?(?:这)?一切(?!顺利|正常|都好|安好|平安|工作|事务)",
    ),
    "method": (
        r"(?:割|跳|吃|撞|划)(?:哪里|哪儿|哪|几楼|多少)(?:最快|最有效|不疼|不痛|会死|才会死)",
        r"(?:药|片|粒|颗|瓶)[^。]{0,8}(?:攒|存|囤)够了|(?:攒|存|囤)够了(?:安眠)?药",
        r"(?:多少|几)(?:片|颗|粒|瓶|盒|克|毫克|mg)?[^|]{0,6}(?:会|能|才|就|可以|足以|才会|才能)"
        r"(?:致)?(?:死|没命|醒不过来)",
        r"致死(?:量|剂量)|致命(?:剂)?量",
        r"(?:查|看|搜|找|问)(?:了|过)?[^|]{0,8}" + _ZH_HEIGHT + r"[^|]{0,3}(?:最高|多高|高度|够高)",
        r"绳子[^|]{0,8}(?:多粗|结实|承重|够不够|受力)",
        r"(?:农药|安眠药|枪|老鼠药|百草枯|敌敌畏)[^。]{0,10}知道(?:放在|藏在|在)哪",
        r"知道[^|]{0,6}(?:农药|枪|安眠药)[^|]{0,4}(?:放在|藏在|在)哪",
    ),
    "preparatory_acts": (
        r"药[^|]{0,6}数(?:了|过)|药[^。]{0,12}(?:应该)?够了",
        r"身后事|(?:是在|其实是|就是在)(?:跟|和|向)?[^|]{0,4}告别",
        r"不想(?:在这个世界上?)?留下(?:任何|什么)(?:东西|痕迹)?",
        r"(?:遗嘱|遗书|告别信|绳子|绳套)(?:我)?(?:已经|都|也)?(?:写好|立好|挂好|系好|绑好|打好结|"
        r"准备好)",
        r"(?:买|攒|存|囤)(?:了)?(?:好几盒|好几瓶|很多|好多|一大堆|一堆|[0-9一二三四五六七八九十百"
        r"几]+多?(?:片|盒|瓶|粒|颗))"
        r"(?:的)?[\u4e00-\u9fff]{0,4}药",
        r"(?:已经|都|一一|逐个|最后)(?:跟|和|向)[^|]{0,8}(?:告别|道别|说了再见)",
        _ZH_MEANS + r"(?:我)?(?:已经|都|也)?" + _ZH_READY,
        _ZH_READY
        + r"(?:了)?(?:一根|一把|一些|几片|一包|一瓶|一盒|好几盒|很多|好多)?(?:的)?"
        + _ZH_MEANS,
        r"药[^|]{0,6}(?:攒|囤|藏|存)(?:了|起来|着|下来)",
        r"(?:攒|囤|藏)(?:了|着)?[^|]{0,8}药(?![店房箱])",
        r"(?:等我|在我|我)(?:走了|死了|不在了|离开了)(?:以后|之后)?[^|]{0,10}(?:看到|会看|读到|找"
        r"到|收到)",
        r"(?:信|遗书|留言|视频|录音|话)[^|]{0,12}(?:等我|在我)(?:走了|死了|不在了)",
        r"照顾好[^。]{0,14}(?:以后我|我不在|照顾不了|永别|再见了)",
        r"以后(?:我)?(?:再也|就)?(?:照顾不了|陪不了)(?:你们?|他们?|她|它|爸妈)",
        r"反正(?:以后|我)?(?:也|都)?用不(?:到|上|着)",
        r"以后(?:她|他|你|他们|你们)用得(?:上|到|着)",
        r"永别|诀别|来世再见|下辈子(?:再)?见|再也不见",
        r"最后一次(?:跟|和|给)(?:你们?|大家|你们大家)(?:说话|聊天|发消息|留言|说)",
        r"(?:交代|安排)(?:好)?(?:了)?(?:后面的事|身后事)",
    ),
    "burdensomeness": (
        r"(?:给|替)[^|]{0,4}(?:添|增加)(?:负担|累赘)",
        r"(?:没了|少了)我[^|]{0,8}(?:更好|更轻松|轻松|解脱|更开心|过得好)",
        r"拖累(?!了?(?:进度|工作|项目|团队|成绩|大家的进度))",
        r"没有我(?:的话)?[^|]{0,8}(?:更好|比较好|会好|更轻松|轻松|解脱|更?开心|过得好|好过|快乐|"
        r"幸福)",
        r"我(?:[^|]{0,5})(?:是|成了|像)(?:个|一个)?(?:[^|]{0,6}的)?(?:负担|累赘|包袱|拖油瓶|多余的"
        r"人|负累)",
        r"(?:觉得|感觉)自己(?:就)?是(?:个|一个)?(?:[^|]{0,6}的)?(?:负担|累赘|包袱|拖油瓶|多余|负累"
        r")",
        r"(?:只会|除了)(?:给|替)(?:别人|大家|家里|家人|爸妈|所有人)(?:添麻烦|添乱|惹麻烦)",
    ),
    "self_harm": (
        r"(?:手腕|手臂|胳膊|大腿|皮肤)(?:都|又)?(?:被我)?(?:割|划)(?:破|伤|开|烂)",
        r"故意(?:让自己|把自己)(?:受伤|弄伤|流血|疼)|(?:在|往)(?:手|手臂|胳膊|腿|身上)上?(?:刻字|"
        r"刻)",
        r"(?:又|再次|忍不住)(?:割|划|烫)(?:了|伤)(?![韭草麦菜稻])|(?:又|再次|忍不住)(?:伤害自己|自"
        r"残)",
        r"(?:自己|手臂|手腕|胳膊|大腿)[^|]{0,8}(?:划|割|抓|烫)得[^|]{0,4}(?:血|烂|模糊)|血肉模糊",
        r"看到血(?:流出来)?的感觉|喜欢(?:看)?(?:流血|血流)",
        r"(?:割|划)过(?:手腕|手|腕|手臂)",
        r"(?:用|拿)(?:圆规|刀|刀片|美工刀|剪刀|针|指甲|烟头|打火机|玻璃|碎玻璃)(?:去)?(?:扎|划|割|"
        r"刺|烫|抠|戳)"
        r"(?:伤)?(?:自己|手|手臂|胳膊|手腕|腿|大腿)",
        r"(?:抠|抓|掐|挠|拔|咬|撕)[^|]{0,8}(?:到|得)(?:流血|出血|见血|烂)",
        r"(?:手腕|手臂|胳膊|大腿)上(?:的)?(?:疤|伤口|刀痕|划痕)",
        r"疤(?:痕)?(?:又)?(?:多了|添了)",
        r"割过腕|自残过|自伤过",
        r"(?:划|割|烫|刺|扎)(?:伤|破)?(?:了)?(?:我的|自己的?)?(?:手臂|胳膊|手腕|大腿|皮肤|手背|手"
        r"心|"
        r"身上)",
        r"(?:划|割)(?:了)?(?:自己的?)?手(?![机续工套表艺术下指])",
        r"自己[^|]{0,3}(?:划|割|烫)(?:伤|破|出血)",
        r"撞墙[^|]{0,4}(?:流血|出血|见血)|用头撞墙",
        r"只有(?:疼|痛|流血|看到血)(?:痛)?(?:才|能|会)",
        r"(?:自残|自伤|割腕)[^|]{0,6}(?:复发|又开始|停不下来|年了)",
    ),
    "prior_attempt": (
        r"差(?:一)?点(?:就)?(?:跳(?:下去|了)|自杀|割腕|吃药|上吊|死成)",
        r"(?:喝|吃)(?:了|过)(?:一瓶|半瓶|一口|一些|整瓶)?(?:农药|百草枯|敌敌畏|老鼠药)",
        r"(?:吞|吃)过(?:一次|两次|几次)?(?:一整瓶|整瓶|一瓶|一把|很多|好多)?(?:安眠)?药",
        r"(?:跳|割)过(?:河|楼|桥|腕|海|江)|被(?:人)?救(?:了)?(?:回来|起来|上来)",
        r"没死成|自杀未遂|被救(?:了)?回来|洗(?:过)?胃",
        r"(?:试过|尝试过)(?:去)?(?:上吊|割腕|跳楼|吃药|吞药|烧炭|跳河|自杀)",
    ),
    "violent_intent": (
        r"(?:想|要|会|打算)(?:把)?(?:学校|公司|教室|单位|他家|他们家)(?:给)?(?:炸了|炸掉|烧了|烧"
        r"掉|炸平)",
        r"(?:放火|纵火)(?:烧)?(?:了)?(?:学校|公司|他家|房子|教室|单位)|杀人的(?:念头|想法|冲动)",
        r"(?:想|要)(?:伤害|报复)(?:那些|所有)?[^|]{0,6}(?:欺负|伤害|害)(?:过)?我的人",
        r"(?:刀|枪)[^。]{0,8}(?:现在就去找|去找他|去找她|去找他们)",
        r"报复[^。]{0,10}(?:去死|弄死|杀了|杀死)",
        r"(?:汽油|炸药)[^。]{0,10}(?:烧|炸)(?:了|掉|死)?(?:他|她|他们|那|这|学校|公司)|(?:烧|炸)了"
        r"(?:他|她|他们)的?(?:家|公司)",
        r"(?:在|往)[^|]{0,8}(?:饭|水|杯|碗|菜|饮料|汤)里?(?:下毒|投毒|放毒)|给(?:他|她|他们)下毒",
        r"让(?:他|她|他们|那个人)见血",
        r"(?:控制不住|忍不住)(?:想|要|会)?(?:打|掐|伤害|摇|揍)(?:我的)?(?:孩子|宝宝|儿子|女儿)",
        r"一起(?:去)?死|一起下地狱|陪我(?:一起)?死|拉[^|]{0,4}(?:一起|陪葬|垫背)",
        r"(?:想|冲动|控制不住|忍不住|会)(?:要|去)?(?:伤害|打伤|杀)(?:别人|他人|人|其他人|家人|孩子"
        r")",
        r"(?:拿|用)(?:刀|斧头|棍子|砖头|锤子|菜刀)(?:去)?(?:砍|捅|杀|劈|砸)(?:死)?(?:他|她|他们|人"
        r"|那个)",
        r"把" + _ZH_PERSON + r"(?:全|都|全都)?" + _ZH_VERBS,
        r"(?:怕|担心|害怕)(?:我|自己)(?:会)?(?:控制不住)?(?:自己)?(?:伤害|打|掐|杀|弄伤|打伤|掐死)"
        r"(?:我的)?(?:孩子|宝宝|女儿|儿子|老婆|老公|家人|别人|他|她|他们)",
    ),
    "weapon_threat": (
        r"(?<![菜水果剃指甲])(?:刀|枪|汽油|炸药|硫酸)(?:我)?(?:已经|都)?(?:买好|准备好|磨好|藏好|"
        r"带好)"
        r"(?:了)?",
    ),
}

#: Constructs of the fourth round (written statements, even half): an event of dying with a
#: good outcome (要是醒不过来就好了, 被车撞了就解脱了), the writer's last night alive, leaving
#: "with an easy heart" (安心走了), a despair then 想走了, what others are spared when the writer
#: is dead (不用再为我花钱), a place scouted for its missing railing, the 把-form of ending
#: everything, and number or sound homophones (想4了, 鲨了自己, 自沙).
_ZH_EVENT = (
    r"(?:被车撞|出车祸|出个?意外|得(?:了)?绝症|醒不过来|醒不来|睡不醒|一睡不起|"
    r"(?<![累笑热冷饿困气吓烦忙尬痛心聊丑疼饱渴晒冻闷])死(?:掉|去)?)"
)
_ZH_ROUND4: dict[str, tuple[str, ...]] = {
    "wish_to_be_dead": (
        r"(?:怎么|为什么)(?:还|还是)?(?:没|没有)死",
        r"(?:宁可|宁愿|希望|但愿)(?:我|自己)?(?:从来|从未|根本)?(?:没|没有|不曾)(?:活过|出生|被生下来|存在过)",
        r"消失在(?:这个)?(?:世界|人间|世上)",
        r"(?:活着|活著|生活|人生|生命)[^。]{0,12}不想(?:再)?(?:继续|坚持|撑)(?:下去)?了?(?=$|\|)",
        r"(?:早就|早该)(?:该)?死(?:了|掉)?|(?:我|自己)(?:就)?应该去死",
        r"(?:希望|但愿|祈祷)明天(?:永远)?(?:不要|别|不会)(?:再)?(?:来|到来)(?:了)?(?=$|\|)",
        _ZH_EVENT + r"(?:了|掉)?(?:的话)?(?:就|也|倒|反而|其实)(?:挺|蛮|还|会|能|都)?(?:好了|好的|"
        r"多好|解脱|轻松|不错|一了百了|清净|没(?:有)?痛苦)",
        r"(?:要是|如果|假如|真希望|希望|但愿)(?:明天|哪天|有一天)?(?:早上)?"
        + _ZH_EVENT
        + r"(?:了|掉)?(?:就好|多好|该多好|也好)",
        r"(?:从来|从未|根本)?(?:没有|没|不该|不要)(?:来过|来到|出生在|出现在)(?:这个)?(?:世界|世上|人间)",
        r"不想(?:再)?(?:面对|看到|迎来|过)明天(?![的去要会我还])",
    ),
    "suicidal_thoughts": (r"(?:死|自杀|轻生|结束生命|了结自己)(?:的|这个|这种)(?:念头|想法|冲动)",),
    "intent_plan": (
        r"(?:活着|活著|在这个世界上?|在世上|人生|生命)的?最后一(?:天|晚|夜|个晚上)",
        r"(?:是|就是)我?最后一次(?:见|看到|陪)(?:你们?|大家|你们大家|爸妈)了(?=$|\|)",
        r"(?:可以|能|就能|就可以|终于)(?:安心|放心|安安心心|安详|了无牵挂)(?:地)?(?:走|离开)(?:了)?"
        r"(?=$|\||吧)",
        r"(?:活着|活下去|撑不下去|没意思|没有意思|没意义|没有意义|好痛苦|太痛苦)[^。]{0,12}"
        r"(?:我)?(?:想|要|该|准备)(?:走|离开)了(?=$|\|)",
    ),
    "method": (
        r"绳子[^|]{0,6}(?:绑|挂|系)在?[^|]{0,4}(?:门把手|门框|房梁|横梁|吊扇|暖气管)",
        r"(?:看|搜|查)(?:了)?(?:很多|好多|好几个|一堆)?(?:割腕|自杀|上吊|跳楼|烧炭)的(?:视频|方法|帖子|教程)",
        r"(?:海边|江边|河边|湖边|桥上|楼顶|天台|山上)[^。]{0,10}(?:然后|就)(?:再也)?不(?:会)?回来了",
        r"(?:查|搜|问|研究|打听)(?:了|过)?[^|]{0,6}(?:农药|安眠药|老鼠药|药)[^|]{0,4}(?:毒性|最毒|致死)",
        r"(?:用|吃)?(?:绳子|刀|刀片|药|安眠药|农药|煤气|炭|跳楼|跳河|割腕|上吊|烧炭)还是(?:用|吃)?"
        r"(?:绳子|刀|刀片|药|安眠药|农药|煤气|炭|跳楼|跳河|割腕|上吊|烧炭)",
        r"(?:哪|一)(?:座|栋|个|处)(?:桥|楼|天台|楼顶|高架)(?:的)?(?:没有|没)(?:护栏|栏杆|围栏|监控)",
        r"(?:桥|楼顶|天台|阳台)(?:的)?(?:护栏|栏杆|围栏)(?:很矮|很低|不高|好翻|能翻|可以翻|翻得过去)",
    ),
    "burdensomeness": (
        r"(?:我(?:死了|不在了|消失了|没了)|没(?:有|了)我)(?:以后|之后)?[^|]{0,8}(?:不用|不必|不会)"
        r"(?:再)?(?:为我|替我|给我|因为我)?(?:花钱|操心|担心|受累|麻烦|难过|痛苦|吵架|丢脸|养我|"
        r"照顾我)",
        r"(?:没了|少了|没有)我[^|]{0,8}(?:会|就)(?:好些|好点|好一点|好过)",
        r"(?:我的存在|我活着|有我在)(?:只会|只是|就是|总是)?(?:让|给|使)(?:家人|大家|别人|他们|爸妈|父母|"
        r"家里|所有人)(?:很|更)?(?:痛苦|难过|受累|为难|丢脸|蒙羞|负担|添麻烦)",
        r"(?:没有我|没了我|我(?:死了|不在了|消失了))(?:以后|之后)?[^|]{0,6}(?:就|都|会|能|可以)[^|]{0,3}"
        r"(?:更好|好过|好日子|轻松|解脱|开心|幸福|快乐)",
    ),
    "end_everything": (
        r"永远(?:地)?(?:休息|安息)",
        r"把(?:这)?一切(?:都)?(?:结束|了结|终结)",
        r"(?:想|要|彻底|干脆)(?:彻底)?了结(?=$|\||了|算了|吧)",
        r"(?:人生|生命|这一切|一切)(?:都)?(?:画上|划上|画个|画一个)(?:一个)?句号",
    ),
    "suicidal_ideation": (
        r"(?:老天|老天爷|上天|上帝|阎王|阎王爷)[^|]{0,6}(?:收了我|带走我|把我(?:带|收)走|让我死)",
        r"想4(?=了|掉|算了|吧|$|\|)",
        r"(?:鲨|沙|刹)(?:了|掉|死)自己",
        r"(?<![来源出各独亲])自沙(?![特漠滩地发拉丘田市河洲县村石子土])",
    ),
    "self_harm": (
        r"(?:划|割)了(?:好|很)?(?:几|多|一|两|三)(?:道|刀)[^。]{0,10}血",
        r"(?:用|拿)(?:烟头|打火机|刀片|刀|圆规|剪刀)在(?:手|手臂|胳膊|腿|大腿|手腕|身上)上?(?:烫|划|割|刻|扎)",
    ),
    "preparatory_acts": (
        r"托付给[^。]{0,12}以后",
        r"(?:整理|准备|安排|交代|处理)(?:好)?(?:了)?(?:我的|自己的)?后事",
        r"(?:银行卡|存款|积蓄)[^。]{0,12}以后(?:就)?(?:她|他|你|他们|你们)?(?:会|来|帮我)?(?:处理|管|用)",
        r"(?:信|留言|遗言)[^。]{0,12}(?:不要|别)(?:为我)?(?:难过|伤心|哭|想我|找我|自责)",
        r"(?:算是|就当是|当作是?)(?:最后的)?(?:告别|道别|诀别)",
        r"(?:存款|积蓄|钱|银行卡)[^。]{0,10}用不(?:着|上|到)了",
    ),
    "violent_intent": (
        r"(?:拿|用)(?:刀|斧头|棍子|砖头|锤子|菜刀)(?:去)?(?:砍|捅|杀|劈|砸)(?:死|了|伤)?"
        + _ZH_PERSON,
    ),
}
_ZH_COMPOSED = {
    label: _ZH_COMPOSED.get(label, ()) + _ZH_ROUND4.get(label, ())
    for label in (*_ZH_COMPOSED, *(k for k in _ZH_ROUND4 if k not in _ZH_COMPOSED))
}

_ZH: dict[str, tuple[str, ...]] = {
    "suicidal_ideation": (
        r"不想活(?![在成得])",
        r"一走了之|一死了之|一睡不(?:醒|起)|长睡不醒|不想(?:再)?做人(?!了吧)",
        r"活不下去",
        r"不想(?:再)?活下去",
        r"活着(?:真的|真|好|也)?(?:没(?:有)?(?:什么|任何)?意思|没(?:有)?(?:什么|任何)?意义|有什么"
        r"意义)",
        r"没有活下去的(?:意义|理由|勇气)",
        # not "累得要死", "快要死了" (hyperbole, an illness), "想死你了" (missing someone)
        r"(?:(?<![得])想|打算|准备|好想|真想|很想|只想)(?:去)?死"
        r"(?![你您他她它我定机线党忠角心磕记活板刑缓]|一死)|(?<![得快])要去死",
        r"死了(?:算了|就好了|就解脱了|一了百了|反而(?:好|轻松))",
        r"(?:还|倒)?不如(?:去)?死(?:了)?(?![你您他她它])",
        r"一了百了",
        r"轻生",
        r"寻死",
        r"结束(?:掉)?(?:自己的|我的)?生命",
        r"了结(?:自己|生命|我自己)",
        r"离开这个世界",
        r"不想(?:再)?醒(?:过)?来",
        r"撑不下去(?:了)?(?:想|只想)",
        r"zisha",
        r"自sha",
        r"zi杀",
        r"qingsheng",
        r"buxianghuo",
        r"(?:想|要|去|打算|准备)zs",
        r"zs(?:了|算了)",
        r"(?:想|要|去)(?:qs|ss)",
        r"qing生|轻sheng|tiao楼|ge腕|割wan|自can|zi残|xun死|寻si",
        # homophones written to get past keyword filters (紫砂 is also Yixing clay: 紫砂壶)
        r"紫砂(?![壶锅杯茶泥陶器盆煲具])",
        r"(?:自|紫)(?:鲨|刹|煞)",
        r"紫杀",
        r"(?:想|好想|要|真想)鼠(?:了|掉)?(?![标])",
    ),
    "suicide_mention": (r"(?<!防)(?<!防止)(?<!干预)自杀(?!式|预防|干预|热线)",),
    "prior_attempt": (
        r"自杀过",
        r"(?:试过|尝试过|曾经)(?:去)?自杀",
    ),
    "self_harm": (
        r"割腕",
        r"自残",
        r"(?:伤害|惩罚|折磨)(?:我)?自己(?!的(?:感情|心))",
        r"(?:划|割|烫|掐)(?:伤)?(?:了)?(?:自己|我的?手)",
        r"(?:用刀|拿刀)(?:划|割)",
        r"(?:打|掐|咬|撞|扇|抽)(?:我)?自己(?!的(?:脸|嘴巴)|一下)",
        r"(?:手臂|胳膊|手腕|腿|皮肤|手)(?:都|全)?(?:被我)?抓(?:烂|出血)",
        r"(?:手臂|胳膊|手腕|腿|手)上(?:都是|全是)(?:我)?(?:自己)?(?:划|割|烫)",
        r"(?:烟头|打火机)烫",
        r"(?:用)?刀片(?:划|割)(?:自己|手)",
        r"(?:不吃饭|饿着)(?:来)?惩罚自己",
    ),
    "intent_plan": (
        r"跳楼",
        r"跳河",
        r"跳桥",
        r"跳下去",
        r"卧轨",
        r"上吊",
        r"烧炭",
        r"遗书",
        r"(?:喝|吃)(?:了)?农药",
        r"(?:吃|吞|喝)(?:了|下)?(?:一|整|好|很|所有的?|全部的?)?(?:整)?(?:瓶|把|堆|盒|多|大把|些)"
        r"(?:的)?(?:安眠)?药",
        r"把(?:[\u4e00-\u9fff]{0,4}的)?(?:所有的?|全部的?)?(?:安眠)?药(?:都|全|全部)?(?:吃|吞)",
        r"(?:攒|存|囤)(?:了)?(?:很多|好多|一些|不少)?(?:的)?安眠药",
        r"安眠药(?:都|全|全部)(?:吃了|吞了)",
        r"tiaolou",
        r"跳lou",
        r"gewan",
        # intent, plan and timing
        r"(?:准备好|决定)(?:了)?(?:要)?(?:去)?死",
        r"(?<![你他她])去死(?!吧你|啦你)",
        r"(?:会|要|怕我会|怕自己会)做傻事",
        r"今天是我(?:人生的|生命的|活着的)?最后一天",
        r"(?:计划|打算)(?:好了)?(?:怎么|如何)?(?:去)?(?:死|自杀|结束)",
    ),
    "wish_to_be_dead": (
        r"(?:不要|别|不会|不再|再也不|永远不|永远不要|永远别)(?:再)?醒(?:过来|来)?(?![目悟])",
        r"(?:一觉|睡过去|睡着)(?:就|了)?(?:再也|永远)?(?:不|别)(?:要)?(?:再)?醒",
        r"(?<![累笑热冷饿困气吓烦忙尬痛心聊丑疼])死(?:了|掉|亡)?(?:会|就|才|才是|就是|反而是|是|也是|或许是|"
        r"可能是)?(?:一种)?(?:轻松|解脱)",
        r"(?:宁愿|宁可)(?:去)?死(?![也都]不(?:去|吃|喝|穿|看|买|做|学|上|参加|相亲))",
        r"活够了",
        r"不想(?:再)?存在",
        r"(?:没有|不该|没)(?:被)?(?:出生|生下来)",
        r"死掉(?:算了|就好了|最好)",
        r"(?:出车祸|被车撞)死(?:掉|了)?就好",
        r"活(?:着|下去)(?:真的|真|好|也|又)?有什么(?:意思|意义|用)",
        r"活腻(?:了|歪了)",
        r"活不(?:久|长)了",
        r"结束(?:掉)?自己(?!的(?:工作|学业|任务|项目|假期))",
        r"一死了之",
        r"(?:希望|真希望|但愿)(?:我|自己)(?:能)?(?:死掉|死了|去死|早点死)",
        r"(?:和|跟|向)这个世界(?:说)?(?:再见|告别|道别)",
        r"告别这个(?:世界|人间)",
    ),
    "suicidal_thoughts": (
        r"(?:想着|想到|念着)(?:去)?死(?![你您他她它])",
        r"(?:天天|每天|一直|总是|老是|经常)(?:都)?想(?:着)?(?:去)?死(?![你您他她它])",
        r"想死的(?:念头|想法|冲动)",
        r"(?:寻短见|想不开(?!心))",
        r"(?:结束|了结)生命的(?:想法|念头)",
    ),
    "method": (
        r"(?:才|就)(?:会|能)死",
        r"(?:无痛|不痛|最快|最好)的?(?:死法|自杀(?:方法|方式))",
        r"死法",
        r"(?:查|搜|研究|看)(?:了|过)?(?:一下|很多)?(?:怎么|如何|怎样)(?:去)?(?:死|自杀|上吊|割腕)",
        r"(?:想好了|想过|想清楚了)(?:要)?(?:怎么|如何|怎样)(?:去)?死",
        r"自杀的?(?:方法|方式)",
        r"(?:割|切)(?:了|过)?(?:脉|手腕|动脉)",
        r"(?:怎么|如何|怎样)死(?:比较|最|才)",
        r"开煤气",
        r"(?:从|在)(?:楼上|楼顶|天台|阳台|桥上)跳",
        r"(?:想|要|去)(?:撞车|被车撞|撞墙)",
        r"(?:看|量|查)了?.{0,8}(?:桥|楼|天台|楼顶)有多高",
    ),
    "preparatory_acts": (
        r"(?:攒|存|囤)(?:了)?(?:很多|好多|一些|不少|一堆|一大堆)?(?:的)?(?:安眠|止痛)?药",
        r"(?:买|备|准备|囤)(?:了)?(?:很多|好多|一些|一堆|大量|几瓶)?(?:的)?安眠药",
        r"炭.{0,4}胶带|胶带.{0,4}炭",
        r"准备(?:了|好了)?(?:刀片|木炭|农药|绳子)",
        r"(?:遗言|绝笔|告别信)",
        r"后事(?:都|我都|已经)?(?:交代|安排)",
        r"以后(?:都)?用不(?:上|着)了",
        r"我(?:死了|不在了|走了)(?:以后|之后)(?:你们|他们|她|他|大家)?(?:会|要|帮我|替我)?照顾",
        r"(?:跟|和)(?:大家|所有人|家人|朋友们?)(?:都)?告别了",
        r"(?:药|药片|安眠药)(?:我)?(?:都)?数(?:过)?了|数(?:过|了)(?:一下)?(?:药|药片)",
    ),
    "burdensomeness": (
        r"(?:是|就是|成了|只会|只是)(?:家里的|大家的|别人的|他们的|家人的|所有人的)?(?:累赘|拖累)",
        r"拖累(?:家人|大家|别人|爸妈|父母|他们|你们|所有人)",
        r"(?:没有我|我(?:死了|不在了|消失了|走了以后))(?:以后|之后)?(?:他们|大家|家人|你们|爸妈|"
        r"父母|所有人)?(?:就|都|会|就会|都会)?(?:更好|过得更好|轻松|解脱|开心)",
        r"没(?:有)?人(?:会)?在乎我(?:死不死|是死是活|的死活|死了)",
        r"我(?:消失|死|不在)了?(?:也)?(?:不会|没)有人(?:发现|在乎|在意|难过|伤心|注意)",
        r"(?:是|就是)(?:大家|家里|别人|他们|家人)的负担",
    ),
    "end_everything": (
        r"(?:想|好想|只想|想要|很想)(?:就这样)?(?:从这个世界上?)?(?:永远|彻底)?(?:地)?消失"
        r"(?!一段|几天|一下|一会|一阵|几个|在)",
        r"从这个世界上?(?:消失|蒸发)",
        r"(?:结束|终结)(?:掉)?这一切",
        r"让(?:这)?一切(?:都)?结束",
        r"去另一个世界",
        r"永远(?:地)?(?:睡下去|睡过去|睡去|长眠|睡着)",
        r"(?:想|要)(?:彻底|永远)解脱",
    ),
    "violent_intent": (
        _ZH_VERBS + _ZH_PERSON,
        r"把" + _ZH_PERSON + r"(?:杀了|弄死|砍死|捅死|掐死|宰了)",
        r"同归于尽",
        r"报复社会",
        r"把(?:他们|她们|你们|他|她|你|那些人|所有人)(?:全|都|全都|统统)?(?:杀了|杀光|弄死|砍死)",
        r"捅(?:他|她|你|死他|死她)(?:一|几|两)刀",
        r"(?:去|要|想)(?:学校|公司|街上|单位)?砍人",
        r"血债血偿",
    ),
    "weapon_threat": (r"带(?:着)?(?:刀|枪|武器|汽油)(?:去|到|进)(?:学校|公司|单位|教室|医院)",),
}

_ZH = {
    label: _ZH.get(label, ()) + _ZH_COMPOSED.get(label, ())
    for label in (*_ZH, *(k for k in _ZH_COMPOSED if k not in _ZH))
}
_ZH_PATTERNS = tuple((label, re.compile("|".join(specs))) for label, specs in _ZH.items())
_ZH_ANY = re.compile("|".join(spec for specs in _ZH.values() for spec in specs))
#: Pinyin written as a word of its own, in a message without Han characters ("wo xiang zisha",
#: or spelled out "z i s h a"): word boundaries, so "Liz, I shall" is not "zisha".
_PINYIN_WORDS = {
    "zisha": "suicidal_ideation", "qingsheng": "suicidal_ideation",
    "buxianghuo": "suicidal_ideation", "buxianghuole": "suicidal_ideation",
    "tiaolou": "intent_plan",
}  # fmt: skip
#: Pinyin phrases, syllable by syllable: written together or apart ("zi sha", "zi-sha",
#: "zi4 sha1"), each a word of its own (so "Liz, I shall" is not "zi sha").
_PINYIN_PHRASES = {
    "suicidal_ideation": (
        "zi sha", "qing sheng", "bu xiang huo", "huo bu xia qu", "yi liao bai liao",
        "jie shu sheng ming", "bu xiang xing lai", "xiang qu si", "xun si", "bu xiang zai huo",
    ),
    "intent_plan": (
        "tiao lou", "tiao he", "tiao qiao", "wo gui", "shang diao", "shao tan", "ge wan",
        "an mian yao",
    ),
    "self_harm": ("zi can", "ge shou"),
}  # fmt: skip
_SYLLABLE_GAP = r"[1-5]?[^a-z0-9]{0,3}"


def _pinyin(phrase: str) -> str:
    return _SYLLABLE_GAP.join(phrase.split()) + r"[1-5]?(?![a-z])"


_PINYIN: tuple[tuple[str, re.Pattern[str]], ...] = (
    *(
        (label, re.compile(r"(?<![a-z])(?:" + "|".join(map(_pinyin, ps)) + ")"))
        for label, ps in _PINYIN_PHRASES.items()
    ),
    # 我想死 / 好想死 / 真的想死, but not 想死你了 (missing someone)
    (
        "suicidal_ideation",
        re.compile(
            r"(?<![a-z])(?:(?:wo|hao|zhen|de|hen|zhi|ye|zhende)[1-5]?[^a-z0-9]{0,3}){1,3}"
            r"xiang[1-5]?[^a-z0-9]{0,3}si[1-5]?(?![a-z])(?![^a-z0-9]{0,3}(?:ni|ta|nimen)(?![a-z]))"
        ),
    ),
)
_PINYIN_ANY = _dispatch([p.pattern.removeprefix("(?<![a-z])") for _, p in _PINYIN], r"(?<![a-z])")


#: A denial right before a Chinese phrase: 我从来没想过自杀, 我不会自杀, 我不是想死, 并不想死.
_ZH_NEGATION = re.compile(
    r"(?:不|没|没有|从没|从来没|从来没有|从未|绝不|绝对不|并不|并没有|不会|别|不是|不再|才不|"
    r"不至于|未曾|不敢|哪有|没再|还没到|没到)(?:会|想|想过|打算|要|考虑|考虑过|有过|有|去|真的|是|说|再|曾|敢|"
    r"至于|还|真|打算过|准备){0,3}$"
)
#: 要不要, 想不想, 会不会: a question about the act, not a denial of it.
_ZH_QUESTION = re.compile(r"(.)不\1")
#: A denial right after: 自杀的念头我从来没有, 想死的想法倒是没有.
_ZH_DENIED_AFTER = re.compile(
    r"(?:的)?(?:念头|想法|打算|计划|冲动)?(?:这种事情?|这件事|这个)?(?:我)?(?:倒是|倒|还|是|也)?"
    r"(?:从来|从|都|也|根本|绝对|并|还)?"
    r"(?:没有|没|不会|不曾|从未|不至于|谈不上|算不上)(?:过|做|去做|干|到)?(?:的)?(?:$|\|)"
)
#: Someone who is not the writer is the subject of the clause before the phrase: 我朋友去年自杀了,
#: 她说她活够了, 新闻说有人跳楼. Read back to the start of the clause, with no 我 after it.
_ZH_OTHER = re.compile(
    r"^(?:[^|]{0,6}?(?:担心|怕|害怕|听说|知道|发现|以为|说|问|告诉我))?"
    r"(?:我的?|我们的?|昨天|今天|去年|以前|之前|那天|后来)?"
    r"(?:有人|别人|他|她|他们|她们|ta|哥哥|姐姐|弟弟|妹妹|表哥|表姐|表弟|表妹|堂哥|堂姐|朋友|闺蜜|"
    r"同学|同事|室友|邻居|网友|明星|歌手|主角|角色|女主|男主|叔叔|阿姨|舅舅|姑姑|爷爷|奶奶|外婆|"
    r"外公|姥姥|爸|妈|父亲|母亲|老公|老婆|男友|女友|男朋友|女朋友|儿子|女儿|孩子|学生|病人|"
    r"患者|某人|那个人|人家|亲戚|这种人)[^我|]{0,8}$"
)
#: Someone else says or thinks it of the writer: 我妈总说我是累赘 (read for burdensomeness).
_ZH_SAID = re.compile(
    r"(?:他|她|他们|她们|人|爸|妈|父母|家人|朋友|同事|老板|领导|老师|亲戚|婆婆|公公|老公|老婆|"
    r"男友|女友)[^我|]{0,4}(?:说|骂|嫌|认为|觉得|讲|嘲笑)(?:我|自己)"
)
#: A story, a lesson, a film or the news: 那部电影里女主角跳河了, 关于青少年自残的论文.
_ZH_TOPIC = re.compile(
    r"电影|电视剧|剧里|剧中|小说|书里|书中|新闻|纪录片|歌里|歌词|游戏里|游戏中|动漫|漫画|视频里|"
    r"文章|节目|讲座|论文|关于|剧情|作文|宣传|预防|科普|作业"
    r"|这本书|那本书|一本书|书写的|写的是|讲的是|讲述|唱的是|演的是|拍的是|故事|主人公|情节|讲到|"
    r"报告|课上|上课|讨论|课题|案例|这首歌|那首歌|首歌"
)
#: Embarrassment and boredom before a wish to disappear or die: 尴尬得想消失, 社死了想原地去世.
_ZH_HYPERBOLE = re.compile(
    r"(?:尴尬|丢脸|丢人|社死|糗|无聊|羞|害羞|难为情|原地)[^|]{0,6}$"
    r"|(?:(?<![觉懂记晓值舍显变免获取使不])得|(?<![感想看听受做遇得碰找等收达])到)我?(?:都)?"
    r"(?:想|要|真想|好想)?$"
)
#: A jump named bare, as hyperbole uses it after a cause: 这道题难得我想跳楼.
_ZH_JUMP = re.compile(r"(?:想)?跳(?:楼|河|桥|江|海)")
_ZH_LAUGHTER = re.compile(r"哈哈|嘿嘿|呵呵|嘻嘻|笑死|hhh|233|lol|lmao|😂|🤣|😆")
#: A past the message says is over: 我以前有过轻生的念头，现在好多了.
_ZH_PAST = re.compile(
    r"以前|曾经|之前|过去|小时候|那时候?|当时|几年前|去年|前年|高中|初中|大学|年轻时|有段时间|一度"
    r"|前几年|那几年|那段时间|那阵子|早年|多年前|[0-9一二三四五六七八九十几]{1,3}年前|[0-9一二三四五六七八九十几]{1,3}岁"
    r"|读书的时候|上学的时候"
)
_ZH_RECOVERED = re.compile(
    r"(?:现在|目前|如今|已经|但是?|不过|后来|好在|幸好|还好|以后|之后|长大(?:以)?后|治疗(?:以)?后)"
    r"[^|]{0,6}?"
    r"(?:好多了|好了|没事了|走出来了|不会了|不再|稳定|康复|好很多|很好|挺好|过去了|戒了|停了|没有了|"
    r"没再|再也没|恢复|新的生活|正常了)"
)
_ZH_RECENT = re.compile(r"昨天|昨晚|今天|今晚|最近|又|这几天|现在又|刚才|刚刚")
#: 为了X去死 ("would die for hotpot"): hyperbole when the match is a bare 死.
_ZH_FOR = re.compile(r"为了[^|]{0,6}$")
#: The phrase names a topic: 自杀的宣传活动, 自残的新闻.
_ZH_TOPIC_AFTER = re.compile(
    r"[^|]{0,4}的(?:宣传|讲座|新闻|电影|书|论文|活动|报道|话题|案例|热线|课|知识|视频|文章)"
)
#: Leaving for a new place, not life: 写了告别信，下周要调去深圳了.
_ZH_TRAVEL = re.compile(
    r"出国|留学|毕业|搬家|离职|辞职|调去|调到|转学|出差|实习|旅游|旅行|去[^|]{0,4}(?:工作|上学|读"
    r"书)"
)
#: A threat said in play: 我要杀了你哦.
_ZH_TEASING = re.compile(r"[哦喔啦呀哈嘛噢]")
#: 跳楼价 (a sale price), not a method.
_ZH_SALE = re.compile(r"跳楼(?:价|大甩卖|甩卖|清仓|特价|大减价)")
_ZH_LABELS_OTHERS = frozenset({"violent_intent", "weapon_threat"})


def _zh_affirmed(label: str, norm: str, match: re.Match[str], ctx: _ZhContext) -> bool:
    """True if a Chinese `match` is the writer's own present statement (see `_affirmed`)."""
    start, end = match.start(), match.end()
    clause_start = norm.rfind("|", 0, start) + 1
    before = norm[max(clause_start, start - 24) : start]
    asked = _ZH_QUESTION.sub(r"\1", before[-10:])  # 要不要, 会不会: a question, not a denial
    if _ZH_NEGATION.search(asked) or _ZH_DENIED_AFTER.match(norm, end, end + 12):
        return False
    if _ZH_TOPIC.search(before) or _ZH_SALE.match(norm, start):
        return False
    if _ZH_TOPIC_AFTER.match(norm, end, end + 10):
        return False
    if label in _ZH_LABELS_OTHERS:
        return not ctx.laughter and not _ZH_TEASING.match(norm, end)
    if (
        label != "burdensomeness"
        and _ZH_OTHER.search(before)
        and not match.group().startswith("我")
    ):
        return False
    if label == "burdensomeness" and _ZH_SAID.search(norm, clause_start, end):
        return False
    if _ZH_HYPERBOLE.search(before) and (
        label in ("wish_to_be_dead", "suicidal_ideation", "end_everything")
        or (label == "intent_plan" and _ZH_JUMP.fullmatch(match.group()) is not None)
    ):
        return False
    if match.group().endswith("死") and _ZH_FOR.search(before):
        return False
    if ctx.recovered_at >= end and not ctx.recent and _ZH_PAST.search(norm, 0, end):
        return False
    if ctx.laughter and len(match.group()) <= 3 and match.group().endswith("死"):
        return False  # 我去死一死哈哈
    if label == "preparatory_acts" and "告别" in match.group() and _ZH_TRAVEL.search(norm):
        return False  # 写了告别信，下周要调去深圳了
    if label == "preparatory_acts" and ctx.pills_ordinary and "药" in match.group():
        return False
    if label == "preparatory_acts" and ctx.means_ordinary:
        return _ZH_EVERYDAY_MEANS.search(match.group()) is None
    return True


@dataclass(frozen=True, slots=True)
class _ZhContext:
    """What the whole Chinese message says about its phrases (computed once per message)."""

    recovered_at: int  # start of a recovery (现在好多了), or -1
    recent: bool  # something recent before the recovery (昨晚又...)
    laughter: bool  # 哈哈, 笑死, 😂
    means_ordinary: bool  # an everyday use of the means (烧烤, 露营, 行李)
    pills_ordinary: bool  # pills for an illness (感冒, 备用)


def _zh_normalise(text: str) -> str:
    text = _CANTONESE_RE.sub(lambda m: _CANTONESE[m.group()], text)
    return _ZH_DROP.sub("", _ZH_CLAUSE.sub("|", fold(text).lower()))


def _scan_zh(text: str, runs: list[str], labels: set[str]) -> bool:
    """The Chinese phrase lists, over text with separators, symbols and zero-width removed
    (clause breaks kept as "|"). True when the message has Chinese characters or a pinyin
    phrase was seen (the English reader is then not asked).

    `runs` are the spelled-out letter runs the English pass collapsed ("z i s h a").
    """
    if text.isascii() or _HAN.search(text) is None:
        folded = fold(text).lower()
        for word in runs:
            if word in _PINYIN_WORDS:
                labels.add(_PINYIN_WORDS[word])
        if _PINYIN_ANY.search(folded):
            labels.update(label for label, pattern in _PINYIN if pattern.search(folded))
            return True
        return False
    norm = _zh_normalise(text)
    if not _ZH_ANY.search(norm):
        return True
    recovered = _ZH_RECOVERED.search(norm)
    recovered_at = recovered.start() if recovered else -1
    ctx = _ZhContext(
        recovered_at=recovered_at,
        recent=recovered_at > 0 and _ZH_RECENT.search(norm, 0, recovered_at) is not None,
        laughter=_ZH_LAUGHTER.search(text.lower()) is not None,
        means_ordinary=_ZH_MEANS_ORDINARY.search(norm) is not None,
        pills_ordinary=_ZH_PILLS_ORDINARY.search(norm) is not None,
    )
    for label, pattern in _ZH_PATTERNS:
        if label in labels:
            continue
        if any(_zh_affirmed(label, norm, m, ctx) for m in pattern.finditer(norm)):
            labels.add(label)
    return True


def scan_risk(text: str) -> SafetyHit | None:
    """Scan one client message for phrases that indicate a risk of harm to self or others.

    Returns a `SafetyHit` (category and machine cue labels, never message text) or None.
    Pass the *whole* text: the scan is linear in the length (about 0.2 ms for a chat message and
    several seconds for 1 MB on the project's shared 2-core machine; the monitor reads texts
    above 64 kB in a worker thread) and must not be limited to the part that is scored.

    A safety net that routes a signal to a human, not a clinical instrument or a crisis service:
    English and Chinese phrase lists only; it misses some risk and flags some harmless messages.
    """
    runs: list[str] = []
    norm = _normalise(text, runs)
    labels: set[str] = set()
    seen = _ANY.search(norm) is not None
    if seen:
        recovered = _RECOVERED.search(norm)
        recovered_at = -1
        if recovered is not None and not _RECENT.search(norm, 0, recovered.start()):
            recovered_at = recovered.start()
        laughter = _LAUGHTER.search(text.lower()) is not None
        for label, pattern in _PATTERNS:
            if laughter and _CATEGORY[label] == "harm_to_others" and label != "telling_to_die":
                continue  # "I'll kill him if he eats my leftovers lol"
            others = label not in _OTHERS_ALLOWED
            scope = _Scope(
                recovered_at, laughter, others, reported=not others, own=label in _OWN_LABELS
            )
            if _affirmed(pattern, norm, scope):
                labels.add(label)
    for match in _SQUASHED_WHOLE.finditer(norm):
        labels.add(_SQUASHED_LABEL[match.group()])
    for run in runs:
        squashed = _skeleton(run)
        labels.update(label for label, pattern in _SQUASHED_PART if pattern.search(squashed))
    seen = _scan_zh(text, runs, labels) or seen
    if not seen and not labels:
        _read(norm, labels)
    if not labels:
        return None
    self_directed = any(_CATEGORY[label] == "self_harm" for label in labels)
    category: SafetyCategory = "self_harm" if self_directed else "harm_to_others"
    return SafetyHit(category=category, cues=tuple(sorted(labels)))


#: The words of the domain the reader is asked about: a message that names none of them (dying,
#: ending, leaving, the means, a burden, existing, sleep and waking, pain, goodbyes, notes) is
#: not read by it. Ungated, the reader flagged ordinary lines such as "I made oatmeal cookies
#: last week" (7 of ESConv's 13,889 client messages; 1 with the gate).
_READER_GATE = re.compile(
    _raw(
        r"(?<![a-z])(?:die|dying|dead|death|kill|suicid|end|ending|gone|goodbye|bye|pills|meds|"
        r"tablets|overdose|rope|noose|bridge|jump|burden|disappear|exist|alive|live|living|life|"
        r"wake|funeral|better off|without me|anymore|hurt|cut|blade|razor|letter|note|"
        r"tonight|forever|pain|give away|giving away|gave away|wont need|new home|sleep|tired|"
        r"over)"
    )
)


def _read(norm: str, labels: set[str]) -> None:
    """The learned reader (`_safety_reader`, English) beside the phrase lists: it adds
    ``implicit_risk`` (self) or ``implicit_threat`` (others) when it is confident. Asked only
    where the lists saw none of their phrases (where they saw one and set it aside, a denial,
    another person, a topic, a past that is over, their reading stands), not for a message
    with Chinese characters, and only when the message names a word of the domain
    (`_READER_GATE`)."""
    if _READER_GATE.search(norm) is None:
        return
    _, self_harm, others = _READER.probabilities(features_en(norm))
    if self_harm + others >= _READER.threshold:
        labels.add("implicit_risk" if self_harm >= others else "implicit_threat")


def reader_features(text: str, norm: str | None = None) -> list[str]:
    """The learned reader's features of a message: from the plain form `_normalise` gives (pass
    it as `norm` when already computed)."""
    return features_en(_normalise(text, []) if norm is None else norm)


def _affirmed(pattern: re.Pattern[str], norm: str, scope: _Scope) -> bool:
    """True if `pattern` matches somewhere that is the writer's own present statement: not
    directly after an explicit denial, a topic ("a book about") or, for most labels, another
    subject ("she wants to die"); not a past the message says is over; not a hyperbole."""
    for match in pattern.finditer(norm):
        start = match.start()
        before = max(0, start - _NEGATION_WINDOW)
        if _NEGATION.search(norm, before, start) or _TOPIC.search(norm, before, start):
            continue
        if _NO.search(norm, before, start) or _DIED_BY.search(norm, before, start):
            continue
        if start < scope.recovered_at and _PAST.search(norm, before, scope.recovered_at):
            continue
        if (
            scope.others
            and _OTHER_SUBJECT.search(norm, before, start)
            and not (scope.own and _FIRST_PERSON.search(norm, start, match.end() + 12))
        ):
            continue
        if scope.reported and _REPORTED.search(norm, before, start):
            continue
        if _HYPERBOLE.search(norm, before, start) or (
            scope.laughter
            and (_CAUSAL.search(norm, before, start) or _IF_CAUSE.search(norm, before, start))
        ):
            continue
        return True
    return False
