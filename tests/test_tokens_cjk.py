"""Token windows count Chinese correctly: cl100k on Han text, and cuts on character boundaries."""

from __future__ import annotations

from alliance_monitor._tokens import default_counter

TEXT = "我最近总是睡不着，工作压力很大，觉得自己很失败。龘䶮𠀀 deadline 太多了"


def test_chinese_is_counted_in_tokens_not_characters_or_words() -> None:
    counter = default_counter()
    n = counter.count(TEXT)
    # cl100k: many Han characters take more than one token; the count is what the server bills,
    # well above the single "word" a space split would see and above the character count here.
    assert n == len(counter._enc.encode_ordinary(TEXT))
    assert n > len(TEXT.split()) * 5
    assert counter.count("我") >= 1 and counter.count("龘") >= 2


def test_truncate_never_splits_a_chinese_character() -> None:
    counter = default_counter()
    total = counter.count(TEXT)
    for limit in range(total + 1):
        out = counter.truncate(TEXT, limit)
        assert TEXT.startswith(out), (limit, out)
        assert "\ufffd" not in out
        assert counter.count(out) <= limit
    assert counter.truncate(TEXT, total) == TEXT
    assert counter.truncate(TEXT, 0) == ""
