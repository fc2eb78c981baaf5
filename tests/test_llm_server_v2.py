"""Rating prompt v2 against the real local llama.cpp server (see test_llm_server.py for setup).

Mechanics only, as for v1: the bundled 270M model cannot rate an alliance, so every test accepts a
valid score or a clean "unscored" with a reason, and checks what the scorer controls: the prompt
sent (summary carried, language stated, budgets kept), tokens counted from the server's usage,
the sample spread, the summary carried forward, and the answer-length parameter actually honoured.
The server runs with a 4,096-token context (scripts/start-llm-server.sh): prompt plus answer stay
under it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from llm_helpers import DEFAULT_WINDOW, llm_server_from_env, window
from test_llm_server import annomi_window, assert_clean, client

from alliance_monitor.scoring._llm import LLMScorer
from alliance_monitor.scoring._openai import OpenAICompatibleClient, RetryPolicy

pytestmark = [pytest.mark.llm_server, pytest.mark.anyio]

PROMPT_BUDGET = 2600
COMPLETION_BUDGET = 1200


@pytest.fixture(scope="module")
def llm_server() -> tuple[str, str]:
    return llm_server_from_env(os.environ)


@pytest.fixture
async def make(llm_server: tuple[str, str]) -> AsyncIterator[Any]:
    made: list[LLMScorer] = []

    def build(**kw: Any) -> LLMScorer:
        kw.setdefault("max_prompt_tokens", PROMPT_BUDGET)
        kw.setdefault("max_completion_tokens", COMPLETION_BUDGET)
        kw.setdefault("constrain_evidence", True)  # the tiny model's best chance of real quotes
        s = LLMScorer(client(llm_server), **kw)
        made.append(s)
        return s

    yield build
    for s in made:
        await s.aclose()


@pytest.mark.timeout(900)
async def test_v2_window_then_summary_carried_to_the_next(make: Any) -> None:
    scorer = make()
    assert scorer.prompt_version == "alliance_rating.v2"
    first = annomi_window(12)
    w0 = await scorer.score(first)
    assert_clean(w0, scorer)
    assert w0.prompt_tokens > 0 and w0.language == "en"
    if w0.scored:
        assert w0.completion_tokens > 0
        assert w0.summary is None or scorer.counter.count(w0.summary) <= scorer.summary_tokens
    # the next window sees the summary (when the model wrote one) in its prompt, never in the
    # fixed system message
    nxt = window(index=1, history=(w0,), cid=first.conversation_id)
    built = scorer.build_prompt(nxt)
    assert built.messages[0]["content"] == scorer.prompt.text
    if w0.summary:
        assert w0.summary[:40] in built.messages[1]["content"]
    w1 = await scorer.score(nxt)
    assert_clean(w1, scorer)
    if w0.summary:  # carried forward or replaced, never lost
        assert w1.summary
    assert scorer.stats.calls <= 4


@pytest.mark.timeout(900)
async def test_v2_two_samples_keep_their_spread(make: Any) -> None:
    scorer = make(n_samples=2, min_valid_samples=1, repair=False)
    s = await scorer.score(window(DEFAULT_WINDOW))
    assert_clean(s, scorer)
    assert scorer.stats.calls == 2
    if s.scored and scorer.stats.samples_invalid == {}:
        assert s.sample_spread is not None and s.sample_spread >= 0
        assert s.samples_disagree == (scorer.stats.samples_disagree == 1)


ZH_WINDOW = [
    ("counselor", "你好，今天想聊些什么？"),
    ("client", "我最近总是睡不着，工作压力很大，和男朋友也经常吵架。"),
    ("counselor", "听起来你同时承受着工作和感情两方面的压力，能多说说吵架的时候发生了什么吗？"),
    ("client", "他总说我太敏感。我觉得没人理解我。"),
    ("counselor", "被说太敏感的时候，你心里是什么感觉？"),
    ("client", "很委屈，也有点生气。谢谢你愿意听我说。"),
]


@pytest.mark.timeout(900)
async def test_chinese_window_valid_or_cleanly_unscored(make: Any) -> None:
    scorer = make(output_language="zh")
    req = window(ZH_WINDOW, cid="zh")
    built = scorer.build_prompt(req)
    assert "Transcript language: Chinese" in built.messages[1]["content"]
    assert "简体中文" in built.messages[0]["content"]
    s = await scorer.score(req)
    assert_clean(s, scorer)
    assert s.language == "zh" and s.prompt_tokens > 0
    if s.scored:  # any evidence it kept was checked against the Chinese text
        assert all(mid.startswith("zh:") for mid in s.evidence)


@pytest.mark.timeout(1500)
async def test_answer_cap_is_honoured_by_the_real_server(llm_server: tuple[str, str]) -> None:
    """`auto` sends ``max_tokens`` to a local server, and the server honours it. Sent the new
    name, llama-cpp-python ignores it: `auto` notices from the usage and falls back. The answer
    is bounded by a grammar (a short string) so that an ignored cap can never run to the end of
    the context on the shared server."""
    url, model = llm_server
    # Generous timeouts: the shared server may be busy with another client's long answer.
    c = OpenAICompatibleClient(
        base_url=url,
        model=model,
        api_key_env=None,
        read_timeout=600,
        call_timeout=700,
        retry=RetryPolicy(max_attempts=2),
        stream=False,  # the usage of a whole answer (llama-cpp-python streams carry none)
    )
    msgs = [
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "Name a colour and a fruit, in the field answer."},
    ]
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["answer"],
        "properties": {"answer": {"type": "string", "minLength": 20, "maxLength": 40}},
    }
    assert c.active_token_param == "max_tokens"
    capped = await c.chat(msgs, max_tokens=4, schema=schema)
    assert capped.completion_tokens is not None and capped.completion_tokens <= 4
    # As a client for an OpenAI host would start (the private switch stands in for the host).
    c._token_key = "max_completion_tokens"
    first = await c.chat(msgs, max_tokens=4, schema=schema)
    assert first.completion_tokens is not None
    if first.completion_tokens > 4:  # ignored, as llama-cpp-python does today
        assert c.active_token_param == "max_tokens" and c.stats.token_param_fallbacks == 1
        second = await c.chat(msgs, max_tokens=4, schema=schema)
        assert second.completion_tokens is not None and second.completion_tokens <= 4
    await c.aclose()


@pytest.mark.timeout(1800)
async def test_phase_rating_at_session_end(make: Any) -> None:
    """A live session ends; its thirds are rated as phases by the real model, or the window
    summary stands with the reason counted: never a made-up phase."""
    from alliance_monitor import ScoringPolicy, WindowPolicy
    from alliance_monitor._events import EventType, SessionSummary
    from alliance_monitor._monitor import Monitor
    from alliance_monitor.testing import EventCollector

    scorer = make(repair=False)
    col = EventCollector()
    monitor = Monitor(
        scorer=scorer,
        window=WindowPolicy(max_exchanges=3),
        idle_check_interval=None,
        scoring=ScoringPolicy(workers=1, session_scoring="phases", overload="wait", timeout=600),
    )
    async with monitor:
        monitor.on(col)
        for i, (role, text) in enumerate(DEFAULT_WINDOW):
            await monitor.ingest(
                {
                    "conversation_id": "ph",
                    "id": f"ph:{i}",
                    "role": role,
                    "text": text,
                    "ts": 1_700_000_000.0 + 20 * i,
                }
            )
        await monitor.end_session("ph")
        await monitor.flush()
        stats = monitor.stats()
    (summary,) = col.of(EventType.SESSION_SUMMARY)
    assert isinstance(summary, SessionSummary)
    fallbacks = {k: v for k, v in stats.items() if k.startswith("phases_fallback_")}
    if summary.phase_convention == "rated_phases":
        assert stats["phases_rated"] == 1 and not fallbacks
        for p in (summary.phases.early, summary.phases.middle, summary.phases.late):
            assert 1 <= p.overall <= 5
    else:
        assert sum(fallbacks.values()) == 1 and stats.get("phases_rated", 0) == 0
    # one rolling window plus at most three phase calls (one per phase, no repair), and at most
    # two more when an end third too thin to rate was cut again on evidence
    again = stats.get("phases_split_on_evidence", 0)
    assert 1 <= scorer.stats.windows <= 4 + 2 * again
    assert scorer.stats.calls == scorer.stats.windows
