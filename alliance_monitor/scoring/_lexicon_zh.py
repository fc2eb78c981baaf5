"""Chinese cue lexicons of the embedded scorer: the same cue names as `_lexicon`, read in Chinese.

The English scanner and the construct table (`_lexicon.EVIDENCE`) stay the single source of what a
cue *means*; this module only says how each cue is *worded* in Chinese counseling chat, so the
context rules of `_embedded.py` (passive after a disclosure, advice pushed after a "no", a client
confirming a reflection...) work unchanged on Chinese and on mixed Chinese-English messages.

Chinese is written without spaces, so phrases are matched on characters: no word segmenter (a
segmenter such as jieba would add a 20 MB dictionary for cues that are short fixed phrases). The
phrase lists name counseling skills, as the English ones do:

* exploring: open questions (什么/怎么/为什么 ... ending in a question mark), invitations
  (能多说说……吗, 跟我讲讲), reflections (听起来你……, 你的意思是……, 你似乎很担心), empathy
  (这一定很不容易, 我能理解你), summaries (总结一下);
* engaged: asking permission (如果你愿意的话, 我可以分享……吗), affirmation (你做得很好,
  了不起), autonomy (由你决定), asking the client's view (你觉得怎么样, 这样对你合适吗), goals;
* directive: advice (你应该/你必须/你需要/我建议你/你要), commands at the start of a sentence
  (别……, 不要……, 去……, 把……写下来), suggestions (你可以试试, 不妨, 让我们), warnings
  (否则, 不然, 如果你不……就会), persuasion (相信我, 听我的, 难道你不……), confrontation
  (你错了, 你想多了), moralizing (你不应该, 这是不对的);
* passive: minimal encouragers (嗯, 哦, 我明白), generic reassurance (别想太多, 没什么大不了,
  一切都会好的), subject changes (对了, 换个话题);
* client: assent and decline at the start of a reply (嗯/对/是的, 不/不是/算了), agreement
  with a reflection (没错, 就是这样), elaboration, resistance (你根本不懂, 没用的),
  withdrawal (不知道, 随便, 无所谓), requests for advice (我该怎么办), disclosure (我很难过).

Phrases are regular expressions over `_lexicon.normalize`d text: NFKC turns the full-width
punctuation of Chinese input into ASCII (？ -> ?, ！ -> !, ， -> ,, ： -> :), so ``\\?`` matches
both; the ideographic full stop 。 stays as it is. All phrases of a group compile into one
alternation scanned once with `finditer`; context (the sentence is a question, a statement) is a
bounded lookahead, so a match consumes only its trigger characters. The first listed phrase wins
when two could match at the same place.
"""

from __future__ import annotations

import re

from ._lexicon import _CAPTURING, Cue

__all__ = [
    "CLIENT_PHRASE_MATCHER",
    "CLIENT_START_MATCHER",
    "COUNSELOR_CLAUSE_MATCHER",
    "COUNSELOR_PHRASE_MATCHER",
    "HAN_PER_WORD",
    "HAN_RE",
    "MINIMAL_RE",
    "SHORT_CHARS",
    "WITHDRAWAL_RE",
    "ZhMatcher",
    "han_bigrams",
    "has_han",
    "word_units",
]

#: A Han character (CJK unified ideographs, extension A, compatibility ideographs).
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

#: Characters per word: modern Chinese words average about 1.5-2 characters, so a length in
#: Han characters divided by this is comparable with an English word count.
HAN_PER_WORD = 1.7


def has_han(text: str) -> bool:
    """True if `text` contains a Han character (ASCII text answers without a regex pass)."""
    return not text.isascii() and HAN_RE.search(text) is not None


def word_units(text: str) -> int:
    """Length in word-sized units: space-separated words, plus Han characters / `HAN_PER_WORD`.

    "I see" is 2, "我最近总是睡不着" (8 characters) is 5, "最近 deadline 太多" is 3. The length
    rules of the embedded scorer (short reply, elaboration, a long telling statement) use it
    so that they mean the same in Chinese, English and mixed text.
    """
    if text.isascii():
        return text.count(" ") + 1
    # one pass: each run of Han characters becomes one space; the length lost, plus one per
    # run, is the number of Han characters
    rest, runs = _HAN_RUN.subn(" ", text)
    if not runs:
        return text.count(" ") + 1
    han = len(text) - len(rest) + runs
    return max(1, len(rest.split()) + round(han / HAN_PER_WORD))


#: Common characters that carry little content: a restatement must reuse more than these.
_FUNCTION_CHARS = frozenset(
    "的了是我你他她它们在有不也就都和与而但吗呢吧啊呀嘛哦嗯很太还又才这那个些么什怎样"
    "会能要想说到对得地着过把被让给从向跟为所以因如果然后就是一这那里己自"
)


def han_bigrams(text: str) -> frozenset[str]:
    """Content bigrams of the Han runs in `text` (both characters function-free skipped), for
    the "does this restatement reuse the client's words?" check."""
    out: set[str] = set()
    for run in _HAN_RUN.findall(text):
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if pair[0] in _FUNCTION_CHARS and pair[1] in _FUNCTION_CHARS:
                continue
            out.add(pair)
    return frozenset(out)


