"""The learned Chinese reading of counselor moves (`scoring/_model_zh.py`): reproducible weights,
fast inference equal to the plain softmax, and the moves it reads on messages written for this
test (not in training/written_counselor_zh.txt)."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance_monitor import Role, ScoringMessage
from alliance_monitor._lang import script_counts
from alliance_monitor.scoring import EmbeddedScorer
from alliance_monitor.scoring import _lexicon as lx
from alliance_monitor.scoring._model import Model
from alliance_monitor.scoring._model_zh import (
    CLASSES,
    WEIGHTS_FILE,
    PackedHead,
    load_model_zh,
    zh_features,
)

ROOT = Path(__file__).resolve().parent.parent
WRITTEN = ROOT / "training" / "written_counselor_zh.txt"


def _read(text: str) -> dict[str, float]:
    return load_model_zh().proba(zh_features(lx.normalize(text)))


def test_training_script_reproduces_the_shipped_weights_bit_for_bit() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train_embedded_zh.py"), "--check", "--no-figures"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "bit for bit" in out.stdout


def test_shipped_model_says_what_it_was_fitted_on() -> None:
    text = (ROOT / "alliance_monitor" / "scoring" / WEIGHTS_FILE).read_text(encoding="utf-8")
    model = Model.from_json_text(text)
    assert model.counselor.classes == CLASSES
    assert "written by the authors" in str(model.meta["data"])
    lines = [ln for ln in WRITTEN.read_text(encoding="utf-8").splitlines() if "\t" in ln]
    assert model.meta["written_examples"] == len(lines) >= 1000
    assert {ln.split("\t", 1)[0] for ln in lines} == set(CLASSES)


def test_packed_head_gives_the_plain_softmax() -> None:
    text = (ROOT / "alliance_monitor" / "scoring" / WEIGHTS_FILE).read_text(encoding="utf-8")
    head = Model.from_json_text(text).counselor
    packed = PackedHead.pack(head)
    for msg in ("你为什么不试试跑步？", "嗯。", "听起来你很委屈。", "", "ok 好的 sure"):
        feats = zh_features(lx.normalize(msg))
        a, b = head.proba(feats), packed.proba(feats)
        assert a.keys() == b.keys()
        assert all(abs(a[c] - b[c]) < 1e-9 for c in a)


@pytest.mark.parametrize(
    ("text", "move"),
    [
        ("你现在每天大概睡几个小时？", "question"),
        ("那次吵架以后，你们之间发生了什么变化？", "question"),
        ("听上去你在家里一直是那个被忽略的人。", "reflection"),
        ("你对自己很失望，觉得辜负了父母的期望。", "reflection"),
        ("别灰心，你一定可以的，加油！", "reassurance"),
        ("你或许可以每天下班后去公园走一走。", "suggestion"),
        ("要不你先给她发条消息，约个时间聊聊？", "suggestion"),
        ("你必须马上搬出去，不能再拖了。", "instruction"),
        ("长期睡眠不足会让人更容易焦虑和烦躁。", "information"),
        ("好的，我们下周四见。", "other"),
    ],
)
def test_model_reads_the_move(text: str, move: str) -> None:
    p = _read(text)
    assert max(p, key=p.__getitem__) == move, p


def test_questions_that_are_advice_read_as_suggestions() -> None:
    p = _read("你为什么不干脆跟老板说清楚呢？")
    assert p["suggestion"] + p["instruction"] > p["question"]


def test_traditional_script_reads_like_simplified() -> None:
    simp, trad = _read("你为什么不试着跟妈妈谈谈？"), _read("妳為什麼不試著跟媽媽談談？")
    assert simp == trad


def _patterns(turns: list[tuple[str, str]]) -> list[tuple[float, float]]:
    msgs = [
        ScoringMessage(f"m{i}", Role.COUNSELOR if w == "c" else Role.CLIENT, t, float(i))
        for i, (w, t) in enumerate(turns)
    ]
    return [(p.passive, p.directive) for p in EmbeddedScorer().message_patterns(msgs)]


def test_scorer_uses_the_model_on_chinese_and_not_without_it() -> None:
    turns = [
        ("k", "最近工作压力特别大，晚上老是失眠，白天也没精神。"),
        ("c", "不如每天睡前泡个脚，再听点轻音乐放松一下。"),
        ("k", "嗯，我试过，好像没什么用。"),
        ("c", "那段时间你心里最放不下的是什么？"),
    ]
    with_model = _patterns(turns)
    suggestion, question = with_model
    assert suggestion[1] > question[1]  # the suggestion leans directive, the question does not
    assert question[0] < 0.2  # an exploring question is not passive
    msgs = [
        ScoringMessage(f"m{i}", Role.COUNSELOR if w == "c" else Role.CLIENT, t, float(i))
        for i, (w, t) in enumerate(turns)
    ]
    rules = EmbeddedScorer(use_model=False).message_patterns(msgs)
    assert [(p.passive, p.directive) for p in rules] != with_model


_TRICKY = st.sampled_from(
    list("我們說這個你好甚麼妳，。？！：；（）“”‘’ＡＢｃ１２ﬁ①㎏ｶﾞ가\u0301\u0308豈\u3000\u2019")
    + [chr(c) for c in range(0xF900, 0xF910)]
    + ["a", "B", " ", "é", "ß", "Я", "𠀀"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TRICKY, max_size=16).map("".join))
def test_normalize_equals_nfkc_then_folds(text: str) -> None:
    # `normalize` skips NFKC's full pass when nothing is left for it to do: the same result
    reference = unicodedata.normalize("NFKC", text).translate(lx._FOLD)
    reference = reference.replace("甚么", "什么").lower()
    assert lx.normalize(text) == reference


@settings(max_examples=400, deadline=None)
@given(st.lists(_TRICKY, max_size=16).map("".join))
def test_script_counts_count_letter_by_letter(text: str) -> None:
    han = latin = other = 0
    for ch in text:
        o = ord(ch)
        if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or o >= 0x20000:
            han += 1
        elif 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A or (ch.isalpha() and o <= 0x024F):
            latin += 1
        elif ch.isalpha():
            other += 1
    assert script_counts(text) == (han, latin, other)
