"""`evaluate --compare` (several scorers side by side on the same labelled input) and the
labels' own raters (ICC(2,k) when a label holds several raters' ratings)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from test_evaluate import LABELS, ORACLE

from alliance_monitor._errors import ConfigError
from alliance_monitor.cli import main
from alliance_monitor.evaluate import evaluate_file, icc2_1, icc2_k
from alliance_monitor.evaluate._agreement import Raters
from alliance_monitor.evaluate._cli_compare import parse_variant
from alliance_monitor.scoring._embedded import EmbeddedScorer

#: Shrout and Fleiss (1979), Table 2: six targets, four judges.
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]


def test_icc_2k_against_shrout_and_fleiss() -> None:
    # Their reported values: ICC(2,1) = 0.29, ICC(2,4) = 0.62.
    assert icc2_1(SHROUT_FLEISS) == pytest.approx(0.2898, abs=1e-4)
    assert icc2_k(SHROUT_FLEISS) == pytest.approx(0.6201, abs=1e-4)
    r = Raters(SHROUT_FLEISS)
    # multiplicities are copies of rows
    doubled = Raters(SHROUT_FLEISS + SHROUT_FLEISS[:2])
    assert r.icc_k([2, 2, 1, 1, 1, 1]) == pytest.approx(doubled.icc_k(None))
    assert r.icc_1([2, 2, 1, 1, 1, 1]) == pytest.approx(doubled.icc_1(None))
    assert icc2_k([[3, 3], [3, 3]]) is None  # identical ratings: undefined, not perfect
    with pytest.raises(ValueError):
        Raters([[1, 2], [1, 2, 3]])


def _multi_rater(tmp_path: Path) -> tuple[Path, list[list[float]]]:
    """evaluate_labels.jsonl with the session `bond` as three raters: the label, the label
    one level up (capped at 5) and, for every third conversation, one level down."""
    rows: list[list[float]] = []
    out = []
    for i, line in enumerate(Path(LABELS).read_text(encoding="utf-8").splitlines()):
        rec = json.loads(line)
        b = float(rec["labels"]["bond"])
        raters = [b, min(5.0, b + 1), b - 1 if i % 3 == 0 and b > 1 else b]
        rec["labels"]["bond"] = raters
        rows.append(raters)
        out.append(json.dumps(rec))
    path = tmp_path / "raters.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path, rows


def test_several_raters_give_their_icc_and_the_scorer_meets_their_mean(tmp_path: Path) -> None:
    path, rows = _multi_rater(tmp_path)
    rep = evaluate_file(str(path), scorer=EmbeddedScorer(), n_bootstrap=200, close_scorer=True)
    session = next(r for r in rep.results if r.task.level == "session" and r.task.label == "bond")
    a = session.raters
    assert a is not None and a.k == 3 and a.n == 12 and a.n_conversations == 12
    assert a.icc_k.value == pytest.approx(icc2_k(rows))
    assert a.icc_1.value == pytest.approx(icc2_1(rows))
    assert a.icc_k.lo is not None and a.icc_k.hi is not None
    assert a.icc_k.lo <= a.icc_k.value <= a.icc_k.hi
    # the scorer is judged against the raters' mean: same figure as a file holding the means
    means = tmp_path / "means.jsonl"
    lines = []
    for line, r in zip(path.read_text().splitlines(), rows, strict=True):
        rec = json.loads(line)
        rec["labels"]["bond"] = sum(r) / 3
        lines.append(json.dumps(rec))
    means.write_text("\n".join(lines) + "\n")
    rep2 = evaluate_file(str(means), scorer=EmbeddedScorer(), n_bootstrap=0, close_scorer=True)
    s2 = next(r for r in rep2.results if r.task.level == "session" and r.task.label == "bond")
    assert s2.raters is None
    got = {m.name: m.scorer.value for m in session.metrics}
    assert got == {m.name: m.scorer.value for m in s2.metrics}
    js = session.to_json()["raters"]
    assert js["raters"] == 3 and set(js) >= {"icc2_1", "icc2_k", "n"}


def test_compare_cli_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "embedded.jsonl"
    assert main(["evaluate", LABELS, "--bootstrap", "0", "--save-scores", str(saved)]) == 0
    capsys.readouterr()
    rc = main(
        [
            "evaluate",
            LABELS,
            "--bootstrap",
            "100",
            "--compare",
            "embedded",
            "--compare",
            f"--command '{ORACLE}' --name oracle",
            "--compare",
            f"--scores {saved} --name saved",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("level"))
    for col in ("embedded [95% CI]", "oracle [95% CI]", "saved [95% CI]", "baseline"):
        assert col in header
    row = next(line for line in out.splitlines() if line.startswith("session  bond ~ bond"))
    assert "1.000 [1.00, 1.00]" in row  # the oracle agrees perfectly
    rc = main(
        [
            "evaluate",
            LABELS,
            "--json",
            "--bootstrap",
            "100",
            "--compare",
            "embedded",
            "--compare",
            f"--command '{ORACLE}' --name oracle",
            "--compare",
            f"--scores {saved} --name saved",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in data["variants"]] == ["embedded", "oracle", "saved"]
    bond = next(r for r in data["table"] if r["level"] == "session" and r["metric"] == "pearson")
    emb, oracle, again = bond["values"]
    assert oracle["value"] == 1.0
    # the saved embedded output gives the embedded figures, interval and all (same bootstrap)
    assert again == emb
    assert bond["n"] == [12, 12, 12]


def test_compare_spec_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", LABELS, "--compare", "embedded"]) == 2
    assert "at least two variants" in capsys.readouterr().err
    assert main(["evaluate", LABELS, "--compare", "embedded", "--compare", "embedded"]) == 2
    assert "same name" in capsys.readouterr().err
    assert main(["evaluate", LABELS, "--compare", "embedded", "--compare", "--scorer nope"]) == 2
    assert "--compare SPEC" in capsys.readouterr().err
    assert main(["evaluate", LABELS, "--scores", LABELS, "--compare", "a", "--compare", "b"]) == 2
    assert "inside a SPEC" in capsys.readouterr().err


def test_parse_variant_inherits_the_command_lines_options() -> None:
    import argparse

    from alliance_monitor.evaluate._cli import configure_parser

    p = argparse.ArgumentParser()
    configure_parser(p)
    base = p.parse_args(
        [
            LABELS,
            "--llm-base-url",
            "http://127.0.0.1:1/v1",
            "--llm-model",
            "m",
            "--llm-samples",
            "1",
        ]
    )
    v1 = parse_variant("--scorer llm --llm-prompt-version v1", base)
    v2 = parse_variant("llm --llm-prompt-version v2 --llm-samples 3", base)
    assert v1.name == "llm prompt v1 samples 1"
    assert v2.name == "llm prompt v2 samples 3"
    assert v1.make_scorer is not None and v2.make_scorer is not None
    assert base.llm_samples == 1  # a SPEC never changes the command line's own options
    with pytest.raises(ConfigError, match="--scorer-option is for --scorer llm"):
        parse_variant("embedded --scorer-option n_samples=3", base)
    with pytest.raises(ConfigError, match="one of --scorer, --command or --scores"):
        parse_variant("--scorer llm --scores x.jsonl", base)


@pytest.mark.llm_server
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_compare_prompt_versions_on_the_real_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mechanics against the real local server: two prompt versions of the LLM scorer beside the
    embedded scorer on one one-exchange conversation (two LLM calls of at most 300 s each)."""
    from llm_helpers import llm_server_from_env

    url, model = llm_server_from_env(os.environ)
    src = tmp_path / "rated.jsonl"
    src.write_text(
        json.dumps(
            {
                "conversation_id": "r0",
                "labels": {"bond": [4, 5]},
                "messages": [
                    {"id": "a", "role": "client", "ts": 0, "text": "I failed my exam."},
                    {
                        "id": "b",
                        "role": "counselor",
                        "ts": 1,
                        "labels": {"directive": False},
                        "text": "That sounds hard. What would help most right now?",
                    },
                ],
            }
        )
        + "\n"
    )
    llm = (
        "--scorer llm --scorer-option max_retries=1 --scorer-option read_timeout=280 "
        "--scorer-option call_timeout=300 --llm-prompt-version"
    )
    rc = main(
        [
            "evaluate",
            str(src),
            "--json",
            "--bootstrap",
            "10",
            "--concurrency",
            "1",
            "--llm-base-url",
            url,
            "--llm-model",
            model,
            "--llm-api-key-env",
            "NO_SUCH_KEY",
            "--compare",
            "embedded",
            "--compare",
            f"{llm} v1 --name v1",
            "--compare",
            f"{llm} v2 --name v2",
        ]
    )
    assert rc in (0, 2)
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in data["variants"]] == ["embedded", "v1", "v2"]
    for v in data["variants"][1:]:
        assert v["report"]["scorer_stats"]["windows"] == 1