#: The embedded scorer has no learned model for Chinese. In its place, for a counselor
#: *statement* (no question mark), two plain readings of "does this take up the client?": it
#: speaks about the client (你 / 您), and it names a feeling or an inner state. A statement about
#: the client's feelings reads like a reflection; one about neither (我计划明年开诊所。下周见。
#: 好的，我们今天就到这儿。) takes nothing up. See `_embedded._zh_explored`.
ABOUT_CLIENT_RE = re.compile(r"[你您]")
INNER_STATE_RE = re.compile(
    r"感觉|感受|觉得|心情|情绪|心里|内心|想法|在乎|在意|希望|担心|害怕|难过|伤心|痛苦|焦虑"
    r"|生气|愤怒|委屈|失望|内疚|自责|孤独|无助|沮丧|紧张|矛盾|纠结|困惑|迷茫|压力|不安|后悔"
)


# --- shared fragments --------------------------------------------------------------------------

#: The rest of the sentence is a question (it ends with "?"). Bounded lookahead: linear time.
Q = r"(?=[^。!.?]{0,120}\?)"
#: The rest of the sentence is a statement: it ends with 。 ! . or the end of the text, or with a
#: tag such as 好吗? / 对吧? / 行吗? (a statement that asks for a nod, not a question).
S = r"(?=[^。!.?]{0,120}(?:[。!.…]|$|(?:好吗|好不好|行吗|可以吗|对吧|是吧|好吧|行不行)\?))"
#: Feelings a reflection or a disclosure names.
_FEEL = (
    r"(?:难过|伤心|痛苦|害怕|恐惧|担心|焦虑|生气|愤怒|委屈|失望|内疚|自责|孤独|孤单|无助|绝望"
    r"|沮丧|紧张|矛盾|纠结|困惑|迷茫|疲惫|压抑|不安|后悔|羞愧|难受|烦|烦躁|心烦|郁闷|低落"
    r"|受伤|无奈|无力|恐慌|惭愧|尴尬|丢脸|不甘|失败|没用|崩溃|累)"
)
#: Feelings a client names about themselves: `_FEEL` and the rest of the English list's
#: feelings (`_lexicon._FEELINGS`: depressed, numb, heartbroken, worthless, ...).
_SELF_FEEL = (
    r"(?:"
    # 烦 (upset), but not in 麻烦 (trouble)
    + _FEEL[3:-1].replace("|烦|", "|(?<!麻)烦|")
    + r"|悲伤|悲哀|抑郁|消沉|低沉|寂寞|恼火|气愤|羞耻|愧疚|心痛|不开心|不高兴|挫败|疲倦"
    r"|精疲力尽|迷失|心碎|麻木|灰心|泄气|糟糕|糟透|沉重|一无是处|没有?价值|不合格|空虚"
    r"|喘不过气|不堪重负)"
)
#: What may stand before a clause: a feeling said right after it has no subject, as Chinese
#: leaves it out (很难过。 低沉、悲伤), and is the speaker's own.
_BOUNDARY = r"。!?.;,:\s\"\(\)…~、*"
_BARE_DEGREES = ("真的", "实在", "很", "好", "非常", "特别", "十分", "挺", "有点", "有些", "太")


def _at_clause_start(word: str) -> str:
    """`word` (literal) as the first thing in its clause: a fixed-width look back past it."""
    return f"{word}(?<![^{_BOUNDARY}]{'.' * len(word)})"


def _unsaid_subject() -> tuple[str, ...]:
    """A feeling at the start of a clause, after a degree word or alone (很难过, 悲伤)."""
    words = _SELF_FEEL[3:-1].replace("(?<!麻)", "").replace("没有?价值", "没价值|没有价值")
    return tuple(_at_clause_start(d) + _SELF_FEEL for d in _BARE_DEGREES) + tuple(
        _at_clause_start(w) for w in words.split("|")
    )


_DEG = r"(?:很|好|非常|特别|十分|挺|有点|有些|有一点|真的|太|如此|那么|这么|越来越|一直|总是)?"
#: Start of a sentence or clause (or of the message), then an optional spoken lead-in.
_CLAUSE = (
    r"(?<![^。!?.;,:\s\"()…~])(?:(?:那么|那|嗯|好的|好|所以|然后|其实|现在|首先|另外|还有)"
    r"[,，]?)?"
)


# --- counselor: clause-initial cues ------------------------------------------------------------

