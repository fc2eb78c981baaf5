"""The safety net on the written test sets: recall >= 0.95 and false alarms <= 5% per language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alliance_monitor._safety import scan_risk

DATA = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[dict[str, object]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("name", ["safety_en.jsonl", "safety_zh.jsonl"])
def test_recall_and_false_alarms(name: str) -> None:
    rows = _rows(name)
    risk = [str(r["text"]) for r in rows if r["risk"]]
    harmless = [str(r["text"]) for r in rows if not r["risk"]]
    assert len(risk) >= 40 and len(harmless) >= 40
    missed = [t for t in risk if scan_risk(t) is None]
    alarms = [t for t in harmless if scan_risk(t) is not None]
    assert 1 - len(missed) / len(risk) >= 0.95, missed
    assert len(alarms) / len(harmless) <= 0.05, alarms


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
