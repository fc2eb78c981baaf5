"""Study reports and the supervisor view: the paper's analysis on any corpus, as pictures.

    from alliance_monitor.study import run_study
    summary = run_study("transcripts.jsonl", "out/", EmbeddedScorer())
    # -> out/summary.json, out/summary.md, out/report.html

    board = PairBoard()
    monitor.on(board)                                   # live, bounded per-pair summary
    app = supervisor_app(board)                         # pure ASGI: mount at /supervisor

See docs/study.md.
"""

from ._board import CONCERNS, PairBoard, PairStatus
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

__all__ = [
    "CONCERNS",
    "TRAJECTORY_CATEGORIES",
    "FriedmanResult",
    "MeanCI",
    "PairBoard",
    "PairRecord",
    "PairStatus",
    "PatternRow",
    "PhaseStats",
    "RMAnovaResult",
    "StudySummary",
    "TrajectoryRow",
    "friedman",
    "mean_ci",
    "rank_with_ties",
    "render_report",
    "rm_anova",
    "run_study",
    "run_study_async",
    "summarize",
    "supervisor_app",
    "trajectory_category",
]
