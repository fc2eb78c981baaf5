"""`alliance-monitor evaluate` on fixtures with known answers.

tests/data/evaluate_labels.jsonl: twelve conversations we wrote, with session and phase `bond`
ratings (1-5), a categorical `quality`, an off-scale `satisfaction` (2-10), and per counselor
message a `strategy` (ESConv's names) and a `directive` flag. tests/data/evaluate_mi.jsonl: six
longer ones with AnnoMI's label names (`mi_quality`, `therapist_input_subtype`), also our text.
tests/data/evaluate_oracle.py is an external scorer that answers with the labels themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import SHARED_DATA

from alliance_monitor._models import WindowRequest, WindowScore
from alliance_monitor.cli import main
from alliance_monitor.evaluate import EvaluationError, LabelOptions, evaluate_file
from alliance_monitor.evaluate._labels import LabelInventory, auto_tasks
from alliance_monitor.scoring._base import Scorer
from alliance_monitor.scoring._embedded import EmbeddedScorer
from alliance_monitor.testing import StaticScorer

DATA = Path(__file__).parent / "data"
LABELS = str(DATA / "evaluate_labels.jsonl")
MI = str(DATA / "evaluate_mi.jsonl")
ORACLE = f"{sys.executable} {DATA / 'evaluate_oracle.py'} {LABELS} {{input}} {{output}}"
# dev_eval.py sits in ../shared/eval, beside the data folder conftest points at
SHARED = SHARED_DATA.parent


def figures(report: Any) -> dict[tuple[str, str, str], dict[str, float | None]]:
    """(level, label, target) -> {metric: scorer value}."""
    out = {}
    for r in report.results:
        out[(r.task.level, r.task.label, r.task.target)] = {
            m.name: m.scorer.value for m in r.metrics
        }
    return out


# ---------------------------------------------------------------------- known answers
def test_a_scorer_equal_to_the_labels_agrees_perfectly() -> None:
    rep = evaluate_file(LABELS, command=ORACLE, n_bootstrap=200)
    got = figures(rep)
    assert got[("message", "directive", "directive")] == {"auc": 1.0}
    assert got[("message", "strategy", "passive")] == {"auc": 1.0}
    for level in ("session", "phase"):
        f = got[(level, "bond", "bond")]
        assert f["spearman"] == pytest.approx(1.0)
        assert f["pearson"] == pytest.approx(1.0)
        assert f["icc"] == pytest.approx(1.0)
    r = next(r for r in rep.results if r.task.level == "session")
    assert r.metrics[0].scorer.lo == pytest.approx(1.0)  # every replicate agrees perfectly
    assert rep.scorer == "command" and rep.n_conversations == 12


def test_a_constant_scorer_gives_one_half_and_no_correlation() -> None:
    rep = evaluate_file(
        LABELS, scorer=StaticScorer(3.0, passive=0.2, directive=0.2), n_bootstrap=100
    )
    got = figures(rep)
    for key in (
        ("message", "directive", "directive"),
        ("message", "strategy", "passive"),
        ("message", "strategy", "directive"),
    ):
        assert got[key] == {"auc": 0.5}
    for level in ("session", "phase"):
        f = got[(level, "bond", "bond")]
        assert f["spearman"] is None and f["pearson"] is None  # undefined: no variance
        assert f["icc"] == pytest.approx(0.0, abs=1e-12)


def test_baselines_sit_beside_every_figure() -> None:
    rep = evaluate_file(LABELS, command=ORACLE, n_bootstrap=50)
    for r in rep.results:
        for m in r.metrics:
            assert m.baseline.value is not None
            assert m.delta.value == pytest.approx(m.scorer.value - m.baseline.value)  # type: ignore[operator]
    # the keyword baseline catches the fixture's "you should / you need to" exactly
    assert figures(rep)[("message", "directive", "directive")]["auc"] == 1.0
    base = {r.task.label + r.task.target: r.metrics[0].baseline.value for r in rep.results}
    assert base["directivedirective"] == 1.0


# ---------------------------------------------------------------------- labels
def test_auto_detection_recognises_known_names_and_lists_the_rest() -> None:
    rep = evaluate_file(LABELS, command=ORACLE, n_bootstrap=0)
    assert set(figures(rep)) == {
        ("message", "strategy", "directive"),
        ("message", "strategy", "passive"),
        ("message", "directive", "directive"),
        ("session", "bond", "bond"),
        ("phase", "bond", "bond"),
    }
    skipped = {(n["level"], n["label"]) for n in rep.not_evaluated}
    assert skipped == {("session", "quality"), ("session", "satisfaction"), ("session", "topic")}
    hint = next(n["reason"] for n in rep.not_evaluated if n["label"] == "quality")
    assert "--session-label quality --positive VALUE" in hint


def test_auto_detection_of_annomi_names_and_prefix_rule() -> None:
    rep = evaluate_file(MI, scorer=EmbeddedScorer(), n_bootstrap=0)
    assert set(figures(rep)) == {
        ("message", "therapist_input_subtype", "directive"),
        ("session", "mi_quality", "overall"),
    }
    assert rep.prefix == 20 and "mi_quality" in rep.prefix_reason
    assert rep.n_messages == 6 * 20
    msg = next(r for r in rep.results if r.task.level == "message")
    assert msg.n == 6 * 10  # counselor turns among the first 20 messages
    whole = evaluate_file(MI, scorer=EmbeddedScorer(), n_bootstrap=0, prefix=None)
    assert whole.prefix is None and whole.n_messages == sum(22 + 2 * k for k in range(6))


def test_known_datasets_names_are_recognised() -> None:
    inv = LabelInventory()
    inv.add_record(
        {
            "labels": {
                "seeker_empathy": 4,
                "seeker_relevance": 5,
                "mi_quality": "low",
                "emotion_type": "anxiety",
            },
            "messages": [
                {"labels": {"strategy": "Question"}},
                {"labels": {"therapist_input_subtype": "advice"}},
            ],
        }
    )
    got = {(t.level, t.label, t.target) for t in auto_tasks(inv, LabelOptions())}
    assert got == {
        ("session", "seeker_empathy", "bond"),
        ("session", "seeker_relevance", "overall"),
        ("session", "mi_quality", "overall"),
        ("message", "strategy", "directive"),
        ("message", "strategy", "passive"),
        ("message", "therapist_input_subtype", "directive"),
    }
    narrowed = auto_tasks(inv, LabelOptions(levels=("message",), targets=("passive",)))
    assert [(t.label, t.target) for t in narrowed] == [("strategy", "passive")]


def test_options_map_a_deployments_own_scheme() -> None:
    rep = evaluate_file(
        LABELS,
        command=ORACLE,
        n_bootstrap=50,
        labels=LabelOptions(
            session_labels=("quality",), positive=("high",), dimensions=("bond", "overall")
        ),
    )
    got = figures(rep)
    assert got == {
        ("session", "quality", "bond"): {"auc": 1.0},
        ("session", "quality", "overall"): {"auc": 1.0},
    }
    rep = evaluate_file(
        LABELS,
        command=ORACLE,
        n_bootstrap=50,
        labels=LabelOptions(
            message_labels=("strategy",),
            positive=("Providing Suggestions",),
            targets=("directive",),
        ),
    )
    assert figures(rep) == {("message", "strategy", "directive"): {"auc": 1.0}}
    # an off-scale numeric label: correlations, no ICC
    rep = evaluate_file(
        LABELS,
        command=ORACLE,
        n_bootstrap=50,
        labels=LabelOptions(session_labels=("satisfaction",)),
    )
    f = figures(rep)[("session", "satisfaction", "overall")]
    assert set(f) == {"spearman", "pearson"} and f["pearson"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("opts", "match"),
    [
        (LabelOptions(session_labels=("nope",)), "no session label of that name"),
        (LabelOptions(session_labels=("topic",)), "not numeric: give --positive"),
        (LabelOptions(message_labels=("strategy",), positive=("x",)), "needs --target"),
        (LabelOptions(message_labels=("stage",)), "no message label"),
        (LabelOptions(dimensions=("warmth",)), "unknown dimension"),
        (
            LabelOptions(message_labels=("strategy",), session_labels=("bond",), positive=("x",)),
            "ambiguous",
        ),
    ],
)
def test_bad_label_options_are_clear_errors(opts: LabelOptions, match: str) -> None:
    from alliance_monitor._errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        evaluate_file(LABELS, command=ORACLE, n_bootstrap=0, labels=opts)


def test_prefix_drops_phase_labels_and_shortens_messages() -> None:
    rep = evaluate_file(LABELS, command=ORACLE, n_bootstrap=0, prefix=4)
    assert rep.prefix == 4 and rep.n_messages == 12 * 4
    assert not any(r.task.level == "phase" for r in rep.results)
    assert any(n["level"] == "phase" and "prefixes" in n["reason"] for n in rep.not_evaluated)


def test_unlabelled_input_is_an_error(tmp_path: Path) -> None:
    src = tmp_path / "bare.jsonl"
    src.write_text(
        json.dumps(
            {
                "conversation_id": "a",
                "messages": [{"id": "1", "role": "counselor", "text": "hi", "ts": 0}],
            }
        )
        + "\n"
    )
    with pytest.raises(EvaluationError, match="no label to evaluate"):
        evaluate_file(str(src), scorer=EmbeddedScorer())


# ---------------------------------------------------------------------- scorer sources
def test_command_scorer_failures(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="exited with status 3"):
        evaluate_file(LABELS, command=ORACLE + " fail", n_bootstrap=0)
    rep = evaluate_file(LABELS, command=ORACLE + " drop-one", n_bootstrap=0)
    assert rep.rejected == {"missing_from_scorer_output": 1}
    r = next(r for r in rep.results if r.task.level == "session")
    assert r.n == 11 and r.n_unscored == 1
    from alliance_monitor._errors import ConfigError

    with pytest.raises(ConfigError, match=r"\{input\} and \{output\}"):
        evaluate_file(LABELS, command="true", n_bootstrap=0)


def test_saved_scores_give_the_same_figures(tmp_path: Path) -> None:
    saved = tmp_path / "scores.jsonl"
    a = evaluate_file(LABELS, scorer=EmbeddedScorer(), n_bootstrap=100, save_scores=str(saved))
    b = evaluate_file(LABELS, scores=str(saved), n_bootstrap=100)
    assert [r.to_json()["metrics"] for r in a.results] == [
        r.to_json()["metrics"] for r in b.results
    ]
    assert len(saved.read_text().splitlines()) == 12


def test_rejected_lines_are_counted(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    lines = Path(LABELS).read_text().splitlines()
    src.write_text("\n".join([lines[0], "{not json", '{"no": "messages"}', lines[0], *lines[1:]]))
    rep = evaluate_file(str(src), scorer=EmbeddedScorer(), n_bootstrap=0)
    assert rep.rejected == {"invalid_json": 1, "invalid_schema": 1, "duplicate_conversation": 1}
    assert rep.n_conversations == 12


# ---------------------------------------------------------------------- command line
def test_cli_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["evaluate", LABELS, "--json", "--bootstrap", "100", "--command", ORACLE])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {
        "input",
        "scorer",
        "conversations",
        "messages",
        "prefix",
        "bootstrap",
        "baseline",
        "results",
        "not_evaluated",
        "rejected",
        "scoring_seconds",
    }
    assert out["bootstrap"] == {
        "resamples": 100,
        "seed": 0,
        "confidence": 0.95,
        "unit": "conversation",
        "interval": "percentile",
    }
    r = next(r for r in out["results"] if r["level"] == "session")
    assert set(r) >= {
        "level",
        "label",
        "target",
        "kind",
        "n",
        "n_conversations",
        "metrics",
        "same_scale",
        "baseline_reversed",
        "n_unscored",
    }
    assert set(r["metrics"]) == {"spearman", "pearson", "icc"}
    m = r["metrics"]["icc"]
    assert set(m) == {"scorer", "baseline", "delta", "bootstrap_defined"}
    assert m["scorer"]["value"] == 1.0 and len(m["scorer"]["ci"]) == 2


def test_cli_table_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "evaluate",
            LABELS,
            "--bootstrap",
            "50",
            "--session-label",
            "quality",
            "--positive",
            "high",
            "--dimension",
            "bond",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "quality ~ bond" in out and "AUC" in out and "baseline" in out
    assert "positive high; negative every other value" in out


def test_cli_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", LABELS, "--session-label", "nope"]) == 2
    assert "no session label of that name" in capsys.readouterr().err
    assert main(["evaluate", LABELS, "--command", ORACLE, "--scores", LABELS]) == 2
    assert main(["evaluate", LABELS, "--scorer", "llm"]) == 2  # no base URL or model
    assert "--llm-base-url" in capsys.readouterr().err
    assert main(["evaluate", "no-such-file.jsonl"]) == 2
    assert "alliance-monitor evaluate: no such file" in capsys.readouterr().err


def test_cli_process_end_to_end() -> None:
    exe = Path(sys.executable).parent / "alliance-monitor"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    res = subprocess.run(
        [str(exe), "evaluate", MI, "--bootstrap", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "mi_quality ~ overall" in res.stdout and "first 20 messages" in res.stdout


# ---------------------------------------------------------------------- the shared data sets
@pytest.mark.skipif(
    not (SHARED / "data" / "annomi.jsonl").exists()
    or not (SHARED / "eval" / "dev_eval.py").exists(),
    reason="needs ../shared/data and ../shared/eval/dev_eval.py beside the repo",
)
def test_same_figures_as_dev_eval(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "alliance-monitor"
    dump = tmp_path / "dev.json"
    subprocess.run(
        [
            sys.executable,
            str(SHARED / "eval" / "dev_eval.py"),
            "--only",
            "annomi,zh",
            "--json",
            str(dump),
            "--cmd",
            f"{exe} analyze {{input}} --output {{output}}",
        ],
        check=True,
        capture_output=True,
        timeout=600,
        env={**os.environ},
    )
    dev = json.loads(dump.read_text())
    annomi = figures(
        evaluate_file(str(SHARED / "data" / "annomi.jsonl"), scorer=EmbeddedScorer(), n_bootstrap=0)
    )
    zh = figures(
        evaluate_file(
            str(SHARED / "data" / "psyinsight_zh_dev.jsonl"), scorer=EmbeddedScorer(), n_bootstrap=0
        )
    )
    pairs = [
        (annomi[("session", "mi_quality", "overall")]["auc"], dev["annomi.A1_quality_auc_all"]),
        (
            annomi[("message", "therapist_input_subtype", "directive")]["auc"],
            dev["annomi.A2_advice_directive_auc_all"],
        ),
        (zh[("message", "strategy", "directive")]["auc"], dev["zh.Z1_directive_auc"]),
        (zh[("message", "strategy", "passive")]["auc"], dev["zh.Z2_passive_auc"]),
    ]
    for ours, theirs in pairs:
        assert ours is not None and round(ours, 3) == pytest.approx(theirs, abs=1e-9)


# ---------------------------------------------------------------------- async scorers
class AsyncStatic(Scorer):
    """An async scorer (not a SyncScorer): exercises the concurrent path the LLM takes."""

    name = "async-static"

    def __init__(self) -> None:
        self.inner = StaticScorer(3.0, passive=0.2, directive=0.2)
        self.in_flight = self.peak = 0
        self.loops: set[int] = set()
        self.closed_in: int | None = None

    async def aclose(self) -> None:
        self.closed_in = id(asyncio.get_running_loop())

    async def score(self, request: WindowRequest) -> WindowScore:
        self.loops.add(id(asyncio.get_running_loop()))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await anyio.sleep(0.001)
        self.in_flight -= 1
        return self.inner.score_sync(request)


def test_an_async_scorer_runs_concurrently_with_the_same_figures() -> None:
    scorer = AsyncStatic()
    rep = evaluate_file(LABELS, scorer=scorer, n_bootstrap=20, concurrency=3)
    assert figures(rep)[("message", "directive", "directive")] == {"auc": 0.5}
    assert 1 < scorer.peak <= 3
    assert rep.scorer == "async-static" and rep.n_conversations == 12
    assert scorer.closed_in is None  # not closed unless asked


def test_the_scorer_is_closed_in_the_loop_that_used_it() -> None:
    # an HTTP client bound to the scoring loop cannot be closed from a new one
    scorer = AsyncStatic()
    evaluate_file(LABELS, scorer=scorer, n_bootstrap=0, close_scorer=True)
    assert len(scorer.loops) == 1 and scorer.closed_in in scorer.loops
    early = AsyncStatic()  # a failure before scoring still closes it
    from alliance_monitor._errors import ConfigError

    with pytest.raises(ConfigError):
        evaluate_file(
            LABELS,
            scorer=early,
            n_bootstrap=0,
            close_scorer=True,
            labels=LabelOptions(session_labels=("nope",)),
        )
    assert early.closed_in is not None and not early.loops


@pytest.mark.llm_server
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_llm_scorer_through_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Mechanics against the real local server (far too small a model to judge anything): the
    labelled items are either scored or counted as unscored (a busy server that times out gives
    an unscored window, never a crash), and the JSON says which scorer ran. One one-exchange
    conversation: one LLM call of at most 300 s, no retry."""
    from llm_helpers import llm_server_from_env

    url, model = llm_server_from_env(os.environ)
    src = tmp_path / "rated.jsonl"
    src.write_text(
        json.dumps(
            {
                "conversation_id": "r0",
                "labels": {"bond": 4},
                "messages": [
                    {
                        "id": "a",
                        "role": "client",
                        "ts": 0,
                        "text": "I failed my exam and feel useless.",
                    },
                    {
                        "id": "b",
                        "role": "counselor",
                        "ts": 1,
                        "labels": {"directive": False},
                        "text": "That sounds really hard. What would help most right now?",
                    },
                ],
            }
        )
        + "\n"
    )
    rc = main(
        [
            "evaluate",
            str(src),
            "--json",
            "--bootstrap",
            "20",
            "--scorer",
            "llm",
            "--llm-base-url",
            url,
            "--llm-model",
            model,
            "--llm-api-key-env",
            "NO_SUCH_KEY",
            "--llm-prompt-version",
            "v1",
            "--scorer-option",
            "max_retries=1",
            "--scorer-option",
            "read_timeout=280",
            "--scorer-option",
            "call_timeout=300",
            "--concurrency",
            "1",
        ]
    )
    assert rc in (0, 2)  # 2: the window was unscored, so no labelled item had a score
    out = json.loads(capsys.readouterr().out)
    assert out["scorer"].startswith(f"llm ({model} at {url}")
    assert out["scorer_stats"]["windows"] == 1
    items = out["results"] + [
        n for n in out["not_evaluated"] if n["label"] in ("bond", "directive")
    ]
    assert items, out
    for r in out["results"]:
        assert r["n"] + r["n_unscored"] == 1


