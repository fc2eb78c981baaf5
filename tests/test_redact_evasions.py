"""Redaction that holds against ordinary spellings (issue 20 item 4), and in time linear in the
length of the text (item 3). The corpora are in tests/data (see tests/evasion_corpora.py)."""

from __future__ import annotations

import time

import pytest
from evasion_corpora import leaked, redaction_figures, rows

from alliance_monitor.scoring._redact import basic_redactor, find_identifiers


def test_every_evasion_of_the_corpus_is_caught_and_ordinary_text_is_left_alone() -> None:
    figures = redaction_figures(basic_redactor)
    assert figures["evasions"] >= 90 and figures["ordinary"] >= 80
    assert figures["missed"] == []
    assert figures["ordinary_changed"] == []


@pytest.mark.parametrize(
    "row", rows("redaction_evasions.jsonl"), ids=lambda r: f"{r['lang']}-{r['kind']}"
)
def test_evasion(row: dict[str, object]) -> None:
    out = basic_redactor(str(row["text"]))
    assert not [s for s in row["secrets"] if leaked(str(s), out)], out  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # what is not an identifier reaches the model exactly as written (full-width comma,
        # zero-width space, two spaces)
        ("我叫王小明，今年十六岁", "我叫[NAME]，今年十六岁"),
        ("call me on 555 – 867 – 5309,  ok?\u200b", "call me on [PHONE],  ok?\u200b"),
        ("ｍａｉｌ ｊａｎｅ＠ｅｘａｍｐｌｅ．ｏｒｇ", "ｍａｉｌ [EMAIL]"),
        ("my daughter lily won't eat", "my daughter [NAME] won't eat"),
        ("my boss kevin mcallister yelled", "my boss [NAME] yelled"),
        ("my MRN-A4821 is on the form", "my [ID] is on the form"),
        ("本人张伟，我是欧阳娜娜", "本人[NAME]，我是[NAME]"),
        ("我女儿小丽不理我", "我女儿[NAME]不理我"),
        ("微信号：zhang_san88", "微信号：[HANDLE]"),
        ("I was at school. Then I went home", "I was at school. Then I went home"),
    ],
)
def test_replacements_keep_the_rest_of_the_text(text: str, expected: str) -> None:
    assert basic_redactor(text) == expected


def test_find_identifiers_names_what_would_be_replaced() -> None:
    found = find_identifiers("mail jane.doe＠example.org, cell 555–0142, my son eli")
    assert found == [
        ("[EMAIL]", "jane.doe@example.org"),
        ("[PHONE]", "555-0142"),
        ("[NAME]", "eli"),
    ]


@pytest.mark.parametrize("unit", ["a.a.", "a@a.", "1 ", "a-", "my daughter ", "市", "@a", "a "])
def test_adversarial_text_is_redacted_in_linear_time(unit: str) -> None:
    """20,000 characters of "a.a." took 25 s before (quadratic); 200,000 now take well under
    a second per pass on one core. The bound is loose on purpose: it fails only on
    super-linear behaviour, not on a slow machine."""
    text = unit * (200_000 // len(unit))
    t0 = time.perf_counter()
    basic_redactor(text)
    assert time.perf_counter() - t0 < 20


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        # digit words with commas between the groups
        ("call me at five five five, zero one four two, eight eight", "zero one four two"),
        ("it's nine one seven; two two three, four four one", "two two three"),
        # the writer says which sign stands for "@"
        ("my email is wanglei#163.com（#换成@）", "wanglei"),
        ("write to jane_r#example.org, replace # with @", "jane_r"),
        ("邮箱 lily.chen$qq.com 把$换成@", "lily.chen"),
    ],
)
def test_spellings_the_unseen_corpus_missed_are_caught(text: str, gone: str) -> None:
    assert gone not in basic_redactor(text), basic_redactor(text)


@pytest.mark.parametrize(
    "text",
    [
        "I rated it one, two, three then four",
        "score 3, 4, 5, 2, 1, 4, 3 on the scale",
        "#blessed = @ everyone lol",
    ],
)
def test_counting_and_hashtags_are_left_alone(text: str) -> None:
    assert basic_redactor(text) == text
