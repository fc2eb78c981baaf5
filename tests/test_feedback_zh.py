"""Feedback in the language of the session: Chinese (Simplified or Traditional) for a Chinese or
mixed pair, English otherwise; from the templates to the events of a live monitor and the demo."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout

import pytest

from alliance_monitor import PatternDetected, event_adapter
from alliance_monitor._feedback import (
    EN,
    TEXT,
    ZH,
    ZH_HANT,
    decline_feedback,
    feedback_language,
    pattern_feedback,
)
from alliance_monitor._lang import chinese_script
from alliance_monitor._models import DimensionScores, MessagePattern
from alliance_monitor._traditional import to_simplified
from alliance_monitor.cli import main

HAN = re.compile(r"[\u4e00-\u9fff]")
#: Taiwan words for the same thing (window, reply, message); the rest is the same text.
_TAIWAN_WORDS = {"视窗": "窗口", "回覆": "回复", "讯息": "消息"}


def _flagged(*cues: str, n: int = 3) -> list[MessagePattern]:
    return [MessagePattern(id=f"m{i}", passive=0.7, directive=0.7, cues=cues) for i in range(n)]


def test_feedback_language() -> None:
    assert feedback_language("en", ["I can't sleep"]) == "en"
    assert feedback_language("und", []) == "en"
    assert feedback_language("zh", ["我最近总是睡不着", "你觉得呢"]) == "zh"
    assert feedback_language("zh", ["我最近總是睡不著", "妳覺得呢"]) == "zh-Hant"
    assert feedback_language("mixed", ["最近 deadline 太多了"]) == "zh"
    assert feedback_language("zh", []) == "zh"  # no text to tell the script by


def test_every_language_has_every_template() -> None:
    for table in TEXT.values():
        assert table.keys() == EN.keys()
        for key, value in table.items():
            fields = set(re.findall(r"\{(\w+)\}", value))
            assert fields <= set(re.findall(r"\{(\w+)\}", EN[key])) | {"total"}, key


def test_traditional_templates_are_the_simplified_ones() -> None:
    assert chinese_script(ZH_HANT.values()) == "traditional"
    assert chinese_script(ZH.values()) == "simplified"
    for key, value in ZH_HANT.items():
        folded = to_simplified(value)
        for taiwan, mainland in _TAIWAN_WORDS.items():
            folded = folded.replace(taiwan, mainland)
        assert folded == ZH[key], key


def test_chinese_pattern_feedback_reads_in_chinese() -> None:
    scores = DimensionScores(goal=3.0, task=2.5, bond=2.0, overall=2.5)
    fb = pattern_feedback("passive", _flagged("reassure"), 5, 2, scores, language="zh")
    assert fb.summary.startswith("在第 2 个评估窗口中，咨询师的 5 条回复里有 3 条（m0、m1、m2）")
    assert "笼统的安慰" in fb.summary and "情感联结" in fb.summary
    assert fb.dimension == "bond"  # the machine-readable fields stay as they are
    assert "听起来" in fb.suggestion
    assert not re.search(r"[A-Za-z]{3,}", fb.summary + fb.suggestion)  # no English left
    fb = pattern_feedback("directive", _flagged("advise", n=6), 8, 0, None, language="zh-Hant")
    assert "m0、m1、m2、m3 等 6 條" in fb.summary and "任務一致" in fb.summary
    assert "徵得同意" in fb.suggestion
    fb = pattern_feedback("directive", _flagged("advise", "pushing_on"), 4, 1, None, language="zh")
    assert "不愿意之后" in fb.summary and "先把对方的看法回应出来" in fb.suggestion


def test_chinese_decline_feedback() -> None:
    fb = decline_feedback("goal", 3.8, 2.6, ["a:3", "a:5"], language="zh")
    assert fb.summary == "目标一致在最近几个评估窗口中从 3.8 降到了 2.6，请看消息 a:3、a:5。"
    assert "你最希望通过我们的谈话得到什么" in fb.suggestion
    assert decline_feedback("overall", 3.0, 2.0, [], language="zh").summary.endswith("2.0。")


def test_english_feedback_names_the_cue_it_saw() -> None:
    fb = pattern_feedback("passive", _flagged("minimal"), 4, 0, None)
    assert '"ok", "I see"' in fb.summary
    fb = pattern_feedback("directive", _flagged("confront"), 4, 0, None)
    assert "dismissed the client's own view" in fb.summary
    assert not HAN.search(fb.summary + fb.suggestion)


def _demo_events() -> list[object]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["demo", "--json"]) == 0
    return [event_adapter.validate_json(line) for line in buf.getvalue().splitlines()]


def test_demo_chinese_pair_gets_chinese_feedback_and_the_others_english() -> None:
    events = _demo_events()
    feedback = [(e.conversation_id, e.feedback) for e in events if getattr(e, "feedback", None)]
    zh = [fb for cid, fb in feedback if cid == "demo-zh"]
    en = [fb for cid, fb in feedback if cid != "demo-zh"]
    assert zh and en
    for fb in zh:
        assert HAN.search(fb.summary) and HAN.search(fb.suggestion), fb
    for fb in en:
        assert not HAN.search(fb.summary + fb.suggestion), fb
    assert any(isinstance(e, PatternDetected) and e.conversation_id == "demo-zh" for e in events)


@pytest.mark.anyio
async def test_monitor_writes_traditional_feedback_for_a_traditional_pair() -> None:
    from importlib import resources

    from alliance_monitor import Message, Monitor, Role, ScoringPolicy
    from alliance_monitor.scoring import EmbeddedScorer
    from alliance_monitor.testing import EventCollector

    data = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl").read_text()
    conv = next(json.loads(ln) for ln in data.splitlines() if '"demo-zh"' in ln)
    col = EventCollector()
    async with Monitor(scorer=EmbeddedScorer(), scoring=ScoringPolicy(overload="wait")) as mon:
        mon.on(col)
        for m in conv["messages"]:
            await mon.ingest(
                Message(
                    id=m["id"],
                    conversation_id="tw-pair",
                    role=Role(m["role"]),
                    text=_to_traditional(m["text"]),
                    ts=m["ts"],
                )
            )
        await mon.end_all_sessions()
    with_feedback = [e for e in col.events if getattr(e, "feedback", None)]
    assert with_feedback
    for e in with_feedback:
        fb = e.feedback
        assert chinese_script([fb.summary, fb.suggestion]) == "traditional", fb


def _to_traditional(text: str) -> str:
    """The demo's Simplified text in Traditional characters: the inverse of our own map (one
    Traditional form per Simplified character is enough for a test)."""
    from alliance_monitor._traditional import TABLE

    inverse: dict[int, str] = {}
    for trad, simp in sorted(TABLE.items()):
        inverse.setdefault(ord(simp), chr(trad))
    return text.translate(inverse)
