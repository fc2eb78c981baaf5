"""Traditional Chinese (Taiwan, Hong Kong) reads as Simplified: the character map, script
detection, and the embedded scorer on the same conversation in both scripts (examples written by
us; the Traditional text of each was written by hand, not converted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alliance_monitor import Role, ScoringMessage, WindowRequest, detect_language
from alliance_monitor._lang import chinese_script
from alliance_monitor._traditional import TABLE, to_simplified
from alliance_monitor.scoring import EmbeddedScorer

ROOT = Path(__file__).resolve().parent.parent

SIMPLIFIED = (
    ("k", "我男朋友上个月跟我分手了，我觉得自己很失败，每天晚上都睡不着。"),
    ("c", "听起来这次分手对你打击很大，你也在责怪自己。这一周你是怎么过来的？"),
    ("k", "没错，就是这样。我每天都在哭，工作也做不下去。"),
    ("c", "你应该马上忘掉他，别想太多。我建议你每天去跑步，否则你会越来越糟。"),
    ("k", "你根本不懂我。"),
    ("c", "嗯。对了，你工作怎么样？"),
    ("k", "不知道。"),
    ("c", "如果你愿意的话，我可以分享一些别人试过的方法，你看哪些适合你。"),
)
# Taiwan usage: 妳 for a woman, 甚麼, 著.
TRADITIONAL = (
    ("k", "我男朋友上個月跟我分手了，我覺得自己很失敗，每天晚上都睡不著。"),
    ("c", "聽起來這次分手對妳打擊很大，妳也在責怪自己。這一週妳是怎麼過來的？"),
    ("k", "沒錯，就是這樣。我每天都在哭，工作也做不下去。"),
    ("c", "妳應該馬上忘掉他，別想太多。我建議妳每天去跑步，否則妳會越來越糟。"),
    ("k", "妳根本不懂我。"),
    ("c", "嗯。對了，妳工作怎麼樣？"),
    ("k", "不知道。"),
    ("c", "如果妳願意的話，我可以分享一些別人試過的方法，妳看哪些適合妳。"),
)


def _msgs(turns: tuple[tuple[str, str], ...]) -> tuple[ScoringMessage, ...]:
    return tuple(
        ScoringMessage(f"m{i}", Role.COUNSELOR if who == "c" else Role.CLIENT, text, float(i))
        for i, (who, text) in enumerate(turns)
    )


def test_to_simplified_keeps_length_and_reads_taiwan_forms() -> None:
    assert to_simplified("我覺得妳說得對，為什麼不試試看？") == "我觉得你说得对，为什么不试试看？"
    assert to_simplified("妳在想甚麼？聽著。") == "你在想什么？听着。"
    assert to_simplified("裡面 裏面") == "里面 里面"
    for text in ("自殺", "這樣子真的很辛苦 OK?", "hello", "", "🙂 沒事"):
        assert len(to_simplified(text)) == len(text)
    assert to_simplified("我觉得这样很好") == "我觉得这样很好"  # Simplified stays as it is


def test_map_is_one_to_one_within_the_bmp() -> None:
    assert len(TABLE) > 2500
    for k, v in TABLE.items():
        assert len(v) == 1 and ord(v) <= 0xFFFF and k != ord(v)
    assert ord("么") not in TABLE  # Simplified 什么 must not change


def test_map_is_up_to_date_with_opencc() -> None:
    pytest.importorskip("opencc", reason="the opencc package (dev dependency) builds the map")
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_traditional_map.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_chinese_script() -> None:
    assert chinese_script([t for _, t in TRADITIONAL]) == "traditional"
    assert chinese_script([t for _, t in SIMPLIFIED]) == "simplified"
    assert chinese_script("你好") == "und"  # both scripts write it so
    assert chinese_script("I can't sleep") == "und"
    # a Hong Kong message quoting one Simplified word is still Traditional
    assert chinese_script("我覺得呢個諮詢師講嘢好有道理，佢話我要学会放松") == "traditional"
    assert detect_language("我覺得這樣很好") == "zh"


def test_scorer_reads_both_scripts_alike() -> None:
    scorer = EmbeddedScorer()
    simp = scorer.score_sync(WindowRequest("s", 0, _msgs(SIMPLIFIED), 4))
    trad = scorer.score_sync(WindowRequest("t", 0, _msgs(TRADITIONAL), 4))
    assert trad.language == simp.language == "zh"
    assert trad.status == simp.status
    assert [(m.passive, m.directive, m.cues) for m in trad.messages] == [
        (m.passive, m.directive, m.cues) for m in simp.messages
    ]
    assert trad.constructs == simp.constructs
    directive = trad.messages[1]
    assert directive.directive >= 0.5  # 妳應該……我建議妳……否則
    assert "advise" in directive.cues and "warn" in directive.cues


def test_safety_reads_traditional_phrases() -> None:
    from alliance_monitor._safety import scan_risk

    for text in (
        "我不想再醒來了",
        "想去臥軌",
        "我攢了很多安眠藥",
        "明天我要帶刀去學校",
        "活著沒有任何意義",
    ):
        assert scan_risk(text) is not None, text
    for text in (
        "笑死我了，這部電影太好笑",
        "看了一部關於自殺預防的紀錄片",
        "累死了，今天加班到十點",
    ):
        assert scan_risk(text) is None, text


def test_safety_set_in_traditional_script_scores_as_simplified() -> None:
    opencc = pytest.importorskip("opencc", reason="opencc (dev dependency) converts the set")
    import json

    from alliance_monitor._safety import scan_risk

    rows = [
        json.loads(line)
        for line in (ROOT / "tests" / "data" / "safety_zh.jsonl").read_text().splitlines()
        if line.strip()
    ]
    simplified = [scan_risk(r["text"]) is not None for r in rows]
    for config in ("s2twp.json", "s2hk.json"):
        cc = opencc.OpenCC(config)
        traditional = [scan_risk(cc.convert(r["text"])) is not None for r in rows]
        assert traditional == simplified, config


def test_redaction_reads_traditional() -> None:
    from alliance_monitor.scoring import basic_redactor

    out = basic_redactor("我叫陳美玲，住在台北市信義區松仁路100號5樓，電話0912-345-678")
    assert "陳美玲" not in out and "松仁路" not in out and "0912" not in out
    assert "[NAME]" in out and "[ADDRESS]" in out and "[PHONE]" in out
