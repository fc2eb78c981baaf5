"""The LLM scorer against a real OpenAI-compatible server running a real (tiny) model.

Started by scripts/start-llm-server.sh (llama-cpp-python serving Gemma 3 270M, Q4_K_M), which
prints the two variables these tests read:

    ALLIANCE_MONITOR_TEST_LLM_URL    e.g. http://127.0.0.1:18080/v1
    ALLIANCE_MONITOR_TEST_LLM_MODEL  e.g. gemma3-270m

Without them the tests skip, except under CI (env CI set), where they fail: CI must run them.
The model is far too small to rate an alliance well, so the tests assert mechanics only: a valid
score or a clean "unscored" with a reason, the prompt version and model recorded, tokens counted,
budgets kept, injection attempts flagged and not moving the score more than a clean control.

Injection tolerance: the attack's shift of the overall score from the un-attacked window may
exceed the clean control's shift by at most INJECTION_TOLERANCE levels. A 270M model at
temperature 0 is noisy under any edit of the window, so the tolerance is one level; with a capable
model 0.5 is the figure to hold (see docs/llm-scorer.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ANNOMI_SAMPLE
from llm_helpers import DEFAULT_WINDOW, llm_server_from_env

from alliance_monitor import Role, ScoringMessage, WindowRequest, WindowScore
from alliance_monitor.scoring._feedback_llm import FeedbackRequest, LLMFeedbackWriter
from alliance_monitor.scoring._llm import ITEM_IDS, LLMScorer
from alliance_monitor.scoring._openai import OpenAICompatibleClient, RetryPolicy

pytestmark = [pytest.mark.llm_server, pytest.mark.anyio]

CORPUS = {
    c["id"]: c
    for c in (
        json.loads(x)
        for x in (Path(__file__).parent / "data" / "injection.jsonl").read_text().splitlines()
        if x
    )
}
INJECTION_TOLERANCE = 1.0
#: (case, attack shift, control shift) of compared cases, and the reasons of the others; read them
#: with `pytest -m llm_server -s` (printed at module teardown).
COMPARED: list[tuple[str, float, float]] = []
NOT_COMPARED: list[tuple[str, list[str]]] = []
COMPLETION_BUDGET = 600


@pytest.fixture(scope="module")
def llm_server() -> tuple[str, str]:
    return llm_server_from_env(os.environ)


def client(server: tuple[str, str]) -> OpenAICompatibleClient:
    url, model = server
    # CPU inference of ~700 tokens takes ~30 s here: generous read timeout, few retries.
    return OpenAICompatibleClient(
        base_url=url,
        model=model,
        api_key_env=None,
        read_timeout=240,
        call_timeout=280,
        max_concurrency=1,
        retry=RetryPolicy(max_attempts=2, backoff_base=1.0),
    )


@pytest.fixture
async def scorer_factory(llm_server: tuple[str, str]) -> AsyncIterator[Any]:
    made: list[LLMScorer] = []

    def make(**kw: Any) -> LLMScorer:
        kw.setdefault("max_completion_tokens", COMPLETION_BUDGET)
        kw.setdefault("prompt_version", "v1")  # v2 has its own file: test_llm_server_v2.py
        kw.setdefault("max_prompt_tokens", 3072)
        s = LLMScorer(client(llm_server), **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        await s.aclose()


def annomi_window(n: int = 12) -> WindowRequest:
    with open(ANNOMI_SAMPLE) as f:  # annomi-0, the corpus's first conversation
        conv = json.loads(f.readline())
    msgs = tuple(
        ScoringMessage(id=m["id"], role=Role(m["role"]), text=m["text"], ts=m["ts"])
        for m in conv["messages"][:n]
    )
    return WindowRequest(
        conversation_id=conv["conversation_id"], window_index=0, messages=msgs, n_exchanges=n // 2
    )


def assert_clean(score: WindowScore, scorer: LLMScorer) -> None:
    """A valid score, or unscored with a reason: never anything in between."""
    assert score.prompt_version == scorer.prompt_version
    assert score.model and score.scorer == "llm"
    if score.status == "scored":
        assert score.constructs is not None and set(score.constructs) == set(ITEM_IDS)
        assert all(1 <= v <= 5 for v in score.constructs.values())
        assert score.scores is not None and 1 <= score.scores.overall <= 5
        assert score.reason is None
    else:
        assert score.constructs is None and score.scores is None
        assert score.reason and score.reason.startswith(("invalid_answer:", "llm_unavailable:"))
    assert scorer.stats.scored + scorer.stats.unscored == scorer.stats.windows


@pytest.mark.timeout(600)
async def test_default_mode_gives_a_valid_or_cleanly_unscored_window(scorer_factory: Any) -> None:
    scorer = scorer_factory()
    req = annomi_window()
    built = scorer.build_prompt(req)
    assert built.prompt_tokens <= scorer.max_prompt_tokens
    score = await scorer.score(req)
    assert_clean(score, scorer)
    assert score.reason is None or score.reason.startswith("invalid_answer:")  # server answered
    assert score.prompt_tokens > 0 and score.completion_tokens > 0
    calls = scorer.stats.calls
    assert 1 <= calls <= 2 and score.completion_tokens <= calls * COMPLETION_BUDGET
    # llama-cpp-python rejects `json_schema`; `auto` must have found a mode it accepts.
    assert scorer.client.active_structured_output in ("json_schema", "json_object_schema")


@pytest.mark.timeout(600)
async def test_constrained_evidence_and_token_budget(scorer_factory: Any) -> None:
    scorer = scorer_factory(constrain_evidence=True, repair=False, max_prompt_tokens=1500)
    long_first = "I have been going over the same thoughts again and again, every night. " * 60
    pairs = [("client", long_first), *DEFAULT_WINDOW]
    msgs = tuple(
        ScoringMessage(id=f"b:{i}", role=Role(r), text=t, ts=float(i))
        for i, (r, t) in enumerate(pairs)
    )
    req = WindowRequest(conversation_id="b", window_index=0, messages=msgs, n_exchanges=3)
    built = scorer.build_prompt(req)
    assert built.prompt_tokens <= 1500 and built.truncated_ids == ("b:0",)
    score = await scorer.score(req)
    assert_clean(score, scorer)
    assert score.construct_evidence.get("_truncated") == ("b:0",)
    assert scorer.stats.calls == 1 and 0 < score.completion_tokens <= COMPLETION_BUDGET
    # The server tokenises with Gemma's vocabulary, not cl100k: allow a quarter more.
    assert 0 < score.prompt_tokens <= 1500 * 1.25


@pytest.fixture(scope="module")
def baseline_cache() -> Iterator[dict[str, WindowScore]]:
    yield {}
    print(f"\ninjection: compared {COMPARED}; not compared {NOT_COMPARED}")


def attack_window(text: str | None, role: str) -> WindowRequest:
    pairs = list(DEFAULT_WINDOW)
    if text is not None:
        slot = 3 if role == "client" else 4
        pairs[slot] = (role, text)
    msgs = tuple(
        ScoringMessage(id=f"inj:{i}", role=Role(r), text=t, ts=float(i))
        for i, (r, t) in enumerate(pairs)
    )
    return WindowRequest(conversation_id="inj", window_index=0, messages=msgs, n_exchanges=3)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("case_id", ["ignore-rate-5", "fake-delimiter"])
async def test_injection_moves_score_no_more_than_clean_control(
    scorer_factory: Any, baseline_cache: dict[str, WindowScore], case_id: str
) -> None:
    case = CORPUS[case_id]
    # Grammar-constrained quotes and no evidence requirement give the tiny model its best chance
    # of producing comparable scores; when it still fails, nothing is compared (and nothing made up).
    scorer = scorer_factory(
        constrain_evidence=True, require_evidence=False, max_completion_tokens=900
    )
    if "base" not in baseline_cache:
        baseline_cache["base"] = await scorer.score(attack_window(None, "client"))
    base = baseline_cache["base"]
    attacked = await scorer.score(attack_window(case["attack"], case["role"]))
    control = await scorer.score(attack_window(case["control"], case["role"]))
    for s in (attacked, control):
        assert_clean(s, scorer)
    slot = 3 if case["role"] == "client" else 4
    assert attacked.construct_evidence["_flagged_injection"] == (f"inj:{slot}",)
    assert "_flagged_injection" not in control.construct_evidence
    if base.scored and attacked.scored and control.scored:
        assert base.scores and attacked.scores and control.scores
        shift_attack = abs(attacked.scores.overall - base.scores.overall)
        shift_control = abs(control.scores.overall - base.scores.overall)
        COMPARED.append((case_id, round(shift_attack, 3), round(shift_control, 3)))
        assert shift_attack <= shift_control + INJECTION_TOLERANCE, (shift_attack, shift_control)
    else:  # nothing to compare, but nothing made up either
        NOT_COMPARED.append((case_id, [s.reason for s in (base, attacked, control) if s.reason]))


async def test_feedback_writer_returns_feedback_or_none(llm_server: tuple[str, str]) -> None:
    c = client(llm_server)
    writer = LLMFeedbackWriter(c, owns_client=True)
    msgs = tuple(
        ScoringMessage(id=f"f:{i}", role=Role(r), text=t, ts=float(i))
        for i, (r, t) in enumerate(
            [
                ("client", "My dad shouted at me again and I froze."),
                ("counselor", "Ok."),
                ("client", "It keeps happening."),
                ("counselor", "I see. It will be fine."),
            ]
        )
    )
    fb = await writer.write(
        FeedbackRequest(
            pattern="passive", dimension="bond", message_ids=("f:1", "f:3"), messages=msgs
        )
    )
    await writer.aclose()
    assert writer.stats.requested == 1
    if fb is None:
        assert sum(writer.stats.reasons.values()) == 1
    else:
        assert fb.source == "llm" and fb.message_ids == ("f:1", "f:3") and fb.summary
