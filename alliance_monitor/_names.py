"""Personal names where the context says they are names, in any case, English and Chinese.

Without a model, a name is recognised by what comes before it: a relation ("my daughter lily",
"my boss kevin mcallister", "我女儿小丽", "我老公李明"), an introduction ("my name is jane",
"hi, i'm tom", "本人张伟", "我是欧阳娜娜", "我叫王小明") or a title ("dr. patel", "mr jones").
The word after the context counts as a name when it is not an ordinary English word (a list of
the words that follow such phrases in everyday writing: "my daughter is", "my boss always",
"my mom texted"). Names said without such a context ("lily said no") are not found: that needs a
model (`presidio_redactor`), see docs/reliability.md.

`find_names` returns the spans of the names in a text (already `_text.fold`-ed), used by
redaction before a model call and by the guard on what a model wrote.
"""

from __future__ import annotations

import re

__all__ = ["COMMON_WORDS", "find_names", "is_common_word"]

# Words that follow "my <relation>", "call me", "this is" in ordinary writing: function words,
# frequent verbs in their forms, adverbs, adjectives, nouns. A word here is never taken for a
# name; a word not here, in a name context, is.
_COMMON = """
a able about above across act acted acting actually add added after afternoon again against age
ago agree agreed ah ahead all almost alone along already alright also always am amazing an and
angry annoyed another answer answered any anymore anyone anything anyway anyways apart are
aren't arent around as ashamed ask asked asking asks asleep at ate attacked away awake aware
awful baby back bad badly barely basically be became because become becomes bed been before
began begged begging behind being believe believed believes besides best better between big bit
blamed blames blaming blocked born both bothered bought boyfriend break broke brother brought
bullied bullies but by call called calling calls calm came can can't cannot cant care cared cares
caught changed cheated cheating checked child choose chose clearly close closer cold come comes
coming completely constantly cooked could couldn't couldnt cried cries crying cut dad daily
damn daughter day days dead decided deserves did didn't didnt die died dies different
disappointed divorced do does doesn't doesnt doing don't done dont down drank drinks drinking
drives drove drunk during each earlier early either else emailed ended ends enough even evening
ever every everyone everything exactly except expects explained face failed fair family far fast
father fault favorite favourite feel feeling feels fell felt few fight fighting fights finally
find finds fine fired first fixed for forced forgets forgot forgive forgot found freaked friend
friends from fucking full fully gave get gets getting girlfriend give gives giving glad go goes
going gone gonna good got gotten great grew grounded guess guy had hadn't happy hard has hasn't
hasnt hate hated hates have haven't having he he's heard hears help helped helps her here hers
herself hey him himself his hit hits home honestly hopes hospital hour hours house how however
hugged hurt hurts husband i i'd i'll i'm i've if ignored ignores ignoring ill im in instead into
is isn't isnt it it's its itself job just keep keeps kept kicked kid kids kind kinda knew know
knows last late lately later laughed laughs leave leaves leaving left less let lets lied lies
life like liked likes literally little live lived lives living long look looked looks lost lot
lots love loved loves lying mad made make makes making man many married may maybe me mean means
meant met might mind mine miss missed misses mom month months more morning most mostly mother
moved much mum must my myself nagging name named near nearly need needed needs neither never new
next nice night no nobody none nor normal not nothing now obviously of off often oh ok okay old
older on once one only or other others our out outside over own paid parents part passed past
pays people perhaps person picked planned plays please pretty probably promised pushed put quit
quite rarely rather read ready real really recently refuses relationship remember remembers
right said same sat saw say saying says school screamed screaming screams see seemed seems seen
sent serious seriously she she's shouted should shouldn't sick side since sister sits slept slow
so some somehow someone something sometimes son soon sorry spent spoke started starts still
stole stopped stops stupid such suddenly supposed sure surprised take taken takes taking talk
talked talking talks taught teacher tell telling tells texted texting texts than that that's
the their them then there these they think thinking thinks this those though thought through
throws time tired to today told too took totally tried tries truly trust trusts try trying turned
two under understand understands unless until up upset us use used uses usually very visit
visited visits wait waited wake walked want wanted wanting wants was wasn't wasnt watched way we
week weekend weeks well went were weren't what whatever when where whether which while who whole
why wife will with without woke won't wont work worked working works worried worries worry would
wouldn't wouldnt wow wrong yeah year years yelled yelling yells yes yesterday yet you your
yourself also anyway besides everybody somebody anybody alive busy lonely scared sad nervous
afraid jealous proud sober pregnant sober strict mean abusive toxic kind supportive awesome
cool funny weird crazy smart lazy rich poor young tall short dying sleeping working studying
out there here back home away over again ago lol lmao omg tbh idk btw like also
beat beats bit bites blew blows chose drank drew ate eats falls fought flew froze hid held
holds lay led lent meant rang ran runs rode rose sang shook shot shut sold sells stood stands
struck swore swears tore threw understood won wins wrote writes wore wears drinks smokes cries
shouts asks hates loves lives comes goes treats controls checks reads sleeps eats plays pays
misses judges refuses forgets remembers expects insists complains argues hits kicks pushes grabs
touches follows watches buys sends sent brings brought cooks cleans wakes works won't isn't
abandoned abused gets got went came saw heard hurt broke left died passed moved cheated hits
slapped punched ghosted dumped divorced never ever still even just only already soon
wants needs thinks knows says tells keeps makes takes gives tries seems looks feels acts cares
blames ignores helps calls texts yells screams fights uses
really actually honestly literally basically probably definitely maybe
overseas abroad downstairs upstairs inside outside nearby somewhere anywhere everywhere
online offline private public deleted banned blocked gone down dead closed open locked new old
"""
COMMON_WORDS = frozenset(_COMMON.split())
#: Given names that end like verb and adverb forms ("-ed", "-ly"): not taken for those forms.
_NAMES_LIKE_FORMS_TEXT = """
ed ted fred ned jed jared alfred mildred winifred emily kelly molly holly sally polly beverly
shelly kimberly lilly lily billy wally dolly nelly carly marly ally
"""
_NAMES_LIKE_FORMS = frozenset(_NAMES_LIKE_FORMS_TEXT.split())