COUNSELOR_CLAUSE: tuple[Cue, ...] = (
    Cue(
        "subject_change",
        (
            r"对了",
            r"换个话题",
            r"说(?:点|些)别的",
            r"(?:我们)?(?:先)?(?:不|别)(?:谈|说|聊)(?:这个|这些|那个|那些)了?",
            r"言归正传",
            r"话说回来",
        ),
        "Changes the subject (对了, 换个话题, 我们先不谈这个).",
    ),
    Cue(
        "restatement",
        (
            r"(?:所以|因此|也就是说|换句话说|就是说)[,]?你(?!(?:应该|必须|需要|得|要|最好|可以))",
            r"你(?:是说|刚才说|刚刚说|提到|说过|说你)",
        ),
        "Restates what the client said (所以你……, 你是说……, 你刚才提到……); counts only if it "
        "reuses the client's own words.",
    ),
    Cue(
        "reflection",
        # followed by "you" soon: 看起来你…, 似乎这让你… (not 看起来时间要到了)
        (r"(?:感觉上|看来|看起来|似乎|好像|我猜)(?=[^。!?.]{0,8}你)",),
        "A tentative reflection at the start of a sentence (似乎……, 看来……, 我猜……).",
    ),
    Cue(
        "restatement",
        (
            # a statement about the client asked back with rising intonation: 你喜欢科学？
            r"你(?:(?![吗么呢])[^。!?.]){1,40}\?",
        ),
        "A statement about the client asked back with rising intonation (你喜欢科学？); counts "
        "only if it reuses the client's own words.",
    ),
    Cue(
        "imperative",
        (
            r"(?:请你?|你?去|你?别|你?不要|停止|试着|试试|尝试(?!过)|记住|写下|把|马上|立刻|赶紧"
            r"|赶快|放下|坚持|忘掉|离开)(?![吗呢])" + S,
        ),
        "A sentence that opens with a command (别再想了。把它写下来。去找他谈。).",
    ),
)


# --- counselor: phrases anywhere ---------------------------------------------------------------

