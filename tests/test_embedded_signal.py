"""The embedded scorer's signal: abstention, language, the learned model, scoring direction.

Written examples only (no outside data needed); the training check reads the AnnoMI copy in
tests/data (public domain).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

from alliance_monitor import Message, Role, ScoringMessage, WindowRequest
from alliance_monitor._batch import analyze_transcript
from alliance_monitor._core import MonitorCore
from alliance_monitor._events import AllianceDeclined, AllianceLow, SessionSummary, Trajectory
from alliance_monitor.scoring import EmbeddedScorer
from alliance_monitor.scoring._model import COUNSELOR_CLASSES, load_model

scorer = EmbeddedScorer()


def _msgs(*turns: tuple[str, str]) -> tuple[ScoringMessage, ...]:
    role = {"c": Role.COUNSELOR, "k": Role.CLIENT}
    return tuple(ScoringMessage(f"m{i}", role[r], t, float(i)) for i, (r, t) in enumerate(turns))


def _score(*turns: tuple[str, str]):  # type: ignore[no-untyped-def]
    return scorer.score_sync(WindowRequest("conv", 0, _msgs(*turns), max(1, len(turns) // 2)))


COLLABORATIVE = (
    ("c", "What would you like to talk about today?"),
    (
        "k",
        "My drinking, I guess. My wife says it's getting out of hand and I'm scared she's right.",
    ),
    ("c", "You're worried she might be right, and part of you wants to look at it honestly."),
    ("k", "Yeah, exactly. I've been thinking I need to cut back before it costs me my family."),
    ("c", "Your family matters a lot to you. What would cutting back look like for you?"),
    ("k", "Maybe no drinking on weeknights. I think I could do that, I really want to try."),
    ("c", "That's a clear plan, and it's your choice how to start. How does that sound to you?"),
    ("k", "It sounds good. Thank you, this actually helps me think it through."),
)
LECTURING = (
    ("c", "So how much do you drink?"),
    ("k", "Maybe four or five beers most nights."),
    ("c", "That's way too much. You need to stop drinking on weeknights, full stop."),
    ("k", "I don't think that's realistic for me right now."),
    ("c", "Trust me, you have to. Studies show it damages your liver and your family."),
    ("k", "You don't get it. I'm not here to be lectured."),
    ("c", "You should take responsibility. Cut down to two beers, starting tonight."),
    ("k", "Whatever."),
)


# --- abstention ------------------------------------------------------------------------------


def test_bland_window_is_insufficient_evidence_not_a_3() -> None:
    s = _score(*[("c", "Hello.") if i % 2 == 0 else ("k", "Hi.") for i in range(12)])
    assert s.status == "insufficient_evidence" and not s.scored
    assert s.reason == "insufficient_evidence"
    assert s.language == "en"
    assert s.evidence_count["overall"] < 3 and s.dimension_confidence["overall"] < 0.15


def test_one_short_exchange_is_insufficient_evidence() -> None:
    s = _score(("c", "What brings you here?"), ("k", "My job."))
    assert s.status == "insufficient_evidence"


def test_a_window_with_evidence_is_scored_with_confidence_per_dimension() -> None:
    s = _score(*COLLABORATIVE)
    assert s.status == "scored" and s.scored and s.language == "en"
    assert set(s.dimension_confidence) == {"goal", "task", "bond", "overall"}
    assert set(s.evidence_count) == {"goal", "task", "bond", "overall"}
    assert all(0.0 < v <= 1.0 for v in s.dimension_confidence.values())
    # a piece of evidence may speak to several dimensions: overall counts it once
    dims = [s.evidence_count[d] for d in ("goal", "task", "bond")]
    assert max(dims) <= s.evidence_count["overall"] <= sum(dims)


@pytest.mark.parametrize(
    "texts",
    [
        ("Здравствуйте, как вы себя чувствуете?", "Мне очень плохо, я не сплю уже неделю."),
        ("مرحبا، كيف حالك اليوم؟", "أشعر بالحزن الشديد منذ أسابيع."),
    ],
)
def test_a_language_the_scorer_cannot_read_is_unscored(texts: tuple[str, str]) -> None:
    s = _score(("c", texts[0]), ("k", texts[1]), ("c", texts[0]), ("k", texts[1]))
    assert s.status == "unscored" and s.reason == "unsupported_language"
    assert s.language == "other" and s.scores is None


def _feed(core: MonitorCore, conv: str, texts: list[tuple[str, str]]) -> list[object]:
    events: list[object] = []
    role = {"c": Role.COUNSELOR, "k": Role.CLIENT}
    for i, (r, t) in enumerate(texts):
        out = core.ingest(
            Message(id=f"{conv}:{i}", conversation_id=conv, role=role[r], text=t, ts=i)
        )
        for req in out.work:
            events.extend(core.apply(scorer.score_sync(req), req))
        events.extend(out.events)
    out = core.end_session(conv)
    for req in out.work:
        events.extend(core.apply(scorer.score_sync(req), req))
    events.extend(out.events)
    return events


@pytest.mark.parametrize(
    "turns",
    [
        # a strong start, then bland small talk: no decline invented from no evidence
        list(COLLABORATIVE) + [("c", "Ok.") if i % 2 == 0 else ("k", "Ok.") for i in range(40)],
        [
            ("c", "Привет, как дела?") if i % 2 == 0 else ("k", "Нормально, спасибо.")
            for i in range(40)
        ],
    ],
    ids=["bland", "foreign"],
)
def test_windows_without_evidence_never_raise_a_decline(turns: list[tuple[str, str]]) -> None:
    core = MonitorCore()
    events = _feed(core, "p", turns)
    assert not any(isinstance(e, AllianceDeclined | AllianceLow) for e in events)
    summaries = [e for e in events if isinstance(e, SessionSummary)]
    assert summaries
    if turns[0][1].startswith("Привет"):
        assert summaries[-1].trajectory is Trajectory.INSUFFICIENT_EVIDENCE


def test_batch_trajectory_is_insufficient_when_a_phase_lacks_evidence() -> None:
    turns = list(COLLABORATIVE) + [("c", "Ok.") if i % 2 == 0 else ("k", "Ok.") for i in range(16)]
    role = {"c": Role.COUNSELOR, "k": Role.CLIENT}
    msgs = [
        Message(id=f"m{i}", conversation_id="t", role=role[r], text=t, ts=float(i))
        for i, (r, t) in enumerate(turns)
    ]
    res = analyze_transcript("t", msgs, scorer)
    assert res.windows[-1].status == "insufficient_evidence"
    assert res.trajectory is Trajectory.INSUFFICIENT_EVIDENCE
    out = res.to_json()
    assert out["trajectory"] == "insufficient_evidence"
    assert out["phase_status"]["late"] == "insufficient_evidence"
    assert out["phase_confidence"]["late"]["overall"] < out["phase_confidence"]["early"]["overall"]
    assert out["language"] == "en"
    assert all(isinstance(v, float) for v in out["alliance"].values())  # numeric keys kept


# --- scoring direction on written examples ---------------------------------------------------

DISCLOSURE = ("k", "Since my dad died I can't stop crying and I feel so alone at night.")


def _passive(reply: str) -> float:
    return scorer.message_patterns(_msgs(DISCLOSURE, ("c", reply)))[-1].passive


@pytest.mark.parametrize(
    "reply",
    [
        "Don't worry, it will be fine.",
        "Ok.",
        "I hope things get better for you. Good luck!",
        "Anyway, how is work going?",
    ],
)
def test_generic_replies_to_a_disclosure_are_passive(reply: str) -> None:
    assert _passive(reply) >= 0.5


@pytest.mark.parametrize(
    "reply",
    [
        "It sounds like the nights are when you miss him most.",
        "What are the nights like for you now?",
        "Alone?",
        "You've been carrying this grief mostly on your own.",
        "Tell me more about him.",
    ],
)
def test_replies_that_ask_or_reflect_are_never_passive(reply: str) -> None:
    assert _passive(reply) < 0.5


def test_a_greeting_after_a_greeting_is_not_a_passive_response() -> None:
    p = scorer.message_patterns(_msgs(("k", "Hi."), ("c", "Hello, welcome.")))[-1]
    assert p.passive < 0.5


def test_generic_ranks_above_exploring_for_the_same_disclosure() -> None:
    generic = [_passive(r) for r in ("I'm sure you'll be ok.", "Thanks for telling me.", "Right.")]
    exploring = [
        _passive(r)
        for r in ("What do you miss most about him?", "It sounds like the grief comes in waves.")
    ]
    assert min(generic) > max(exploring)


def test_a_reflecting_statement_ranks_above_a_question_but_is_never_flagged() -> None:
    # both explore; the statement's phrase cue is the less certain reading
    statement = _passive("I can completely understand how lonely the nights must feel.")
    question = _passive("What are the nights like for you now?")
    assert question < statement < 0.5


ADVICE_ASKED = ("k", "I lost my job and I can't pay the rent this month.")


@pytest.mark.parametrize(
    "reply",
    [
        "Have you ever checked with local charities for help?",
        "What about a food bank?",
        "Is there anyone in your family who could lend you some money?",
        "Would you be able to ask your landlord for a payment plan?",
        "One thing that helped me was calling the landlord early.",
        "I have found that writing a budget really helps.",
        "Talking to a financial counselor can be really helpful.",
        "Maybe reach out to your landlord this week.",
    ],
)
def test_suggestions_asked_as_questions_or_told_as_own_experience_lean_directive(
    reply: str,
) -> None:
    p = scorer.message_patterns(_msgs(ADVICE_ASKED, ("c", reply)))[-1]
    neutral = scorer.message_patterns(
        _msgs(ADVICE_ASKED, ("c", "What has this month been like for you?"))
    )[-1]
    should = scorer.message_patterns(
        _msgs(ADVICE_ASKED, ("c", "You should call your landlord today."))
    )[-1]
    assert "suggest" in p.cues or "helps_info" in p.cues
    assert neutral.directive < p.directive < should.directive  # softer than "you should"


def test_an_exploring_reply_about_the_counselor_ranks_above_a_plain_one() -> None:
    own = _passive("I think my dad's death changed me too. What do you miss most about him?")
    plain = _passive("What do you miss most about him?")
    assert plain < own < 0.5


def test_only_advice_after_a_no_is_pushing_on() -> None:
    declined = (
        ("k", "I can't sleep since the move."),
        ("c", "You should try melatonin."),
        ("k", "No, that won't work for me."),
    )
    asks = scorer.message_patterns(_msgs(*declined, ("c", "What makes it feel wrong for you?")))
    pushes = scorer.message_patterns(_msgs(*declined, ("c", "You really need to try it.")))
    assert "pushing_on" not in asks[-1].cues and asks[-1].directive < 0.3
    assert "pushing_on" in pushes[-1].cues and pushes[-1].directive >= 0.5


@pytest.mark.parametrize("reply", ["Take care, and stay safe.", "Keep it up!", "Stay strong."])
def test_well_wishing_is_not_a_command(reply: str) -> None:
    p = scorer.message_patterns(_msgs(ADVICE_ASKED, ("c", reply)))[-1]
    assert "imperative" not in p.cues and p.directive < 0.3


def test_a_closed_question_offering_an_option_leans_directive_a_little() -> None:
    def directive(reply: str) -> float:
        return scorer.message_patterns(_msgs(ADVICE_ASKED, ("c", reply)))[-1].directive

    option = directive("Do you have any friends nearby?")
    fact = directive("Did this happen suddenly?")
    open_question = directive("What has this month been like for you?")
    assert max(fact, open_question) < option < 0.1  # orders replies, never flags


def test_collaborative_session_outscores_a_lecturing_one() -> None:
    good, bad = _score(*COLLABORATIVE), _score(*LECTURING)
    assert good.scores is not None and bad.scores is not None
    assert good.scores.overall > 3.3 > 2.7 > bad.scores.overall
    assert good.scores.bond > bad.scores.bond and good.scores.task > bad.scores.task


def test_directive_follows_the_counselors_wording() -> None:
    patterns = scorer.message_patterns(_msgs(*LECTURING))
    directive = [p.directive for p in patterns]
    assert directive[1] >= 0.5 and directive[3] >= 0.5  # "you need to stop", "cut down"
    assert directive[0] < 0.5  # a question


# --- the learned model --------------------------------------------------------------------------


def test_shipped_model_reads_counselor_moves() -> None:
    from alliance_monitor.scoring import _lexicon as lx
    from alliance_monitor.scoring._model import counselor_features, tokens

    model = load_model()
    assert model.counselor.classes == COUNSELOR_CLASSES
    assert "AnnoMI" in str(model.meta["data"])

    def top(text: str, echoes: int = 0) -> str:
        p = model.counselor.proba(counselor_features(tokens(lx.normalize(text)), echoes))
        return max(p, key=p.__getitem__)

    assert top("What do you think about cutting down?") == "question"
    assert top("So you're feeling torn between wanting to quit and enjoying it.", 2).startswith(
        "reflection"
    )


def test_rules_only_mode_still_scores() -> None:
    s = EmbeddedScorer(use_model=False).score_sync(
        WindowRequest("conv", 0, _msgs(*COLLABORATIVE), 4)
    )
    assert s.scored and s.scores is not None and s.scores.overall > 3.0


@pytest.mark.slow
def test_training_reproduces_the_shipped_weights_bit_for_bit() -> None:
    data = REPO / "tests" / "data" / "annomi.jsonl.gz"
    if not data.exists():
        pytest.skip("tests/data/annomi.jsonl.gz (AnnoMI copy) not present")
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train_embedded.py"), "--check", "--no-figures"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "bit for bit" in out.stdout


# --- study: insufficient evidence is its own category -----------------------------------------


def test_study_counts_insufficient_evidence_apart_never_as_unchanged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from alliance_monitor.study import run_study

    def transcript(cid: str, turns: list[tuple[str, str]]) -> dict[str, object]:
        role = {"c": "counselor", "k": "client"}
        return {
            "conversation_id": cid,
            "messages": [
                {"id": f"{cid}:{i}", "role": role[r], "text": t, "ts": float(i)}
                for i, (r, t) in enumerate(turns)
            ],
        }

    bland = [("c", "Hello.") if i % 2 == 0 else ("k", "Hi.") for i in range(24)]
    rows = [
        transcript("evidence", list(COLLABORATIVE) * 3),
        transcript("bland-1", bland),
        transcript("bland-2", bland),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = run_study(src, tmp_path / "out", scorer, replay=False)
    overall = summary.trajectory("overall")
    assert overall.counts["insufficient_evidence"] == 2
    assert overall.counts["unchanged"] + overall.counts["declined"] <= 1
    assert summary.excluded.get("insufficient_evidence") == 2  # not in the phase means
    level_rows = {r.group: r for r in summary.patterns_by_level}
    assert level_rows["insufficient_evidence"].n_sessions == 2
    assert level_rows["3"].n_sessions <= 1
    data = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert data["trajectories"]["overall"]["counts"]["insufficient_evidence"] == 2
    md = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "Insufficient evidence" in md
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'data-cat="insufficient_evidence"' in page and "dots-insufficient" in page
    # no evidence, no rank: pairs without evidence are never placed in an alliance third
    thirds = [r for r in summary.patterns_by_tercile if r.group != "insufficient_evidence"]
    assert sum(r.n_sessions for r in thirds) in (0, 1)
