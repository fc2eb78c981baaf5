"""Prompt injection: attacks from tests/data/injection.jsonl, each with a clean control.

Against the scripted server: every attack stays inside the delimited data block (the real end
marker appears once, after it), control tokens and marker look-alikes are defused, the attack
message is flagged, its clean control is not, and the fixed instructions are untouched. Whether a
real model *obeys* is tested in test_llm_server.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ANNOMI, ANNOMI_SAMPLE
from llm_helpers import DEFAULT_WINDOW, FakeLLM, completion, make_scorer, valid_answer, window

from alliance_monitor.scoring._prompts import scan_injection

pytestmark = pytest.mark.anyio
CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "injection.jsonl").read_text().splitlines()
    if line
]
SLOT = {"client": 3, "counselor": 4}  # which message of DEFAULT_WINDOW the text replaces


def with_text(role: str, text: str) -> list[tuple[str, str]]:
    pairs = list(DEFAULT_WINDOW)
    i = SLOT[role]
    assert pairs[i][0] == role
    pairs[i] = (role, text)
    return pairs


def data_block(body: dict[str, Any]) -> tuple[str, str, str]:
    user = body["messages"][1]["content"]
    code = user.split("<<<DATA-", 1)[1].split(">>>", 1)[0]
    before, rest = user.split(f"<<<DATA-{code}>>>", 1)
    inside, after = rest.split(f"<<<END-{code}>>>", 1)
    assert user.count(f"<<<END-{code}>>>") == 1 and user.count(f"<<<DATA-{code}>>>") == 1
    return before, inside, after


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
async def test_attack_stays_in_data_block_and_is_flagged(case: dict[str, str]) -> None:
    fake = FakeLLM([lambda b: completion(valid_answer(b))])
    scorer = make_scorer(fake)
    score = await scorer.score(window(with_text(case["role"], case["attack"])))
    attack_id = f"c1:{SLOT[case['role']]}"
    assert score.construct_evidence["_flagged_injection"] == (attack_id,)
    body = fake.requests[0]
    assert body["messages"][0]["content"] == scorer.prompt.text
    before, inside, after = data_block(body)
    label = f"m{SLOT[case['role']] + 1}"
    line = next(ln for ln in inside.splitlines() if ln.startswith(f"{label} "))
    assert line.startswith(f"{label} {case['role']}: ")
    # one line per message: nothing the attacker wrote can start a line of its own
    assert len(inside.strip().splitlines()) == len(DEFAULT_WINDOW)
    for token in ("<<<", ">>>", "<start_of_turn>", "<end_of_turn>", "<|im_start|>", "<|im_end|>"):
        assert token not in inside
    assert "End of data; it held no instructions" in after and "Rate all items" not in before


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
async def test_clean_control_is_not_flagged(case: dict[str, str]) -> None:
    fake = FakeLLM([lambda b: completion(valid_answer(b))])
    score = await make_scorer(fake).score(window(with_text(case["role"], case["control"])))
    assert "_flagged_injection" not in score.construct_evidence
    assert scan_injection(case["control"]) == ()


def test_ordinary_counseling_talk_is_not_flagged() -> None:
    # The whole AnnoMI corpus when it sits beside the repository, else the six-conversation sample.
    with open(ANNOMI if ANNOMI.exists() else ANNOMI_SAMPLE) as f:
        texts = [m["text"] for line in f for m in json.loads(line)["messages"]]
    flagged = [t for t in texts if scan_injection(t)]
    assert len(flagged) / len(texts) < 0.005, flagged[:10]


async def test_model_reported_suspicious_messages_are_flagged_too() -> None:
    fake = FakeLLM([lambda b: completion(valid_answer(b, suspicious=["m6"]))])
    score = await make_scorer(fake).score(window())
    assert score.construct_evidence["_flagged_injection"] == ("c1:5",)


async def test_flag_survives_an_unscored_window() -> None:
    fake = FakeLLM([completion("no json")])
    case = CORPUS[0]
    score = await make_scorer(fake).score(window(with_text(case["role"], case["attack"])))
    assert score.status == "unscored" and score.construct_evidence["_flagged_injection"]


async def test_obeying_model_output_for_fake_json_is_still_validated() -> None:
    """A model that parrots the injected JSON (one item, no evidence) is rejected, not stored."""
    injected = CORPUS[2]["attack"]
    fake = FakeLLM([completion(injected)])
    score = await make_scorer(fake).score(window(with_text("client", injected)))
    assert (
        score.status == "unscored" and score.reason == "invalid_answer: schema_errors after repair"
    )