COUNSELOR_PHRASES: tuple[Cue, ...] = (
    Cue(
        "permission",
        (
            r"如果你(?:愿意|同意|不介意|想听|需要|觉得可以)(?:的话)?",
            r"如果可以的话",
            r"你(?:介意|不介意)(?:我|的话)",
            r"(?:我)?(?:可以|能|能不能|可不可以)(?:跟你|和你|给你|向你)?(?:分享|说说我的|谈谈我的"
            r"|提(?:个|一个|一点|些)?建议|给(?:你)?(?:一些|一点|些)?建议|补充)",
            r"你(?:愿意|想|想不想|愿不愿意|要不要)(?:听听|听一听|了解一下|知道|试试|试一试|一起)",
            r"是否(?:可以|愿意)",
        ),
        "Asks before advice or information (如果你愿意的话, 我可以分享……吗, 你想不想听听). Also "
        "softens a suggestion in the same turn.",
    ),
    Cue(
        "elicit_view",
        (
            r"你(?:怎么看|怎么想|觉得呢|认为呢|看呢|觉得怎么样|觉得如何|看怎么样|看如何|意下如何"
            r"|同意吗|觉得(?:这样|这个|那样)(?:好|可以|行|合适|有用|有帮助))",
            r"(?:这样|这个|那样)(?:可以|行|好|合适|有用)(?:吗|不)",
            r"对你(?:来说)?(?:合适|有用|有帮助|行|可以)(?:吗|不)",
            r"(?:我)?(?:说|理解|讲)(?:得|的)对(?:吗|不对)",
            r"是这样吗",
            r"是不是这样",
            r"你(?:还|现在|真的|是否|会)?(?:觉得|认为|感到|感觉|相信|同意|希望|想|愿意|担心|害怕|喜欢"
            r"|在乎|期望|打算|记得|知道|意识到|注意到|发现)" + Q,
            r"(?:对吗|对么|是吗|是么|是这样么|对不对|是不是|对吧|是吧)\?",
            r"你[^。!?,]{1,10}?(?:觉得|认为|感到|感觉|相信|希望|担心|害怕|意识到|注意到|记得)" + Q,
        ),
        "Asks the client's own view of an idea, or checks understanding (你觉得怎么样, 我理解得"
        "对吗, 你觉得……?).",
    ),
    Cue(
        "invite",
        (
            r"(?:能|可以|愿意|能不能|可不可以|方便)(?:再)?(?:多|具体|详细)?(?:说说|讲讲|谈谈|聊聊"
            r"|说一说|讲一讲|谈一谈|聊一聊|描述|解释|形容)",
            r"(?:多|再|具体|详细)(?:说|讲|谈|聊)(?:说|讲|谈|聊)?(?:一些|一下|看|点)",
            r"说说看",
            r"(?:详细|具体|多|再)(?:说说|讲讲|谈谈|聊聊)",
            r"告诉我(?!怎么|该|应该|你的)",
            r"(?:跟|和|给|对)我(?:说说|讲讲|谈谈|聊聊|说一说|讲一讲|描述)",
            r"还有(?:呢|什么|别的|其他)",
            r"然后呢",
            r"后来呢",
            r"(?:接着|继续)(?:说|讲)",
            r"我(?:很)?(?:好奇|想知道|想了解|想听听|想多了解)",
            r"帮(?:助)?我(?:理解|明白)",
            r"举个例子",
            r"(?:你)?(?:能|可以|愿意|能否)(?:告诉我|介绍一下|讲述|描述|想出|说出|举|更(?:确切|具体|详细))",
            r"还有(?:吗|么)",
            r"你(?:有没有|有过|是否有|曾经有|有)(?:过)?(?:这样|这种|那种|什么|任何|其他)?(?:的)?"
            r"(?:想法|感觉|感受|念头|体验|经历|画面|形象|图像)",
            r"你(?:最近|这段时间|这几天)?(?:过得|感觉|心情)(?:怎么样|如何)",
        ),
        "Invites the client to say more (能多说说吗, 跟我讲讲, 然后呢, 我很好奇).",
    ),
    Cue(
        "affirmation",
        (
            r"(?:你)?(?:做|说)(?:得|的)(?:很|非常|真|特别)?(?:好|棒|对)",
            r"(?:很|真|非常)?了不起",
            r"(?:真|很|非常)棒",
            r"你(?:很|真|非常|真的)(?:勇敢|努力|坚强|用心|有勇气|有力量|认真)",
            r"(?:这|那)(?:是|真是)(?:一个)?(?:很|非常)?(?:好的|重要的|很大的|了不起的|不小的|巨大的)"
            r"(?:开始|一步|进步|成就|决定|想法|改变|收获)",
            r"恭喜",
            r"值得(?:肯定|称赞|骄傲|赞赏)",
            r"我(?:很|真)?(?:欣赏|佩服)",
            r"我看到(?:了)?你(?:的)?(?:努力|勇气|改变|进步|意愿|力量)",
            r"(?:很|非常|真)(?:好|不错|厉害)(?=[。!,.]|$)",
            r"(?:取得|有)了?(?:很大的|很多|不小的|明显的)?进步",
            r"我(?:也)?(?:很|真)?(?:为你)?(?:高兴|骄傲|欣慰)",
        ),
        "Affirms the client's strengths or efforts (你做得很好, 了不起, 我看到了你的努力).",
    ),
    Cue(
        "confront",
        (
            r"你(?:错了|不对|想多了)",
            r"你这样(?:想|做|说)(?:是)?(?:不对|错)",
            r"(?:这|那)(?:是|就是)你(?:自己)?的(?:问题|错)",
            r"你(?:太|真)(?:固执|任性|自私|懒|幼稚|敏感|脆弱|过分|夸张|矫情|玻璃心)",
            r"(?:别|不要)(?:找借口|狡辩|矫情|抱怨了|再抱怨)",
            r"(?:这|那)(?:有|算)什么",
            r"你(?:怎么|为什么)(?:总是|老是|又)",
        ),
        "Confronts or dismisses the client's view (你错了, 你想多了, 别找借口).",
    ),
    Cue(
        "moralize",
        (
            r"你(?:不应该|不该|不应当|不能这样)",
            r"(?:这|那)(?:样)?(?:是|做是)不对的",
            r"(?:作为|身为)(?:一个|一名)?[^,。!?]{1,8}(?:你|应该|要)",
            # not "how can you ..." asked about a way or an ability (你怎么能想到这个方法的？
            # 你怎么能把紧张控制住？): that explores
            r"你怎么(?:能|可以)(?!想到|做到|把|让|控制|坚持|应对|处理|找到|愿意|更|帮|去|开始)",
            r"(?:应该|要)(?:懂事|孝顺|感恩|知足)",
        ),
        "Moralizes (你不应该……, 这是不对的, 作为一个……你应该).",
    ),
    Cue(
        "advise",
        (
            r"你(?:应该|应当|必须|务必|一定要|一定得|非得|总得|还是要|还是得|最好(?!的)"
            r"|需要(?!什么|的|吗|哪|多)|得(?![到了出知])|要(?![不是求的么吗])|不要再|别再)",
            r"我(?:建议|劝|推荐|希望|要求)你",
            r"我的建议是",
            r"听我的",
            r"(?:一定|务必|千万)要",
            r"千万(?:不要|别)",
        ),
        "Advice or instruction (你应该, 你必须, 你需要, 我建议你, 你要, 千万别).",
    ),
    Cue(
        "persuade",
        (
            r"难道你(?:不|没)",
            r"相信我",
            r"事实上",
            r"其实你(?:应该|要|只要|只需|完全可以)",
            r"你(?:难道)?不觉得",
            r"(?:只要|只需要|只需)你",
            r"道理很简单",
            r"说到底",
        ),
        "Persuades (相信我, 难道你不……, 其实你只要……).",
    ),
    Cue(
        "warn",
        (
            r"(?:否则|不然|要不然)(?:的话)?",
            r"(?:如果|要是)你(?:不|再|继续|还)[^。!?]{0,30}(?:就会|会|将会)",
            r"后果",
            r"会(?:后悔|更糟|更严重|毁了)",
        ),
        "Warns (否则……, 如果你再……就会……, 你会后悔的).",
    ),
    Cue(
        "reflection",
        (
            r"听(?:起来|上去)(?!(?:很|真|挺)?(?:有意思|不错|好(?!像)|棒))",
            r"听你(?:这么|这样)?说",
            r"听你的意思",
            r"你(?:(?![不别没要])[^。!?,]){0,6}?" + _FEEL + r"(?![吗呢])",
            r"吧\?",
            r"你的意思是",
            r"看(?:得出|起来|上去|来)你",
            r"(?:似乎|好像|仿佛)你",
            r"你(?:似乎|好像|仿佛|大概|也许|可能)(?:很|有些|有点|非常|真的|一直|总是|还)?"
            r"(?:觉得|感到|感觉|认为|希望|想|担心|害怕|不|很|在|对|有)",
            r"你(?:会)?(?:感到|感觉|觉得)(?!呢|怎么|如何)" + S,
            r"你一定(?:很|是|感到|觉得|非常|特别)",
            r"对你(?:来说|而言)",
            r"你(?:真的|一直|其实|很|非常)?(?:希望|想要|渴望|担心|害怕|在乎|在意|期待|怀念|舍不得)"
            r"(?![吗呢])" + S,
            r"你(?:心里|内心)",
            r"(?:让|使|令)你(?:觉得|感到|感觉|很|非常|特别)",
            r"你(?:很|非常|有些|有点|特别|十分|挺|好像很|似乎很)" + _FEEL,
            r"我(?:能|可以)?(?:感觉到|感受到|注意到)(?:你)",
            r"一方面",
        ),
        "Reflection of feeling or meaning (听起来你……, 你的意思是……, 你似乎很担心, 让你觉得……).",
    ),
    Cue(
        "summary",
        (
            r"(?:总结|概括)(?:一下|来说|起来)",
            r"(?:到目前为止|到现在为止)",
            r"我们(?:今天|刚才)?(?:谈|聊|讨论)(?:了|过|到)",
        ),
        "Summarises (总结一下, 到目前为止, 我们刚才谈了……).",
    ),
    Cue(
        "empathy",
        (
            r"(?:我|我们)(?:能|可以|完全|很|真的)?(?:理解|体会|明白|感受到|想象)(?:你|到你|这|那|得到)",
            r"(?:这|那|这种|那种|这样|那样)(?:一定|肯定|真的|确实|实在)?(?:是)?(?:很|太|非常|挺|特别)?"
            r"(?:不容易|难受|痛苦|难熬|艰难|辛苦|困难|难过|煎熬|让人难过|令人难过)",
            r"难为你了",
            r"辛苦(?:你)?了",
            r"真不容易",
            r"(?:换做|换了|如果是)(?:谁|任何人|我)",
            r"难怪你",
            r"怪不得你",
            r"可以理解",
        ),
        "Empathy (我能理解你, 这一定很不容易, 难怪你……).",
    ),
    Cue(
        "autonomy",
        (
            r"(?:由|取决于|看)你(?:自己)?(?:决定|选择|来定)",
            r"你(?:自己)?(?:来)?决定",
            r"你可以(?:自己)?选择",
            r"你(?:有权|有权利)",
            r"不一定(?:要|非得)",
            r"不用勉强",
            r"(?:按照|照)你(?:自己)?的(?:节奏|想法|意愿)",
            r"你说了算",
            r"选择权在你",
        ),
        "Supports the client's autonomy (由你决定, 按照你自己的节奏, 不一定要).",
    ),
    Cue(
        "goal_focus",
        (
            r"(?:你的|我们的|咨询的|这次的|共同的)目标",
            r"(?:想|希望)(?:达到|实现)(?:什么|哪些)",
            r"(?:今天|这次)(?:你)?(?:想|希望)(?:谈|聊|讨论|解决)",
            # the English list's forms in Chinese: "what would be different", "what do you want
            # from", "what matters to you", "where would you like to start", "what brings you",
            # "next steps", "a plan", "work on together", "what could you do", "on a scale of"
            # (a question word stays unconsumed, for the open question it also is)
            r"会有(?=(?:什么|哪些|怎样的)(?:不同|不一样|变化|改变))",
            r"会是(?=什么样)",
            r"你(?:想|希望|想要)(?=[^。!?]{0,10}(?:得到|获得|收获))",
            r"你(?:最)?(?:希望|期待|期望)的是",
            r"对你(?:来说)?(?:最|很|更|真正)?重要",
            r"你(?:最|真正)(?:在乎|在意)",
            r"从哪(?:里|儿)(?:开始|谈起|说起)",
            r"是(?=什么(?:让|使|促使)你(?:来|决定))",
            r"(?:下一步|第一步|一小步)",
            r"(?:你的|一个|这个|我们的)计划",
            r"(?:我们)?一起(?:努力|面对|解决|处理|制定|想办法|找找)",
            r"你(?:可以|能|会|打算|准备)(?=做些?什么|怎么做)",
            r"你(?:愿意|准备好)(?:为此)?(?:做|付出|尝试)",
            r"(?:从|在)(?:0|1)到10",
            r"(?:0|1)到10分",
        ),
        "Talks goals and steps (你的目标, 你希望达到什么, 会有什么不同, 下一步, 我们一起……).",
    ),
    Cue(
        "reassure",
        (
            r"(?:别|不要|不用|无需|不必)(?:太)?(?:担心|着急|害怕|紧张|难过|伤心|想太多|多想|想那么多"
            r"|在意|放在心上)",
            r"想开(?:点|一点|些)",
            r"没(?:什么|啥)(?:大不了|的)",
            r"没(?:关系|事)",
            r"(?:一切|都|总)会(?:好|过去)",
            r"会好(?:起来)?的",
            r"放(?:宽)?心",
            r"你(?:一定|肯定)(?:会|能|可以)(?:做得|好|成功|挺过|度过|没事)",
            r"我(?:确信|相信|肯定)你(?:就|一定)?(?:能|会|可以)",
            r"(?:很有可能|一定会|肯定会)(?:出现)?(?:改观|好转|改善|好起来)",
            r"不(?:至于|会)(?:太|那么)?(?:糟|严重)",
            r"(?:这|这很|这是|都|十分|很)正常",
            r"往好(?:处|的方面)想",
        ),
        "Generic reassurance (别想太多, 没什么大不了, 一切都会好的, 别担心).",
    ),
    Cue(
        "pleasantry",
        (
            r"祝你(?:好运|顺利|一切)",
            r"加油",
            r"希望(?:一切|事情|你)(?:都)?(?:顺利|好起来|会好)",
            r"不客气",
            r"(?:下周|下次|明天)见",
            r"再见",
            r"(?:今天)?(?:就)?(?:先)?(?:说|聊|谈)到这(?:儿|里)",
            r"很高兴(?:能)?(?:帮到|帮助)你",
            r"(?:这|那)(?:听起来|是)?(?:一个)?(?:很|真|挺)?(?:好的|不错的)(?:主意|想法|计划)",
            r"听起来(?:很|真|挺)?(?:有意思|不错|好(?!像)|棒)",
        ),
        "Courtesy or a generic positive remark (加油, 祝你顺利, 不客气, 下周见, 这是个好主意): "
        "neither asks nor reflects.",
    ),
    Cue(
        "suggest",
        (
            r"(?:你)?(?:可以|不妨|或许可以|也许可以|可能可以)(?:先|再)?(?:试着|试试|尝试|考虑|去|多"
            r"|找|把|用|做|写|记|练习|告诉|停止)",
            r"(?:何不|为什么不|为何不)",
            r"(?:要不|要不然)(?:你|我们)",
            r"(?:让我们|咱们|我们来|我们一起|我们先|我们可以)",
            r"建议",
            r"(?:家庭)?作业",
            r"试(?:一试|试看)",
        ),
        "Softer suggestion (你可以试试, 不妨, 让我们……, 家庭作业).",
    ),
    Cue(
        "open_question",
        (
            r"(?:什么|怎么(?!能|可以|不)|怎样|如何|为什么(?!不)|为何(?!不)|哪些|哪里|哪儿|哪个|哪方面"
            r"|哪一|何时|多大程度|多少|有多|多(?:久|大|长|强|深|严重)|几(?:分|点|岁|次|个|天|年|月|周))"
            + Q,
            r"呢(?=[^。!.?]{0,3}\?)",
            r"还是(?=[^。!.?]{1,30}\?)",
        ),
        "Open question (什么/怎么/为什么/如何/哪 ……?).",
    ),
    Cue(
        "closed_question",
        (r"(?:吗|么|是不是|有没有|会不会|能不能|要不要|对不对|是否|有吗)" + Q,),
        "Closed (yes/no) question (……吗?, 是不是……?).",
    ),
)


