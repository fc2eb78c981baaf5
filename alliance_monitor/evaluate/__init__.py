"""`evaluate`: how well a scorer agrees with labels a deployment (or a public data set) has.

    from alliance_monitor.evaluate import evaluate_file, LabelOptions
    report = evaluate_file("rated.jsonl", scorer=EmbeddedScorer())
    print(report.to_json())

Command line: ``alliance-monitor evaluate rated.jsonl [--scorer llm ...]``; the workflow is in
docs/evaluate.md.
"""

from ._agreement import Interval, auc, icc2_1, pearson, spearman
from ._evaluate import EvaluationError, EvaluationReport, MetricResult, TaskResult, evaluate_file
from ._labels import KNOWN, LabelOptions, LabelTask
from ._report import format_table

__all__ = [
    "KNOWN",
    "EvaluationError",
    "EvaluationReport",
    "Interval",
    "LabelOptions",
    "LabelTask",
    "MetricResult",
    "TaskResult",
    "auc",
    "evaluate_file",
    "format_table",
    "icc2_1",
    "pearson",
    "spearman",
]
