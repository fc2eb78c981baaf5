"""Scorer construction from command-line options, shared by every command that scores
(`analyze`, `replay`, `study`, `evaluate`, `worker`): it lives with the scorers, so those
commands need not import each other or the CLI module."""

from __future__ import annotations

import argparse
import os
from typing import Any, Literal

from .._errors import ConfigError
from ._base import Scorer

__all__ = ["add_scorer_args", "scorer_from_args"]


def scorer_from_args(args: argparse.Namespace) -> Scorer:
    """The scorer the command-line options ask for (`add_scorer_args`)."""
    kind = getattr(args, "scorer", "embedded")
    if kind == "embedded":
        from ._embedded import EmbeddedScorer

        return EmbeddedScorer()
    from ._factory import make_scorer

    opts: dict[str, Any] = {}
    if args.llm_api_key_env:
        opts["api_key_env"] = args.llm_api_key_env
    if getattr(args, "llm_samples", None) is not None:
        opts["n_samples"] = args.llm_samples
    if getattr(args, "llm_prompt_version", None):
        opts["prompt_version"] = args.llm_prompt_version
    if getattr(args, "llm_language", None):
        opts["output_language"] = args.llm_language
    opts.update(getattr(args, "scorer_options", None) or {})  # evaluate --scorer-option K=V
    choice: Literal["llm", "cascade"] = "llm" if kind == "llm" else "cascade"
    if not (args.llm_base_url or os.environ.get("OPENAI_BASE_URL")) or not args.llm_model:
        raise ConfigError(
            f"--scorer {kind} needs an OpenAI-compatible server: --llm-base-url URL (or the "
            "OPENAI_BASE_URL environment variable) and --llm-model NAME"
        )
    return make_scorer(choice, base_url=args.llm_base_url, model=args.llm_model, **opts)


def add_scorer_args(p: argparse.ArgumentParser) -> None:
    """The `--scorer` / `--llm-*` options shared by the commands that score."""
    g = p.add_argument_group("scoring")
    g.add_argument(
        "--scorer",
        choices=("embedded", "llm", "cascade"),
        default="embedded",
        help="embedded (default, offline), llm, or cascade (embedded everywhere, LLM where it "
        "matters)",
    )
    g.add_argument(
        "--llm-base-url",
        help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (default $OPENAI_BASE_URL)",
    )
    g.add_argument("--llm-model", help="model name on that server")
    g.add_argument(
        "--llm-feedback",
        action="store_true",
        help="(replay) ask the LLM at --llm-base-url for the feedback on pattern and decline "
        "events; the template feedback stays when it cannot",
    )
    g.add_argument(
        "--llm-api-key-env",
        default=None,
        help="environment variable holding the API key (default ALLIANCE_MONITOR_LLM_API_KEY, "
        "then OPENAI_API_KEY)",
    )
    g.add_argument(
        "--llm-samples",
        type=int,
        default=None,
        metavar="N",
        help="LLM answers per window, averaged; widely disagreeing samples flag the window "
        "(default 1; the study used 3)",
    )
    g.add_argument(
        "--llm-prompt-version",
        choices=("v1", "v2"),
        default=None,
        help="rating prompt: v2 (default: detailed rubric, reasoning, running summary) or v1",
    )
    g.add_argument(
        "--llm-language",
        default=None,
        metavar="CODE",
        help="language of the LLM's reasoning and summary, e.g. en (default) or zh; quotes stay "
        "in the transcript's language",
    )
