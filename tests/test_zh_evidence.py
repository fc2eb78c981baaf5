"""Chinese evidence at parity with English (issue 21 item 2): the forms of the English
disclosure, change-talk and goal-talk lists read in Chinese, and small talk still abstains in
both languages and in both scripts. The sessions are written for these tests."""

from __future__ import annotations

import pytest

from alliance_monitor import Trajectory
from alliance_monitor._batch import analyze_transcript
from alliance_monitor._io import parse_transcript
from alliance_monitor.scoring import EmbeddedScorer
from alliance_monitor.scoring._embedded import _scan


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("我感觉胃里在翻滚，想离你远一点。", "I feel my stomach churning"),
        ("很难过。", "(I'm) so sad. (the subject left out)"),
        ("低沉、悲伤，疲倦。", "(I'm) low, sad, tired."),
        ("那太难了。", "That's so hard."),
        ("说实话，我不太记得了。", "Honestly, I don't remember."),
        ("这件事我从来没跟别人说过。", "I've never told anyone this."),
        ("我又哭了一晚上。", "I cried all night again."),
        ("我很想念外婆。", "I miss my grandmother."),
    ],
)
def test_client_disclosure_forms(text: str, english: str) -> None:
    assert "disclosure" in _scan(text, counselor=False), english


@pytest.mark.parametrize(
    "text",
    [
        "他很生气。",  # someone else's feeling
        "这很难说。",  # "hard to say" is no hardship
        "我不会再惹麻烦了。",  # 麻烦 holds 烦 (annoyed) but means trouble
        "今天天气很糟糕吗？",  # the weather, not the client... and a question
        "我挺好的，谢谢。",
    ],
)
def test_not_a_disclosure(text: str) -> None:
    assert "disclosure" not in _scan(text, counselor=False)


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("我希望能重新回到正常的生活。", "change_talk"),  # I hope to
        ("我受够了每天这样。", "change_talk"),  # I'm tired of
        ("我不想再一直躲着大家了。", "change_talk"),  # I don't want to keep
    ],
)
def test_client_change_talk_forms(text: str, cue: str) -> None:
    assert cue in _scan(text, counselor=False)


def test_goal_talk_keeps_the_question_it_is() -> None:
    """会有什么不同？ talks goals AND is an open question (the goal phrase leaves 什么 for it)."""
    cues = _scan("如果这些都改变了，对你会有什么不同？", counselor=True)
    assert {"goal_focus", "open_question"} <= cues.keys()
    assert "goal_focus" in _scan("我们可以一起想想下一步。", counselor=True)


SMALL_TALK = {
    "zh": [
        "你好！",
        "你好，老师。",
        "今天过来路上还顺利吗？",
        "还行，就是有点堵车。",
        "外面是不是挺冷的？",
        "嗯，降温了，我多穿了一件。",
        "吃过午饭了吗？",
        "吃过了，在楼下吃的面。",
        "好的。那我们今天就先到这里，下周同一时间见。",
        "好的，谢谢老师，再见！",
        "不客气，路上小心，再见。",
    ],
    "zh-Hant": [
        "你好！",
        "妳好，老師。",
        "今天過來路上還順利嗎？",
        "還行，就是有點塞車。",
        "外面是不是挺冷的？",
        "嗯，降溫了，我多穿了一件。",
        "吃過午飯了嗎？",
        "吃過了，在樓下吃的麵。",
        "好的。那我們今天就先到這裡，下週同一時間見。",
        "好的，謝謝老師，再見！",
        "不客氣，路上小心，再見。",
    ],
    "en": [
        "Hi!",
        "Hi there.",
        "Did you get here okay?",
        "Yes, a bit of traffic.",
        "Is it cold out?",
        "Yeah, it's getting colder, I wore an extra layer.",
        "Did you have lunch?",
        "Yes, noodles downstairs.",
        "Okay. Let's stop here for today, same time next week.",
        "Okay, thanks, bye!",
        "You're welcome, take care, bye.",
    ],
}


@pytest.mark.parametrize("lang", sorted(SMALL_TALK))
@pytest.mark.parametrize("n", [4, 6, 11])
def test_small_talk_still_abstains(lang: str, n: int) -> None:
    messages = [
        {
            "id": f"{lang}:{i}",
            "role": "counselor" if i % 2 == 0 else "client",
            "text": text,
            "ts": 1_700_000_000.0 + 60 * i,
        }
        for i, text in enumerate(SMALL_TALK[lang][:n])
    ]
    tr = parse_transcript(0, {"conversation_id": lang, "messages": messages}, [])
    assert tr is not None
    result = analyze_transcript(lang, tr.messages, EmbeddedScorer())
    assert result.trajectory is Trajectory.INSUFFICIENT_EVIDENCE
