"""Texts and ids at the edges (issue 20 items 3 and 7, and the small ones): a model's reply is
bounded before anything scans it, ids are compared as the platform means them, and header values
of look-alike digits are rejected cleanly."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from helpers import msg
from llm_helpers import FakeLLM, completion, make_scorer, valid_answer, window

from alliance_monitor._core import MonitorCore
from alliance_monitor._text import bound, fold, fold_mapped, normalise_id
from alliance_monitor.alerts import WebhookVerificationError, verify_webhook
from alliance_monitor.alerts._delivery import parse_retry_after
from alliance_monitor.scoring._llm import extract_json_object
from alliance_monitor.scoring._redact import basic_redactor

# --- ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    ["m\u200b1", "\u200dm1", "m1\ufeff", "m\u20601"],
)
def test_ids_differing_by_a_zero_width_character_are_one_message(variant: str) -> None:
    core = MonitorCore(safety=False)
    first = core.ingest(msg("c", 1, "client") | {"id": "m1"})
    again = core.ingest(msg("c", 1, "client") | {"id": variant})
    assert first.result.status == "accepted"
    assert again.result.status == "duplicate"
    assert again.result.message_id == variant  # the raw id is what is reported


def test_ids_differing_by_unicode_normalisation_are_one_message() -> None:
    core = MonitorCore(safety=False)
    composed, decomposed = "caf\u00e9-1", "cafe\u0301-1"
    assert core.ingest(msg("c", 1, "client") | {"id": composed}).result.status == "accepted"
    again = core.ingest(msg("c", 1, "client") | {"id": decomposed})
    assert again.result.status == "duplicate" and again.result.message_id == decomposed
    # different ids stay different: NFC, not NFKC (a full-width digit is another character)
    other = core.ingest(msg("c", 2, "client") | {"id": "caf\u00e9-\uff11"})
    assert other.result.status == "accepted"


def test_normalise_id() -> None:
    assert normalise_id("m\u200b1") == "m1"
    assert normalise_id("e\u0301") == "\u00e9"
    assert normalise_id("\u200b") == "\u200b"  # nothing but invisible: compared as it is
    assert normalise_id("plain-id") == "plain-id"


# --- header values of look-alike digits ----------------------------------------------------------


@pytest.mark.parametrize("stamp", ["\u00b9\u2077\u2070\u2070", "\uff11\uff17\uff10\uff10", "١٧٠٠"])
def test_verify_webhook_rejects_a_timestamp_of_non_ascii_digits(stamp: str) -> None:
    headers = {"webhook-id": "msg_1", "webhook-timestamp": stamp, "webhook-signature": "v1,x"}
    with pytest.raises(WebhookVerificationError, match="invalid_timestamp"):
        verify_webhook(headers, b"{}", "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now=1700.0)


def test_retry_after_of_superscript_digits_is_unreadable_not_an_error() -> None:
    assert parse_retry_after("\u00b3", 0.0) is None
    assert parse_retry_after("3", 0.0) == 3.0


# --- a model's reply is bounded before it is scanned ---------------------------------------------


@pytest.mark.anyio
async def test_a_megabyte_summary_is_bounded_before_redaction() -> None:
    seen: list[int] = []

    def redactor(text: str) -> str:
        seen.append(len(text))
        return basic_redactor(text)

    huge = "a.a." * 250_000  # 1 MB; quadratic for the old redactor

    def reply(body: dict[str, Any]) -> Any:
        return completion(json.dumps(json.loads(valid_answer(body)) | {"summary": huge}))

    scorer = make_scorer(FakeLLM([reply]), redactor=redactor, summary_tokens=40)
    s = await scorer.score(window())
    assert s.scored and s.summary is not None
    assert scorer.counter.count(s.summary) <= 40 and scorer.stats.summary_truncated == 1
    # the redactor read the transcript's messages and at most 8 characters per summary token
    assert max(seen) <= 40 * 8


def test_extract_json_object_survives_hostile_replies() -> None:
    # nesting deeper than the decoder allows is "no object", not a RecursionError
    assert extract_json_object('{"a":' * 200_000) is None
    assert extract_json_object("[" * 200_000) is None
    # many opening braces: not one decode attempt per brace (that was quadratic)
    t0 = time.perf_counter()
    assert extract_json_object("{" * 200_000) is None
    assert extract_json_object('{"a": 1, ' * 20_000) is None
    assert time.perf_counter() - t0 < 5  # minutes before; milliseconds now
    assert extract_json_object('ok {not json} here: {"a": 1}') == {"a": 1}


# --- the shared normalisation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("\uff4a\uff41\uff4e\uff45\uff20\uff45\uff58\uff0e\uff4f\uff52\uff47", "jane@ex.org"),
        ("555\u2013867\u20145309", "555-867-5309"),
        ("a\u200bb  c\t d", "ab c d"),
        ("line\r\n\n  next", "line\nnext"),
        ("\u1d0b\u026a\u029f\u029f \u1d0d\u028f\ua731\u1d07\u029f\ua730", "kill myself"),
        ("\U0001f1f0\U0001f1f2\U0001f1f8", "kms"),
        ("\U0001d424\U0001d422\U0001d425\U0001d425", "kill"),
        ("\u24da\u24d8\u24db\u24db", "kill"),
        ("\u0455u\u0456\u0441\u0456d\u0435", "suicide"),
        ("\u3164\u2800x\ufe0f", "x"),
    ],
)
def test_fold(text: str, plain: str) -> None:
    assert fold(text) == plain
    folded, origin = fold_mapped(text)
    assert folded == plain and len(origin) == len(folded) + 1


def test_fold_mapped_points_back_to_the_original() -> None:
    text = "call me:  \uff15\uff15\uff15\u2013\uff10\uff11\uff14\uff12 ok"
    folded, origin = fold_mapped(text)
    start = folded.index("555")
    end = start + len("555-0142")
    assert folded[start:end] == "555-0142"
    assert (
        text[origin[start] : origin[end - 1] + 1]
        == "\uff15\uff15\uff15\u2013\uff10\uff11\uff14\uff12"
    )


def test_bound() -> None:
    assert bound("abc", 5) == "abc" and bound("abcdef", 3) == "abc"
