"""CascadeScorer routing and budget, the factory, redactors, prompt files, LLM feedback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from llm_helpers import FakeLLM, completion, make_client, make_scorer, msg, valid_answer, window

from alliance_monitor import (
    ConfigError,
    DimensionScores,
    MessagePattern,
    ScorerUnavailable,
    WindowRequest,
    WindowScore,
)
from alliance_monitor.scoring._base import Scorer, SyncScorer
from alliance_monitor.scoring._cascade import CascadePolicy, CascadeScorer
from alliance_monitor.scoring._factory import make_scorer as factory
from alliance_monitor.scoring._feedback_llm import FeedbackRequest, LLMFeedbackWriter
from alliance_monitor.scoring._llm import ITEM_IDS, LLMScorer, RatingAnswer
from alliance_monitor.scoring._prompts import load_prompt, load_schema
from alliance_monitor.scoring._redact import basic_redactor, chain_redactors, presidio_redactor

pytestmark = pytest.mark.anyio


class Fixed(SyncScorer):
    """An embedded stand-in returning a chosen level and confidence."""

    name = "embedded"

    def __init__(
        self, level: float = 3.5, confidence: float = 0.9, patterns: tuple[MessagePattern, ...] = ()
    ) -> None:
        self.level, self.confidence, self.patterns = level, confidence, patterns

    def score_sync(self, request: WindowRequest) -> WindowScore:
        c = {i: self.level for i in ITEM_IDS}
        return WindowScore(
            conversation_id=request.conversation_id,
            window_index=request.window_index,
            constructs=c,
            scores=DimensionScores.from_constructs(c),
            confidence=self.confidence,
            messages=self.patterns,
            scorer="embedded",
        )


def scored(index: int, level: float) -> WindowScore:
    c = {i: level for i in ITEM_IDS}
    return WindowScore(
        conversation_id="c1",
        window_index=index,
        constructs=c,
        scores=DimensionScores.from_constructs(c),
    )


def llm(fake: FakeLLM, **kw: Any) -> LLMScorer:
    return make_scorer(fake, **kw)


def ok() -> Any:
    return lambda b: completion(valid_answer(b, ratings=2))


async def test_confident_window_stays_embedded_without_a_call() -> None:
    fake = FakeLLM([ok()])
    cascade = CascadeScorer(Fixed(confidence=0.9), llm(fake))
    score = await cascade.score(window())
    assert fake.requests == [] and score.scorer == "cascade/embedded"
    assert cascade.decisions[-1].outcome == "embedded" and not cascade.decisions[-1].called_llm
    assert "_cascade" not in score.construct_evidence


async def test_low_confidence_goes_to_llm_and_is_recorded() -> None:
    fake = FakeLLM([ok()])
    cascade = CascadeScorer(
        Fixed(confidence=0.1), llm(fake), policy=CascadePolicy(max_llm_share=1.0)
    )
    score = await cascade.score(window())
    assert len(fake.requests) == 1 and score.scorer == "cascade/llm"
    assert score.constructs == {i: 2.0 for i in ITEM_IDS}
    assert score.construct_evidence["_cascade"] == ("low_confidence", "outcome:llm")
    d = cascade.decisions[-1]
    assert d.called_llm and d.triggers == ("low_confidence",) and d.window_index == 0
    assert cascade.stats.llm_tokens == 150


async def test_boundary_decline_and_pattern_triggers() -> None:
    cascade = CascadeScorer(Fixed(level=3.0), llm(FakeLLM([ok()])))
    req = window(kind="final", history=(scored(0, 4.0), scored(1, 3.9)))
    base = Fixed(level=3.0).score_sync(req)
    assert cascade.triggers(req, base) == ("boundary", "possible_decline")
    pats = tuple(MessagePattern(id=f"c1:{i}", passive=0.9, directive=0.0) for i in (0, 2))
    base2 = Fixed(patterns=pats).score_sync(window())
    assert cascade.triggers(window(), base2) == ("pattern",)
    base3 = Fixed(level=2.0).score_sync(window())
    assert "low" in cascade.triggers(window(), base3)


async def test_budget_share_limits_calls() -> None:
    fake = FakeLLM([ok()])
    cascade = CascadeScorer(
        Fixed(confidence=0.1, level=2.0),
        llm(fake),
        policy=CascadePolicy(max_llm_share=0.1, burst=1),
    )
    for i in range(40):
        await cascade.score(window(index=i))
    assert cascade.stats.llm_calls <= 0.1 * 40 + 1 and cascade.stats.over_budget > 0
    assert len(fake.requests) == cascade.stats.llm_calls
    over = [d for d in cascade.decisions if d.outcome == "over_budget"]
    assert over and all(not d.called_llm for d in over)


async def test_absolute_call_and_token_caps() -> None:
    fake = FakeLLM([ok()])
    cascade = CascadeScorer(
        Fixed(level=2.0), llm(fake), policy=CascadePolicy(max_llm_share=1.0, max_calls=2)
    )
    for i in range(5):
        await cascade.score(window(index=i))
    assert cascade.stats.llm_calls == 2
    fake2 = FakeLLM([ok()])
    c2 = CascadeScorer(
        Fixed(level=2.0), llm(fake2), policy=CascadePolicy(max_llm_share=1.0, max_tokens=100)
    )
    for i in range(5):
        await c2.score(window(index=i))
    assert c2.stats.llm_calls == 1  # the first call spent 150 tokens > 100


async def test_llm_failure_falls_back_to_embedded_and_is_counted() -> None:
    fake = FakeLLM([completion("nonsense")])
    cascade = CascadeScorer(Fixed(level=2.0), llm(fake), policy=CascadePolicy(max_llm_share=1.0))
    score = await cascade.score(window())
    assert score.scored and score.constructs == {i: 2.0 for i in ITEM_IDS}
    assert score.scorer == "cascade/embedded" and cascade.stats.llm_failed == 1
    assert cascade.decisions[-1].outcome == "llm_failed"
    assert cascade.decisions[-1].llm_reason == "invalid_answer: invalid_json after repair"


async def test_llm_raising_unavailable_falls_back() -> None:
    class Down(Scorer):
        async def score(self, request: WindowRequest) -> WindowScore:
            raise ScorerUnavailable("connection refused")

    cascade = CascadeScorer(Fixed(level=2.0), Down(), policy=CascadePolicy(max_llm_share=1.0))
    score = await cascade.score(window())
    assert score.scored and cascade.decisions[-1].llm_reason == "connection refused"


async def test_embedded_patterns_kept_when_llm_gives_none() -> None:
    pats = tuple(MessagePattern(id=f"c1:{i}", passive=0.9, directive=0.0) for i in (0, 2, 4))
    fake = FakeLLM([ok()])
    cascade = CascadeScorer(
        Fixed(patterns=pats), llm(fake), policy=CascadePolicy(max_llm_share=1.0)
    )
    score = await cascade.score(window())
    assert score.scorer == "cascade/llm" and score.messages == pats


# --- factory -------------------------------------------------------------------------------------


async def test_factory_kinds_and_options() -> None:
    s = factory(
        "llm",
        base_url="http://x/v1",
        model="m",
        n_samples=3,
        max_retries=2,
        requests_per_minute=60,
        redactor="none",
        read_timeout=30.0,
    )
    assert isinstance(s, LLMScorer) and s.n_samples == 3 and s.client.retry.max_attempts == 2
    assert s.client.base_url == "http://x/v1" and s.redactor("a@b.com") == "a@b.com"
    await s.aclose()
    c = factory("cascade", base_url="http://x/v1", model="m", max_llm_share=0.05)
    assert isinstance(c, CascadeScorer) and c.policy.max_llm_share == 0.05
    assert c.embedded.name == "embedded"
    await c.aclose()
    assert factory("embedded").name == "embedded"
    with pytest.raises(ConfigError, match="base_url and model"):
        factory("llm")
    with pytest.raises(ConfigError, match="unknown scorer option"):
        factory("llm", base_url="http://x/v1", model="m", temprature=0.1)
    with pytest.raises(ConfigError, match="unknown scorer kind"):
        factory("gpt", base_url="http://x/v1", model="m")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        factory("embedded", n_samples=3)


async def test_feedback_writer_factory() -> None:
    from alliance_monitor.scoring._factory import make_feedback_writer

    w = make_feedback_writer(
        base_url="http://x/v1", model="m", max_completion_tokens=200, read_timeout=20.0
    )
    assert w.max_completion_tokens == 200 and w.prompt_version == "counselor_feedback.v1"
    await w.aclose()
    with pytest.raises(ConfigError):
        make_feedback_writer(base_url="http://x/v1", model="m", n_samples=2)


async def test_factory_reads_key_from_named_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOM_LLM_KEY", "sk-xyz")
    s = factory("llm", base_url="http://x/v1", model="m", api_key_env="CUSTOM_LLM_KEY")
    assert isinstance(s, LLMScorer) and s.client.has_api_key and "sk-xyz" not in repr(s)
    await s.aclose()


# --- redaction -----------------------------------------------------------------------------------


def test_basic_redactor() -> None:
    text = (
        "Email me: a.b+c@mail.example.co.uk, call 0151 496 0000 or +44 7700 900123, "
        "visit www.example.com/x or https://t.co/abc?x=1. Patient 12345678. "
        "In 2019 at 10:30 I was 34."
    )
    out = basic_redactor(text)
    assert out == (
        "Email me: [EMAIL], call [PHONE] or [PHONE], visit [URL] or [URL]. "
        "Patient [NUMBER]. In 2019 at 10:30 I was 34."
    )
    assert chain_redactors(basic_redactor, str.upper)("x@y.org hi") == "[EMAIL] HI"


def test_presidio_guard_names_the_extra() -> None:
    try:
        import presidio_analyzer  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"alliance-monitor\[presidio\]"):
            presidio_redactor()
    else:  # pragma: no cover - only where the extra is installed
        pytest.skip("presidio installed")


# --- prompt files --------------------------------------------------------------------------------


def test_prompt_files_ship_and_match_the_validator() -> None:
    rating = load_prompt("alliance_rating")
    assert rating.id == "alliance_rating.v1" and "G1" in rating.text and "B4" in rating.text
    assert load_prompt("counselor_feedback").id == "counselor_feedback.v1"
    schema = load_schema("alliance_rating")
    assert schema["properties"]["ratings"]["required"] == list(ITEM_IDS)
    item = schema["$defs"]["item"]
    assert list(item["properties"]) == ["reasoning", "evidence", "rating"]  # reasoning first
    assert set(schema["properties"]) == set(RatingAnswer.model_fields) - {"summary"}
    v2 = load_schema("alliance_rating", "v2")
    assert set(v2["properties"]) == set(RatingAnswer.model_fields)
    assert list(v2["$defs"]["item"]["properties"]) == ["reasoning", "evidence", "rating"]
    assert v2["required"][-1] == "summary"
    with pytest.raises(ConfigError):
        load_prompt("alliance_rating", "v999")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_prompt_is_our_own_wording(version: str) -> None:
    text = load_prompt("alliance_rating", version).text.lower()
    # Phrases of the published WAI-O-S items must not appear verbatim.
    for phrase in (
        "there is a mutual liking between",
        "the client and therapist agree about",
        "the client feels that the therapist appreciates",
        "the client and therapist are working on mutually agreed upon goals",
        "the client believes the way they are working with his/her problem is correct",
        "the client feels confident in the therapist's ability to help",
        "there is a good understanding between the client and therapist",
    ):
        assert phrase not in text


# --- LLM feedback --------------------------------------------------------------------------------

FEEDBACK_WINDOW = (
    msg(0, "client", "My dad shouted at me again and I just froze."),
    msg(1, "counselor", "Ok."),
    msg(2, "client", "I don't know, it keeps happening."),
    msg(3, "counselor", "I see. It will be fine."),
)


def fb_request(**kw: Any) -> FeedbackRequest:
    base: dict[str, Any] = dict(
        pattern="passive", dimension="bond", message_ids=("c1:1", "c1:3"), messages=FEEDBACK_WINDOW
    )
    base.update(kw)
    return FeedbackRequest(**base)


def fb_reply(summary: str, suggestion: str) -> httpx.Response:
    return completion(json.dumps({"summary": summary, "suggestion": suggestion}))


async def test_llm_feedback_is_specific_and_maps_labels_to_ids() -> None:
    fake = FakeLLM(
        [
            fb_reply(
                "In [m2] and [m4] you answered with brief acknowledgements right after the client "
                "described a frightening moment; this passive pattern can weaken the bond.",
                "Next time reflect the feeling and invite more: 'That sounds scary. What happens for "
                "you when he shouts?'",
            )
        ]
    )
    writer = LLMFeedbackWriter(make_client(fake))
    fb = await writer.write(fb_request())
    assert fb is not None and fb.source == "llm" and fb.pattern == "passive"
    assert fb.dimension == "bond" and fb.message_ids == ("c1:1", "c1:3")
    assert "[c1:1]" in fb.summary and "[m2]" not in fb.summary and fb.quotes == ()
    body = fake.requests[0]
    assert body["messages"][0]["content"] == load_prompt("counselor_feedback").text
    assert "Flagged counselor messages: m2, m4" in body["messages"][1]["content"]
    assert body["response_format"] == {"type": "json_object"}


async def test_llm_feedback_rejects_vague_or_copied_or_broken_answers() -> None:
    cases = [
        fb_reply("Try to be more empathic.", "Be supportive."),  # cites no message
        fb_reply("In [m9] you were passive.", "Ask an open question."),  # unknown label
        fb_reply(
            "In [m2] the client said my dad shouted at me again and I just froze.",
            "Ask what that was like.",
        ),  # copies client text
        completion("not json"),
        httpx.Response(503),
    ]
    for reply in cases:
        fake = FakeLLM([reply])
        writer = LLMFeedbackWriter(make_client(fake))
        assert await writer.write(fb_request()) is None
    assert writer.stats.unavailable == 1


async def test_llm_feedback_quotes_only_when_opted_in() -> None:
    fake = FakeLLM(
        [
            fb_reply(
                "In [m2] you replied with a minimal acknowledgement.",
                "Reflect and ask: 'What was that like?'",
            )
        ]
    )
    fb = await LLMFeedbackWriter(make_client(fake)).write(fb_request(include_quotes=True))
    assert fb is not None and fb.quotes == ("Ok.", "I see. It will be fine.")


def test_real_server_tests_skip_locally_but_fail_under_ci() -> None:
    from llm_helpers import llm_server_from_env

    with pytest.raises(pytest.skip.Exception):
        llm_server_from_env({})
    with pytest.raises(pytest.fail.Exception):
        llm_server_from_env({"CI": "true"})
    url = "http://127.0.0.1:1/v1"
    assert llm_server_from_env({"ALLIANCE_MONITOR_TEST_LLM_URL": url, "CI": "1"}) == (
        url,
        "gemma3-270m",
    )


async def test_windows_the_embedded_scorer_abstained_on_can_reach_the_llm() -> None:
    cascade = CascadeScorer(Fixed(), llm(FakeLLM([ok()])))
    req = window()
    fields = req.window_fields()
    bland = WindowScore(
        status="insufficient_evidence", scorer="embedded", **{**fields, "n_exchanges": 3}
    )
    assert cascade.triggers(req, bland) == ("low_confidence",)
    short = WindowScore(
        status="insufficient_evidence", scorer="embedded", **{**fields, "n_exchanges": 1}
    )
    assert cascade.triggers(req, short) == ()  # too little for any reader
    foreign = WindowScore.unscored(req, "unsupported_language", "embedded")
    assert cascade.triggers(req, foreign) == ("unsupported_language",)
    broken = WindowScore.unscored(req, "scorer_error", "embedded")
    assert cascade.triggers(req, broken) == ()
