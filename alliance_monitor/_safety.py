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

Chinese (`_scan_zh`) is read separately, with the same categories: separators, symbols and
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

_SELF: dict[str, tuple[str, ...]] = {
    "suicidal_ideation": (
        r"(?:kill|killing) myself(?! (?:with|studying|working|laughing|over|trying|at work))",
        r"(?:end|ending) (?:my (?:own )?life|it all|my own existence)",
        r"take my (?:own )?life",
        r"(?:want|wanted|wanna|ready|wish|wishing|longing) to die",
        r"wanna die",
        r"(?:want|wanna|wanted) to dye(?! (?:my|it|the|her|his|your|them|some|a|an|our|their|"
        r"this|that|hair|clothes|shirt|easter|eggs)>)",
        r"wish (?:i|id) (?:was|were|could be) dead",
        r"wish (?:i|id) (?:was|were|had) never (?:been )?born",
        r"wish i (?:wasnt|werent|didnt) exist",
        r"better off (?:dead|without me|if i (?:was|were) gone)",
        r"no (?:reason|point) (?:to|in) (?:live|living|going on|being alive|being here)",
        r"nothing (?:left )?to live for",
        r"(?:dont|do not|no longer) want to (?:live|be alive|exist|wake up|be here anymore)",
        r"(?:tired|sick) of (?:living|being alive)",
        r"(?:life|it) (?:is not|isnt|aint) worth living",
        r"not worth living",
        r"never wake up",
        r"(?:cant|can not|cannot) go on (?:living|anymore|any more)",
        r"suicidal(?: thoughts)?",
        r"unalive(?: myself)?",
        r"unaliving",
        r"sewer slide",
        r"(?:want to|wanna|gonna|going to|about to|finna|ima|i will) kms",
    ),
    "suicide_mention": (
        r"suicide(?! (?:squad|door|doors|bomber|bombers|prevention|awareness|statistics))",
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
        r"(?:sleep|go to sleep) forever",
        r"(?:want|wants|wanna|wish|rather|prefer) (?:to )?(?:just )?not be (?:alive|here|around|"
        r"on this earth)",
        r"if i (?:never|didnt|did not|dont|do not|wouldnt|would not) (?:wake|woke|woken) up",
        r"feel like (?:dying|killing myself|ending it|ending my life|ending it all)",
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
        r"ending it all|ending it|ending things|ending everything|taking my (?:own )?life|dying|"
        r"not being (?:here|alive|around))(?! (?:with|for|because of (?:my|the) (?:job|work))>)",
        r"thoughts (?:of|about) (?:suicide|killing myself|ending my life|ending it|ending things|"
        r"dying|taking my (?:own )?life|not being (?:here|alive|around))",
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
        r"painkillers|sleeping pills|tablets|tylenol|meds|medication)",
        r"(?:stockpiling|stockpiled|saving up|hoarding|collecting|saved up|saving|stashing|"
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
        r"asking)>)",
        r"burden (?:to|on|for) (?:everyone|everybody|my family|my parents|my mom|my mum|my dad|"
        r"them|others|the people|my kids|my husband|my wife|my friends)",
        r"(?:would|will|d) be (?:happier|better|better off|relieved|fine|ok|okay|free) (?:if|"
        r"when|once) (?:i|im) (?:was |were |am |is |just )?(?:gone|dead|not (?:here|around|"
        r"alive)|wasnt (?:here|around|alive)|werent (?:here|around)|died|disappeared)",
        r"(?:no one|nobody|noone|nobodys|no ones) (?:would|will|even|would even|will even) "
        r"(?:miss me|care if i (?:died|die|was gone|were gone|disappeared|killed myself)|notice if "
        r"i (?:died|was gone|disappeared))",
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
        r"(?:want|wanna|need|wish) (?:it all|everything|all of it) to (?:end|stop|be over)",
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
        r"sunday|monday|tuesday|wednesday|thursday))",
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
        r"(?:wont|will not) be (?:alive|around) (?:tomorrow|much longer|next week|anymore)",
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
        r"(?:bring|bringing|take|taking|brought|took) (?:a|my|the) (?:gun|knife|weapon|rifle|"
        r"pistol) (?:to|into) (?:school|work|class|the office|campus|church)",
        r"shoot up (?:the|my|a|this) (?:school|office|place|class|workplace|church)",
        r"(?:ill|i will|im going to|i am going to|gonna|going to) (?:bring|get|grab|use|take) "
        r"(?:my|my dads|my fathers|my brothers|my moms|a|the|his|her) (?:gun|rifle|pistol|knife|"
        r"shotgun|weapon)(?! (?:to (?:the range|hunting|clean)|hunting|for hunting|camping)>)",
        r"make (?:them|him|her|everyone|you all) pay ~(?:gun|knife|rifle|shoot|kill|stab)",
    ),
}

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
_FILLER = r"(?:[a-z0-9]+[^a-z0-9]+){0,2}"
_START = r"(?<![a-z0-9])"
_END = r"(?![a-z0-9])"