#: Frequent given names (English-speaking countries, and some common everywhere) that are not
#: everyday English words: a name from this list is a name in any case and any context
#: ("lily cried all night"). Names that are also words ("will", "grace", "mark", "rose") are
#: left out: they count as names only where the context says so.
_GIVEN = """
aaron abby abigail adam adrian aidan aiden alan alex alexa alexander alexandra alexis alice
alicia alison allison alyssa amanda amelia amy andrea andrew andy angela anna anne annie
anthony antonio ariana arthur ashley austin ava barbara becky ben benjamin beth bethany betty
beverly blake brad bradley brandon brenda brian brianna brittany brooke bryan caitlin caleb
cameron carl carla carlos carmen carol caroline carolyn casey catherine charles charlie
charlotte chelsea cheryl chloe chris christian christina christine christopher cindy claire
clara colin connor courtney craig crystal cynthia daisy dakota dale damian dan daniel danielle
danny darren david deborah debbie denise dennis derek diana diane dominic donald donna dorothy
dylan eddie edward eleanor elena eli elijah elizabeth ella ellie emily emma eric erica erin
ethan eva evan evelyn fiona francis gabriel gabriella gary gavin george georgia gerald gloria
gordon greg gregory hailey haley hannah harper harrison hayley heather helen henry holly hugo
ian isaac isabel isabella isabelle jackson jacob jake james jamie jane janet janice jared
jason jasmine jean jeff jeffrey jenna jennifer jenny jeremy jerry jesse jessica jill jim jimmy
joan joe joel john johnny jonathan jordan jose joseph josh joshua joyce juan judith judy julia
julian julie justin karen kate katherine kathleen kathryn kathy katie kayla keith kelly kelsey
ken kenneth kevin kim kimberly kyle laura lauren leah lee leo leon liam lily linda lindsay
lisa liz logan lois lori louis louise lucas lucy luis luke lydia madison maggie mandy marcus
margaret maria marie marilyn mario marissa martha martin mary mason matt matthew maya megan
melanie melissa mia michael michelle mike mila miranda molly monica morgan nancy naomi natalie
nathan nicholas nick nicole noah nora olivia oliver owen paige pamela patricia patrick paul
paula peter philip phoebe rachel ralph randy rebecca riley rita robert robin roger ronald
ronnie ruth ryan sabrina sally samantha samuel sandra sara sarah scott sean sebastian seth
shannon sharon shawn sheila shirley sophia sophie stacy stanley stephanie stephen steve steven
susan suzanne sydney tammy tanya taylor teresa terry theresa thomas tiffany tim timothy tina
todd tom tommy tony tracy travis tyler valerie vanessa veronica vicky victor victoria vincent
walter wendy william wyatt zach zachary zoe zoey
"""
GIVEN_NAMES = frozenset(_GIVEN.split())


