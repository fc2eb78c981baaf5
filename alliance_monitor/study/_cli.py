"""`alliance-monitor study INPUT --out DIR [--scorer ...]`.

Wired into the main CLI with:

    from .study._cli import cmd_study, configure_parser
    s = sub.add_parser("study", help="the paper's analysis of a corpus: tables and a report")
    configure_parser(s)
    s.set_defaults(func=cmd_study)
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["cmd_study", "configure_parser"]


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the study's arguments (and the shared scorer arguments) to `p`."""
    from .._argtypes import fraction, non_negative_float, non_negative_int, positive_int
    from .._cli_scoring import add_jobs_arg as _add_jobs_arg
    from .._cli_scoring import add_scorer_args as _add_scorer_args

    p.add_argument("input", help="transcript JSONL (the format of `analyze`), or - for stdin")
    p.add_argument(
        "--out", "-o", required=True, help="directory for summary.json, summary.md and report.html"
    )
    p.add_argument(
        "--trajectory-tolerance",
        type=non_negative_float,
        default=0.25,
        help="|late - early| below this many levels is 'unchanged' (default 0.25)",
    )
    p.add_argument(
        "--confidence",
        type=fraction,
        default=0.95,
        help="confidence level of the phase-mean intervals (default 0.95)",
    )
    p.add_argument(
        "--include-text",
        action="store_true",
        help="allow short feedback quotes and redacted exemplar exchanges from messages in the "
        "report (off: privacy)",
    )
    p.add_argument(
        "--no-replay",
        action="store_true",
        help="skip the window-level replay behind the pair views (halves LLM calls)",
    )
    p.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=1000,
        metavar="N",
        help="resamples of pairs for the pattern-alliance odds ratio intervals (default 1000; "
        "0: none)",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument(
        "--lang",
        choices=("auto", "en", "zh"),
        default="auto",
        help="language of the report's fixed text: en, zh (Chinese), or auto (default: Chinese "
        "when most transcripts are Chinese or mixed Chinese-English)",
    )
    p.add_argument(
        "--ratings",
        metavar="FILE",
        help="counselors' ratings and deliveries of feedback: the ratings database of `serve` "
        "or a JSONL file of rating records (Table 6)",
    )
    p.add_argument(
        "--concurrency", type=positive_int, default=4, help="transcripts scored at once (LLM)"
    )
    p.add_argument(
        "--max-report-pairs",
        type=positive_int,
        default=500,
        help="pairs drawn in report.html, most concerning first (default 500)",
    )
    _add_jobs_arg(p)
    _add_scorer_args(p)


def cmd_study(args: argparse.Namespace) -> int:
    """Run the study and print where it was written. Exit 2 if nothing could be read."""
    import anyio

    from .._cli_scoring import scorer_from_args as _make_scorer
    from .._parallel import available_cores
    from .._progress import Progress as _Progress
    from ._study import StudySummary, run_study_async

    scorer = _make_scorer(args)
    progress = _Progress("study: transcripts scored")  # only when stderr is a terminal

    async def run() -> StudySummary:
        # One event loop for scoring and closing: an HTTP client cannot be closed from another.
        try:
            return await run_study_async(
                args.input,
                args.out,
                scorer,
                trajectory_tolerance=getattr(args, "trajectory_tolerance", 0.25),
                confidence_level=getattr(args, "confidence", 0.95),
                include_text=getattr(args, "include_text", False),
                replay=not getattr(args, "no_replay", False),
                concurrency=getattr(args, "concurrency", 4),
                max_report_pairs=getattr(args, "max_report_pairs", 500),
                bootstrap=getattr(args, "bootstrap", 1000),
                seed=getattr(args, "seed", 0),
                ratings=getattr(args, "ratings", None),
                on_progress=lambda n: progress.step(n - progress.n),
                language=getattr(args, "lang", "auto"),
                jobs=getattr(args, "jobs", None) or available_cores(),
            )
        finally:
            await scorer.aclose()

    try:
        summary = anyio.run(run)
    finally:
        progress.done()
    rejected = sum(summary.rejected.values())
    print(
        f"study: {summary.n_pairs} pair(s)"
        + (
            f" with {summary.n_transcripts} sessions"
            if summary.n_transcripts != summary.n_pairs
            else ""
        )
        + f", {summary.n_phase_analysis} in the phase "
        f"analysis, in {summary.elapsed_s:.2f}s"
        + (f"; {rejected} record(s) rejected" if rejected else "")
        + "\n  "
        + "\n  ".join(summary.files.values()),
        file=sys.stderr,
    )
    return 0 if summary.n_transcripts else 2
