"""Typed scorer options (`ScorerOptions`), the CLI options that feed them on every command that
scores, and the rule that scorers hold no command-line code."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest

from alliance_monitor import ConfigError
from alliance_monitor.cli import build_parser
from alliance_monitor.scoring import (
    CascadePolicy,
    CascadeScorer,
    LLMFeedbackWriter,
    LLMScorer,
    OpenAICompatibleClient,
    ScorerOptions,
    make_scorer,
)

ROOT = Path(__file__).resolve().parent.parent
SERVER = ["--llm-base-url", "http://127.0.0.1:9/v1", "--llm-model", "m"]


def test_option_names_are_the_components_own() -> None:
    """Each option routed to a component is one of its keyword arguments (they cannot drift)."""

    def keywords(fn: Any) -> set[str]:
        return set(inspect.signature(fn).parameters)

    assert set(ScorerOptions.CLIENT) <= keywords(OpenAICompatibleClient.__init__)
    assert set(ScorerOptions.SCORER) <= keywords(LLMScorer.__init__)
    assert set(ScorerOptions.WRITER) <= keywords(LLMFeedbackWriter.__init__)
    assert set(ScorerOptions.POLICY) == {f.name for f in dataclasses.fields(CascadePolicy)}
    routed = {
        *ScorerOptions.CLIENT,
        *ScorerOptions.SCORER,
        *ScorerOptions.POLICY,
        "max_retries",
        "requests_per_minute",
        "tokens_per_minute",
        "policy",
    }
    assert routed == {f.name for f in dataclasses.fields(ScorerOptions)}


def test_strings_are_converted_to_the_declared_types() -> None:
    o = ScorerOptions.parse(
        {
            "call_timeout": "45",
            "max_concurrency": "2",
            "constrain_evidence": "false",
            "stream": "true",
            "max_llm_share": "0.2",
            "redactor": "none",
            "structured_output": "json_object",
            "temperature": "none",
            "samples": "2",
        }
    )
    assert o.call_timeout == 45.0 and isinstance(o.call_timeout, float)
    assert o.max_concurrency == 2 and o.constrain_evidence is False and o.stream is True
    assert o.max_llm_share == 0.2 and o.redactor == "none" and o.n_samples == 2
    assert o.structured_output == "json_object" and o.temperature is None
    for bad in (
        {"call_timout": 3},
        {"max_concurrency": "two"},
        {"max_concurrency": 1.5},
        {"structured_output": "xml"},
        {"stream": "maybe"},
        {"samples": 2, "n_samples": 3},
    ):
        with pytest.raises(ConfigError):
            ScorerOptions.parse(bad)


def test_make_scorer_routes_typed_options() -> None:
    s = make_scorer(
        "cascade",
        base_url="http://127.0.0.1:9/v1",
        model="m",
        api_key_env=None,
        options=ScorerOptions(call_timeout=30, max_concurrency=2, max_llm_share=0.3),
        constrain_evidence=False,
    )
    assert isinstance(s, CascadeScorer) and s.policy.max_llm_share == 0.3
    llm = s.llm
    assert isinstance(llm, LLMScorer) and llm.constrain_evidence is False
    assert llm.client.call_timeout == 30 and llm.client.max_concurrency == 2
    with pytest.raises(ConfigError, match="cascade options"):
        make_scorer("llm", base_url="http://x/v1", model="m", max_llm_share=0.2)
    with pytest.raises(ConfigError, match="no options"):
        make_scorer("embedded", n_samples=2)


def _scorer(argv: list[str]) -> Any:
    from alliance_monitor._cli_scoring import scorer_from_args

    return scorer_from_args(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "command",
    [
        ["analyze", "in.jsonl", "-o", "-"],
        ["replay", "in.jsonl"],
        ["study", "in.jsonl", "--out", "x"],
        ["evaluate", "in.jsonl"],
    ],
)
def test_llm_options_on_every_command_that_scores(command: list[str]) -> None:
    s = _scorer(
        [
            *command,
            "--scorer",
            "llm",
            *SERVER,
            "--llm-timeout",
            "90",
            "--llm-concurrency",
            "3",
            "--scorer-option",
            "max_completion_tokens=600",
            "--scorer-option",
            "constrain_evidence=false",
        ]
    )
    assert isinstance(s, LLMScorer)
    assert s.client.call_timeout == 90 and s.client.max_concurrency == 3
    assert s.max_completion_tokens == 600 and s.constrain_evidence is False


def test_cli_option_errors_are_clear() -> None:
    from alliance_monitor.cli import main

    with pytest.raises(ConfigError, match="unknown scorer option 'nope'"):
        _scorer(
            ["analyze", "x", "-o", "-", "--scorer", "llm", *SERVER, "--scorer-option", "nope=1"]
        )
    with pytest.raises(ConfigError, match="given both"):
        _scorer(
            [
                "replay",
                "x",
                "--scorer",
                "llm",
                *SERVER,
                "--llm-timeout",
                "5",
                "--scorer-option",
                "call_timeout=9",
            ]
        )
    with pytest.raises(SystemExit):
        main(["analyze", "x", "-o", "-", "--llm-timeout", "-1"])
    with pytest.raises(ConfigError, match="llm or cascade"):
        _scorer(["analyze", "x", "-o", "-", "--scorer-option", "n_samples=2"])


def test_scorers_hold_no_command_line_code() -> None:
    """argparse lives with the CLI (cli.py, _cli_scoring.py, the commands' _cli modules)."""
    offenders = []
    for path in (ROOT / "alliance_monitor" / "scoring").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "argparse" for n in names):
                offenders.append(path.name)
    assert offenders == []
