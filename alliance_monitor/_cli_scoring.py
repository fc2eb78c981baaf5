"""The command line's scorer options (``--scorer``, ``--llm-*``, ``--scorer-option``), shared by
every command that scores (`analyze`, `replay`, `study`, `evaluate`, `worker`).

Part of the CLI, not of the library: the scorers take typed options (`ScorerOptions`,
`make_scorer`), and this module turns command-line strings into them.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Literal

from ._errors import ConfigError
from .scoring import Scorer

__all__ = ["add_jobs_arg", "add_scorer_args", "scorer_from_args", "scorer_option"]


def scorer_option(value: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> (key, value): JSON where the value is JSON (numbers, true, {...}),
    else the string; `ScorerOptions.parse` converts and checks it against the option's type."""
    key, sep, raw = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError("KEY=VALUE, e.g. confidence_below=0.4")
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw  # a bare string, e.g. redactor=basic
    return key.strip(), parsed


def scorer_from_args(args: argparse.Namespace) -> Scorer:
    """The scorer the command-line options ask for (`add_scorer_args`)."""
    kind = getattr(args, "scorer", "embedded")
    given = dict(getattr(args, "scorer_option", None) or [])
    if kind == "embedded":
        if given:
            raise ConfigError("--scorer-option is for --scorer llm or cascade")
        from .scoring import EmbeddedScorer

        return EmbeddedScorer()
    from .scoring import ScorerOptions, make_scorer

    opts: dict[str, Any] = {}
    if getattr(args, "llm_samples", None) is not None:
        opts["n_samples"] = args.llm_samples
    if getattr(args, "llm_prompt_version", None):
        opts["prompt_version"] = args.llm_prompt_version
    if getattr(args, "llm_language", None):
        opts["output_language"] = args.llm_language
    if getattr(args, "llm_timeout", None) is not None:
        opts["call_timeout"] = args.llm_timeout
    if getattr(args, "llm_concurrency", None) is not None:
        opts["max_concurrency"] = args.llm_concurrency
    both = sorted(set(opts) & {ScorerOptions.ALIASES.get(k, k) for k in given})
    if both:
        raise ConfigError(f"{', '.join(both)} given both as an --llm-* option and --scorer-option")
    opts.update(given)
    choice: Literal["llm", "cascade"] = "llm" if kind == "llm" else "cascade"
    if not (args.llm_base_url or os.environ.get("OPENAI_BASE_URL")) or not args.llm_model:
        raise ConfigError(
            f"--scorer {kind} needs an OpenAI-compatible server: --llm-base-url URL (or the "
            "OPENAI_BASE_URL environment variable) and --llm-model NAME"
        )
    key_env: dict[str, Any] = {}
    if args.llm_api_key_env:
        key_env["api_key_env"] = args.llm_api_key_env
    return make_scorer(
        choice,
        base_url=args.llm_base_url,
        model=args.llm_model,
        options=ScorerOptions.parse(opts),
        **key_env,
    )


def _positive(kind: type[float] | type[int]) -> Any:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
        return value

    return parse


def add_jobs_arg(p: argparse.ArgumentParser) -> None:
    """``--jobs N``: worker processes for the embedded scorer (batch commands)."""
    from ._argtypes import positive_int

    p.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        default=None,
        metavar="N",
        help="processes scoring with the embedded scorer (default: the cores available); the "
        "output is the same as with one (an LLM scorer uses --concurrency instead)",
    )


def add_scorer_args(p: argparse.ArgumentParser) -> None:
    """The `--scorer` / `--llm-*` / `--scorer-option` options shared by the commands that
    score."""
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
        type=_positive(int),
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
    g.add_argument(
        "--llm-timeout",
        type=_positive(float),
        default=None,
        metavar="SECONDS",
        help="seconds one LLM call may take before it is cancelled and retried (default: "
        "derived from the answer budget and the server's measured speed; 300 for the first "
        "call)",
    )
    g.add_argument(
        "--llm-concurrency",
        type=_positive(int),
        default=None,
        metavar="N",
        help="LLM requests in flight at once (default: 1 for a local server, or the slots "
        "llama-server advertises; 4 for a hosted API)",
    )
    g.add_argument(
        "--scorer-option",
        action="append",
        default=[],
        type=scorer_option,
        metavar="KEY=VALUE",
        help="an option of the llm or cascade scorer (ScorerOptions), e.g. "
        "max_completion_tokens=600, constrain_evidence=false, confidence_below=0.4, "
        "max_llm_share=0.2; repeatable",
    )
