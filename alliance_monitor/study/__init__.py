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
    from ._board_store import BoardFollower, StoredBoard
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


#: Public names: the imports of the TYPE_CHECKING block above (the one list of them),
#: imported on first use (PEP 562); `__all__` lists them.
__getattr__, __dir__ = _lazy_exports(__name__, globals())
