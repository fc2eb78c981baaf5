"""Rubric v2 against a scripted server: byte-identical instructions, the running summary (carried,
redacted, bounded, surviving failures), several samples (spread kept, disagreement flagged), a model
that ignores the rubric, and Chinese windows (language stated, CJK quotes checked)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from llm_helpers import FakeLLM, completion, make_scorer, transcript_lines, valid_answer, window

from alliance_monitor import DimensionScores, MonitorCore, WindowScore
from alliance_monitor._events import WindowScored
from alliance_monitor.scoring._cascade import CascadePolicy, CascadeScorer
from alliance_monitor.scoring._llm import ITEM_IDS, LLMScorer
from alliance_monitor.scoring._prompts import load_prompt

pytestmark = pytest.mark.anyio


def answer(
    body: dict[str, Any],
    ratings: int | dict[str, int] = 4,
    *,
    summary: str | None = None,
    quote: str | None = None,
) -> httpx.Response:
    data = json.loads(valid_answer(body, ratings, quote=quote))
    if summary is not None:
        data["summary"] = summary
    return completion(json.dumps(data))


def user_of(body: dict[str, Any]) -> str:
    content: str = body["messages"][1]["content"]
    return content


# --- the fixed prefix ----------------------------------------------------------------------------


async def test_v2_is_default_and_its_system_message_is_byte_identical_across_calls() -> None:
    fake = FakeLLM([lambda b: answer(b, summary="Client wants to cut down drinking.")])
    scorer = make_scorer(fake)
    assert scorer.prompt_version == "alliance_rating.v2" and scorer.keeps_summary
    first = await scorer.score(window(index=0))
    zh = [("counselor", "你好，今天想聊些什么？"), ("client", "我最近总是睡不着，很焦虑。")]
    await scorer.score(window(index=1, history=(first,)))
    await scorer.score(window(zh, index=2, cid="c2"))
    systems = [r["messages"][0] for r in fake.requests]
    assert systems[0] == systems[1] == systems[2]
    text = systems[0]["content"]
    assert "{{" not in text and "at most 60 words" in text and "in English." in text
    assert all(f"- {i} " in text for i in ITEM_IDS)  # every item has its own rubric entry
    # everything that changes per call sits in the user message
    assert "Client wants to cut down drinking." in user_of(fake.requests[1])
    assert "Client wants to cut down drinking." not in text
    assert "Transcript language: English." in user_of(fake.requests[0])
    assert "Transcript language: Chinese" in user_of(fake.requests[2])
    assert fake.requests[0]["response_format"]["json_schema"]["schema"]["required"][-1] == "summary"


async def test_v1_still_selectable_and_settings_render_once() -> None:
    fake = FakeLLM([lambda b: completion(valid_answer(b))])
    v1 = make_scorer(fake, prompt_version="v1")
    s = await v1.score(window())
    assert s.scored and s.prompt_version == "alliance_rating.v1" and s.summary is None
    assert fake.requests[0]["messages"][0]["content"] == load_prompt("alliance_rating", "v1").text
    zh = make_scorer(FakeLLM([]), reasoning_words=120, output_language="zh")
    assert "at most 120 words" in zh.prompt.text and "简体中文" in zh.prompt.text
    other = make_scorer(FakeLLM([]), output_language="Deutsch")
    assert "in Deutsch." in other.prompt.text


# --- the running summary -------------------------------------------------------------------------


async def test_summary_is_redacted_stored_and_carried_to_the_next_window() -> None:
    said = "Goal agreed: no drinks on weekdays. Client opened up about losing his job. mail a@b.com"
    fake = FakeLLM(
        [
            lambda b: answer(b, summary=said),
            lambda b: answer(b, summary="Weekday goal holds; client tried it twice."),
        ]
    )
    scorer = make_scorer(fake)
    w0 = await scorer.score(window(index=0))
    assert w0.summary is not None and "[EMAIL]" in w0.summary and "a@b.com" not in w0.summary
    w1 = await scorer.score(window(index=1, history=(w0,)))
    carried = user_of(fake.requests[1])
    assert "Summary of the pair so far (context, not evidence): Goal agreed" in carried
    assert carried.index("Summary of the pair") < carried.index("<<<DATA-")
    assert w1.summary == "Weekday goal holds; client tried it twice."
    assert scorer.stats.summaries == 2
    # the summary persists with the pair's history (JSON round trip, as the stores do)
    again = WindowScore.model_validate_json(w1.json_text())
    assert again.summary == w1.summary


async def test_summary_over_budget_is_cut_and_counted() -> None:
    long = "The client talked about work and family and sleep and money. " * 80
    fake = FakeLLM([lambda b: answer(b, summary=long)])
    scorer = make_scorer(fake, summary_tokens=40)
    s = await scorer.score(window())
    assert s.summary is not None and scorer.counter.count(s.summary) <= 40
    assert scorer.stats.summary_truncated == 1
    # an over-long summary arriving through history is cut again before it is sent
    hist = s.model_copy(update={"summary": long})
    await scorer.score(window(index=1, history=(hist,)))
    line = next(ln for ln in user_of(fake.requests[1]).splitlines() if ln.startswith("Summary"))
    assert scorer.counter.count(line) <= 40 + 15


async def test_a_failed_window_carries_the_summary_forward() -> None:
    fake = FakeLLM([lambda b: answer(b, summary="Goal: sleep better."), completion("not json")])
    scorer = make_scorer(fake, repair=False)
    w0 = await scorer.score(window(index=0))
    w1 = await scorer.score(window(index=1, history=(w0,)))
    assert w1.status == "unscored" and w1.summary == "Goal: sleep better."
    # a valid answer without a summary keeps the earlier one too (counted)
    fake2 = FakeLLM([lambda b: completion(valid_answer(b))])
    s2 = make_scorer(fake2)
    w2 = await s2.score(window(index=2, history=(w0,)))
    assert w2.scored and w2.summary == "Goal: sleep better." and s2.stats.summary_missing == 1


async def test_cascade_keeps_the_summary_through_embedded_windows() -> None:
    fake = FakeLLM([lambda b: answer(b, summary="Goal: sleep better.")])
    llm = make_scorer(fake)
    w0 = await llm.score(window(index=0))
    from alliance_monitor.scoring._embedded import EmbeddedScorer

    cascade = CascadeScorer(EmbeddedScorer(), llm, policy=CascadePolicy(max_llm_share=0, burst=0))
    w1 = await cascade.score(window(index=1, history=(w0,)))
    assert w1.scorer == "cascade/embedded" and w1.summary == "Goal: sleep better."


def test_events_carry_the_summary_only_when_text_is_opted_in() -> None:
    req = window(index=0)
    score = WindowScore(
        conversation_id="c1",
        window_index=0,
        summary="Goal: sleep better.",
        constructs={i: 4.0 for i in ITEM_IDS},
        scores=DimensionScores(goal=4, task=4, bond=4, overall=4),
        **{
            k: v
            for k, v in req.window_fields().items()
            if k not in ("conversation_id", "window_index")
        },
    )
    for include_text, expected in ((False, None), (True, "Goal: sleep better.")):
        core = MonitorCore(safety=False, include_text=include_text)
        out = None
        for m in req.messages:
            out = core.ingest(
                {
                    "conversation_id": "c1",
                    "id": m.id,
                    "role": m.role.value,
                    "text": m.text,
                    "ts": m.ts,
                }
            )
        assert out is not None
        work = core.end_session("c1").work
        assert work
        events = core.apply(
            score.model_copy(update={"window_index": work[0].window_index}), work[0]
        )
        scored = [e for e in events if isinstance(e, WindowScored)]
        assert scored and scored[0].score.summary == expected


# --- several samples -----------------------------------------------------------------------------


async def test_disagreeing_samples_are_flagged_not_silently_averaged() -> None:
    fake = FakeLLM([lambda b: answer(b, 1), lambda b: answer(b, 5), lambda b: answer(b, 3)])
    scorer = make_scorer(fake, n_samples=3)
    s = await scorer.score(window())
    assert s.scored and s.samples_disagree and s.sample_spread is not None
    assert s.sample_spread > 1.0 and scorer.stats.samples_disagree == 1
    assert s.constructs == {i: 3.0 for i in ITEM_IDS}  # the mean is kept, but flagged
    agree_fake = FakeLLM([lambda b: answer(b, 4)])
    agree = make_scorer(agree_fake, n_samples=3)
    a = await agree.score(window())
    assert not a.samples_disagree and a.sample_spread == 0.0
    assert s.confidence < a.confidence  # the spread is part of the confidence
    one = await make_scorer(FakeLLM([lambda b: answer(b, 4)])).score(window())
    assert one.sample_spread is None and not one.samples_disagree


async def test_one_dimension_a_level_apart_is_flagged() -> None:
    low_bond = {**{i: 4 for i in ITEM_IDS}, "B1": 2, "B2": 2, "B3": 3, "B4": 3}
    fake = FakeLLM([lambda b: answer(b, 4), lambda b: answer(b, low_bond)])
    s = await make_scorer(fake, n_samples=2).score(window())
    assert s.samples_disagree and s.sample_spread is not None and s.sample_spread < 0.75


def test_samples_shorthand_in_the_factory() -> None:
    from alliance_monitor.scoring._factory import make_scorer as factory

    s = factory("llm", base_url="http://x/v1", model="m", samples=3, environ={})
    assert isinstance(s, LLMScorer) and s.n_samples == 3 and s.temperature == 0.7


# --- a model that ignores the rubric -------------------------------------------------------------


async def test_model_ignoring_the_rubric_is_unscored_with_a_reason() -> None:
    def all_fives(body: dict[str, Any]) -> httpx.Response:
        items = {i: {"reasoning": "great session", "evidence": [], "rating": 5} for i in ITEM_IDS}
        return completion(
            json.dumps(
                {
                    "ratings": items,
                    "passive": [],
                    "directive": [],
                    "suspicious": [],
                    "summary": "fine",
                }
            )
        )

    scorer = make_scorer(FakeLLM([all_fives]))
    s = await scorer.score(window())
    assert s.status == "unscored" and s.reason == "invalid_answer: unsupported_rating after repair"
    prose = make_scorer(FakeLLM([completion("The alliance looks strong overall, I'd say 4/5.")]))
    p = await prose.score(window())
    assert p.status == "unscored" and p.reason == "invalid_answer: invalid_json after repair"


# --- Chinese windows -----------------------------------------------------------------------------

ZH = [
    ("counselor", "你好，能多说说最近发生了什么吗？"),
    ("client", "我和父母吵架了，他们总觉得我不够努力。我真的很累，不想再解释了。"),
    ("counselor", "听起来你觉得被误解了，也很疲惫。"),
    ("client", "对，就是这样！谢谢你理解我。"),
]


@pytest.mark.parametrize(
    "quote",
    [
        "我真的很累，不想再解释了",  # verbatim with full-width punctuation
        "我真的很累,不想再解释了",  # half-width comma
        "我真的很累 不想再解释了",  # a space for the comma
        "我真的很累不想再解释了",  # punctuation dropped, no spaces
        "我 真 的 很 累",  # spaces inserted between characters
        "我和父母吵架了",  # plain
        "对，就是这样！谢谢你理解我。",
    ],
)
async def test_chinese_quotes_match_across_punctuation_and_spacing(quote: str) -> None:
    fake = FakeLLM([lambda b: answer(b, quote=quote, summary="来访者和父母有冲突。")])
    scorer = make_scorer(fake, repair=False)
    s = await scorer.score(window(ZH, cid="zh"))
    assert s.scored, s.reason
    assert s.language == "zh" and s.evidence and s.evidence[0].startswith("zh:")


async def test_fabricated_or_translated_chinese_quote_is_rejected() -> None:
    for quote in ("我很开心，一切都好", "I am really tired and do not want to explain"):
        fake = FakeLLM([lambda b, q=quote: answer(b, quote=q)])
        scorer = make_scorer(fake, repair=False)
        s = await scorer.score(window(ZH, cid="zh"))
        assert s.status == "unscored" and s.reason == "invalid_answer: fabricated_evidence"


async def test_chinese_window_with_chinese_output_language() -> None:
    fake = FakeLLM([lambda b: answer(b, quote="谢谢你理解我", summary="来访者感到被理解。")])
    scorer = make_scorer(fake, output_language="zh")
    s = await scorer.score(window(ZH, cid="zh"))
    assert s.scored and s.summary == "来访者感到被理解。" and s.language == "zh"
    body = fake.requests[0]
    assert (
        'Write "reasoning" and "summary" in Chinese (Simplified' in body["messages"][0]["content"]
    )
    assert "Transcript language: Chinese" in user_of(body)
    assert set(transcript_lines(body)) == {"m1", "m2", "m3", "m4"}


async def test_feedback_writer_writes_in_the_configured_language() -> None:
    from llm_helpers import make_client

    from alliance_monitor.scoring._feedback_llm import LLMFeedbackWriter

    en = LLMFeedbackWriter(make_client(FakeLLM([])))
    assert en.prompt.text == load_prompt("counselor_feedback").text  # English: unchanged
    zh = LLMFeedbackWriter(make_client(FakeLLM([])), output_language="zh")
    assert zh.prompt.text.startswith(en.prompt.text)
    assert zh.prompt.text.rstrip().endswith("in Chinese (Simplified, 简体中文).")