def is_given_name(word: str) -> bool:
    """True when `word` (any case) is a frequent given name that is not an everyday word."""
    return word.casefold() in GIVEN_NAMES


def is_common_word(word: str) -> bool:
    """True when `word` (any case) is an ordinary English word rather than a possible name."""
    w = word.casefold().replace("\u2019", "'")
    if w in COMMON_WORDS:
        return True
    if w in _NAMES_LIKE_FORMS:
        return False
    return len(w) >= 5 and w.endswith(("ed", "ly", "ing"))


# --- English -------------------------------------------------------------------------------

_RELATIONS = (
    "daughter|son|kid|child|baby|wife|husband|partner|spouse|boyfriend|girlfriend|bf|gf|fiance|"
    "fiancee|fiancé|fiancée|mom|mum|mommy|mummy|mother|dad|daddy|father|stepdad|stepmom|stepmum|"
    "stepfather|stepmother|stepson|stepdaughter|brother|sister|bro|sis|twin|cousin|aunt|auntie|"
    "uncle|grandma|grandpa|granny|grandmother|grandfather|nana|nephew|niece|friend|bestie|bff|"
    "buddy|mate|boss|manager|supervisor|coworker|co-worker|colleague|teacher|tutor|professor|"
    "prof|coach|therapist|counselor|counsellor|doctor|psychiatrist|psychologist|nurse|pastor|"
    "priest|neighbor|neighbour|roommate|flatmate|housemate|classmate|landlord|landlady|ex|crush|"
    "lawyer|dog|cat|puppy|kitten"
)
_OWNER = r"(?:my|our|his|her|their|your)"
_ADJ = (
    r"(?:(?:little|older|younger|big|baby|best|new|old|late|ex|step|oldest|youngest|eldest)[ -])?"
)
_WORD = r"[^\W\d_]{2,20}(?:'[^\W\d_]{1,3})?"
_NAME_CONTEXT = re.compile(
    rf"(?i:\b{_OWNER} {_ADJ}(?:{_RELATIONS})(?:, | (?:named|called|is named|is called) | ))"
    rf"|(?i:\b(?:my name is|my names|my name's|name's|my name was|call me|i'm called|i am called|"
    rf"people call me|they call me|you can call me|my nickname is|named|called) )"
    rf"|(?i:\b(?:hi|hello|hey|hiya)[, ]{{1,2}}(?:i'm|im|i am|it's|its|this is) )"
    rf"|(?i:\b(?:dr|mr|mrs|ms|mx|prof)\.? )"
)
_NAME_WORD = re.compile(_WORD)
_CJK = re.compile(r"[\u3400-\u9fff]")


_INITIAL = re.compile(r"[A-Za-z]\. ")


