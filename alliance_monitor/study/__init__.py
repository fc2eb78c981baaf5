"""Study reports and the supervisor view: the paper's analysis on any corpus, as pictures.

    from alliance_monitor.study import run_study
    summary = run_study("transcripts.jsonl", "out/", EmbeddedScorer())
    # -> out/summary.json, out/summary.md, out/report.html

    board = PairBoard()
    monitor.on(board)                                   # live, bounded per-pair summary
    app = supervisor_app(board)                         # pure ASGI: mount at /supervisor

    ratings = FeedbackRatings("ratings.db", board=board)  # counselors rate feedback
    ratings.record_rating(FeedbackRating(feedback_id=event.id, conversation_id=..., ...))

See docs/study.md.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from ._board import CONCERNS, PairBoard, PairStatus
    from ._ratings import (
        PAPER_MEANS,
        QUESTIONS,
        FeedbackDelivery,
        FeedbackRating,
        FeedbackRatings,
        InvalidRating,
        RatingStore,
        parse_feedback_record,
    )
    from ._ratings_http import RatingsEndpoint
    from ._report import render_report
    from ._stats import (
        FriedmanResult,
        MeanCI,
        RMAnovaResult,
        friedman,
        mean_ci,
        rank_with_ties,
        rm_anova,
    )
    from ._study import (
        TRAJECTORY_CATEGORIES,
        PairRecord,
        PatternRow,
        PhaseStats,
        StudySummary,
        TrajectoryRow,
        run_study,
        run_study_async,
        summarize,
        trajectory_category,
    )
    from ._supervisor import supervisor_app

#: Where each public name lives. Imported on first use (PEP 562): the CLI registers the
#: `study` command without loading the study, its statistics and the monitor behind it.
_LAZY: dict[str, str | tuple[str, str]] = {
    "CONCERNS": "._board",
    "PairBoard": "._board",
    "PairStatus": "._board",
    "render_report": "._report",
    "PAPER_MEANS": "._ratings",
    "QUESTIONS": "._ratings",
    "FeedbackDelivery": "._ratings",
    "FeedbackRating": "._ratings",
    "FeedbackRatings": "._ratings",
    "InvalidRating": "._ratings",
    "RatingStore": "._ratings",
    "parse_feedback_record": "._ratings",
    "RatingsEndpoint": "._ratings_http",
    "FriedmanResult": "._stats",
    "MeanCI": "._stats",
    "RMAnovaResult": "._stats",
    "friedman": "._stats",
    "mean_ci": "._stats",
    "rank_with_ties": "._stats",
    "rm_anova": "._stats",
    "PairRecord": "._study",
    "PatternRow": "._study",
    "PhaseStats": "._study",
    "StudySummary": "._study",
    "TRAJECTORY_CATEGORIES": "._study",
    "TrajectoryRow": "._study",
    "run_study": "._study",
    "run_study_async": "._study",
    "summarize": "._study",
    "trajectory_category": "._study",
    "supervisor_app": "._supervisor",
}


__getattr__, __dir__ = _lazy_exports(__name__, globals(), _LAZY)


__all__ = [
    "CONCERNS",
    "PAPER_MEANS",
    "QUESTIONS",
    "TRAJECTORY_CATEGORIES",
    "FeedbackDelivery",
    "FeedbackRating",
    "FeedbackRatings",
    "FriedmanResult",
    "InvalidRating",
    "MeanCI",
    "PairBoard",
    "PairRecord",
    "PairStatus",
    "PatternRow",
    "PhaseStats",
    "RMAnovaResult",
    "RatingStore",
    "RatingsEndpoint",
    "StudySummary",
    "TrajectoryRow",
    "friedman",
    "mean_ci",
    "parse_feedback_record",
    "rank_with_ties",
    "render_report",
    "rm_anova",
    "run_study",
    "run_study_async",
    "summarize",
    "supervisor_app",
    "trajectory_category",
]
