"""The safety net reads constructs, not sentences (issue 20 item 5).

`tests/data/safety_constructs.jsonl` holds statements written by the `safety2` session while it
generalised the rules (English and Chinese, Simplified, Traditional and Cantonese): the forms of a
suicide-risk screen (wish to be dead, thoughts, method, intent and timing, plan, means, farewell,
burdensomeness, hopelessness, self-harm, past attempts) and harm to others, beside ordinary text
sharing the words (hyperbole, someone else's story, a film or a lesson, a denial, a past that is
over, everyday uses of a rope or of pills). The rules were tuned on these lines, so the floors
below guard against losing ground, not measure reach (``benchmarks/heldout.py`` does that).
A few risk lines stay missed on purpose (they are not told apart from ordinary plans and errands
without more context: "我写了很多信给家人", "下周一是我最后一天").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alliance_monitor._safety import scan_risk

ROWS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "safety_constructs.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]
#: (recall at least, false alarms at most) per language.
FLOORS = {"en": (0.95, 0.01), "zh": (0.90, 0.01)}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_constructs_recall_and_false_alarms(lang: str) -> None:
    risk = [r["text"] for r in ROWS if r["lang"] == lang and r["risk"]]
    ordinary = [r["text"] for r in ROWS if r["lang"] == lang and not r["risk"]]
    assert len(risk) >= 100 and len(ordinary) >= 90
    missed = [t for t in risk if scan_risk(t) is None]
    alarms = [t for t in ordinary if scan_risk(t) is not None]
    recall_floor, alarm_ceiling = FLOORS[lang]
    assert 1 - len(missed) / len(risk) >= recall_floor, missed
    assert len(alarms) / len(ordinary) <= alarm_ceiling, alarms


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        # composed: a wish, an intent or a thought with its object
        ("i keep picturing myself jumping off the parking garage", "suicidal_thoughts"),
        ("im planning to do it on friday when my roommate is away", "intent_plan"),
        ("i've been looking up how many of my pills it would take", "method"),
        ("i wrote letters to my sister and my mom, they'll find them after", "preparatory_acts"),
        ("the only way out is death", "end_everything"),
        ("this isnt my first attempt", "prior_attempt"),
        ("我巴不得出个车祸就这么没了", "wish_to_be_dead"),
        ("等家里人都睡了我就去天台", "intent_plan"),
        ("我在网上查了吃多少片安眠药会死", "method"),
        ("刀片我已经准备好了", "preparatory_acts"),
        ("没有我的话大家都会过得更好", "burdensomeness"),
        ("我又开始划手臂了", "self_harm"),
        ("我去年吞过一次药，没死成", "prior_attempt"),
        # Cantonese read through its function words (唔 不, 落去 下去, 冇 没, 佢哋 他们)
        ("我唔想再活落去", "wish_to_be_dead"),
        ("佢哋冇咗我會更好", "burdensomeness"),
        ("我哋分手之后，我成日都諗住死", "suicidal_thoughts"),
    ],
)
def test_composed_constructs_are_read(text: str, cue: str) -> None:
    hit = scan_risk(text)
    assert hit is not None and cue in hit.cues, (text, hit)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我想拿刀捅死那个人", "harm_to_others"),
        ("我想在他的饭里下毒", "harm_to_others"),
        ("i fantasize about strangling my boss", "harm_to_others"),
    ],
)
def test_harm_to_others_is_its_own_category(text: str, expected: str) -> None:
    hit = scan_risk(text)
    assert hit is not None and hit.category == expected, (text, hit)


@pytest.mark.parametrize(
    "text",
    [
        # a denial in the same clause, before or after
        "我不是想死，我只是想好好睡一觉",
        "自杀的念头我从来没有",
        "i have never had thoughts of suicide",
        # another subject, or someone else's words about the writer
        "我朋友说她想死，我好担心她",
        "我妈总说我是她的累赘，我很生气但我不会在意",
        "佢話想死，我好驚",
        "my friend told me she wants to die, how do i help her",
        # a past the message says is over (nothing recent before the recovery)
        "我以前有过想死的念头，但现在已经好多了",
        "i used to self harm in high school but i've been clean for 5 years",
        # a topic, a film, a lesson, a question
        "那部电影里女主角最后跳河了",
        "学校组织了防自杀的宣传活动",
        "we talked about suicide in health class",
        "my therapist asked if i've had thoughts of hurting myself and i said no",
        # hyperbole and play
        "我攰到想死，今日返工返到十點",
        "尴尬得我想原地消失",
        "我要死了，作业太多了",
        "我要杀了你哦，又吃我薯片",
        "i'm so tired i could sleep forever",
        # everyday means
        "周末买了木炭准备去烧烤",
        "我存了一些药在家里备用",
        "这家店跳楼价大甩卖",
    ],
)
def test_ordinary_forms_are_not_flagged(text: str) -> None:
    assert scan_risk(text) is None, text


def test_a_recent_act_before_the_recovery_is_still_flagged() -> None:
    assert scan_risk("我昨晚又割了，不过现在好多了") is not None
