"""Template feedback for counselors: specific, short, supportive (domain.md, "Feedback").

Each piece names the pattern, points at the messages by id, says which alliance dimension it is
likely hurting, and proposes one concrete alternative move. Quotes appear only when the deployment
opted in to message text.

Feedback is written in the language of the session (`feedback_language`): English, or Chinese
for a Chinese or mixed Chinese-English pair, in Simplified characters (``"zh"``) or, for a pair
that writes Traditional (Taiwan, Hong Kong), in Traditional (``"zh-Hant"``). The Chinese text is
written as a Chinese supervisor would say it, not translated word for word; the Traditional
table is the Simplified one in Taiwan usage (a test checks it against OpenCC's ``s2twp``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ._events import Feedback
from ._lang import chinese_script
from ._models import DimensionScores, MessagePattern

__all__ = ["FEEDBACK_LANGUAGES", "decline_feedback", "feedback_language", "pattern_feedback"]

_QUOTE_CHARS = 80

#: Languages feedback is written in.
FEEDBACK_LANGUAGES = ("en", "zh", "zh-Hant")

EN: dict[str, str] = {
    "passive.what": "acknowledged or repeated what the client said without exploring it",
    "passive.what.reassure": (
        "offered general reassurance instead of exploring what the client said"
    ),
    "passive.what.minimal": (
        'were minimal acknowledgements ("ok", "I see") after the client opened up'
    ),
    "passive.suggestion": (
        "When the client shares something that matters to them, reflect the feeling or meaning "
        'and invite more, e.g. "It sounds like that left you feeling let down. What has that been '
        'like for you this week?" rather than "ok" or "it will be fine".'
    ),
    "directive.what": "gave advice or instructions the client had not asked for",
    "directive.what.pushed": "kept pressing advice after the client had said no",
    "directive.what.dismiss": "overrode or dismissed the client's own view",
    "directive.suggestion": (
        'Ask before advising and leave the choice with the client, e.g. "Would it help if I '
        'shared what others in your situation have tried? You can take or leave it." Then ask '
        "which, if any, fits for them."
    ),
    "directive.suggestion.dismiss": (
        "When the client disagrees, reflect their view before offering yours, e.g. \"You're not "
        'sure this would work for you. What makes it feel wrong?"'
    ),
    "pattern.summary": (
        "In window {window}, {k} of {n} counselor replies ({ids}) {what}. This pattern tends to "
        "weaken the {dim} dimension of the alliance."
    ),
    "decline.summary": "The {dim} dimension fell from {before} to {after} over the last windows",
    "decline.see": "; see messages {ids}.",
    "decline.end": ".",
    "decline.goal": (
        "Check the shared aim: \"Let me make sure I understand what you'd most like to get out "
        'of our conversations. What would be different if this went well?"'
    ),
    "decline.task": (
        'Check the way of working: "How is this way of talking it through working for you? Is '
        "there something you'd rather focus on?\""
    ),
    "decline.bond": (
        "Slow down and reflect before moving on: name the feeling you hear and ask whether you "
        "got it right."
    ),
    "decline.overall": (
        "Pause and ask for the client's view of how the conversation is going, then reflect it "
        "back before continuing."
    ),
    "ids.sep": ", ",
    "ids.more": "{shown} and {more} more",
    "dim.goal": "goal",
    "dim.task": "task",
    "dim.bond": "bond",
    "dim.overall": "overall",
}

ZH: dict[str, str] = {
    "passive.what": "只是接住或复述了来访者的话，没有再往下探索",
    "passive.what.reassure": "给了笼统的安慰，没有去了解来访者具体在经历什么",
    "passive.what.minimal": "在来访者敞开心扉之后，只回了“嗯”“好的”这类简短的回应",
    "passive.suggestion": (
        "来访者说到对自己重要的事情时，试着把其中的感受或意义说出来，再邀请对方多谈一些，"
        "例如：“听起来这件事让你挺失望的。这一周你是怎么过来的？”，而不是只回“嗯”或“会好起来的”。"
    ),
    "directive.what": "在来访者没有请求的情况下给了建议或指令",
    "directive.what.pushed": "在来访者表示不愿意之后，仍继续推动自己的建议",
    "directive.what.dismiss": "否定或压过了来访者自己的看法",
    "directive.suggestion": (
        "给建议之前先征得同意，把选择权留给来访者，例如：“如果你愿意，我可以说说别人在类似情况下"
        "试过的一些办法，你看看哪些适合自己，不合适的就放一边。”说完再问问对方，哪一点可能对他有用。"
    ),
    "directive.suggestion.dismiss": (
        "来访者不同意时，先把对方的看法回应出来，再谈你的想法，例如：“你觉得这个办法不太适合你。"
        "能说说是哪里让你觉得不对吗？”"
    ),
    "pattern.summary": (
        "在第 {window} 个评估窗口中，咨询师的 {n} 条回复里有 {k} 条（{ids}）{what}。"
        "这种回应方式容易削弱工作联盟中的{dim}。"
    ),
    "decline.summary": "{dim}在最近几个评估窗口中从 {before} 降到了 {after}",
    "decline.see": "，请看消息 {ids}。",
    "decline.end": "。",
    "decline.goal": (
        "核对一下双方的目标：“我想确认一下，你最希望通过我们的谈话得到什么？"
        "如果谈得顺利，你的生活会有什么不一样？”"
    ),
    "decline.task": (
        "核对一下谈话的方式：“这样谈下来，你觉得对你有帮助吗？有没有哪些事你更想多聊一聊？”"
    ),
    "decline.bond": "放慢节奏，先回应再往前走：说出你听到的感受，再问问对方你理解得对不对。",
    "decline.overall": (
        "停下来问问来访者觉得这次谈话进行得怎么样，把对方的感受回应出来，再继续往下谈。"
    ),
    "ids.sep": "、",
    "ids.more": "{shown} 等 {total} 条",
    "dim.goal": "目标一致",
    "dim.task": "任务一致",
    "dim.bond": "情感联结",
    "dim.overall": "整体联盟",
}

# The Simplified table in Traditional characters, Taiwan usage (OpenCC s2twp; see the tests).
ZH_HANT: dict[str, str] = {
    "passive.what": "只是接住或複述了來訪者的話，沒有再往下探索",
    "passive.what.reassure": "給了籠統的安慰，沒有去了解來訪者具體在經歷什麼",
    "passive.what.minimal": "在來訪者敞開心扉之後，只回了“嗯”“好的”這類簡短的回應",
    "passive.suggestion": (
        "來訪者說到對自己重要的事情時，試著把其中的感受或意義說出來，再邀請對方多談一些，"
        "例如：“聽起來這件事讓你挺失望的。這一週你是怎麼過來的？”，而不是只回“嗯”或“會好起來的”。"
    ),
    "directive.what": "在來訪者沒有請求的情況下給了建議或指令",
    "directive.what.pushed": "在來訪者表示不願意之後，仍繼續推動自己的建議",
    "directive.what.dismiss": "否定或壓過了來訪者自己的看法",
    "directive.suggestion": (
        "給建議之前先徵得同意，把選擇權留給來訪者，例如：“如果你願意，我可以說說別人在類似情況下"
        "試過的一些辦法，你看看哪些適合自己，不合適的就放一邊。”說完再問問對方，哪一點可能對他有用。"
    ),
    "directive.suggestion.dismiss": (
        "來訪者不同意時，先把對方的看法回應出來，再談你的想法，例如：“你覺得這個辦法不太適合你。"
        "能說說是哪裡讓你覺得不對嗎？”"
    ),
    "pattern.summary": (
        "在第 {window} 個評估視窗中，諮詢師的 {n} 條回覆裡有 {k} 條（{ids}）{what}。"
        "這種回應方式容易削弱工作聯盟中的{dim}。"
    ),
    "decline.summary": "{dim}在最近幾個評估視窗中從 {before} 降到了 {after}",
    "decline.see": "，請看訊息 {ids}。",
    "decline.end": "。",
    "decline.goal": (
        "核對一下雙方的目標：“我想確認一下，你最希望通過我們的談話得到什麼？"
        "如果談得順利，你的生活會有什麼不一樣？”"
    ),
    "decline.task": (
        "核對一下談話的方式：“這樣談下來，你覺得對你有幫助嗎？有沒有哪些事你更想多聊一聊？”"
    ),
    "decline.bond": "放慢節奏，先回應再往前走：說出你聽到的感受，再問問對方你理解得對不對。",
    "decline.overall": (
        "停下來問問來訪者覺得這次談話進行得怎麼樣，把對方的感受回應出來，再繼續往下談。"
    ),
    "ids.sep": "、",
    "ids.more": "{shown} 等 {total} 條",
    "dim.goal": "目標一致",
    "dim.task": "任務一致",
    "dim.bond": "情感聯結",
    "dim.overall": "整體聯盟",
}

TEXT: dict[str, dict[str, str]] = {"en": EN, "zh": ZH, "zh-Hant": ZH_HANT}


def feedback_language(language: str | None, texts: Iterable[str] = ()) -> str:
    """The language feedback for a window is written in: ``"zh"`` or ``"zh-Hant"`` for a
    Chinese or mixed Chinese-English window (a `detect_language` code), by the script its
    `texts` are written in; ``"en"`` otherwise."""
    if language not in ("zh", "mixed"):
        return "en"
    return "zh-Hant" if chinese_script(texts) == "traditional" else "zh"


def _t(language: str) -> dict[str, str]:
    return TEXT.get(language, EN)


def _ids_text(ids: Sequence[str], text: Mapping[str, str]) -> str:
    shown = text["ids.sep"].join(ids[:4])
    if len(ids) <= 4:
        return shown
    return text["ids.more"].format(shown=shown, more=len(ids) - 4, total=len(ids))


def _quotes(ids: Sequence[str], texts: Mapping[str, str] | None) -> tuple[str, ...]:
    if not texts:
        return ()
    out = []
    for mid in ids[:2]:
        t = texts.get(mid)
        if t:
            out.append(t if len(t) <= _QUOTE_CHARS else t[: _QUOTE_CHARS - 1] + "…")
    return tuple(out)


def pattern_feedback(
    pattern: str,
    flagged: Sequence[MessagePattern],
    n_counselor: int,
    window_index: int,
    scores: DimensionScores | None,
    texts: Mapping[str, str] | None = None,
    language: str = "en",
) -> Feedback:
    """Feedback for a passive or directive pattern in one window, in `language`
    (`FEEDBACK_LANGUAGES`)."""
    text = _t(language)
    ids = [m.id for m in flagged]
    cues = {c for m in flagged for c in m.cues}
    if pattern == "passive":
        # Passive replies leave the client's core issue unexplored: that is the shared view of the
        # problem (Goal) and feeling understood (Bond). Point at whichever is weaker now.
        dim = "bond"
        if scores is not None and scores.goal < scores.bond:
            dim = "goal"
        what = text["passive.what"]
        if "reassure" in cues:
            what = text["passive.what.reassure"]
        elif "minimal" in cues:
            what = text["passive.what.minimal"]
        suggestion = text["passive.suggestion"]
    else:
        # Advice without permission and overriding the client's view take away their say in how
        # the work is done: the Task/Approach dimension (T1, T4), and respect (B3).
        dim = "task"
        what = text["directive.what"]
        suggestion = text["directive.suggestion"]
        if cues & {"confront", "moralize"}:
            what = text["directive.what.dismiss"]
            suggestion = text["directive.suggestion.dismiss"]
        elif "pushing_on" in cues:
            what = text["directive.what.pushed"]
            suggestion = text["directive.suggestion.dismiss"]
    summary = text["pattern.summary"].format(
        window=window_index,
        k=len(ids),
        n=n_counselor,
        ids=_ids_text(ids, text),
        what=what,
        dim=text["dim." + dim],
    )
    return Feedback(
        pattern=pattern,
        message_ids=tuple(ids),
        dimension=dim,
        summary=summary,
        suggestion=suggestion,
        quotes=_quotes(ids, texts),
    )


def decline_feedback(
    dimension: str,
    from_level: float,
    to_level: float,
    evidence: Sequence[str],
    texts: Mapping[str, str] | None = None,
    language: str = "en",
) -> Feedback:
    """Feedback attached to an alliance-decline event, in `language` (`FEEDBACK_LANGUAGES`)."""
    text = _t(language)
    dim_name = text.get("dim." + dimension, dimension)
    summary = text["decline.summary"].format(
        dim=dim_name, before=f"{from_level:.1f}", after=f"{to_level:.1f}"
    ) + (
        text["decline.see"].format(ids=_ids_text(list(evidence), text))
        if evidence
        else text["decline.end"]
    )
    return Feedback(
        pattern="decline",
        message_ids=tuple(evidence),
        dimension=dimension,
        summary=summary,
        suggestion=text.get("decline." + dimension, text["decline.overall"]),
        quotes=_quotes(list(evidence), texts),
    )