def test_abstentions_are_counted_and_can_be_left_out() -> None:
    def early_fails(request: WindowRequest) -> str | None:
        return "no_evidence" if request.window_index == 0 else None

    scorer = StaticScorer(lambda r: 2.0 + r.window_index, fail=early_fails)
    rep = evaluate_file(LABELS, scorer=scorer, n_bootstrap=0)
    by = {(r.task.level, r.task.label): r for r in rep.results}
    assert by[("phase", "bond")].n_abstained == 12 and by[("phase", "bond")].n == 36
    assert by[("session", "bond")].n_abstained == 0  # middle and late were scored
    assert by[("message", "directive")].n_unscored > 0  # early messages have no score
    kept = evaluate_file(LABELS, scorer=scorer, n_bootstrap=0, skip_abstained=True)
    phase = next(r for r in kept.results if r.task.level == "phase")
    assert phase.n == 24 and phase.n_abstained == 12 and phase.abstained_skipped
    everything = evaluate_file(
        LABELS, scorer=StaticScorer(fail=lambda r: "x"), n_bootstrap=0, skip_abstained=True
    )
    assert not any(r.task.level in ("session", "phase") for r in everything.results)
    assert {
        "level": "session",
        "label": "bond",
        "reason": "no labelled item with a score",
    } in everything.not_evaluated


def test_cli_exits_2_when_nothing_had_a_score(capsys: pytest.CaptureFixture[str]) -> None:
    # "scores" that name the conversations but hold no analyze fields: every item is unscored
    rc = main(["evaluate", MI, "--scores", MI, "--bootstrap", "0"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nothing was evaluated" in err
    # client messages carry no passive/directive score: said so, not a silent empty table
    rc = main(
        [
            "evaluate",
            MI,
            "--message-label",
            "client_talk_type",
            "--positive",
            "change",
            "--target",
            "passive",
            "--bootstrap",
            "0",
        ]
    )
    assert rc == 2
    assert "client_talk_type: no labelled counselor message with a score" in capsys.readouterr().out