def _english(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for ctx in _NAME_CONTEXT.finditer(text):
        pos = ctx.end()
        end = -1
        for n in range(2):  # a given name and a surname (and a middle initial between them)
            initial = _INITIAL.match(text, pos) if n == 1 else None
            if initial is not None:
                pos = initial.end()
            word = _NAME_WORD.match(text, pos)
            if word is None or _CJK.match(word.group()) or is_common_word(word.group()):
                break
            if text[word.end() : word.end() + 1].isdigit():
                break
            end = word.end()
            if not text.startswith(" ", end):
                break
            pos = end + 1
        if end != -1:
            spans.append((ctx.end(), end))
    return spans


# --- Chinese -------------------------------------------------------------------------------

#: Common surnames (single characters), then compound ones.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = (
    "欧阳|司马|上官|诸葛|东方|皇甫|慕容|令狐|司徒|夏侯|尉迟|长孙|宇文|轩辕|端木|公孙|独孤|南宫|西门"
    "|百里|呼延|澹台|太史|申屠|钟离|闻人|赫连|万俟|司空|第五|拓跋|完颜|纳兰"
)
#: A character that can be part of a given name: not punctuation, not a small word that usually
#: follows a name (的, 了, 在, 是, 说 ...).
NAME_CHAR = (
    r"(?:(?![的了在是和与跟今年岁来自住说想要也就还都啊呀吧呢吗很太又去让把被给对从"
    r"不没已经总老每才刚这那])[\u4e00-\u9fff])"
)
_KIN = (
    r"女儿|儿子|孩子|老公|老婆|丈夫|妻子|爱人|男朋友|女朋友|男友|女友|前任|前男友|前女友|妈妈|"
    r"爸爸|母亲|父亲|哥哥|姐姐|弟弟|妹妹|闺蜜|同事|老板|领导|上司|室友|同学|朋友|好朋友|表姐|表哥|"
    r"表妹|表弟|堂哥|堂姐|奶奶|爷爷|外婆|外公|姥姥|姥爷|舅舅|阿姨|叔叔|婆婆|公公|岳母|继父|继母|"
    r"老师|班主任|医生|邻居|对象"
)
#: 小 / 阿 / 老 + one character is a familiar name (小丽, 阿强, 老王) unless it is one of
#: these words.
_FAMILIAR_NOT = {
    "小": "时学孩心的事区组说姐子朋吃狗猫声气偷店伙妹弟哥点些半块片票费便型号鬼屁",
    "阿": "姨",
    "老": "师板公婆家是了人大实样师总爸妈头乡友",
}
_FAMILIAR = "|".join(
    rf"{lead}(?![{chars}])[\u4e00-\u9fff]" for lead, chars in _FAMILIAR_NOT.items()
)
#: Surnames that are also everyday words or word starts (高中, 明天, 常常, 时候, 和, 全部...): after
#: 我是 or a relation they are read as words, so only the other surnames start a name there.
_WORDLIKE = (
    "高金石文明和时路成全应常安向方关白万师单车连包牛毛江马龙于余任冷温康齐易乔宁尚符舒季周钱毕"
    "曾严付夏祝凌盛农项商查麻迟华解游管房古简费席宗沙荣池曲辛司卓阳穆艾屈蒙柴"
)
_UNAMBIGUOUS = "".join(c for c in SURNAMES if c not in _WORDLIKE)
_SURNAMED = rf"(?:{COMPOUND_SURNAMES}|[{_UNAMBIGUOUS}]){NAME_CHAR}{{1,2}}"
_ZH_NAME = re.compile(
    # 我叫 / 他叫 / 名叫 / 名字是 / 叫我 / 姓名: any 1-3 character name, or a Latin one
    rf"(?:(?:我|他|她|我们|孩子|女儿|儿子)叫(?:做)?|名叫|名字(?:是|叫)|叫我|姓名(?:是|:)?)"
    rf"(?P<n1>{NAME_CHAR}{{1,3}}|[A-Za-z][a-z]+(?: [A-Z][a-z]+)?)"
    # 我是 / 本人 / 大家好我是 + a surname (compound too) + 1-2 characters (not 我是学生)
    rf"|(?:我是|本人(?:是)?|这里是|我就是)(?P<n2>{_SURNAMED})"
    # 我姓王 / 本人姓欧阳
    rf"|(?:我|他|她|本人)姓(?P<n3>{COMPOUND_SURNAMES}|[{SURNAMES}])"
    # a relation, then a familiar or full name: 我女儿小丽, 我老公李明, 我的同事老王
    rf"|(?:{_KIN})(?:叫|名叫)?(?P<n4>{_FAMILIAR}|{_SURNAMED})"
)


def _chinese(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _ZH_NAME.finditer(text):
        for group in ("n1", "n2", "n3", "n4"):
            if m.group(group) is not None:
                spans.append(m.span(group))
    return spans


_LATIN_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]{2,20}(?![^\W\d_])")
#: A familiar Chinese name (小丽, 阿芳, 老王) anywhere: not one of the everyday words in
#: `_FAMILIAR_NOT`, and not followed by a character that makes it a word (小丽的 is still 小丽).
_FAMILIAR_RE = re.compile(rf"(?<![\u4e00-\u9fff])(?:{_FAMILIAR})")


def find_names(text: str, *, familiar: bool = False) -> list[tuple[int, int]]:
    """Spans of personal names in `text` (folded): where their context says they are names,
    and frequent given names anywhere (`GIVEN_NAMES`).

    `familiar=True` also returns every familiar Chinese name shape at the start of a word run
    (小丽, 阿芳, 老王) without a context: the guard on model output uses it (it errs towards
    refusing); redaction does not (小王子 is a book).
    """
    spans = _english(text)
    taken = {start for start, _ in spans}
    for m in _LATIN_WORD.finditer(text):
        if m.start() not in taken and is_given_name(m.group()):
            spans.append(m.span())
    if _CJK.search(text) is not None:
        spans += _chinese(text)
        if familiar:
            spans += [m.span() for m in _FAMILIAR_RE.finditer(text)]
    return sorted(set(spans))
