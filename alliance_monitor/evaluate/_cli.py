"""`alliance-monitor evaluate INPUT [--scorer ... | --command CMD | --scores FILE]`.

Wired into the main CLI with:

    from .evaluate._cli import cmd_evaluate, configure_parser
    e = sub.add_parser("evaluate", help="...")
    configure_parser(e)
    e.set_defaults(func=cmd_evaluate)
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["cmd_evaluate", "configure_parser"]


def _prefix(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of messages, 0 (whole) or auto") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return n


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the evaluate arguments (and the shared scorer arguments) to `p`."""
    from .._argtypes import fraction, non_negative_int, positive_int
    from .._cli_scoring import add_jobs_arg as _add_jobs_arg
    from .._cli_scoring import add_scorer_args as _add_scorer_args

    p.add_argument(
        "input",
        help="transcript JSONL with labels (the format of `analyze`, plus "
        "labels on conversations and messages), or - for stdin",
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    src = p.add_argument_group("other scorers")
    src.add_argument(
        "--command",
        metavar="CMD",
        dest="scorer_command",
        help="an external scorer: a command line with {input} and {output}, the "
        "contract of `analyze` (e.g. 'my-scorer {input} --out {output}')",
    )
    src.add_argument(
        "--scores",
        metavar="FILE",
        help="an `analyze` output already written for this input (no scoring; "
        "use the same --prefix as when it was written)",
    )
    src.add_argument(
        "--save-scores",
        metavar="FILE",
        help="also write the scorer's output (the format of `analyze`) here, to "
        "re-evaluate with --scores without scoring again",
    )
    lab = p.add_argument_group(
        "labels (none given: every label it recognises; see docs/evaluate.md)"
    )
    lab.add_argument(
        "--message-label",
        action="append",
        default=[],
        metavar="NAME",
        help="a message label to judge passive/directive scores against",
    )
    lab.add_argument(
        "--session-label",
        action="append",
        default=[],
        metavar="NAME",
        help="a conversation label to judge a session dimension against",
    )
    lab.add_argument(
        "--phase-label",
        action="append",
        default=[],
        metavar="NAME",
        help="a label under labels.phases.{early,middle,late} to judge phase scores against",
    )
    lab.add_argument(
        "--positive",
        action="append",
        default=[],
        metavar="VALUE",
        help="label value(s) that are the positive class (makes it binary: AUC)",
    )
    lab.add_argument(
        "--negative",
        action="append",
        default=[],
        metavar="VALUE",
        help="label value(s) of the negative class (default: every other value)",
    )
    lab.add_argument(
        "--target",
        action="append",
        default=[],
        choices=("passive", "directive"),
        help="the message score judged (with --message-label)",
    )
    lab.add_argument(
        "--dimension",
        action="append",
        default=[],
        choices=("goal", "task", "bond", "overall", "all"),
        help="session/phase dimension(s) judged (default: the label's own, or overall)",
    )
    lab.add_argument(
        "--level",
        action="append",
        default=[],
        choices=("message", "session", "phase"),
        help="evaluate only these levels of the recognised labels",
    )
    lab.add_argument(
        "--prefix",
        type=_prefix,
        default="auto",
        metavar="N",
        help="judge conversations on their first N messages (0: whole; default "
        "auto: 20 where the input carries AnnoMI's mi_quality, else whole)",
    )
    lab.add_argument(
        "--skip-abstained",
        action="store_true",
        help="leave out sessions and phases the scorer abstained on (insufficient "
        "evidence); by default they count with the near-3 number it gave",
    )
    st = p.add_argument_group("statistics")
    st.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=1000,
        metavar="N",
        help="bootstrap resamples of conversations for the intervals (default 1000; 0: none)",
    )
    st.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    st.add_argument(
        "--confidence", type=fraction, default=0.95, help="interval level (default 0.95)"
    )
    p.add_argument(
        "--concurrency", type=positive_int, default=4, help="conversations scored at once (LLM)"
    )
    p.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="SPEC",
        help="compare scorers side by side on this input, one column per SPEC (repeat, at "
        'least two): its scorer options, e.g. embedded, "--scorer llm --llm-prompt-version '
        'v1", "--scorer llm --llm-samples 3 --name llm-x3", "--scores saved.jsonl"; the '
        "options outside the SPECs are every SPEC's defaults",
    )
    _add_jobs_arg(p)
    _add_scorer_args(p)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print the table (or JSON). Exit 2 on bad options or when nothing could be evaluated."""
    from .._cli_scoring import scorer_from_args as _make_scorer
    from .._progress import Progress
    from ._evaluate import EvaluationError, evaluate_file
    from ._labels import LEVELS, LabelOptions
    from ._report import format_table

    external = [o for o in ("scorer_command", "scores") if getattr(args, o)]
    if len(external) > 1 or (external and args.scorer != "embedded"):
        print(
            "alliance-monitor evaluate: give one of --scorer, --command or --scores",
            file=sys.stderr,
        )
        return 2
    labels = LabelOptions(
        message_labels=tuple(args.message_label),
        session_labels=tuple(args.session_label),
        phase_labels=tuple(args.phase_label),
        positive=tuple(args.positive),
        negative=tuple(args.negative),
        targets=tuple(dict.fromkeys(args.target)),
        dimensions=tuple(args.dimension),
        levels=tuple(args.level) or LEVELS,
    )
    if getattr(args, "compare", None):
        if external or args.save_scores:
            print(
                "alliance-monitor evaluate: with --compare, give --command or --scores inside a "
                "SPEC (and --save-scores is for one scorer)",
                file=sys.stderr,
            )
            return 2
        return _cmd_compare(args, labels)
    if args.scorer_option and (external or args.scorer == "embedded"):
        print(
            "alliance-monitor evaluate: --scorer-option is for --scorer llm or cascade",
            file=sys.stderr,
        )
        return 2
    args.scorer_options = dict(args.scorer_option)
    progress = Progress("evaluate: conversations scored")
    try:
        report = evaluate_file(
            args.input,
            scorer=None if external else _make_scorer(args),
            close_scorer=True,
            command=args.scorer_command,
            scores=args.scores,
            scorer_name=None if external else _scorer_name(args),
            labels=labels,
            prefix=args.prefix if args.prefix != 0 else None,
            n_bootstrap=args.bootstrap,
            seed=args.seed,
            confidence=args.confidence,
            concurrency=args.concurrency,
            jobs=_jobs(args),
            save_scores=args.save_scores,
            skip_abstained=args.skip_abstained,
            progress=progress.step,
        )
    except EvaluationError as exc:
        print(f"alliance-monitor evaluate: {exc}", file=sys.stderr)
        return 2
    finally:
        progress.done()
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        print(format_table(report))
    if not report.results:
        print(
            "alliance-monitor evaluate: no labelled item had a score: nothing was evaluated",
            file=sys.stderr,
        )
        return 2
    return 0


def _cmd_compare(args: argparse.Namespace, labels: Any) -> int:
    from .._progress import Progress
    from ._cli_compare import parse_variant
    from ._compare import compare_file, format_comparison
    from ._evaluate import EvaluationError

    variants = [parse_variant(spec, args) for spec in args.compare]  # ConfigError: exit 2
    bars: list[Progress] = []

    def progress(name: str) -> Any:
        if bars:
            bars[-1].done()
        bars.append(Progress(f"evaluate: {name}: conversations scored"))
        return bars[-1].step

    try:
        comparison = compare_file(
            args.input,
            variants,
            progress=progress,
            labels=labels,
            prefix=args.prefix if args.prefix != 0 else None,
            n_bootstrap=args.bootstrap,
            seed=args.seed,
            confidence=args.confidence,
            concurrency=args.concurrency,
            jobs=_jobs(args),
            skip_abstained=args.skip_abstained,
        )
    except EvaluationError as exc:
        print(f"alliance-monitor evaluate: {exc}", file=sys.stderr)
        return 2
    finally:
        if bars:
            bars[-1].done()
    if args.json:
        print(json.dumps(comparison.to_json(), indent=1))
    else:
        print(format_comparison(comparison))
    if not any(rep.results for rep in comparison.reports):
        print(
            "alliance-monitor evaluate: no labelled item had a score: nothing was evaluated",
            file=sys.stderr,
        )
        return 2
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from .._parallel import available_cores

    return int(getattr(args, "jobs", None) or available_cores())


def _scorer_name(args: argparse.Namespace) -> str:
    if args.scorer == "embedded":
        return "embedded"
    opts = "".join(f", {k}={v}" for k, v in args.scorer_options.items())
    return f"{args.scorer} ({args.llm_model} at {args.llm_base_url}{opts})"