def _spec(spec: str) -> str:
    if _LETTER_THEN_QUANTIFIER.search(spec):
        raise ValueError(f"quantifier after a letter in safety phrase {spec!r}")
    out = _WORD.sub(lambda m: _skeleton(m.group()), spec)
    return out.replace(" ~", _SEP + _FILLER).replace(" ", _SEP).replace(">", _END)


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
}
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
        r"havent|have not|hasnt|arent|isnt)"
        r"(?: (?:really|ever|even|actually|want|wanna|to|be|going|gonna|feel|feeling|that|so|"
        r"am|i|im|tried|try|thought|think|thinking|considered|wanted|planned|had|have|any|"
        r"thoughts|of|about|intend|intention|plan|plans|ever)){0,4}"
    )
    + r"[^a-z0-9]*$"
)
_NEGATION_WINDOW = 64
#: "I used to want to die but I'm much better now": a past phrase with a recovery after it.
_PAST = re.compile(
    _START + _spec(r"(?:used to|years ago i|i once)") + r"[^a-z0-9]*(?:[a-z0-9]+[^a-z0-9]+){0,2}$"
)
_RECOVERED = re.compile(
    _START
    + _spec(
        r"(?:but|now) ~(?:im|i am|its|i feel) (?:much |so |a lot |way )?(?:better|fine|ok|okay|"
        r"good|safe|over it)|not anymore|(?:im|i am) (?:much |so |a lot )?better now|"
        r"(?:but|and) (?:i )?(?:stopped|quit|havent since|have not since|dont anymore|got help)"
    )
)
#: "a book about suicide", "a talk on suicide": the word as a topic, not a disclosure.
_TOPIC = re.compile(
    _START
    + _spec(
        r"(?:book|books|film|movie|documentary|talk|class|lesson|article|video|podcast|essay|"
        r"show|episode|song|news|research|study|paper|course|training|assembly|seminar|workshop|"
        r"statistics|awareness|prevention|presentation|project|report) (?:about|on|of|covering)"
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

_ZH_DROP = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_ZH_PERSON = (
    r"(?:他|她|他们|她们|你|你们|那个人|那个|这个人|我(?:爸|妈|爸爸|妈妈|老公|老婆|丈夫|妻子"
    r"|男朋友|女朋友|前任|老板|领导|同事|同学|室友|继父|继母|孩子|儿子|女儿|哥|姐|弟|妹))"
)
_ZH_VERBS = r"(?:杀了|杀死|弄死|砍死|捅死|掐死|毒死|宰了|捅了)"

_ZH: dict[str, tuple[str, ...]] = {
    "suicidal_ideation": (
        r"不想活(?![在成得])",
        r"活不下去",
        r"不想(?:再)?活下去",
        r"活着(?:真的|真|好|也)?(?:没(?:有)?(?:什么|任何)?意思|没(?:有)?(?:什么|任何)?意义|有什么意义)",
        r"没有活下去的(?:意义|理由|勇气)",
        # not "累得要死", "快要死了" (hyperbole, an illness), "想死你了" (missing someone)
        r"(?:(?<![得])想|(?<![得快])要|打算|准备|好想|真想|很想|只想)(?:去)?死(?![你您他她它我])",
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
    "suicide_mention": (r"(?<!预防)(?<!防止)(?<!干预)自杀(?!式|预防|干预|热线)",),
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
        r"安眠药(?:都|全)?(?:吃了|吞了)",
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
        r"(?:不要|别|不会|不再|再也不|永远不)(?:再)?醒(?:过)?来",
        r"(?:一觉|睡过去|睡着)(?:就|了)?(?:再也|永远)?(?:不|别)(?:要)?(?:再)?醒",
        r"(?<![累笑热冷饿困气吓烦忙尬痛心聊丑疼])死(?:了|掉)?(?:会|就)?(?:轻松|解脱)",
        r"(?:宁愿|宁可)(?:去)?死",
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
        r"(?:寻短见|想不开)",
        r"(?:结束|了结)生命的(?:想法|念头)",
    ),
    "method": (
        r"(?:才|就)(?:会|能)死",
        r"(?:无痛|不痛|最快|最好)的?(?:死法|自杀(?:方法|方式))",
        r"死法",
        r"(?:查|搜|研究|看)(?:了|过)?(?:一下|很多)?(?:怎么|如何|怎样)(?:去)?(?:死|自杀|上吊|割腕)",
        r"(?:想好了|想过|想清楚了)(?:要)?(?:怎么|如何|怎样)(?:去)?死",
        r"自杀的?(?:方法|方式)",
        r"(?:割|切)(?:了)?(?:脉|手腕|动脉)",
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
        r"(?!一段|几天|一下|一会|一阵|几个)",
        r"从这个世界上?消失",
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

#: A denial right before a Chinese phrase: 我从来没想过自杀, 我不会自杀, 没有伤害自己的想法.
_ZH_NEGATION = re.compile(
    r"(?:不|没|没有|从没|从来没|从来没有|从未|绝不|绝对不|并不|并没有|不会|别)"
    r"(?:会|想|想过|打算|要|考虑|考虑过|有过|有|去){0,2}$"
)
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


def _zh_normalise(text: str) -> str:
    return _ZH_DROP.sub("", fold(text).lower())


#: A person who is not the writer right before a method or a mention: 有人跳楼了, 他哥哥自杀了
#: (reported, not disclosed). Read in the normalised text, up to `_ZH_OTHER_WINDOW` characters
#: back, with no 我 in between.
_ZH_OTHER = re.compile(
    r"(?:有人|别人|他|她|他们|她们|哥哥|姐姐|弟弟|妹妹|朋友|同学|同事|邻居|新闻|明星)[^我]{0,3}$"
)
_ZH_OTHER_WINDOW = 6
#: The acts a message can report about someone else (the check above applies to these only).
_ZH_REPORTED = re.compile(r"(?:自杀|跳楼|跳河|跳桥|卧轨|上吊|烧炭|割腕)(?:了|过)?")
#: 为了X去死 ("would die for hotpot"): hyperbole when the match is a bare 死.
_ZH_FOR = re.compile(r"为了.{0,6}$")


def _scan_zh(text: str, runs: list[str], labels: set[str]) -> None:
    """The Chinese phrase lists, over text with separators, symbols and zero-width removed.

    `runs` are the spelled-out letter runs the English pass collapsed ("z i s h a").
    """
    if text.isascii() or _HAN.search(text) is None:
        folded = fold(text).lower()
        for word in runs:
            if word in _PINYIN_WORDS:
                labels.add(_PINYIN_WORDS[word])
        if _PINYIN_ANY.search(folded):
            labels.update(label for label, pattern in _PINYIN if pattern.search(folded))
        return
    norm = _zh_normalise(text)
    if not _ZH_ANY.search(norm):
        return
    for label, pattern in _ZH_PATTERNS:
        for match in pattern.finditer(norm):
            start = match.start()
            if _ZH_NEGATION.search(norm, max(0, start - 8), start):
                continue
            if _ZH_REPORTED.fullmatch(match.group()) and _ZH_OTHER.search(
                norm, max(0, start - _ZH_OTHER_WINDOW), start
            ):
                continue
            if match.group().endswith("死") and _ZH_FOR.search(norm, max(0, start - 8), start):
                continue
            labels.add(label)
            break


def scan_risk(text: str) -> SafetyHit | None:
    """Scan one client message for phrases that indicate a risk of harm to self or others.

    Returns a `SafetyHit` (category and machine cue labels, never message text) or None.
    Pass the *whole* text: the scan is cheap (tens of microseconds for a chat message, about
    0.2 s for 1 MB on one laptop core, linear in the length) and must not be limited to the
    part that is scored.

    A safety net that routes a signal to a human, not a clinical instrument or a crisis service:
    English and Chinese phrase lists only; it misses some risk and flags some harmless messages.
    """
    runs: list[str] = []
    norm = _normalise(text, runs)
    labels: set[str] = set()
    if _ANY.search(norm):
        recovered = _RECOVERED.search(norm) is not None
        labels.update(
            label
            for label, pattern in _PATTERNS
            if _affirmed(pattern, norm, recovered=recovered, topic=label == "suicide_mention")
        )
    for match in _SQUASHED_WHOLE.finditer(norm):
        labels.add(_SQUASHED_LABEL[match.group()])
    for run in runs:
        squashed = _skeleton(run)
        labels.update(label for label, pattern in _SQUASHED_PART if pattern.search(squashed))
    _scan_zh(text, runs, labels)
    if not labels:
        return None
    self_directed = any(_CATEGORY[label] == "self_harm" for label in labels)
    category: SafetyCategory = "self_harm" if self_directed else "harm_to_others"
    return SafetyHit(category=category, cues=tuple(sorted(labels)))


def _affirmed(pattern: re.Pattern[str], norm: str, *, recovered: bool, topic: bool) -> bool:
    """True if `pattern` matches somewhere not directly preceded by an explicit denial (nor,
    with `recovered`, by "used to"; nor, with `topic`, by "a book about")."""
    for match in pattern.finditer(norm):
        start = match.start()
        before = max(0, start - _NEGATION_WINDOW)
        if _NEGATION.search(norm, before, start):
            continue
        if recovered and _PAST.search(norm, before, start):
            continue
        if topic and _TOPIC.search(norm, before, start):
            continue
        return True
    return False
