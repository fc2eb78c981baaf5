"""``--compare SPEC`` of ``alliance-monitor evaluate``: a SPEC read as scorer options on top of the
command line's own (the command line's part of `evaluate --compare`; `_compare` holds the
comparison itself)."""

from __future__ import annotations

import argparse
import copy
import shlex
from typing import NoReturn

from .._errors import ConfigError
from ._compare import Variant

__all__ = ["parse_variant"]


class _SpecParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"--compare SPEC: {message}")


def _spec_parser() -> _SpecParser:
    from .._cli_scoring import add_scorer_args

    p = _SpecParser(prog="--compare", add_help=False)
    p.add_argument("--name")
    p.add_argument("--command", dest="scorer_command")
    p.add_argument("--scores")
    add_scorer_args(p)  # --scorer, --llm-*, --scorer-option
    return p


def parse_variant(spec: str, base: argparse.Namespace) -> Variant:
    """One ``--compare SPEC``: its options on top of `base` (the command line's own)."""
    from .._cli_scoring import scorer_from_args

    tokens = shlex.split(spec)
    if not tokens:
        raise ConfigError("--compare: an empty SPEC")
    if not tokens[0].startswith("-"):
        tokens = ["--scorer", *tokens]
    ns = copy.copy(base)
    ns.scorer_option = list(getattr(base, "scorer_option", None) or [])
    ns.name = None
    ns.scorer_command = None
    ns.scores = None
    ns = _spec_parser().parse_args(tokens, namespace=ns)
    sources = [x for x in (ns.scorer_command, ns.scores) if x]
    if len(sources) > 1 or (sources and "--scorer" in tokens):
        raise ConfigError(f"--compare {spec!r}: give one of --scorer, --command or --scores")
    ns.scorer_options = dict(ns.scorer_option)
    if ns.scorer_options and (sources or ns.scorer == "embedded"):
        raise ConfigError(f"--compare {spec!r}: --scorer-option is for --scorer llm or cascade")
    name = ns.name or _name(ns)
    if ns.scores:
        return Variant(name, scores=ns.scores)
    if ns.scorer_command:
        return Variant(name, command=ns.scorer_command)
    frozen = copy.copy(ns)
    return Variant(name, make_scorer=lambda: scorer_from_args(frozen))


def _name(ns: argparse.Namespace) -> str:
    if ns.scores:
        return f"scores {ns.scores}"
    if ns.scorer_command:
        return f"command {shlex.split(ns.scorer_command)[0]}"
    parts = [ns.scorer]
    if ns.scorer != "embedded":
        if getattr(ns, "llm_prompt_version", None):
            parts.append(f"prompt {ns.llm_prompt_version}")
        if getattr(ns, "llm_samples", None):
            parts.append(f"samples {ns.llm_samples}")
        parts += [f"{k}={v}" for k, v in ns.scorer_options.items()]
    return " ".join(str(p) for p in parts)


# ---------------------------------------------------------------------- the table
