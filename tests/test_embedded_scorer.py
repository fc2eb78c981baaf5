"""The embedded scorer: patterns judged in context, construct directions, determinism, calibration."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from alliance_monitor import CONSTRUCTS, Role, ScoringMessage, WindowRequest, WindowScore
from alliance_monitor.scoring import EmbeddedScorer, SyncScorer
from alliance_monitor.scoring import _lexicon as lx

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "annomi.jsonl"
if not DATA.exists():  # the AnnoMI copy shipped with the tests (public domain)
    DATA = ROOT / "tests" / "data" / "annomi.jsonl.gz"
ALL = [c for ids in CONSTRUCTS.values() for c in ids]

scorer = EmbeddedScorer()


def _msgs(*turns: tuple[str, str]) -> tuple[ScoringMessage, ...]:
    """("c" | "k", text) pairs -> messages m0, m1, ... (c = counselor, k = client)."""
    return tuple(
        ScoringMessage(f"m{i}", Role.COUNSELOR if who == "c" else Role.CLIENT, text, float(i))
        for i, (who, text) in enumerate(turns)
    )


def _score(*turns: tuple[str, str], **kw: object) -> WindowScore:
    msgs = _msgs(*turns)
    return scorer.score_sync(WindowRequest("conv", 0, msgs, len(msgs) // 2, **kw))  # type: ignore[arg-type]


def _last(*turns: tuple[str, str]) -> tuple[float, float, tuple[str, ...]]:
    """(passive, directive, cues) of the last counselor message, judged in context."""
    p = scorer.message_patterns(_msgs(*turns))[-1]
    return p.passive, p.directive, p.cues


DISCLOSURE = ("k", "My wife left last month and I feel like a complete failure. I can't sleep.")

WARM = (
    DISCLOSURE,
    ("c", "It sounds like her leaving has hit you hard, and you're being tough on yourself. "
          "What has this week been like?"),
    ("k", "Exactly. It's been awful, I drink to get through the evenings. I want to get back on "
          "track though."),
    ("c", "You want to get back on track. What would that look like for you?"),
    ("k", "I'd like to stop drinking on weeknights and start running again like I used to."),
    ("c", "That took courage to say. Would it be ok if I shared what others have tried? You can "
          "take what fits."),
    ("k", "Sure, that would help."),
    ("c", "Some people plan the evening ahead. What do you think would work for you?"),
    ("k", "I'm going to call my brother after work instead. Thank you, this really helps."),
    ("c", "That's a great plan, and it's your choice how to start."),
)  # fmt: skip

DISMISSIVE = (
    DISCLOSURE,
    ("c", "You need to stop drinking. Trust me, it's the only way."),
    ("k", "I can't just stop, it's not that simple."),
    ("c", "That's just an excuse. You have to take responsibility."),
    ("k", "You don't understand. You're not listening to me."),
    ("c", "Listen to me. If you keep drinking you'll lose your job too."),
    ("k", "Whatever."),
    ("c", "You should go to meetings every day."),
    ("k", "I don't know."),
    ("c", "Ok."),
)


# --- the scorer's contract ------------------------------------------------------------------


def test_is_a_sync_scorer_with_name_and_version() -> None:
    assert isinstance(scorer, SyncScorer)
    assert scorer.name == "embedded"
    assert isinstance(scorer.version, str) and scorer.version


def test_window_metadata_is_copied_from_the_request() -> None:
    msgs = _msgs(*WARM)
    req = WindowRequest("conv-7", 3, msgs, 5, kind="final", merged_from=(1, 2))
    s = scorer.score_sync(req)
    assert s.status == "scored" and s.scored
    assert (s.conversation_id, s.window_index, s.merged_from) == ("conv-7", 3, (1, 2))
    assert (s.n_messages, s.n_exchanges) == (len(msgs), 5)
    assert (s.first_message_id, s.last_message_id) == ("m0", f"m{len(msgs) - 1}")
    assert (s.start_ts, s.end_ts) == (0.0, float(len(msgs) - 1))
    assert (s.scorer, s.model) == ("embedded", None)
    assert s.prompt_version == f"embedded-{scorer.version}"


def test_all_twelve_constructs_on_the_1_to_5_scale() -> None:
    for turns in (WARM, DISMISSIVE, WARM[:2], DISMISSIVE[:3], (("c", "Hi"),)):
        s = _score(*turns)
        assert s.constructs is not None and s.scores is not None
        assert sorted(s.constructs) == sorted(ALL)
        assert all(1.0 <= v <= 5.0 for v in s.constructs.values())
        assert 0.0 <= s.confidence <= 1.0


def test_empty_window_is_neutral_with_zero_confidence() -> None:
    s = scorer.score_sync(WindowRequest("conv", 0, (), 0))
    assert s.constructs == dict.fromkeys(ALL, 3.0)
    assert s.scores is not None and s.scores.overall == 3.0
    assert s.confidence == 0.0
    assert s.messages == () and s.evidence == ()
    assert s.first_message_id is None and s.start_ts is None


def test_one_pattern_per_counselor_message() -> None:
    msgs = _msgs(*WARM)
    s = scorer.score_sync(WindowRequest("conv", 0, msgs, 5))
    counselor_ids = [m.id for m in msgs if m.role is Role.COUNSELOR]
    assert [p.id for p in s.messages] == counselor_ids
    assert list(s.messages) == scorer.message_patterns(msgs)
    assert all(0.0 <= p.passive <= 1.0 and 0.0 <= p.directive <= 1.0 for p in s.messages)


def test_evidence_points_at_messages_of_the_window() -> None:
    s = _score(*DISMISSIVE)
    ids = {f"m{i}" for i in range(len(DISMISSIVE))}
    assert s.evidence and set(s.evidence) <= ids
    assert set(s.construct_evidence) <= set(ALL)
    assert {i for v in s.construct_evidence.values() for i in v} == set(s.evidence)
    assert "m3" in s.construct_evidence["B3"]  # "That's just an excuse": against respect


def test_deterministic_across_calls_and_hash_seeds() -> None:
    first = _score(*WARM).model_dump()
    assert _score(*WARM).model_dump() == first
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.test_embedded_scorer import _score, WARM;"
        "print(json.dumps(_score(*WARM).model_dump(), sort_keys=True))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == json.loads(json.dumps(first, sort_keys=True))


# --- dimension directions ------------------------------------------------------------------


def test_warm_collaborative_window_beats_dismissive_one() -> None:
    warm, cold = _score(*WARM).scores, _score(*DISMISSIVE).scores
    assert warm is not None and cold is not None
    for dim in ("goal", "task", "bond", "overall"):
        assert warm.get(dim) > 3.0 > cold.get(dim), dim
    assert warm.bond - cold.bond >= 1.0


def test_client_reactions_move_the_constructs() -> None:
    base = (("c", "What brings you in today?"),)
    agree = _score(*base, ("k", "Exactly, that's right. Thank you, that really helps."))
    discord = _score(*base, ("k", "You don't get it. Stop lecturing me, this is pointless."))
    assert agree.constructs is not None and discord.constructs is not None
    for c in ("B2", "T2"):
        assert agree.constructs[c] > 3.0 > discord.constructs[c]


def test_change_talk_is_evidence_for_goal_g4() -> None:
    s = _score(("c", "What would you like to be different?"), ("k", "I really want to quit."))
    assert s.constructs is not None and s.constructs["G4"] > 3.0


def test_confusion_about_aims_is_evidence_against_g1() -> None:
    s = _score(("c", "So, tell me."), ("k", "I don't know why I'm here. What's the point of this?"))
    assert s.constructs is not None and s.constructs["G1"] < 3.0


# --- per-message patterns, judged in context -----------------------------------------------


def test_advice_without_permission_is_directive() -> None:
    _, directive, cues = _last(
        ("k", "I've been drinking most nights."), ("c", "You should stop drinking right away.")
    )
    assert directive >= 0.5 and "advise" in cues


def test_imperative_and_warning_are_directive() -> None:
    assert (
        _last(("k", "I smoke a pack a day."), ("c", "Cut down to five. Do it this week."))[1] >= 0.5
    )
    _, directive, _ = _last(
        ("k", "I drink a lot."),
        ("c", "You must stop. If you keep drinking you'll lose your liver."),
    )
    assert directive >= 0.8


def test_advice_after_permission_was_given_is_not_directive() -> None:
    passive, directive, cues = _last(
        ("k", "I keep drinking every night."),
        ("c", "Would it be ok if I shared an idea that has worked for others?"),
        ("k", "Sure."),
        ("c", "You should try to keep alcohol out of the house on weeknights."),
    )
    assert directive < 0.5 and "after_permission" in cues
    assert passive < 0.5


def test_advice_the_client_asked_for_is_not_directive() -> None:
    _, directive, cues = _last(
        ("k", "What should I do? Any advice?"),
        ("c", "I'd recommend starting with one alcohol-free day a week."),
    )
    assert directive < 0.5 and "asked_for" in cues


def test_suggestion_with_choice_in_the_same_message_is_not_directive() -> None:
    _, directive, _ = _last(
        ("k", "Mornings are hard."),
        ("c", "You could try a short walk before work. It's completely up to you."),
    )
    assert directive < 0.5


def test_pushing_on_after_the_client_declines_is_more_directive() -> None:
    offer = ("c", "Would you like to hear about nicotine patches?")
    advice = ("c", "You could try nicotine patches.")
    after_yes = _last(offer, ("k", "Okay, I'm listening."), advice)
    after_no = _last(offer, ("k", "No, I don't want to talk about quitting."), advice)
    assert after_no[1] > after_yes[1] and after_no[1] >= 0.5
    assert "pushing_on" in after_no[2] and "after_permission" in after_yes[2]


def test_a_no_to_a_plain_question_is_not_declining() -> None:
    advice = ("c", "You could try nicotine patches.")
    cues = _last(("c", "Do you smoke at night?"), ("k", "No."), advice)[2]
    assert "pushing_on" not in cues


def test_confrontation_is_directive_even_with_permission() -> None:
    _, directive, cues = _last(
        ("k", "I don't think my drinking is a problem."),
        ("c", "Can I share something? Trust me, you're in denial."),
    )
    assert directive >= 0.5 and "confront" in cues


def test_minimal_encouragers_after_a_disclosure_are_passive() -> None:
    patterns = scorer.message_patterns(
        _msgs(
            DISCLOSURE,
            ("c", "Ok."),
            ("k", "I just sit at home and drink."),
            ("c", "I see."),
            ("k", "Yeah."),
            ("c", "Mm-hmm."),
        )
    )
    assert [p.is_passive for p in patterns] == [True, True, True]
    assert "after_disclosure" in patterns[0].cues


def test_generic_reassurance_after_a_disclosure_is_passive() -> None:
    passive, _, cues = _last(DISCLOSURE, ("c", "Don't worry, everything will be fine."))
    assert passive >= 0.5 and "reassure" in cues


def test_subject_change_after_a_disclosure_is_passive() -> None:
    passive, _, _ = _last(DISCLOSURE, ("c", "Anyway, let's move on to your work schedule."))
    assert passive >= 0.5


def test_open_question_with_a_reflection_is_neither_passive_nor_directive() -> None:
    passive, directive, cues = _last(
        DISCLOSURE,
        (
            "c",
            "It sounds like the breakup left you feeling you can't trust your own judgement. "
            "What has that been like this week?",
        ),
    )
    assert passive < 0.5 and directive < 0.5
    assert {"reflection", "open_question"} <= set(cues)


def test_minimal_encourager_while_the_client_is_mid_thought_is_not_passive() -> None:
    passive, _, _ = _last(("k", "And then my boss said that I-"), ("c", "Mm-hmm."))
    assert passive < 0.5


def test_a_single_ok_without_a_disclosure_is_not_flagged() -> None:
    assert _last(("k", "I work nights at the petrol station."), ("c", "Okay."))[0] < 0.5


def test_a_question_is_not_mistaken_for_advice() -> None:
    _, directive, cues = _last(("k", "I drink."), ("c", "Do you think you should cut down?"))
    assert directive < 0.5 and "closed_question" in cues


def test_typographic_apostrophes_and_nfkc_are_normalised() -> None:
    cues = _last(("k", "It's hard."), ("c", "You’re feeling stuck. Ｗhat would help?"))[2]
    assert "reflection" in cues and "open_question" in cues


def test_subject_change_with_an_open_question_is_still_passive() -> None:
    passive, _, cues = _last(DISCLOSURE, ("c", "Right. Anyway, how is work going otherwise?"))
    assert passive >= 0.5 and "subject_change" in cues and "open_question" in cues


def test_backchannel_while_the_client_tells_a_story_is_not_passive() -> None:
    patterns = scorer.message_patterns(
        _msgs(
            ("k", "So last night I went to the party"),
            ("c", "Mm-hmm."),
            ("k", "-and everyone was drinking, so I had one."),
            ("c", "Mm-hmm."),
            ("k", "And then another one, and another."),
            ("c", "Okay."),
        )
    )
    assert not any(p.is_passive for p in patterns)


# --- counseling skills: reflections, questions, affirmation, autonomy, permission --------------


def _cues(*turns: tuple[str, str]) -> tuple[str, ...]:
    return _last(*turns)[2]


@pytest.mark.parametrize(
    "text",
    [
        "It sounds like you're exhausted.",
        "You're worried that you'll lose your job.",
        "You feel let down by him",
        "So you're saying it only happens at weekends.",
        "What you want is some peace at home.",
        "You'd like things to be calmer between you.",
        "On the one hand you enjoy going out, and on the other hand you hate the mornings after.",
        "Part of you wants to leave and part of you is scared to.",
        "There's a part of you that wonders whether it's worth it.",
        "You're not sure you're ready.",
        "That's been a big part of your life for a long time.",
        "You're caught between what your family wants and what you want?",
    ],
)
def test_reflections_of_feeling_and_meaning_are_found(text: str) -> None:
    passive, directive, cues = _last(("k", "I don't know anymore."), ("c", text))
    assert "reflection" in cues, (text, cues)
    assert passive < 0.5 and directive < 0.5


def test_a_question_about_feelings_is_not_a_reflection() -> None:
    cues = _cues(("k", "I got home late."), ("c", "Do you feel tired in the mornings?"))
    assert "reflection" not in cues and "closed_question" in cues


def test_a_simple_reflection_must_echo_what_the_client_said() -> None:
    client = ("k", "I cut down to five cigarettes a day.")
    echo = _cues(client, ("c", "So you've cut down to five."))
    telling = _cues(client, ("c", "You're above the recommended level for your age."))
    assert "restatement" in echo and "restatement" not in telling


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("What's that been like for you?", "open_question"),
        ("How come you decided to call today?", "open_question"),
        ("Where do you see yourself in a year?", "open_question"),
        ("Can you describe what happened that night?", "invite"),
        ("I'd like to hear more about your sister.", "invite"),
        ("Anything else?", "invite"),
        ("That took real courage.", "affirmation"),
        ("You've already taken a big step by reaching out.", "affirmation"),
        ("You're really determined.", "affirmation"),
        ("It's your decision, and you know best what fits.", "autonomy"),
        ("I'm not here to tell you what to do.", "autonomy"),
        ("If that doesn't fit, feel free to leave it.", "autonomy"),
        ("How would you feel if I shared what others have tried?", "permission"),
        ("May I offer a thought?", "permission"),
        ("Let me know if you'd like some ideas.", "permission"),
        ("Does that sound right?", "elicit_view"),
        ("Did I get that right?", "elicit_view"),
    ],
)
def test_mi_consistent_moves_are_found(text: str, cue: str) -> None:
    _, directive, cues = _last(("k", "Things have been rough."), ("c", text))
    assert cue in cues, (text, cues)
    assert directive < 0.5


def test_judging_why_questions_do_not_count_as_open_questions() -> None:
    cues = _cues(("k", "I got my lip pierced."), ("c", "Why did you do that?"))
    assert "open_question" not in cues


@pytest.mark.parametrize(
    "text",
    [
        "You've got to stop this.",
        "You better call her tonight.",
        "You're going to have to cut down.",
        "Don't you think you should cut down?",
        "Studies show that people who quit feel better within weeks.",
        "You'd feel so much better if you stopped.",
        "If I were you I'd call him.",
        "It's time to stop making plans and start acting.",
        "Promise me you'll go to the meeting.",
        "You're risking your health.",
    ],
)
def test_directive_moves_without_permission_are_flagged(text: str) -> None:
    _, directive, cues = _last(("k", "I drink most nights."), ("c", text))
    assert directive >= 0.45, (text, directive, cues)


@pytest.mark.parametrize(
    "text",
    [
        "It's hard when you have to turn down every invitation.",
        "You feel like you need to be perfect.",
        "Being told you have to quit must be frustrating.",
    ],
)
def test_reported_or_conditional_must_is_not_advice(text: str) -> None:
    _, directive, cues = _last(("k", "My friends keep inviting me out."), ("c", text))
    assert "advise" not in cues and directive < 0.5, (text, cues)


def test_disclosure_met_by_passive_replies_scores_below_one_met_by_reflections() -> None:
    alone = ("k", "I just feel really alone.")
    passive = _score(DISCLOSURE, ("c", "Ok."), alone, ("c", "Don't worry."))
    reflective = _score(
        DISCLOSURE,
        ("c", "It sounds like her leaving has shaken your trust in yourself."),
        alone,
        ("c", "You feel alone with all of this. What has helped, even a little?"),
    )
    assert passive.scores is not None and reflective.scores is not None
    assert passive.scores.overall < 3.0 < reflective.scores.overall
    assert passive.scores.bond < reflective.scores.bond


# --- the 1-5 scale -----------------------------------------------------------------------------


def test_strong_evidence_reaches_levels_4_and_2() -> None:
    warm, cold = _score(*WARM).scores, _score(*DISMISSIVE).scores
    assert warm is not None and cold is not None
    assert warm.overall >= 4.0 and cold.overall <= 2.0


def test_items_of_a_dimension_share_evidence() -> None:
    s = _score(
        ("k", "I keep fighting with my dad."),
        ("c", "It sounds like the fights leave you feeling unheard."),
        ("k", "Yes, exactly."),
    )
    assert s.constructs is not None
    assert s.constructs["G3"] > s.constructs["G1"] > 3.0  # G1 only through sharing


def test_neutral_windows_stay_at_3_and_one_exchange_stays_near_it() -> None:
    bland = _score(*[("c", "Hello.") if i % 2 == 0 else ("k", "Hi.") for i in range(12)])
    one = _score(("c", "What brings you here?"), ("k", "My job."))
    assert bland.scores is not None and one.scores is not None
    assert bland.scores.overall == 3.0 and bland.confidence < 0.1
    assert abs(one.scores.overall - 3.0) < 0.5 and one.confidence < 0.3


# --- confidence ----------------------------------------------------------------------------


def test_short_windows_drift_to_3_with_low_confidence() -> None:
    short, long = _score(*DISMISSIVE[:2]), _score(*DISMISSIVE)
    assert short.scores is not None and long.scores is not None
    assert abs(short.scores.overall - 3.0) < abs(long.scores.overall - 3.0)
    assert short.confidence < long.confidence


def test_confidence_grows_with_evidence() -> None:
    bland = _score(*[("c", "Hello.") if i % 2 == 0 else ("k", "Hi.") for i in range(10)])
    confidences = [_score(*WARM[:n]).confidence for n in (2, 4, 6, 10)]
    assert bland.confidence < 0.1
    assert confidences == sorted(confidences) and confidences[-1] > 0.5


# --- lexicon integrity and cost --------------------------------------------------------------


def test_every_cue_has_a_row_in_the_evidence_table() -> None:
    names = {c.name for group in (lx.COUNSELOR_CLAUSE, lx.COUNSELOR_PHRASES) for c in group}
    names |= {c.name for group in (lx.CLIENT_START, lx.CLIENT_PHRASES) for c in group}
    assert names | set(lx.CONTEXT_CUES) <= set(lx.EVIDENCE)
    assert {c for row in lx.EVIDENCE.values() for c in row} <= set(ALL)
    assert all(-1.0 <= w <= 1.0 for row in lx.EVIDENCE.values() for w in row.values())


_CALIBRATE = "_alliance_monitor_benchmarks_calibrate"


def _calibrate_module() -> ModuleType:
    if _CALIBRATE in sys.modules:
        return sys.modules[_CALIBRATE]
    spec = importlib.util.spec_from_file_location(_CALIBRATE, ROOT / "benchmarks" / "calibrate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_docs_show_the_current_evidence_table() -> None:
    docs = (ROOT / "docs" / "embedded-scorer.md").read_text(encoding="utf-8")
    assert _calibrate_module().evidence_table() in docs


def test_a_huge_message_costs_linear_time() -> None:
    text = "so, what you should do is, you know, um. " * 5000  # ~200 KB
    start = time.process_time()
    _score(("k", text), ("c", text))
    assert time.process_time() - start < 2.0


@pytest.mark.skipif(not DATA.exists(), reason="calibration data not available")
def test_calibration_beats_trivial_floors_on_the_real_data() -> None:
    figures = _calibrate_module().calibrate(DATA)
    for half in ("all", "even", "odd"):
        f = figures[half]
        assert f["session_overall"] > 0.76, (half, f)  # trivial baselines reach 0.76
        assert f["directive_auc"] > 0.70, (half, f)
    assert figures["all"]["session_overall"] > figures["all"]["baseline_turn_length"]