# --- client ------------------------------------------------------------------------------------

CLIENT_START: tuple[Cue, ...] = (
    Cue(
        "decline",
        (
            r"不(?=[,。!.…]|$)",
            r"不(?:是|行|要|用|太想|太愿意|想|了)",
            r"没有(?=[,。!.…]|$)",
            r"算了",
            r"我不(?:这么|这样)?(?:认为|想|觉得)",
            r"恐怕不",
        ),
        "Declines (at the start of the reply: 不, 不用了, 算了, 我不这么认为).",
    ),
    Cue(
        "assent",
        (
            r"(?:嗯+|恩|对(?![于面待])|是(?:的|啊|呀|呢)|是(?=[,。!.…]|$)|没错|确实|的确|好(?:的|啊|吧)?"
            r"(?![像多久几])|可以|行|当然|就是)",
        ),
        "Assent (at the start of the reply: 嗯, 对, 是的, 好的).",
    ),
)

CLIENT_PHRASES: tuple[Cue, ...] = (
    Cue(
        "discord",
        (
            r"你(?:根本|一点都|完全)?(?:不懂|不理解|不明白|不了解)",
            r"你(?:根本)?(?:没(?:在)?听|没有(?:在)?听)",
            r"(?:别|不要)(?:再)?(?:说教|教训我|管我|逼我|劝我|跟我讲道理)",
            r"说(?:得|的)(?:轻巧|容易)",
            r"你(?:又)?不是我",
            r"我不是(?:这个)?意思",
            r"你帮不了我",
            r"你(?:说的)?(?:不对|错了)",
        ),
        "Discord with the counselor (你根本不懂, 别再说教了, 说得轻巧).",
    ),
    Cue(
        "confusion",
        (
            r"我不(?:明白|懂|知道)(?:你(?:的意思|在说)|我们|这(?:有|是)什么|为什么要)",
            r"(?:这|那)(?:有|是)什么(?:意思|用)",
            r"我们(?:到底)?在(?:干|做)什么",
        ),
        "Confusion about the aims or the conversation (这有什么用, 我们到底在做什么).",
    ),
    Cue(
        "asks_advice",
        (
            r"(?:我)?(?:该|应该)(?:怎么办|怎么做|如何)",
            r"(?:能|可以)?(?:给我|给点)(?:一些|一点|点)?(?:建议|意见|办法)",
            r"(?:有|你有)什么(?:办法|建议)",
            r"怎么办",
            r"我该不该",
            r"(?:告诉我|教教我)(?:怎么|该)",
        ),
        "Asks for advice (我该怎么办, 能给我一些建议吗).",
    ),
    Cue(
        "confirm",
        (
            r"(?:就是|正是)(?:这样|这个|如此)",
            r"(?:你)?说(?:得|的)(?:对|没错)",
            r"没错",
            r"确实(?:是|如此)",
            r"一点(?:都)?没错",
            r"你(?:真)?(?:懂我|理解我)",
        ),
        "Confirms the counselor understood (就是这样, 你说得对, 没错).",
    ),
    Cue(
        "sustain",
        (
            r"我(?:做不到|办不到|没办法|不可能|改不了)",
            r"(?:没用|不会有用|试过了|都试过)",
            r"(?:那|这)(?:不|没)(?:可能|用)",
            r"我?不(?:想|愿意)(?:改|去|做|试)",
        ),
        "Sustain talk (我做不到, 没用的, 都试过了).",
    ),
    Cue(
        "commitment",
        (
            r"我(?:会|要|打算|决定|准备|愿意)(?:试试|试一试|去|尝试|开始|改|坚持|努力|找|跟|和|把)",
            r"我(?:可以)?试试",
        ),
        "Commitment (我会试试, 我打算……, 我愿意去……).",
    ),
    Cue(
        "change_talk",
        (
            r"我(?:想|希望|想要|真的想)(?:改变|变得|好起来|摆脱|不再|重新|能够)",
            r"我(?:需要|得|必须)(?:改变|做点什么|面对)",
            r"(?:或许|也许)我(?:可以|应该)",
            r"我(?:意识到|明白了|发现)",
            # the English list's forms: "I want / wish / hope to", "I could try", "I need to
            # stop", "it would help", "I don't want to keep ...", "I'm tired of", "I'd be willing
            # to", "I'm ready"
            r"我(?:真的|很|一直|也|还)?(?:希望|想要|渴望|盼望|但愿)",
            r"我(?:真的)?很想(?!念)",
            r"我(?:可以|能|能够)(?:试|开始|改|戒|停|少|多|找|去|做)",
            r"我(?:需要|得|必须|应该)(?:改|停|戒|少|多|开始|学会|试|去|找|面对|做)",
            r"(?:这|那)(?:会|可能会|应该会)(?:很|更)?(?:好|有帮助|有用)",
            r"我不(?:想|希望|愿意)(?:再|继续|一直|回到|变成|这样|总是)",
            r"我(?:受够了|厌倦了|烦透了)",
            r"我(?:愿意|很乐意)",
            r"我(?:准备好了|在考虑)",
        ),
        "Change talk (我想改变, 我希望……, 也许我可以……, 我意识到……).",
    ),
    Cue(
        "gratitude",
        (r"谢谢", r"感谢", r"多亏", r"(?:很有|有)帮助", r"(?:好|舒服)多了"),
        "Gratitude (谢谢, 很有帮助, 好多了).",
    ),
    Cue(
        "disclosure",
        (
            r"(?:我|自己)[^。!?,]{0,8}?" + _SELF_FEEL,
            r"(?:睡不着|失眠|哭了|一直哭|受不了|撑不下去|不知道该怎么办|讨厌自己|恨自己)",
            r"(?:心里|心情)(?:很|好|特别)?(?:难受|不好|低落|糟)",
            # the forms of the English list, worded in Chinese: "I feel ..." (我感觉/我感到, as
            # English counts "I feel like ..."), the subject left out as Chinese does (很难过。
            # 低沉、悲伤), "it's so hard" (这太难了), "I cry", "I can't stop ...", "I've never
            # told anyone", "honestly", "I miss ...", "I can't cope"
            r"我(?:真的|就是|只是|还是|一直|总是|有时候?|也|又|开始)?(?:感到|感觉|觉得自己)",
            *_unsaid_subject(),
            r"(?:这|那|这些|那些|一切|这一切|这件事|这种感觉)(?:都|真的|实在|确实)?"
            r"(?:是|太|很|好|非常|特别|真)?(?:难熬|难受|难(?![道说怪免得以])|辛苦|痛苦|可怕|糟糕"
            r"|煎熬|吓人)",
            r"我(?:又|一直|忍不住|经常|常常|总是)?(?:哭|流泪|掉眼泪)",
            r"(?:忍不住|控制不住|停不下来)",
            r"(?:从来|从未|没有?)(?:跟|对|和|向)?(?:任何人|别人|谁|他们|他|她)?(?:说过|讲过|提过|说起过)",
            r"(?:老实说|说实话|说实在的|实话说|坦白(?:说|讲)|实话实说)",
            r"我(?:很|好|真的|非常)?(?:想念|怀念)",
            r"(?:扛不住|承受不了|应付不了|顶不住)",
        ),
        "Emotional or personal disclosure (我很难过, 我感觉……, 很伤心。, 这太难了, 说实话, "
        "我从来没跟别人说过, 心里很难受).",
    ),
)

