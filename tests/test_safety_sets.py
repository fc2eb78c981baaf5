"""The safety net on the written test sets (issue 20 item 5).

Each set holds at least 150 risk and 150 ordinary statements per language (tests/data). Within
each class, lines at even positions are the half the phrase lists were first tuned on; the odd
half was kept untouched at first and has since been read while tuning too (docs/reliability.md).
Targets: recall >= 0.95 and false alarms <= 3%. The check sets (`safety_check_*.jsonl`, written
before the construct rewrite and never tuned on) are held to floors a little below their measured
figures, so a change that loses ground on text nobody tuned on fails; their assertion messages
give counts only, never lines, so that reading a failure does not turn them into tuning material.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alliance_monitor._safety import scan_risk

DATA = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[dict[str, object]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    seen = {True: 0, False: 0}
    for row in rows:
        row["half"] = "even" if seen[bool(row["risk"])] % 2 == 0 else "odd"
        seen[bool(row["risk"])] += 1
    return rows


#: (recall at least, false alarms at most) per half, on the first three rounds of statements.
FLOORS = {"even": (0.95, 0.03), "odd": (0.92, 0.03)}


@pytest.mark.parametrize("half", ["even", "odd"])
@pytest.mark.parametrize("name", ["safety_en.jsonl", "safety_zh.jsonl"])
def test_recall_and_false_alarms(name: str, half: str) -> None:
    rows = _rows(name)
    assert sum(1 for r in rows if r["risk"]) >= 150
    assert sum(1 for r in rows if not r["risk"]) >= 150
    rows = [r for r in rows if "round" not in r]
    risk = [str(r["text"]) for r in rows if r["risk"] and r["half"] == half]
    harmless = [str(r["text"]) for r in rows if not r["risk"] and r["half"] == half]
    missed = [t for t in risk if scan_risk(t) is None]
    alarms = [t for t in harmless if scan_risk(t) is not None]
    recall_floor, alarm_ceiling = FLOORS[half]
    assert 1 - len(missed) / len(risk) >= recall_floor, missed
    assert len(alarms) / len(harmless) <= alarm_ceiling, alarms


#: The later rounds (``"round"`` 4 and 5, written by the `safety3` session before it changed a
#: rule; 6, written while tuning): (recall at least, false alarms at most) per part. ``r4-even``
#: and ``r6`` were tuned on; ``r4-odd`` and ``r5`` were not (see benchmarks/safety_sets.py):
#: floors a little below the measured figures guard the ground won; messages give counts only.
ROUND_FLOORS = {
    ("safety_en.jsonl", "r4-even"): (0.94, 0.06),
    ("safety_en.jsonl", "r4-odd"): (0.80, 0.15),
    ("safety_en.jsonl", "r6"): (0.92, 0.02),
    ("safety_zh.jsonl", "r4-even"): (0.97, 0.03),
    ("safety_zh.jsonl", "r4-odd"): (0.83, 0.09),
    ("safety_zh.jsonl", "r5"): (0.70, 0.08),
    ("safety_zh.jsonl", "r6"): (0.88, 0.02),
}


@pytest.mark.parametrize(("name", "part"), sorted(ROUND_FLOORS))
def test_later_rounds(name: str, part: str) -> None:
    rows = _rows(name)
    if part in ("r5", "r6"):
        rows = [r for r in rows if r.get("round") == int(part[1])]
    else:
        rows = [r for r in rows if r.get("round") == 4 and r["half"] == part[3:]]
    risk = [str(r["text"]) for r in rows if r["risk"]]
    harmless = [str(r["text"]) for r in rows if not r["risk"]]
    caught = sum(scan_risk(t) is not None for t in risk)
    alarms = sum(scan_risk(t) is not None for t in harmless)
    recall_floor, alarm_ceiling = ROUND_FLOORS[(name, part)]
    figures = f"recall {caught}/{len(risk)}, false alarms {alarms}/{len(harmless)}"
    assert caught / len(risk) >= recall_floor, figures
    assert alarms / len(harmless) <= alarm_ceiling, figures


#: (recall at least, false alarms at most) on the check sets; measured 0.900 / 0.044 (English)
#: and 0.611 / 0.066 (Chinese): the targets are missed, these floors only guard the ground won.
CHECK_FLOORS = {"safety_check_en.jsonl": (0.87, 0.06), "safety_check_zh.jsonl": (0.57, 0.08)}


@pytest.mark.parametrize("name", sorted(CHECK_FLOORS))
def test_check_sets_keep_their_ground(name: str) -> None:
    rows = _rows(name)
    risk = [str(r["text"]) for r in rows if r["risk"]]
    harmless = [str(r["text"]) for r in rows if not r["risk"]]
    caught = sum(scan_risk(t) is not None for t in risk)
    alarms = sum(scan_risk(t) is not None for t in harmless)
    recall_floor, alarm_ceiling = CHECK_FLOORS[name]
    figures = f"recall {caught}/{len(risk)}, false alarms {alarms}/{len(harmless)}"
    assert caught / len(risk) >= recall_floor, figures
    assert alarms / len(harmless) <= alarm_ceiling, figures


@pytest.mark.parametrize(
    "text",
    [
        # spellings from the issue
        "I want to kill my self",
        "I will hang my self",
        "kms",
        "i want 2 die",
        "sui cide is all I think about",
        "wo xiang zi sha",
        "我想紫砂",
        "\u1d0b\u026a\u029f\u029f \u1d0d\u028f \ua731\u1d07\u029f\ua730",  # small capitals
        "\U0001f1f0\U0001f1f2\U0001f1f8",  # regional-indicator letters
        "i want to un alive myself",
        "bu xiang huo le",
        "我想自鲨",
    ],
)
def test_ordinary_spellings_are_read(text: str) -> None:
    hit = scan_risk(text)
    assert hit is not None and hit.category == "self_harm", text


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        # the categories of a clinical suicide-risk screen, English and Chinese
        ("I wish I could go to sleep and not wake up", "wish_to_be_dead"),
        ("希望睡着了就不要再醒来", "wish_to_be_dead"),
        ("I keep thinking about killing myself", "suicidal_thoughts"),
        ("我控制不住想死的念头", "suicidal_thoughts"),
        ("I googled painless ways to die", "method"),
        ("吃多少片安眠药才会死", "method"),
        ("I've picked the date", "intent_plan"),
        ("我计划好了下周五去死", "intent_plan"),
        ("I've been stockpiling my antidepressants", "preparatory_acts"),
        ("我给每个人都写了告别信", "preparatory_acts"),
        ("I've been giving my things away", "preparatory_acts"),
        ("I'm a burden to my parents", "burdensomeness"),
        ("我活着只会拖累家人", "burdensomeness"),
        ("I just want to disappear and never come back", "end_everything"),
        ("我想从这个世界上消失", "end_everything"),
        ("I want it all to end", "end_everything"),
        ("我想结束这一切", "end_everything"),
    ],
)
def test_the_forms_a_screen_asks_about(text: str, cue: str) -> None:
    hit = scan_risk(text)
    assert hit is not None and hit.category == "self_harm", text
    assert cue in hit.cues, hit.cues


@pytest.mark.parametrize(
    "text",
    [
        "this exam is killing me",
        "我快累死了",
        "我买了一个紫砂壶",
        "I ran 5 kms today",
        "kms is a unit in my physics homework",
        "I want to dye my hair blue",
        "my self esteem is low",
        "I bought a rope for rock climbing",
        "I wish I could disappear for a vacation",
        "I want to end things with my boyfriend",
        "this is my last night in Paris",
        "I read a book about suicide in history class",
        "新闻里说有人跳楼了，我看了很难受",
        "我可以为了一顿火锅去死",
        "考完试终于解脱了",
        "我想去旅游，消失一段时间",
        "Liz, I shall call you tomorrow",
        "I used to want to die but I'm much better now",
    ],
)
def test_ordinary_text_sharing_the_words_is_not_flagged(text: str) -> None:
    assert scan_risk(text) is None, text


def test_chinese_phrases_from_the_issue() -> None:
    hit = scan_risk("我不想活了，有时候想一了百了")
    assert hit is not None and hit.category == "self_harm"
    assert "suicidal_ideation" in hit.cues
    for text in ("笑死我了", "累死了", "想死你了", "热死了", "气死我了"):
        assert scan_risk(text) is None, text
    other = scan_risk("我真想杀了他")
    assert other is not None and other.category == "harm_to_others"


@pytest.mark.parametrize(
    "text",
    [
        "我想自杀",
        "我想自 杀",
        "我想自\u200b杀",
        "我想自\u200d杀",
        "我想自＊杀",
        "我想ｚｉｓｈａ",
        "想zs",
        "wo xiang zisha",
        "z i s h a",
        "我想自殺",
        "一 了 百 了",
    ],
)
def test_chinese_obfuscation(text: str) -> None:
    hit = scan_risk(text)
    assert hit is not None and hit.category == "self_harm", text


def test_chinese_denials_and_ordinary_medication_do_not_fire() -> None:
    for text in ("我从来没想过自杀", "我不想死", "我今天按时吃药了", "我不想活在别人的期待里"):
        assert scan_risk(text) is None, text
    assert scan_risk("我把药都吃了，一整瓶") is not None


def test_chinese_hit_carries_no_text() -> None:
    hit = scan_risk("我打算今晚跳楼")
    assert hit is not None
    assert all(c.isascii() for c in hit.cues)
    assert "跳楼" not in repr(hit)


def test_pinyin_words_need_word_boundaries() -> None:
    assert scan_risk("Liz, I shall call you tomorrow") is None
    assert scan_risk("the walzs sound nice") is None


@pytest.mark.parametrize(
    "text",
    [
        # scope decisions of the fourth to sixth rounds: denial, a past that is over, a story,
        # hyperbole after a cause, a laughing condition, another person finding the letters
        "想死倒不至于，就是心里很烦",
        "自杀这种事我是不会做的",
        "我还没到想死的地步",
        "前几年我有过自杀的想法，后来接受了治疗，现在很好",
        "我曾经吃过一整瓶药，被救回来以后就再也没有过这种念头了",
        "这首歌唱的是一个人不想活了的心情",
        "这道题难得我想跳楼",
        "这个游戏我死了好多次才通关",
        "好想人间蒸发一个星期，不用回任何消息",
        "我已经把积分攒够了，可以换机票了",
        "it's not like i want to end my life or anything, i'm just tired",
        "i tried to kill myself when i was 16 but i'm in a much better place now",
        "if i have to sit through one more meeting i'm going to kill myself lol",
        "i can't do this diet anymore, i'm ending it tonight with pizza",
    ],
)
def test_later_rounds_scope_decisions(text: str) -> None:
    assert scan_risk(text) is None, text


@pytest.mark.parametrize(
    "text",
    [
        "要是明天早上醒不过来就好了",
        "今晚是我活着的最后一晚了",
        "我死了他们就不用再为我花钱了",
        "活著好累，好想4了算了",
        "我哋屋企冇咗我會好啲",
        "我在想用绳子还是用刀",
        "老天怎么还不收了我",
        "i wrote letters to my sister and my best friend, they'll find them after i'm gone",
        "honestly i'd be doing my family a favour by dying",
        "i don't care if i live or die anymore",
        "i know exactly which bridge i'd use",
        # a laughing message is still read when the condition is the writer's own state
        "i don't know if i can go on, i want to die lol",
    ],
)
def test_later_rounds_constructs(text: str) -> None:
    hit = scan_risk(text)
    assert hit is not None and hit.category == "self_harm", text