#: A whole counselor message made only of minimal encouragers (嗯, 哦, 我明白, 这样啊).
SHORT_CHARS = 24
MINIMAL_RE = re.compile(
    r"(?>(?:嗯+|恩|哦+|噢|喔|啊|呃|唔|哇|好的?|是的?|对的?|是吗|真的吗|真的啊|是啊|对啊|好啊|哈哈"
    r"|我?明白了?|我?知道了?|了解"
    r"|我?理解|我懂|这样啊|原来如此|原来是这样|我听到了|天哪|嗯哼|好吧|行|没错|ok|okay)"
    r"[\s,。.!?~…、]*)++"
)
#: A whole client message that only withdraws (不知道, 随便, 无所谓).
WITHDRAWAL_RE = re.compile(
    r"(?:我)?(?:也)?(?:不知道|不清楚|不晓得|随便|无所谓|都行|算了|没什么|可能吧|也许吧|大概吧"
    r"|就这样吧|没什么好说的)(?:吧|啊|呢)?[\s,。.!?~…、]*"
)


_SPECIAL = frozenset("()[]{}?*+.^$|\\")


def _split_group(phrase: str) -> tuple[list[str], str] | None:
    """A leading "(?:a|b(?:c|d))" -> (["a", "b(?:c|d)"], rest of the phrase), else None."""
    if not phrase.startswith("(?:"):
        return None
    depth, alts, cur, i = 1, [], 3, 3
    while i < len(phrase):
        ch = phrase[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                alts.append(phrase[cur:i])
                return alts, phrase[i + 1 :]
        elif ch == "|" and depth == 1:
            alts.append(phrase[cur:i])
            cur = i + 1
        i += 1
    raise ValueError(f"unbalanced group: {phrase!r}")


def heads(phrase: str) -> list[tuple[str, str]]:
    """Spell out a phrase as (first character, rest) pairs, for dispatch on the first character.

    A phrase starts with a literal character or a group of alternatives that do (optional or
    not): "(?:你)?(?:可以|不妨)试" -> [("你", "(?:可以|不妨)试"), ("可", "以试"), ("不", "妨试")].
    """
    group = _split_group(phrase)
    if group is not None:
        alts, rest = group
        optional = rest.startswith("?")
        if optional:
            rest = rest[1:]
        out = [pair for alt in alts for pair in heads(alt + rest)]
        return out + heads(rest) if optional else out
    if phrase and phrase[0] not in _SPECIAL:
        if phrase[1:2] == "?":  # "你?去": with and without the optional first character
            return [(phrase[0], phrase[2:]), *heads(phrase[2:])]
        if phrase[1:2] == "+":  # "嗯+": one, then any more
            return [(phrase[0], phrase[0] + "*" + phrase[2:])]
        if phrase[1:2] in ("*", "{"):
            raise ValueError(f"repeated first character in a Chinese cue phrase: {phrase!r}")
        return [(phrase[0], phrase[1:])]
    raise ValueError(f"a Chinese cue phrase must start with a literal character: {phrase!r}")


class ZhMatcher:
    """One compiled alternation for a group of cues; `find` adds the cue names found.

    The alternation is guarded by a lookahead on the characters a phrase can start with, so a
    position that cannot start any phrase costs one character-class test, not one try per
    phrase. It is built and compiled on first use, as the English `CueMatcher` is: English-only
    work and `import alliance_monitor` never pay for the Chinese expressions.
    """

    __slots__ = ("_clause", "_cues", "_names", "_regex")

    def __init__(self, cues: tuple[Cue, ...], *, clause: bool = False) -> None:
        self._cues = cues
        self._clause = clause
        self._regex: re.Pattern[str] | None = None
        self._names: tuple[str | None, ...] = ()

    def compile(self) -> re.Pattern[str]:
        """Build the expression (once); raises ValueError for a malformed phrase."""
        if self._regex is not None:
            return self._regex
        # first character -> [(rest of phrase, cue name)], in the order listed
        by_first: dict[str, list[tuple[str, str]]] = {}
        for cue in self._cues:
            for phrase in cue.phrases:
                if _CAPTURING.search(phrase):
                    raise ValueError(f"capturing group in {cue.name!r}: {phrase!r}")
                for first, rest in heads(phrase):
                    by_first.setdefault(first, []).append((rest, cue.name))
        # An empty group closes each phrase: `lastindex` says which phrase matched.
        names: list[str | None] = [None]
        branches = []
        for first, rests in by_first.items():
            alts = []
            for rest, name in rests:
                alts.append(f"{rest}()")
                names.append(name)
            branches.append(f"{re.escape(first)}(?:{'|'.join(alts)})")
        body = "(?:" + "|".join(branches) + ")"
        self._names = tuple(names)
        self._regex = re.compile(_CLAUSE + body if self._clause else body)
        return self._regex

    def find(self, text: str, found: dict[str, None]) -> None:
        """Add the names of the cues found in `text` to `found`, in order of appearance."""
        regex = self._regex or self.compile()
        names = self._names
        for m in regex.finditer(text):
            found[names[m.lastindex or 0] or ""] = None

    def match_start(self, text: str, found: dict[str, None]) -> None:
        """Like `find`, but only a cue at the very start of `text`."""
        m = (self._regex or self.compile()).match(text.lstrip())
        if m is not None:
            found[self._names[m.lastindex or 0] or ""] = None


COUNSELOR_CLAUSE_MATCHER = ZhMatcher(COUNSELOR_CLAUSE, clause=True)
COUNSELOR_PHRASE_MATCHER = ZhMatcher(COUNSELOR_PHRASES)
CLIENT_START_MATCHER = ZhMatcher(CLIENT_START)
CLIENT_PHRASE_MATCHER = ZhMatcher(CLIENT_PHRASES)
